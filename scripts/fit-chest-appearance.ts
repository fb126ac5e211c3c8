// Fits the chest-radiograph appearance reference the out-of-distribution check uses
// (main/inference/chest-appearance.json): mean/std of the features on the training split, threshold
// = a high quantile of the calibration split's distances. Validation images are never read.
//   node --import tsx scripts/fit-chest-appearance.ts [../shared/data/MANIFEST.csv]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest, splitThreeWay } from '../main/data/index.ts';
import { readModelInputImage } from '../main/data/input/index.ts';
import {
  type AppearanceReference,
  appearanceDistance,
  appearanceFeatures,
  appearanceReferenceSchema,
  fitAppearance,
  quantile,
} from '../main/inference/appearance.ts';

const SPLIT = { seed: 20261126, validationFraction: 0.2, calibrationFraction: 0.15 };
/** Share of real chest X-rays (calibration split) the check may flag. */
const CALIBRATION_QUANTILE = 0.99;

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = process.argv[2] ?? join(root, '..', 'shared', 'data', 'MANIFEST.csv');
const items = await loadManifest(manifest, { includeDicom: false });
const { train, calibration } = splitThreeWay(items, SPLIT);
const features: Float64Array[] = [];
for (const item of train) features.push(appearanceFeatures(await readModelInputImage(item.path)));
const { mean, std } = fitAppearance(features);
const distances: number[] = [];
for (const item of calibration)
  distances.push(appearanceDistance(await readModelInputImage(item.path), { mean, std }));
const threshold = quantile(distances, CALIBRATION_QUANTILE);
const reference: AppearanceReference = appearanceReferenceSchema.parse({
  format: 'r2c-chest-appearance/1',
  fittedOn: `MANIFEST.csv chest X-rays, train split of seed ${SPLIT.seed} (validation ${SPLIT.validationFraction}, calibration ${SPLIT.calibrationFraction}): ${train.length} images`,
  mean: mean.map((v) => Number(v.toPrecision(6))),
  std: std.map((v) => Number(v.toPrecision(6))),
  threshold: Number(threshold.toPrecision(6)),
  thresholdChosenOn: `calibration split (${calibration.length} images), ${CALIBRATION_QUANTILE * 100}th percentile of their distances`,
  calibration: { count: distances.length, flagged: distances.filter((d) => d > threshold).length },
});
writeFileSync(
  join(root, 'main', 'inference', 'chest-appearance.json'),
  `${JSON.stringify(reference, null, 2)}\n`,
);
console.log(
  `train ${train.length}, calibration ${calibration.length}, threshold ${threshold.toFixed(3)} (calibration median ${quantile(distances, 0.5).toFixed(3)}, max ${Math.max(...distances).toFixed(3)})`,
);
