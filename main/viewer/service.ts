// The viewer's main-process service: original images in their own units, analyses (restoration +
// classification) run once per image and model and kept in the results folder, restored images and
// heat maps read back from there.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultModel, findModel, listModels } from '../inference/model-store.ts';
import type { JobProgress } from '../jobs/types.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { Library } from '../library/index.ts';
import { AppError } from '../util/errors.ts';
import { PromiseCache } from '../util/promise-cache.ts';
import { restoredToModality, type ViewerImage } from './frame.ts';
import {
  type AnalysisRecord,
  type analyseForViewer,
  HEATMAP_FILE,
  type loadViewerImage,
  RECORD_FILE,
  restoredFile,
} from './jobs.ts';

/** The job kinds the viewer runs: the runner it is given must serve them. */
export type ViewerJobs = {
  loadViewerImage: typeof loadViewerImage;
  analyseForViewer: typeof analyseForViewer;
};

export interface ViewerServiceOptions {
  dataDir: string;
  shippedDir: string;
  localDir: string;
  library: Library;
  jobs: JobRunner<ViewerJobs>;
}

export interface AnalysisSummary {
  instanceId: number;
  model: { id: string; version: string; name: string };
  provider: string;
  threshold: number;
  probabilities: { normal: number; covid: number };
  label: 'covid' | 'normal';
  passes: number;
  working: { width: number; height: number };
  createdAt: string;
  /** True when a stored analysis was returned instead of running the model again. */
  reused: boolean;
}

export interface Heatmap {
  width: number;
  height: number;
  /** Row-major, 0 (no evidence) … 255 (strongest evidence for COVID-19). */
  data: Uint8Array<ArrayBuffer>;
}

const IMAGE_CACHE_SIZE = 4;

export function createViewerService(options: ViewerServiceOptions) {
  const { library, jobs } = options;
  // Decoded originals: the few the viewer goes back and forth between.
  const images = new PromiseCache<number, ViewerImage>(IMAGE_CACHE_SIZE);

  const resultDir = (sha256: string, modelId: string) => join(options.dataDir, 'results', sha256, modelId);

  async function models() {
    const { models } = await listModels(options.shippedDir, options.localDir);
    return models;
  }

  /** The stored analysis of this instance by this model, if it is complete and still matches both. */
  async function storedRecord(instanceId: number, modelId: string, modelSha256: string) {
    const instance = library.getDecodableInstance(instanceId);
    const row = library.listResults(instanceId).find((r) => r.modelId === modelId);
    if (!row) return undefined;
    const record = row.output as AnalysisRecord;
    const dir = resultDir(instance.sha256, modelId);
    if (record.model?.sha256 !== modelSha256 || record.instanceSha256 !== instance.sha256) return undefined;
    if (!existsSync(join(dir, RECORD_FILE)) || !existsSync(join(dir, HEATMAP_FILE))) return undefined;
    return { record, dir };
  }

  function summarise(
    instanceId: number,
    record: AnalysisRecord,
    name: string,
    reused: boolean,
  ): AnalysisSummary {
    return {
      instanceId,
      model: { id: record.model.id, version: record.model.version, name },
      provider: record.provider,
      threshold: record.threshold,
      probabilities: record.probabilities,
      label: record.label,
      passes: record.passes,
      working: record.working,
      createdAt: record.createdAt,
      reused,
    };
  }

  async function recordFor(instanceId: number, modelId: string) {
    const model = findModel(await models(), modelId);
    const stored = await storedRecord(instanceId, modelId, model.card.sha256);
    if (!stored)
      throw new AppError(
        'not_found',
        `instance ${instanceId} has not been analysed with model ${modelId} yet`,
      );
    return stored;
  }

  return {
    getImage(instanceId: number): Promise<ViewerImage> {
      return images.get(instanceId, () => {
        const instance = library.getDecodableInstance(instanceId);
        return jobs.run('loadViewerImage', {
          path: instance.filePath,
          sha256: instance.sha256,
          label: `instance ${instanceId}`,
        });
      });
    },

    /** Stored analyses of an instance whose model is still installed, newest first. */
    async listAnalyses(instanceId: number): Promise<AnalysisSummary[]> {
      const installed = await models();
      const out: AnalysisSummary[] = [];
      for (const row of library.listResults(instanceId)) {
        const model = installed.find((m) => m.card.id === row.modelId);
        if (!model) continue;
        const stored = await storedRecord(instanceId, row.modelId, model.card.sha256);
        if (stored) out.push(summarise(instanceId, stored.record, model.card.name, true));
      }
      return out;
    },

    /** Restores (all passes up to `passes`) and classifies, or returns the stored analysis. */
    async analyse(
      instanceId: number,
      request: { modelId?: string; passes: number; reuse: boolean },
      run: { signal?: AbortSignal; onProgress?: (progress: JobProgress) => void } = {},
    ): Promise<AnalysisSummary> {
      const all = await models();
      const model = request.modelId ? findModel(all, request.modelId) : defaultModel(all);
      if (!model) throw new AppError('not_found', 'no model is installed');
      const instance = library.getDecodableInstance(instanceId);
      if (request.reuse) {
        const stored = await storedRecord(instanceId, model.card.id, model.card.sha256);
        if (stored && stored.record.passes >= request.passes)
          return summarise(instanceId, stored.record, model.card.name, true);
      }
      const record = await jobs.run(
        'analyseForViewer',
        {
          path: instance.filePath,
          sha256: instance.sha256,
          label: `instance ${instanceId}`,
          shippedDir: options.shippedDir,
          localDir: options.localDir,
          modelId: model.card.id,
          modelSha256: model.card.sha256,
          passes: request.passes,
          workingLongSide: model.card.input.workingLongSide,
          outDir: resultDir(instance.sha256, model.card.id),
        },
        { signal: run.signal, onProgress: run.onProgress },
      );
      library.putResult(instanceId, model.card.id, record);
      library.setProcessingStatus(instanceId, 'classified');
      return summarise(instanceId, record, model.card.name, false);
    },

    /** A restored pass in the original's units (see restoredToModality). */
    async getRestored(instanceId: number, modelId: string, pass: number): Promise<ViewerImage> {
      const { record, dir } = await recordFor(instanceId, modelId);
      if (pass < 1 || pass > record.passes)
        throw new AppError(
          'not_found',
          `pass ${pass} was not run (the stored analysis has ${record.passes})`,
        );
      const bytes = await readFile(join(dir, restoredFile(pass)));
      const { width, height } = record.working;
      if (bytes.byteLength !== width * height * 4)
        throw new AppError(
          'integrity',
          `the stored restoration of instance ${instanceId} is damaged; analyse it again`,
        );
      const data = new Float32Array(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      );
      return restoredToModality({ width, height, data }, record.mapping, {
        ...record.original,
        pixels: new Uint8Array(),
      });
    },

    async getHeatmap(instanceId: number, modelId: string): Promise<Heatmap> {
      const { record, dir } = await recordFor(instanceId, modelId);
      const bytes = await readFile(join(dir, HEATMAP_FILE));
      const { width, height } = record.working;
      if (bytes.byteLength !== width * height)
        throw new AppError(
          'integrity',
          `the stored heat map of instance ${instanceId} is damaged; analyse it again`,
        );
      return { width, height, data: new Uint8Array(bytes) };
    },
  };
}

export type ViewerService = ReturnType<typeof createViewerService>;
