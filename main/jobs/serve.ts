// The worker side of the job runner: a worker thread under Node, an Electron utilityProcess in the app.
// A worker's entry module (app/worker.ts for the app's jobs) calls serveJobs with its table of job kinds.
import { parentPort } from 'node:worker_threads';
import { AppError, serializeError } from '../util/errors.ts';
import { runShutdownHooks } from './lifecycle.ts';
import type { FromWorker, JobHandler, JobTable, ToWorker } from './types.ts';

interface Port {
  post(message: FromWorker): void;
  onMessage(listener: (message: ToWorker) => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

function connect(): Port {
  if (parentPort) {
    const port = parentPort;
    return { post: (m) => port.postMessage(m), onMessage: (l) => port.on('message', l) };
  }
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort) {
    return {
      post: (m) => electronPort.postMessage(m),
      onMessage: (l) => electronPort.on('message', (event) => l(event.data as ToWorker)),
    };
  }
  throw new Error('job worker started without a parent port');
}

/** Serves `handlers` to the parent (runner) until it says shutdown. Call once, from a worker's entry module. */
export function serveJobs(handlers: JobTable): void {
  const port = connect();
  const running = new Map<number, AbortController>();

  port.onMessage((message) => {
    if (message.type === 'cancel') {
      running.get(message.id)?.abort();
      return;
    }
    if (message.type === 'shutdown') {
      for (const controller of running.values()) controller.abort();
      void runShutdownHooks().finally(() => port.post({ type: 'closed' }));
      return;
    }
    const { id, kind, input } = message;
    const controller = new AbortController();
    running.set(id, controller);
    const handler = (handlers as Record<string, JobHandler<unknown, unknown> | undefined>)[kind];
    const work = handler
      ? handler(input, {
          signal: controller.signal,
          progress: (progress) => port.post({ type: 'progress', id, progress }),
        })
      : Promise.reject(new AppError('unsupported', `unknown job kind '${kind}'`));
    work
      .then(
        (output) => port.post({ type: 'done', id, output }),
        (error: unknown) => port.post({ type: 'failed', id, error: serializeError(error) }),
      )
      .finally(() => running.delete(id));
  });
}
