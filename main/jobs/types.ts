import type { SerializedError } from '../util/errors.ts';

export interface JobProgress {
  done: number;
  total: number;
  /** Short human text; never patient data. */
  message?: string;
}

export interface JobContext {
  signal: AbortSignal;
  progress(progress: JobProgress): void;
}

export type JobHandler<I, O> = (input: I, context: JobContext) => Promise<O>;

/**
 * A table of job kinds → handlers. The runner knows no kinds of its own: the composition root
 * registers the app's table (app/jobs.ts), and a service that runs jobs declares the part it needs.
 */
export type JobTable = Record<string, JobHandler<never, unknown>>;
export type JobInput<H extends JobTable, K extends keyof H> = Parameters<H[K]>[0];
export type JobOutput<H extends JobTable, K extends keyof H> = Awaited<ReturnType<H[K]>>;

export type ToWorker =
  | { type: 'run'; id: number; kind: string; input: unknown }
  | { type: 'cancel'; id: number }
  | { type: 'shutdown' };

export type FromWorker =
  | { type: 'progress'; id: number; progress: JobProgress }
  | { type: 'done'; id: number; output: unknown }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'closed' };

/** A channel to one worker: a worker thread under Node, a utilityProcess under Electron. */
export interface WorkerTransport {
  post(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  /** Called when the worker dies unexpectedly (crash, out of memory). */
  onExit(listener: (reason: string) => void): void;
  /** Lets the host process exit while this worker is idle. */
  setIdle(idle: boolean): void;
  terminate(): Promise<void>;
}
