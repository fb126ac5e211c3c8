// Long jobs started from the renderer (import, batch analysis, the viewer's analysis, fine-tuning,
// evaluation): one job id per run, the progress events of that id, Cancel, and the failures that the
// error banner has already shown. Every running job is also on the job board (the status bar's job
// list: progress, ETA, cancel), and a job started with `notify` leaves a notice when it finishes, so
// a job outlives the page that started it.
import { ApiError, api, newJobId, onAppEvent } from './api.ts';
import type { AppEvent } from '../../../main/contract/types.ts';

export interface JobProgress {
  done: number;
  total: number;
  message?: string;
}

export type JobOutcome<T> = { ok: true; value: T } | { ok: false; error: ApiError };

// One subscription to the main process's events for the whole renderer; jobs register here.
const listeners = new Set<(event: AppEvent) => void>();
let subscribed = false;
function listen(listener: (event: AppEvent) => void): () => void {
  if (!subscribed) {
    subscribed = true;
    onAppEvent((event) => {
      for (const l of listeners) l(event);
    });
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * A job's state. Create it while a component initialises (it listens while the component lives), or
 * with `persistent: true` in a module script (it listens for the life of the page, so a job keeps its
 * progress when the user navigates away and back).
 */
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
  constructor(options: { keepLateProgress?: boolean; persistent?: boolean } = {}) {
    this.#keepLateProgress = options.keepLateProgress ?? false;
    const onEvent = (event: AppEvent) => {
      if (event.type !== 'jobProgress' || event.jobId !== this.progressOf) return;
      const shown = this.progress;
      if (this.#keepLateProgress && shown && event.total === shown.total && event.done < shown.done) return;
      this.progress = { done: event.done, total: event.total, message: event.message };
    };
    if (options.persistent) listen(onEvent);
    else $effect(() => listen(onEvent));
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

/** A running job on the board. */
export interface BoardJob {
  id: string;
  label: string;
  job: Job;
  startedAt: number;
  /** The first progress with work done, for the rate behind the ETA. */
  firstDone: { at: number; done: number } | null;
}

export interface JobNotice {
  id: string;
  text: string;
  status: 'finished' | 'cancelled';
  /** e.g. #/models?model=local-ward-3 */
  link: { href: string; label: string } | null;
}

/** Every running job, and the notices of finished ones (until dismissed). */
export const jobBoard = $state<{ running: BoardJob[]; notices: JobNotice[] }>({ running: [], notices: [] });

listen((event) => {
  if (event.type !== 'jobProgress' || event.done <= 0) return;
  const entry = jobBoard.running.find((j) => j.id === event.jobId);
  if (entry && entry.firstDone === null) entry.firstDone = { at: Date.now(), done: event.done };
});

/** Seconds left at the rate since the first progress; null until it can be told. */
export function etaSeconds(entry: BoardJob, now = Date.now()): number | null {
  const p = entry.job.progress;
  const first = entry.firstDone;
  if (!p || !first || p.total <= 0 || p.done <= first.done || p.done >= p.total) return null;
  const rate = (p.done - first.done) / Math.max(1, now - first.at);
  return Math.round((p.total - p.done) / rate / 1000);
}

export function dismissNotice(id: string): void {
  jobBoard.notices = jobBoard.notices.filter((n) => n.id !== id);
}

/**
 * Runs `start(jobId)` as `job`: the bar starts at `progress` and follows the job's events. On an answer
 * the bar shows `finished(answer)` (without `finished`, what it showed last); on an ApiError (already
 * in the error banner unless it is a cancellation) the bar goes. Other errors are thrown. The job is on
 * the job board while it runs (as `label`); `notify` turns its answer into a notice.
 */
export async function runJob<T>(
  job: Job,
  options: {
    progress: JobProgress;
    start: (jobId: string) => Promise<T>;
    finished?: (value: T) => JobProgress | null;
    label?: string;
    notify?: (value: T) => Omit<JobNotice, 'id'> | null;
  },
): Promise<JobOutcome<T>> {
  const id = newJobId();
  job.id = id;
  job.progressOf = id;
  job.progress = options.progress;
  job.cancelling = false;
  jobBoard.running.push({
    id,
    label: options.label ?? 'Background job',
    job,
    startedAt: Date.now(),
    firstDone: null,
  });
  let outcome: JobOutcome<T>;
  try {
    const value = await options.start(id);
    if (options.finished) job.progress = options.finished(value);
    outcome = { ok: true, value };
    const notice = options.notify?.(value);
    if (notice) jobBoard.notices.push({ id, ...notice });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    job.progress = null;
    job.progressOf = null;
    outcome = { ok: false, error };
  } finally {
    if (!job.keepLateProgress) job.progressOf = null;
    job.id = null;
    jobBoard.running = jobBoard.running.filter((j) => j.id !== id);
  }
  return outcome;
}
