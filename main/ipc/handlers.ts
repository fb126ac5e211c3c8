import type { Services } from '../app/services.ts';
import type { HandlerTable } from './dispatch.ts';

/**
 * The one handler table. Electron's ipcMain and the browser-test harness both bind exactly this,
 * so what the e2e tests exercise is what the app runs.
 */
export function createHandlers(services: Services): HandlerTable {
  const running = new Map<string, AbortController>();

  async function asJob<T>(jobId: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    running.set(jobId, controller);
    try {
      return await work(controller.signal);
    } finally {
      running.delete(jobId);
    }
  }

  return {
    async getAppInfo() {
      const model = await services.activeModel();
      return {
        ...services.identity,
        activeModel: model ? { id: model.id, version: model.version } : null,
        executionProvider: model?.provider ?? null,
      };
    },
    async hashFiles({ jobId, paths }, { emit }) {
      return asJob(jobId, (signal) =>
        services.jobs.run(
          'hashFiles',
          { paths },
          { signal, onProgress: (p) => emit({ type: 'jobProgress', jobId, ...p }) },
        ),
      );
    },
    async cancelJob({ jobId }) {
      const controller = running.get(jobId);
      controller?.abort();
      return { cancelled: controller !== undefined };
    },
  };
}
