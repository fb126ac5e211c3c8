// Computes a shipped model card's `calibration` field: the indeterminate band from the calibration
// split's per-image scores (an `r2c eval --split calibration --out DIR` run), the validation
// sensitivity/specificity at the card's threshold (an `r2c eval` validation run), and the fixed
// heat-map scale (99th percentile of positive class-activation values over the calibration images).
//   node --import tsx scripts/calibrate-model.ts <model-id> <calibration evaluation.json> <validation evaluation.json> [--write]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInferenceModel } from '../models/index.ts';
import { shippedModelsDir } from '../main/app/paths.ts';
import { loadManifest, splitThreeWay } from '../main/data/index.ts';
import { readModelInputImage } from '../main/data/input/index.ts';
import { quantile } from '../main/inference/appearance.ts';
import { modelCalibrationSchema } from '../main/inference/model-card.ts';
import { findModel, listModels, readVerifiedModel } from '../main/inference/model-store.ts';
import { toClassificationTensor } from '../main/inference/preprocess.ts';
import { indeterminateBand } from '../main/inference/uncertainty.ts';

interface EvaluationImage {
  id: string;
  label: 'covid' | 'normal';
  scores: { clean: number };
}
const [modelId, calibrationFile, validationFile] = process.argv.slice(2);
/** --note <text>: a caveat carried into calibratedOn (e.g. the images were seen in training). */
const noteAt = process.argv.indexOf('--note');
const note = noteAt > 0 ? process.argv[noteAt + 1] : undefined;
if (!modelId || !calibrationFile || !validationFile) {
  console.error(
    'usage: calibrate-model.ts <model-id> <calibration evaluation.json> <validation evaluation.json> [--write]',
  );
  process.exit(2);
}
const dataRoot = join(shippedModelsDir(), '..', '..', '..', 'shared', 'data');
const model = findModel((await listModels(shippedModelsDir())).models, modelId);
const { card } = model;
// '-': score the calibration split's clean images here (classification only) instead of reading an eval.
const calibration =
  calibrationFile === '-'
    ? { report: { images: await calibrationSplit() } }
    : (JSON.parse(readFileSync(calibrationFile, 'utf8')) as { report: { images: EvaluationImage[] } });
async function calibrationSplit(): Promise<EvaluationImage[]> {
  const items = await loadManifest(join(dataRoot, 'MANIFEST.csv'), { includeDicom: false });
  const split = splitThreeWay(items, { seed: 20261126, validationFraction: 0.2, calibrationFraction: 0.15 });
  return split.calibration.map((i) => ({ id: i.id, label: i.label, scores: { clean: Number.NaN } }));
}
const validation = JSON.parse(readFileSync(validationFile, 'utf8')) as {
  report: { images: EvaluationImage[] };
};

const val = validation.report.images;
const tp = val.filter((i) => i.label === 'covid' && i.scores.clean > card.threshold).length;
const tn = val.filter((i) => i.label === 'normal' && i.scores.clean <= card.threshold).length;
const positives = val.filter((i) => i.label === 'covid').length;

const runner = await loadInferenceModel(await readVerifiedModel(model), { threads: 2 }, card.file);
const size = card.input.classificationSize;
const camValues: number[] = [];
for (const image of calibration.report.images) {
  const gray = await readModelInputImage(join(dataRoot, image.id));
  const { cam, probabilities } = await runner.run(toClassificationTensor(gray, size), [1, 1, size, size]);
  for (const v of cam) if (v > 0) camValues.push(v);
  if (Number.isNaN(image.scores.clean)) image.scores.clean = probabilities[1]!;
}
await runner.release();
const cases = calibration.report.images.map((i) => ({
  score: i.scores.clean,
  positive: i.label === 'covid',
}));
const band = indeterminateBand(cases, card.threshold);

const round = (v: number) => Number(v.toFixed(4));
const field = modelCalibrationSchema.parse({
  indeterminate: {
    low: round(band.low),
    high: round(band.high),
    method: `isotonic (PAV) calibration of the calibration split's clean-image scores; band = the blocks around the threshold whose Wilson 95% interval contains the calibrated probability at the threshold (${band.level.toFixed(3)})`,
  },
  calibratedOn: `calibration split (${cases.length} clean images, split seed 20261126, validation 0.2, calibration 0.15)${note ? `; ${note}` : ''}`,
  validation: {
    sensitivity: round(tp / positives),
    specificity: round(tn / (val.length - positives)),
    on: `validation split (${val.length} clean images), threshold ${card.threshold}`,
  },
  heatmapScale: {
    max: round(quantile(camValues, 0.99)),
    chosenOn: `99th percentile of the positive class-activation values over the ${cases.length} calibration images`,
  },
});
console.log(JSON.stringify(field, null, 2));
if (process.argv.includes('--write')) {
  const path = join(shippedModelsDir(), `${card.id}.model.json`);
  const stored = JSON.parse(readFileSync(path, 'utf8'));
  stored.calibration = field;
  writeFileSync(path, `${JSON.stringify(stored, null, 2)}\n`);
  console.log(`written to ${path}`);
}
