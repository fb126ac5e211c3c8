import type { DatasetItem } from '../data/index.ts';
import type { BaselineName } from './baselines.ts';
import { type EvaluationReport, evaluate } from './evaluate.ts';
import type { JobProgress } from '../jobs/types.ts';
import type { InferenceService } from '../inference/index.ts';

export interface EvaluateModelOptions {
  service: InferenceService;
  modelId?: string;
  items: readonly DatasetItem[];
  degradationSeed: number | string;
  /** Overrides the model card's decision threshold. */
  threshold?: number;
  /** Classical baselines to run next to the model (default: all). */
  baselines?: readonly BaselineName[];
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
}

/**
 * Evaluates a model as the reference does (256x256 test images, COVID-19 from G_A2B's class branch)
 * on clean, degraded and restored images, next to the classical baselines.
 */
export async function evaluateModel(options: EvaluateModelOptions): Promise<{
  report: EvaluationReport;
  model: { id: string; version: string };
  provider: string;
}> {
  const { service, modelId } = options;
  const prepared = await service.prepare(modelId);
  const size = prepared.model.input.classificationSize;
  const report = await evaluate({
    items: options.items,
    size,
    threshold: options.threshold ?? prepared.model.threshold,
    degradationSeed: options.degradationSeed,
    ...(options.baselines ? { baselines: options.baselines } : {}),
    signal: options.signal,
    onProgress: options.onProgress,
    classify: async (image, signal) => {
      const r = await service.infer(image, { modelId, passes: 0, signal });
      return { covid: r.probabilities.covid };
    },
    restore: async (image, signal) => {
      const r = await service.infer(image, { modelId, passes: 1, workingLongSide: size, signal });
      return r.restored[0]!;
    },
  });
  return {
    report,
    model: { id: prepared.model.id, version: prepared.model.version },
    provider: prepared.provider,
  };
}
