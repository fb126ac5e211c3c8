// Typed client over window.r2c. The renderer imports only TYPES from the main-process contract.
import type {
  AppEvent,
  ChannelName,
  Envelope,
  Input,
  Output,
  R2cBridge,
  SerializedError,
} from '../../../main/contract/types.ts';
import { reportError } from './errors.svelte.ts';

declare global {
  interface Window {
    r2c?: R2cBridge;
  }
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly channel: string,
    readonly error: SerializedError,
  ) {
    super(error.message);
  }
  get code(): string {
    return this.error.code;
  }
}

function bridge(): R2cBridge {
  if (!window.r2c)
    throw new Error('The app bridge (window.r2c) is missing: this page must run inside R2C Workstation.');
  return window.r2c;
}

async function call<K extends ChannelName>(channel: K, payload: Input<K>): Promise<Output<K>> {
  let envelope: Envelope<unknown>;
  try {
    envelope = await (bridge()[channel] as (p: unknown) => Promise<Envelope<unknown>>)(payload);
  } catch (error) {
    const failure = new ApiError(channel, {
      code: 'internal',
      message: error instanceof Error ? error.message : String(error),
    });
    reportError(channel, failure.error);
    throw failure;
  }
  if (envelope.ok) return envelope.value as Output<K>;
  if (envelope.error.code !== 'cancelled') reportError(channel, envelope.error);
  throw new ApiError(channel, envelope.error);
}

export type Api = { [K in ChannelName]: (payload: Input<K>) => Promise<Output<K>> };

/** `api.hashFiles({...})` etc. Failures throw ApiError and are shown in the error banner. */
export const api = new Proxy({} as Api, {
  get: (_target, channel: string) => (payload: unknown) => call(channel as ChannelName, payload as never),
});

export function onAppEvent(listener: (event: AppEvent) => void): () => void {
  return window.r2c ? window.r2c.onEvent(listener) : () => {};
}

export function newJobId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}
