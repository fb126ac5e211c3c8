// Long jobs: cancelling one by its id, and the push events (progress, end) sent while one runs.
import { z } from 'zod';
import { type ChannelSchemas, jobId } from './common.ts';

export const jobChannels = {
  cancelJob: {
    input: z.object({ jobId }).strict(),
    output: z.object({ cancelled: z.boolean() }),
  },
} satisfies Record<string, ChannelSchemas>;

/** Main → renderer push events (progress of long jobs). */
export const appEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('jobProgress'),
    jobId,
    done: z.number().nonnegative(),
    total: z.number().nonnegative(),
    message: z.string().optional(),
  }),
  /** Sent when a job's call returns, however it ended (finished, failed or cancelled). */
  z.object({ type: z.literal('jobEnded'), jobId }),
]);
