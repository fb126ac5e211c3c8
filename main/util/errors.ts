/**
 * Errors that cross a boundary (IPC, worker, CLI) carry a stable code so callers can react
 * without parsing messages. Messages must name the problem and never contain patient data.
 */
export const errorCodes = [
  'invalid_payload',
  'unknown_channel',
  'forbidden',
  'bad_input',
  'not_found',
  'cancelled',
  'unsupported',
  'integrity',
  'internal',
  /** A server (PACS) could not be reached or dropped the connection: refused, timed out, TLS, reset. */
  'unavailable',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface SerializedError {
  code: ErrorCode;
  message: string;
  /** Field-level problems for invalid payloads: path within the payload and what is wrong. */
  issues?: { path: string; message: string }[];
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message);
  }

  toJSON(): SerializedError {
    return this.issues
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
  }
}

export function cancelledError(what = 'operation'): AppError {
  return new AppError('cancelled', `${what} was cancelled`);
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof AppError) return error.toJSON();
  if (error instanceof Error && error.name === 'AbortError')
    return { code: 'cancelled', message: 'cancelled' };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message };
}

export function deserializeError(error: SerializedError): AppError {
  return new AppError(error.code, error.message, error.issues);
}
