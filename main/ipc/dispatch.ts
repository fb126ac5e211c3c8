import type { z } from 'zod';
import { contract } from '../contract/channels.ts';
import { type ChannelName, channelNames } from '../contract/names.ts';
import type { AppEvent, Envelope, Input, Output } from '../contract/types.ts';
import { AppError, serializeError } from '../util/errors.ts';

export interface CallContext {
  /** Sends a push event to the renderer that made the call. */
  emit(event: AppEvent): void;
}

export type HandlerTable = {
  [K in ChannelName]: (input: Input<K>, context: CallContext) => Promise<Output<K>>;
};

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : '(payload)',
    message: issue.message,
  }));
}

function isChannel(name: unknown): name is ChannelName {
  return typeof name === 'string' && (channelNames as readonly string[]).includes(name);
}

/**
 * The one entry point for every IPC call, shared by Electron's ipcMain binding and the browser-test
 * harness: validates the payload, runs the handler, validates the result, and never throws.
 */
export async function dispatch(
  handlers: HandlerTable,
  channel: unknown,
  payload: unknown,
  context: CallContext,
): Promise<Envelope<unknown>> {
  if (!isChannel(channel)) {
    return {
      ok: false,
      error: { code: 'unknown_channel', message: `unknown IPC channel '${String(channel)}'` },
    };
  }
  const parsed = contract[channel].input.safeParse(payload);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return {
      ok: false,
      error: new AppError('invalid_payload', `invalid payload for ${channel}: ${summary}`, issues).toJSON(),
    };
  }
  try {
    const handler = handlers[channel] as (input: unknown, context: CallContext) => Promise<unknown>;
    const value = await handler(parsed.data, context);
    const checked = contract[channel].output.safeParse(value);
    if (!checked.success) {
      return { ok: false, error: { code: 'internal', message: `${channel} produced an invalid result` } };
    }
    return { ok: true, value: checked.data };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}
