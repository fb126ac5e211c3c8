// Model channels: the catalogue and file check, and fine-tuning and evaluation as long jobs.
import { join } from 'node:path';
import { localModelsDir } from '../app/paths.ts';
import type { Services } from '../app/services.ts';
import type { modelChannels } from '../contract/models.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

export function modelHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof modelChannels> {
  const { dataDir, modelsDir } = services.config;
  const modelDirs = { shippedDir: modelsDir, localDir: localModelsDir(dataDir) };
  return {
    async modelCatalog() {
      return services.models.list();
    },
    // Fine-tuning and evaluation run for minutes to hours: the job runner's long lane.
    async fineTuneModel({ jobId, ...request }, { emit }) {
      return jobs.run(jobId, emit, (signal, onProgress) =>
        services.jobs.run(
          'fineTuneModel',
          { ...request, ...modelDirs, runsDir: join(dataDir, 'training-runs') },
          { signal, long: true, onProgress },
        ),
      );
    },
    async evaluateModel({ jobId, ...request }, { emit }) {
      return jobs.run(jobId, emit, (signal, onProgress) =>
        services.jobs.run(
          'evaluateInstalledModel',
          { ...request, ...modelDirs, evaluationsDir: join(dataDir, 'evaluations') },
          { signal, long: true, onProgress },
        ),
      );
    },
    async verifyModel({ modelId }) {
      return services.models.verify(modelId);
    },
  };
}
