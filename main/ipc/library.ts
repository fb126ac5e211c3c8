// Library channels: thin calls into the library (imports, browsing) and the thumbnail job.
import type { Services } from '../app/services.ts';
import type { libraryChannels } from '../contract/library.ts';
import type { Output } from '../contract/types.ts';
import { PromiseCache } from '../util/promise-cache.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

/** Thumbnails kept in memory (a few MB at most): scrolling back through a study re-renders nothing. */
const THUMBNAIL_CACHE_SIZE = 256;

/** A rendered PNG as the renderer shows it. */
export const pngDataUrl = ({
  pngBase64,
  width,
  height,
}: {
  pngBase64: string;
  width: number;
  height: number;
}) => ({
  dataUrl: `data:image/png;base64,${pngBase64}`,
  width,
  height,
});

export function libraryHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof libraryChannels> {
  const thumbnails = new PromiseCache<string, Output<'getThumbnail'>>(THUMBNAIL_CACHE_SIZE);
  return {
    async hashFiles({ jobId, paths }, { emit }) {
      return jobs.run(jobId, emit, (signal, onProgress) =>
        services.jobs.run('hashFiles', { paths }, { signal, onProgress }),
      );
    },
    async importPaths({ jobId, paths, mode }, { emit }) {
      return jobs.run(jobId, emit, (signal, onProgress) =>
        services.library.importPaths(paths, { mode, signal, onProgress }),
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
      // Keyed by the file's hash too: a deleted instance's id may be given to a later import.
      const source = services.library.imageSource(instanceId);
      return thumbnails.get(`${instanceId}:${source.sha256}:${size}`, async () =>
        pngDataUrl(await services.jobs.run('renderThumbnail', { ...source, size })),
      );
    },
  };
}
