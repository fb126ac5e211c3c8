// Evaluating an installed model from the app, as a job: `r2c eval`'s evaluation on labelled images,
// its files under <dataDir>/evaluations/<model>/<time>/, and — for a model trained on this workstation —
// the results written into its model card, so the Models page shows them. Shipped cards are never changed.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../models/index.ts';
import { cardMetrics, loadEvaluationItems, writeEvaluation } from './evaluation-run.ts';
import type { JobContext } from '../jobs/types.ts';
import { evaluateModel } from './evaluate-model.ts';
import { modelCardSchema } from '../inference/index.ts';
import { findModel, listModels } from '../inference/index.ts';
import { createInferenceService } from '../inference/index.ts';

export interface EvaluateInstalledInput {
  shippedDir: string;
  localDir: string;
  evaluationsDir: string;
  modelId: string;
  data: string;
  validationSeed?: number;
  validationFraction?: number;
  /** The held-out part of the seed's split to evaluate (default validation; calibration: for thresholds). */
  split?: 'validation' | 'calibration';
}

export interface EvaluateInstalledOutput {
  count: number;
  threshold: number;
  /** Null where undefined (NaN, e.g. F1 with no COVID-19 predictions). */
  f1: { clean: number | null; degraded: number | null; restored: number | null };
  auc: { clean: number | null; degraded: number | null; restored: number | null };
  psnrGainDb: number | null;
  ssimGain: number | null;
  /** The best classical baseline's PSNR gain on the same degraded images. */
  bestBaselinePsnrGainDb: number | null;
  /** Cross-fitted F1 on degraded images with a tuned threshold (null for tiny sets). */
  crossFittedF1Degraded: number | null;
  /** True when the results were written into the (local) model's card. */
  savedToCard: boolean;
  outDir: string;
}

export async function evaluateInstalledModel(
  input: EvaluateInstalledInput,
  context: JobContext,
): Promise<EvaluateInstalledOutput> {
  const model = findModel((await listModels(input.shippedDir, input.localDir)).models, input.modelId);
  const items = await loadEvaluationItems(input.data, {
    ...(input.validationSeed !== undefined
      ? {
          validationSeed: input.validationSeed,
          validationFraction: input.validationFraction ?? 0.2,
          ...(input.split ? { split: input.split } : {}),
        }
      : {}),
  });
  const service = createInferenceService({ shippedDir: input.shippedDir, localDir: input.localDir });
  try {
    const {
      report,
      model: evaluated,
      provider,
    } = await evaluateModel({
      service,
      modelId: input.modelId,
      items,
      degradationSeed: 'r2c-eval',
      signal: context.signal,
      onProgress: (p) =>
        context.progress({ done: p.done, total: p.total, message: `image ${p.done} of ${p.total}` }),
    });
    const result = { model: evaluated, provider, data: input.data, count: items.length, report };
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const outDir = join(input.evaluationsDir, input.modelId, stamp);
    await writeEvaluation(outDir, result);
    let savedToCard = false;
    // A calibration evaluation chooses thresholds; it is not the model's validation result.
    if (model.origin === 'local' && input.split !== 'calibration') {
      // Re-read the card: only its metrics change, never the file, hash or identity.
      const cardPath = join(model.dir, `${model.card.id}.model.json`);
      const card = modelCardSchema.parse(JSON.parse(await readFile(cardPath, 'utf8')));
      const what =
        input.validationSeed !== undefined
          ? `validation split (seed ${input.validationSeed}) of ${basename(input.data)}`
          : basename(input.data);
      const updated = {
        ...card,
        metrics: cardMetrics(
          result,
          `${what} (${items.length} images), ${report.config.size}x${report.config.size}, degradation seed r2c-eval`,
        ),
        limitations: card.limitations.filter((l) => !l.startsWith('draft: not evaluated')),
      };
      if (updated.limitations.length === 0) updated.limitations = card.limitations;
      await writeFileAtomic(cardPath, Buffer.from(`${JSON.stringify(updated, null, 1)}\n`));
      savedToCard = true;
    }
    const c = report.classification;
    const n = (v: number) => (Number.isFinite(v) ? v : null);
    const gains = Object.values(report.restoration.baselines).map(
      (b) => b?.overall.psnrGain ?? Number.NEGATIVE_INFINITY,
    );
    return {
      count: items.length,
      threshold: report.config.threshold,
      f1: {
        clean: n(c.clean.metrics.f1),
        degraded: n(c.degraded.metrics.f1),
        restored: n(c.restored.metrics.f1),
      },
      auc: { clean: n(c.clean.auc), degraded: n(c.degraded.auc), restored: n(c.restored.auc) },
      psnrGainDb: n(report.restoration.restored.overall.psnrGain),
      ssimGain: n(report.restoration.restored.overall.ssimGain),
      bestBaselinePsnrGainDb: gains.length > 0 ? n(Math.max(...gains)) : null,
      crossFittedF1Degraded: n(report.operatingPoints.degraded?.crossFitted.f1 ?? Number.NaN),
      savedToCard,
      outDir,
    };
  } finally {
    await service.close();
  }
}
