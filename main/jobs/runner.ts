import { Worker } from 'node:worker_threads';
import { AppError, cancelledError, deserializeError } from '../util/errors.ts';
import type { FromWorker, JobInput, JobOutput, JobProgress, JobTable, WorkerTransport } from './types.ts';

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
  /**
   * A job that runs for minutes or hours (fine-tuning, evaluation): it goes to the long-job lane, its
   * own worker(s), so it never holds up thumbnails, imports or analyses.
   */
  long?: boolean;
}

/**
 * Runs heavy jobs off the calling thread, at most `maxWorkers` at a time, queueing the rest. `H` is the
 * table of job kinds the worker serves (app/jobs.ts registers the app's).
 */
export interface JobRunner<H extends JobTable = JobTable> {
  run<K extends keyof H & string>(
    kind: K,
    input: JobInput<H, K>,
    options?: RunOptions,
  ): Promise<JobOutput<H, K>>;
  close(): Promise<void>;
}

export type TransportFactory = () => WorkerTransport;

interface Pending {
  id: number;
  lane: Lane;
  kind: string;
  input: unknown;
  options: RunOptions;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

type Lane = 'short' | 'long';

interface Slot {
  lane: Lane;
  transport: WorkerTransport;
  job: Pending | undefined;
  /** Resolves the wait for the worker's 'closed' reply during shutdown. */
  closed?: () => void;
}

/** How long a worker gets to release native resources before it is terminated anyway. */
const SHUTDOWN_GRACE_MS = 5000;
/**
 * How long close() waits for a terminated worker to exit. A thread stuck in a native call cannot be
 * stopped from JS; waiting for it forever would hang the app's quit, and process exit ends it anyway.
 */
export const TERMINATE_WAIT_MS = 10_000;

async function shutdown(slot: Slot): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
    slot.closed = () => {
      clearTimeout(timer);
      resolve();
    };
    slot.transport.post({ type: 'shutdown' });
  });
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    slot.transport.terminate().then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), TERMINATE_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!stopped) {
    process.emitWarning(
      `a job worker did not exit within ${TERMINATE_WAIT_MS / 1000} s of being terminated; closing without it`,
      'JobWorkerWarning',
    );
  }
}

/**
 * `maxWorkers` workers for ordinary jobs and `maxLongWorkers` more for long ones (RunOptions.long);
 * each lane queues its own jobs in order.
 */
export function createJobRunner<H extends JobTable>(
  createTransport: TransportFactory,
  maxWorkers = 1,
  maxLongWorkers = 1,
): JobRunner<H> {
  const limit: Record<Lane, number> = { short: maxWorkers, long: maxLongWorkers };
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  function finish(slot: Slot, settle: (job: Pending) => void): void {
    const job = slot.job;
    if (!job) return;
    slot.job = undefined;
    slot.transport.setIdle(true);
    settle(job);
    pump();
  }

  function addSlot(lane: Lane): Slot {
    const slot: Slot = { lane, transport: createTransport(), job: undefined };
    slot.transport.onMessage((message: FromWorker) => {
      if (message.type === 'closed') {
        slot.closed?.();
        return;
      }
      const job = slot.job;
      if (!job || message.id !== job.id) return;
      if (message.type === 'progress') job.options.onProgress?.(message.progress);
      else if (message.type === 'done') finish(slot, (j) => j.resolve(message.output));
      else finish(slot, (j) => j.reject(deserializeError(message.error)));
    });
    slot.transport.onExit((reason) => {
      slots.splice(slots.indexOf(slot), 1);
      finish(slot, (j) => j.reject(new AppError('internal', `job worker stopped unexpectedly: ${reason}`)));
    });
    slots.push(slot);
    return slot;
  }

  function freeSlot(lane: Lane): Slot | undefined {
    const free = slots.find((s) => s.lane === lane && !s.job);
    if (free) return free;
    return slots.filter((s) => s.lane === lane).length < limit[lane] ? addSlot(lane) : undefined;
  }

  function pump(): void {
    for (let i = 0; i < queue.length; ) {
      const job = queue[i]!;
      const slot = freeSlot(job.lane);
      if (!slot) {
        i++; // this lane is busy; a job of the other lane further back may still start
        continue;
      }
      queue.splice(i, 1);
      slot.job = job;
      slot.transport.setIdle(false);
      slot.transport.post({ type: 'run', id: job.id, kind: job.kind, input: job.input });
    }
  }

  return {
    run(kind, input, options = {}) {
      if (closed) return Promise.reject(new AppError('internal', 'job runner is closed'));
      if (options.signal?.aborted) return Promise.reject(cancelledError(kind));
      return new Promise((resolve, reject) => {
        const job: Pending = {
          id: nextId++,
          lane: options.long ? 'long' : 'short',
          kind,
          input,
          options,
          resolve: resolve as (v: unknown) => void,
          reject,
        };
        options.signal?.addEventListener(
          'abort',
          () => {
            const queued = queue.indexOf(job);
            if (queued >= 0) {
              queue.splice(queued, 1);
              reject(cancelledError(kind));
              return;
            }
            slots.find((s) => s.job === job)?.transport.post({ type: 'cancel', id: job.id });
          },
          { once: true },
        );
        queue.push(job);
        pump();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new AppError('cancelled', 'job runner closed'));
      await Promise.all(slots.splice(0).map(shutdown));
    },
  };
}

/**
 * Worker-thread transport for plain Node (CLI, tests, the browser-test harness) to a worker whose
 * entry module (`entry`, which calls serveJobs with its job table) is given by whoever registers the
 * jobs. A TypeScript entry (source checkout) starts through worker-source.mjs, which registers tsx first.
 */
export function workerThreadTransport(entry: URL): WorkerTransport {
  const worker = entry.pathname.endsWith('.ts')
    ? new Worker(new URL('./worker-source.mjs', import.meta.url), { workerData: { entry: entry.href } })
    : new Worker(entry);
  let exiting = false;
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onExit: (listener) => {
      worker.on('error', (error) => listener(error.message));
      worker.on('exit', (code) => {
        if (!exiting) listener(`exit code ${code}`);
      });
    },
    setIdle: (idle) => (idle ? worker.unref() : worker.ref()),
    terminate: async () => {
      exiting = true;
      await worker.terminate();
    },
  };
}

/** The entry module `name` (without extension) next to `here` (import.meta.url): .ts from source, .js when built. */
export function workerEntry(here: string, name: string): URL {
  return new URL(`./${name}${here.endsWith('.ts') ? '.ts' : '.js'}`, here);
}
