// Viewer channels: thin calls into the viewer service; batch analysis as a job.
import type { Services } from '../app/services.ts';
import type { viewerChannels } from '../contract/viewer.ts';
import { analyseImages } from '../viewer/analyse-images.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

export function viewerHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof viewerChannels> {
  const { viewer } = services;
  return {
    async getViewerImage({ instanceId, frame }) {
      return viewer.getImage(instanceId, frame ?? 0);
    },
    async getViewerStudy({ instanceId }) {
      return viewer.study(instanceId);
    },
    async getStructuredReport({ instanceId }) {
      return viewer.report(instanceId);
    },
    async listAnnotations({ instanceId }) {
      return viewer.annotations(instanceId);
    },
    async saveAnnotations({ instanceId, annotations }) {
      viewer.saveAnnotations(instanceId, annotations);
      return { saved: annotations.length };
    },
    async exportAnnotations({ instanceId, ...request }) {
      return viewer.exportAnnotations(instanceId, request);
    },
    async listAnalyses({ instanceId }) {
      return { analyses: await viewer.listAnalyses(instanceId) };
    },
    async analyseImages({ jobId, instanceIds, ...request }, { emit }) {
      return jobs.run(jobId, emit, (signal, onProgress) =>
        analyseImages(viewer, instanceIds, request, { signal, onProgress }),
      );
    },
    async getRestoredImage({ instanceId, modelId, pass }) {
      return viewer.getRestored(instanceId, modelId, pass);
    },
    async getHeatmap({ instanceId, modelId }) {
      return viewer.getHeatmap(instanceId, modelId);
    },
  };
}
