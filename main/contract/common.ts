// Schemas shared by several domains of the IPC contract.
import { z } from 'zod';

/** A channel's schemas: its payload (input) and its result (output). */
export type ChannelSchemas = { input: z.ZodType; output: z.ZodType };

// Every payload that crosses IPC is validated against these schemas, in both directions.
export const filePath = z.string().min(1).max(4096);
export const jobId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'job id must be 8-64 letters, digits, _ or -');
// The main process's working directory means nothing to the user, so imports take absolute paths only.
export const absolutePath = filePath.regex(/^(?:\/|[A-Za-z]:[\\/]|\\\\)/, 'must be an absolute path');
export const rowId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const modelId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a model id such as r2c-q3');
// Pixel data travels as bytes (structured clone over Electron IPC; no base64).
export const pixelBytes = z
  .instanceof(Uint8Array)
  .meta({ title: 'Uint8Array', description: 'raw bytes, sent by structured clone' });
