import { z } from 'zod';
import type { ChannelName } from './names.ts';

// Every payload that crosses IPC is validated against these schemas, in both directions.
const filePath = z.string().min(1).max(4096);
const jobId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'job id must be 8-64 letters, digits, _ or -');

export const contract = {
  getAppInfo: {
    input: z.object({}).strict(),
    output: z.object({
      name: z.string(),
      version: z.string(),
      platform: z.string(),
      arch: z.string(),
      activeModel: z.object({ id: z.string(), version: z.string() }).nullable(),
      executionProvider: z.string().nullable(),
    }),
  },
  hashFiles: {
    input: z.object({ jobId, paths: z.array(filePath).min(1).max(10000) }).strict(),
    output: z.object({
      files: z.array(
        z.union([
          z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: z.string().length(64) }),
          z.object({ path: z.string(), error: z.string() }),
        ]),
      ),
    }),
  },
  cancelJob: {
    input: z.object({ jobId }).strict(),
    output: z.object({ cancelled: z.boolean() }),
  },
} satisfies Record<ChannelName, { input: z.ZodType; output: z.ZodType }>;

export const appEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('jobProgress'),
    jobId,
    done: z.number().nonnegative(),
    total: z.number().nonnegative(),
    message: z.string().optional(),
  }),
]);

export const serializedError = z.object({
  code: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
