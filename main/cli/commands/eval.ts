import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import type { EvaluationReport } from '../../evaluation/evaluate.ts';
import { loadEvaluationItems, writeEvaluation } from '../../evaluation/evaluation-run.ts';
import { evaluateModel } from '../../inference/evaluate-model.ts';
import { adHocModel } from '../../inference/model-store.ts';
import { createInferenceService } from '../../inference/service.ts';
import { type CliCommand, UsageError } from '../command.ts';
import { progressBar } from '../progress.ts';

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');

function summary(report: EvaluationReport): string[] {
  const lines = ['Classification (COVID-19 positive):'];
  lines.push('  condition     acc     sens    spec    prec    F1      F2      AUC');
  const rows = {
    clean: report.classification.clean,
    degraded: report.classification.degraded,
    restored: report.classification.restored,
    ...report.classification.baselines,
  };
  for (const [name, r] of Object.entries(rows)) {
    if (!r) continue;
    const m = r.metrics;
    lines.push(
      `  ${name.padEnd(12)}  ${[m.accuracy, m.sensitivity, m.specificity, m.precision, m.f1, m.f2].map((v) => pct(v).padEnd(6)).join('  ')}  ${r.auc.toFixed(3)}`,
    );
  }
  lines.push('', `Threshold ${report.config.threshold} (above). A threshold tuned for F1 would give:`);
  for (const [name, op] of Object.entries(report.operatingPoints)) {
    if (!op) continue;
    lines.push(
      `  ${name.padEnd(12)}  chosen on this set: p > ${op.bestF1.threshold.toFixed(3)}, F1 ${pct(op.bestF1.f1)} (optimistic); cross-fitted (2 folds by patient): F1 ${pct(op.crossFitted.f1)}`,
    );
  }
  lines.push('', 'Restoration against the clean image (mean PSNR dB / SSIM, gain over degraded):');
  const restorations = {
    degraded: report.restoration.degraded,
    restored: report.restoration.restored,
    ...report.restoration.baselines,
  };
  for (const [name, r] of Object.entries(restorations)) {
    if (!r) continue;
    const o = r.overall;
    lines.push(
      `  ${name.padEnd(12)}  PSNR ${o.psnr.toFixed(2)} (${o.psnrGain >= 0 ? '+' : ''}${o.psnrGain.toFixed(2)})  SSIM ${o.ssim.toFixed(4)} (${o.ssimGain >= 0 ? '+' : ''}${o.ssimGain.toFixed(4)})`,
    );
  }
  lines.push('', 'PSNR gain of the model by degradation type:');
  for (const [type, s] of Object.entries(report.restoration.restored.byType)) {
    if (s)
      lines.push(
        `  ${type.padEnd(18)} n=${String(s.count).padEnd(4)} ${s.psnrGain >= 0 ? '+' : ''}${s.psnrGain.toFixed(2)} dB`,
      );
  }
  return lines;
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'evaluate a model: classification and restoration on clean, degraded and restored images',
  usage:
    'r2c eval --data <folder|manifest.csv> [--model <id|file.onnx>] [--degrade <seed>] [--validation-seed <n> [--validation-fraction 0.2]] [--threshold <p>] [--limit N] [--out <dir>] [--json]\n' +
    "  --threshold overrides the model card's decision threshold (COVID-19 when p > threshold).",
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        data: { type: 'string' },
        degrade: { type: 'string' },
        'validation-seed': { type: 'string' },
        threshold: { type: 'string' },
        'validation-fraction': { type: 'string' },
        limit: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (!values.data) throw new UsageError('--data <folder|manifest.csv> is required');
    const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
    if (threshold !== undefined && !(threshold >= 0 && threshold < 1))
      throw new UsageError(`--threshold must be a probability in [0, 1), got '${values.threshold}'`);
    const fraction = Number(values['validation-fraction'] ?? '0.2');
    if (!(fraction > 0 && fraction < 1))
      throw new UsageError('--validation-fraction must be between 0 and 1');
    const items = await loadEvaluationItems(values.data, {
      ...(values['validation-seed'] !== undefined
        ? { validationSeed: Number(values['validation-seed']), validationFraction: fraction }
        : {}),
      ...(values.limit ? { limit: Number(values.limit) } : {}),
    });

    const extraModels = [];
    let modelId = values.model;
    if (values.model?.endsWith('.onnx')) {
      if (!(await stat(values.model).catch(() => null)))
        throw new UsageError(`model file ${values.model} not found`);
      const model = await adHocModel(values.model, { kind: 'operational', parameters: 1 });
      extraModels.push(model);
      modelId = model.card.id;
    }
    const service = createInferenceService({
      shippedDir: shippedModelsDir(),
      localDir: localModelsDir(),
      extraModels,
    });
    const bar = progressBar(io, 'evaluating');
    try {
      const { report, model, provider } = await evaluateModel({
        service,
        modelId,
        items,
        degradationSeed: values.degrade ?? 'r2c-eval',
        ...(threshold !== undefined ? { threshold } : {}),
        signal: io.signal,
        onProgress: (p) => bar.update(p.done, p.total),
      });
      bar.finish();
      const result = { model, provider, data: values.data, count: items.length, report };
      if (values.out) await writeEvaluation(values.out, result);
      if (values.json) io.out(JSON.stringify(result));
      else {
        io.out(
          `Model ${model.id} ${model.version} on ${provider}, ${items.length} images from ${values.data}`,
        );
        for (const line of summary(report)) io.out(line);
        if (values.out) io.out(`\nreport and plots written to ${values.out}`);
      }
      return 0;
    } finally {
      await service.close();
    }
  },
};
