// The department watch started from this page: a job that lives for the page's life (not the
// Settings component's), so leaving Settings and coming back keeps it on the job board. After a reload
// the main process still runs it; the panel finds it through pacsWatchStatus and stops it by job id.
import type { Input, Output } from '../../../main/contract/types.ts';
import { api } from './api.ts';
import { Job, type JobOutcome, runJob } from './jobs.svelte.ts';

export const watchJob = new Job({ persistent: true, keepLateProgress: true });

/** The last watch started here ended (with its summary, or its error). */
export const lastWatch = $state<{ outcome: JobOutcome<Output<'pacsWatch'>> | null }>({ outcome: null });

export function startWatch(input: Omit<Input<'pacsWatch'>, 'jobId'>, label: string): Promise<void> {
  lastWatch.outcome = null;
  return runJob(watchJob, {
    progress: { done: 0, total: 0, message: 'first poll…' },
    label,
    start: (jobId) => api.pacsWatch({ jobId, ...input }),
  }).then((outcome) => {
    lastWatch.outcome = outcome;
  });
}

/** Stops a running watch: this page's job, or one found after a reload (by its job id). */
export async function stopWatch(jobId: string): Promise<void> {
  if (watchJob.id === jobId) watchJob.cancel();
  else await api.cancelJob({ jobId });
}
