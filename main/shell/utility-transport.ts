import { fileURLToPath } from 'node:url';
import { utilityProcess } from 'electron';
import type { FromWorker, WorkerTransport } from '../jobs/types.ts';

/** Job workers as Electron utility processes: a crash there cannot take the window down. */
export function utilityTransport(): WorkerTransport {
  const entry = fileURLToPath(new URL('../app/worker.js', import.meta.url));
  const child = utilityProcess.fork(entry, [], { serviceName: 'r2c-jobs', stdio: 'inherit' });
  let exiting = false;
  return {
    post: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (message: FromWorker) => listener(message)),
    onExit: (listener) =>
      child.on('exit', (code) => {
        if (!exiting) listener(`exit code ${code}`);
      }),
    setIdle: () => {},
    terminate: async () => {
      exiting = true;
      child.kill();
    },
  };
}
