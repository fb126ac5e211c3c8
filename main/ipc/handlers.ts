import type { Services } from '../app/services.ts';
import type { Output } from '../contract/types.ts';
import { AppError } from '../util/errors.ts';
import type { HandlerTable } from './dispatch.ts';

/** Thumbnails kept in memory (a few MB at most): scrolling back through a study re-renders nothing. */
const THUMBNAIL_CACHE_SIZE = 256;

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

  // Insertion-ordered map used as an LRU; holds promises so concurrent requests share one render.
  const thumbnails = new Map<string, Promise<Output<'getThumbnail'>>>();

  async function renderThumbnail(instanceId: number, size: number): Promise<Output<'getThumbnail'>> {
    const instance = services.library.getInstance(instanceId);
    const label = `instance ${instanceId}`;
    if (!instance.decodable)
      throw new AppError('unsupported', `${label} has no displayable image: ${instance.undecodableReason}`);
    const { pngBase64, width, height } = await services.jobs.run('renderThumbnail', {
      path: instance.filePath,
      size,
      sha256: instance.sha256,
      label,
    });
    return { dataUrl: `data:image/png;base64,${pngBase64}`, width, height };
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
    async importPaths({ jobId, paths, mode }, { emit }) {
      return asJob(jobId, (signal) =>
        services.library.importPaths(paths, {
          mode,
          signal,
          onProgress: (p) => emit({ type: 'jobProgress', jobId, ...p }),
        }),
      );
    },
    async listStudies(query) {
      return { studies: services.library.listStudies(query) };
    },
    async listSeries({ studyId }) {
      return { series: services.library.listSeries({ studyId }) };
    },
    async listInstances({ seriesId }) {
      return { instances: services.library.listInstances({ seriesId }) };
    },
    async getThumbnail({ instanceId, size }) {
      const key = `${instanceId}:${size}`;
      let entry = thumbnails.get(key);
      if (entry) {
        thumbnails.delete(key);
      } else {
        const rendering = renderThumbnail(instanceId, size);
        // A failure is not remembered: the file may be back (or fixed) next time.
        rendering.catch(() => {
          if (thumbnails.get(key) === rendering) thumbnails.delete(key);
        });
        entry = rendering;
      }
      thumbnails.set(key, entry);
      if (thumbnails.size > THUMBNAIL_CACHE_SIZE) thumbnails.delete(thumbnails.keys().next().value!);
      return entry;
    },
    async cancelJob({ jobId }) {
      const controller = running.get(jobId);
      controller?.abort();
      return { cancelled: controller !== undefined };
    },
  };
}
