// The app's side of the activity log: every failed call, and the calls that change or export
// something (analyses, model changes, exports and PACS sends, settings), recorded with hashed ids only. Imports,
// deletions and retention runs are recorded by the library itself (for the CLI too).
import type { ChannelName } from '../contract/names.ts';
import type { ActivityLog, LogValue } from '../settings/index.ts';
import { AppError } from '../util/errors.ts';
import type { CallContext, HandlerTable } from './dispatch.ts';

/** Which event a successful call is, or undefined when a call only reads. */
export function activityOf(channel: string): string | undefined {
  if (/^analyse/.test(channel)) return 'analysis';
  // Results leaving the workstation for a PACS (the watch logs its own start and stop).
  if (/^pacsSend/.test(channel)) return 'export';
  if (/^pacs(Save|Delete)Connection$/.test(channel)) return 'settings';
  if (/export/i.test(channel)) return 'export';
  if (
    /Model/.test(channel) &&
    /^(fineTune|evaluate|verify|activate|rollback|retire|set|import|install|remove|promote|pin)/.test(channel)
  )
    return 'model';
  if (/^(updateSettings|applyRetention)$/.test(channel)) return 'settings';
  if (/^review(Create|Close|Import|Merge)/.test(channel) || /^(save|create)/.test(channel)) return 'change';
  return undefined;
}

/** Ids in a payload (keys ending in Id or Ids, numbers or strings), hashed; nothing else of it. */
export function hashedIds(input: unknown, log: ActivityLog): Record<string, LogValue> {
  const out: Record<string, LogValue> = {};
  if (typeof input !== 'object' || input === null) return out;
  for (const [key, value] of Object.entries(input)) {
    if (key === 'jobId') continue;
    if (/Id$/.test(key) && (typeof value === 'number' || typeof value === 'string'))
      out[key] = log.hash(value);
    if (/Ids$/.test(key) && Array.isArray(value)) out[key] = value.length;
  }
  return out;
}

export function withActivityLog(handlers: HandlerTable, log: ActivityLog): HandlerTable {
  const wrapped: Record<string, unknown> = {};
  for (const [channel, handler] of Object.entries(handlers) as [
    ChannelName,
    (input: unknown, context: CallContext) => Promise<unknown>,
  ][]) {
    const event = activityOf(channel);
    wrapped[channel] = async (input: unknown, context: CallContext) => {
      try {
        const output = await handler(input, context);
        if (event) log.info(event, { channel, ...hashedIds(input, log) });
        return output;
      } catch (error) {
        if (error instanceof AppError && error.code === 'cancelled') log.info('cancelled', { channel });
        else log.error('error', error, { channel, ...hashedIds(input, log) });
        throw error;
      }
    };
  }
  return wrapped as HandlerTable;
}
