import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import {
  type BaselineName,
  baselineNames,
  DEFAULT_CALIBRATION_FRACTION,
  type EvaluationReport,
  evaluateModel,
  loadEvaluationItems,
  thresholdFromCalibration,
  writeEvaluation,
} from '../../evaluation/index.ts';
import { adHocModel } from '../../inference/index.ts';
import { createInferenceService } from '../../inference/index.ts';
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
  lines.push(
    '',
    'Grid texture (2x2 checker energy / clean image; 1.00 = none added) and Nyquist spectral peak:',
  );
  const id = report.restoration.identity;
  lines.push(
    `  model on clean inputs  grid ${id.gridRatio.toFixed(2)}  PSNR ${id.psnr.toFixed(2)} dB against the input`,
  );
  for (const [name, r] of Object.entries(restorations)) {
    if (r)
      lines.push(
        `  ${name.padEnd(12)}  grid ${r.overall.gridRatio.toFixed(2)}  Nyquist peak ${r.overall.nyquistPeak.toFixed(2)} (clean images ${id.cleanNyquistPeak.toFixed(2)})`,
      );
  }
  if (report.classification.withinSource.length > 0) {
    lines.push('', 'Within one data source (both classes present, so the source is no shortcut):');
    for (const s of report.classification.withinSource)
      lines.push(
        `  ${s.source} (n=${s.count}: ${s.covid} covid, ${s.normal} normal)`,
        `    F1 clean/degraded/restored ${pct(s.clean.f1)} / ${pct(s.degraded.f1)} / ${pct(s.restored.f1)}; AUC ${s.clean.auc.toFixed(3)} / ${s.degraded.auc.toFixed(3)} / ${s.restored.auc.toFixed(3)}`,
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

function parseBaselines(value: string | undefined): BaselineName[] {
  if (value === undefined || value === 'all') return [...baselineNames];
  if (value === 'none') return [];
  const names = value.split(',').map((s) => s.trim());
  for (const n of names)
    if (!(baselineNames as readonly string[]).includes(n))
      throw new UsageError(
        `--baselines: unknown baseline '${n}' (known: ${baselineNames.join(', ')}, all, none)`,
      );
  return names as BaselineName[];
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'evaluate a model: classification and restoration on clean, degraded and restored images',
  usage:
    'r2c eval --data <folder|manifest.csv> [--model <id|file.onnx>] [--degrade <seed>] [--validation-seed <n> [--validation-fraction 0.2] [--split validation|calibration] [--calibration-fraction 0.15]] [--threshold <p>] [--baselines all|none|<name,...>] [--limit N] [--out <dir>] [--json]\n' +
    "  --threshold overrides the model card's decision threshold (COVID-19 when p > threshold).\n" +
    "  --split calibration evaluates the calibration part of the seed's three-way split (train / calibration /\n" +
    '  validation by patient): choose thresholds there, report on validation.\n' +
    '  --limit N evaluates N images spread evenly over the selection (both classes, every source), not the first N.',
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
        split: { type: 'string' },
        baselines: { type: 'string' },
        'calibration-fraction': { type: 'string' },
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
    const split = values.split ?? 'validation';
    if (split !== 'validation' && split !== 'calibration')
      throw new UsageError(`--split must be validation or calibration, got '${split}'`);
    if (values.split !== undefined && values['validation-seed'] === undefined)
      throw new UsageError('--split needs --validation-seed (the seed of the three-way split)');
    const calibrationFraction = Number(
      values['calibration-fraction'] ?? String(DEFAULT_CALIBRATION_FRACTION),
    );
    if (!(calibrationFraction > 0 && calibrationFraction + fraction < 1))
      throw new UsageError('--calibration-fraction must be above 0, with validation and calibration below 1');
    const items = await loadEvaluationItems(values.data, {
      ...(values['validation-seed'] !== undefined
        ? {
            validationSeed: Number(values['validation-seed']),
            validationFraction: fraction,
            split,
            calibrationFraction,
          }
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
        baselines: parseBaselines(values.baselines),
        signal: io.signal,
        onProgress: (p) => bar.update(p.done, p.total),
      });
      bar.finish();
      // On the calibration split, the threshold a card should ship with (the validation split only reports).
      // One class only (e.g. a small --limit): the report stands, without a threshold.
      const bothClasses = new Set(report.images.map((r) => r.label)).size === 2;
      const calibration =
        split === 'calibration' && bothClasses ? thresholdFromCalibration(report.images) : undefined;
      const result = {
        model,
        provider,
        data: values.data,
        count: items.length,
        ...(values['validation-seed'] !== undefined ? { split } : {}),
        report,
        ...(calibration ? { calibration } : {}),
      };
      if (values.out) await writeEvaluation(values.out, result);
      if (values.json) io.out(JSON.stringify(result));
      else {
        io.out(
          `Model ${model.id} ${model.version} on ${provider}, ${items.length} images from ${values.data}`,
        );
        for (const line of summary(report)) io.out(line);
        if (calibration)
          io.out(
            `\nThreshold chosen on this calibration split (F1-optimal over clean + degraded images): p > ${calibration.threshold.toFixed(4)} (F1 ${pct(calibration.f1)}, sensitivity ${pct(calibration.sensitivity)}, specificity ${pct(calibration.specificity)}); report with it on the validation split: --threshold ${calibration.threshold.toFixed(4)}`,
          );
        if (split === 'calibration' && !calibration)
          io.out('\nNo threshold chosen: these calibration images hold one class only.');
        if (values.out) io.out(`\nreport and plots written to ${values.out}`);
      }
      return 0;
    } finally {
      await service.close();
    }
  },
};
