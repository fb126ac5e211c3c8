// Long jobs started from the renderer (import, batch analysis, the viewer's analysis, fine-tuning,
// evaluation): one job id per run, the progress events of that id, Cancel, and the failures that the
// error banner has already shown.
import { ApiError, api, newJobId, onAppEvent } from './api.ts';

export interface JobProgress {
  done: number;
  total: number;
  message?: string;
}

export type JobOutcome<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** A component's job: create it while the component initialises (it listens while the component lives). */
export class Job {
  /** The running job's id; null when idle. */
  id = $state<string | null>(null);
  /** What the progress bar shows; null when there is none. */
  progress = $state<JobProgress | null>(null);
  /** Cancel was asked for the running job. */
  cancelling = $state(false);
  /** The job whose progress events move the bar: a job's last events may arrive after its answer. */
  progressOf: string | null = null;
  readonly #keepLateProgress: boolean;

  /**
   * keepLateProgress: the bar keeps following the job's events after its answer (never moving back
   * within the same total), instead of stopping with the answer.
   */
  constructor(options: { keepLateProgress?: boolean } = {}) {
    this.#keepLateProgress = options.keepLateProgress ?? false;
    $effect(() =>
      onAppEvent((event) => {
        if (event.type !== 'jobProgress' || event.jobId !== this.progressOf) return;
        const shown = this.progress;
        if (this.#keepLateProgress && shown && event.total === shown.total && event.done < shown.done) return;
        this.progress = { done: event.done, total: event.total, message: event.message };
      }),
    );
  }

  get running(): boolean {
    return this.id !== null;
  }

  get keepLateProgress(): boolean {
    return this.#keepLateProgress;
  }

  /** Asks the main process to stop the running job (its answer still comes, e.g. as cancelled). */
  cancel(): void {
    if (!this.id) return;
    this.cancelling = true;
    void api.cancelJob({ jobId: this.id });
  }
}

/**
 * Runs `start(jobId)` as `job`: the bar starts at `progress` and follows the job's events. On an answer
 * the bar shows `finished(answer)` (without `finished`, what it showed last); on an ApiError (already
 * in the error banner unless it is a cancellation) the bar goes. Other errors are thrown.
 */
export async function runJob<T>(
  job: Job,
  options: {
    progress: JobProgress;
    start: (jobId: string) => Promise<T>;
    finished?: (value: T) => JobProgress | null;
  },
): Promise<JobOutcome<T>> {
  const id = newJobId();
  job.id = id;
  job.progressOf = id;
  job.progress = options.progress;
  job.cancelling = false;
  let outcome: JobOutcome<T>;
  try {
    const value = await options.start(id);
    if (options.finished) job.progress = options.finished(value);
    outcome = { ok: true, value };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    job.progress = null;
    job.progressOf = null;
    outcome = { ok: false, error };
  } finally {
    if (!job.keepLateProgress) job.progressOf = null;
    job.id = null;
  }
  return outcome;
}
