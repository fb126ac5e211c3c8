// Model channels: the catalogue and file check, fine-tuning and evaluation as long jobs, and the
// model registry (active model, history, thresholds, comparison, packages).
import { join } from 'node:path';
import { localModelsDir } from '../app/paths.ts';
import type { Services } from '../app/services.ts';
import type { modelChannels } from '../contract/models.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

/** NaN (e.g. a proportion of nothing) crosses IPC as null, as JSON writes it. */
const jsonSafe = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function modelHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof modelChannels> {
  const { dataDir, modelsDir } = services.config;
  const modelDirs = { shippedDir: modelsDir, localDir: localModelsDir(dataDir) };
  const { registry } = services;
  return {
    async modelCatalog() {
      const catalog = await services.models.list();
      const { versions } = await registry.list();
      // The registry also knows evaluations made on this workstation or brought in a package.
      const models = catalog.models.map((m) => {
        const known = versions.find(
          (v) => v.modelId === m.id && v.version === m.version && v.sha256 === m.sha256,
        );
        return known && m.status === 'installed' && known.status === 'evaluated'
          ? { ...m, status: known.status }
          : m;
      });
      return { ...catalog, models };
    },
    // Fine-tuning and evaluation run for minutes to hours: the job runner's long lane.
    async fineTuneModel({ jobId, ...request }, { emit }) {
      registry.assertFineTuningAllowed();
      const result = await jobs.run(jobId, emit, (signal, onProgress) =>
        services.jobs.run(
          'fineTuneModel',
          { ...request, ...modelDirs, runsDir: join(dataDir, 'training-runs') },
          { signal, long: true, onProgress },
        ),
      );
      if (result.modelId)
        await registry.recordFineTune({
          modelId: result.modelId,
          data: request.data,
          baseModelId: request.baseModelId,
          objective: request.objective,
          steps: result.totalSteps,
        });
      return result;
    },
    async evaluateModel({ jobId, purpose, ...request }, { emit }) {
      const result = await jobs.run(jobId, emit, (signal, onProgress) =>
        services.jobs.run(
          'evaluateInstalledModel',
          { ...request, ...modelDirs, evaluationsDir: join(dataDir, 'evaluations') },
          { signal, long: true, onProgress },
        ),
      );
      const recorded = await registry.recordEvaluation({
        modelId: request.modelId,
        evaluationFile: join(result.outDir, 'evaluation.json'),
        purpose: purpose ?? (request.split === 'calibration' ? 'calibration' : 'validation'),
      });
      return { ...result, evaluationId: recorded.evaluationId };
    },
    async verifyModel({ modelId }) {
      return services.models.verify(modelId);
    },
    async modelRegistry() {
      const { versions, active } = await registry.list();
      return jsonSafe({ versions, active, history: await registry.history(), policy: registry.policy });
    },
    async activateModel(request) {
      return jsonSafe(await registry.activate(request));
    },
    async rollbackModel(request) {
      return jsonSafe(await registry.rollback(request));
    },
    async retireModel(request) {
      return jsonSafe(await registry.retire(request));
    },
    async modelHistoryCsv() {
      const day = new Date().toISOString().slice(0, 10);
      return { csv: await registry.historyCsv(), fileName: `model-history-${day}.csv` };
    },
    async previewModelThreshold(request) {
      return jsonSafe(registry.previewThreshold(request));
    },
    async setModelThreshold(request) {
      return jsonSafe(await registry.setThreshold(request));
    },
    async compareModels(request) {
      return jsonSafe(registry.compare(request));
    },
    async exportModelPackage({ signingKey, ...request }) {
      return registry.exportPackage({ ...request, ...(signingKey ? { signingKeyFile: signingKey } : {}) });
    },
    async modelProvenance({ modelId, version, sha256 }) {
      await registry.sync();
      return registry.provenance({ id: modelId, version, sha256 });
    },
    async importModelPackage({ file }) {
      return registry.importPackage({ file });
    },
  };
}
