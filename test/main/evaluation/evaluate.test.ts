import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baselines, medianFilter } from '../../../main/evaluation/baselines.ts';
import type { ClassifyFn, RestoreFn } from '../../../main/evaluation/evaluate.ts';
import {
  evaluate,
  type ImageRecord,
  psnrCapDb,
  reportAtThreshold,
  reportPlots,
  thresholdFromCalibration,
} from '../../../main/evaluation/evaluate.ts';
import { gridRatio, nyquistPeak } from '../../../main/evaluation/restoration.ts';
import { psnr, ssim } from '../../../main/evaluation/restoration.ts';
import { prepareForTest } from '../../../main/data/augment.ts';
import type { DatasetItem } from '../../../main/data/dataset.ts';
import { loadManifest } from '../../../main/data/dataset.ts';
import { degrade } from '../../../main/data/degrade.ts';
import { Rng } from '../../../main/data/random.ts';
import { AppError } from '../../../main/util/errors.ts';
import type { GrayImage } from '../../../main/util/image.ts';
import { createGray } from '../../../main/util/image.ts';
import { sharedDataMissing, sharedManifest } from '../data/shared-data.ts';

const items: DatasetItem[] = Array.from({ length: 8 }, (_, i) => ({
  id: `case-${i}`,
  path: `/nowhere/case-${i}.png`,
  label: i % 2 === 0 ? 'covid' : 'normal',
  format: 'raster',
}));

/** COVID-19 images are brighter on average: a brightness classifier separates clean images perfectly. */
async function load(item: DatasetItem): Promise<GrayImage> {
  const rng = new Rng(item.id);
  const base = item.label === 'covid' ? 0.62 : 0.38;
  const image = createGray(40, 36);
  for (let y = 0; y < 36; y++) {
    for (let x = 0; x < 40; x++)
      image.data[y * 40 + x] = base + 0.15 * Math.sin(x / 4 + y / 7) + 0.05 * rng.next();
  }
  return image;
}

const meanBrightness: ClassifyFn = async (image) => ({
  covid: image.data.reduce((s, v) => s + v, 0) / image.data.length,
});
const medianRestore: RestoreFn = async (image) => medianFilter(image, 1);

test('the report holds classification and restoration results that can be recomputed by hand', async () => {
  const progress: number[] = [];
  const report = await evaluate({
    items,
    classify: meanBrightness,
    restore: medianRestore,
    degradationSeed: 77,
    size: 32,
    loadImage: load,
    onProgress: (p) => progress.push(p.done),
  });
  assert.deepEqual(progress, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(report.config.count, 8);
  // Operating points: the F1-optimal threshold is at least as good as the report's threshold on the
  // same images, and its cross-fitted estimate comes from the same scores.
  for (const condition of ['clean', 'degraded', 'restored'] as const) {
    const op = report.operatingPoints[condition];
    assert.ok(op, `${condition} has operating points (8 images, 2 classes)`);
    const atThreshold = report.classification[condition].metrics.f1;
    assert.ok(op.bestF1.f1 >= (Number.isNaN(atThreshold) ? 0 : atThreshold) - 1e-12, `${condition}: best F1`);
    assert.equal(op.crossFitted.thresholds.length, 2);
  }
  assert.deepEqual(report.config.baselines, ['median_histeq', 'median_clahe', 'nlm']);
  assert.equal(report.classification.clean.auc, 1);
  assert.equal(report.classification.clean.counts.tp + report.classification.clean.counts.fn, 4);

  // recompute one image independently
  const record = report.images[3]!;
  const clean = prepareForTest(await load(items[3]!), 32);
  const degraded = degrade(clean, new Rng(77, 'evaluate', items[3]!.id)).image;
  const restored = medianFilter(degraded, 1);
  assert.deepEqual(record.artifacts, degrade(clean, new Rng(77, 'evaluate', items[3]!.id)).artifacts);
  assert.equal(record.psnr.degraded, psnr(clean, degraded));
  assert.equal(record.psnr.restored, psnr(clean, restored));
  assert.equal(record.ssim.restored, ssim(clean, restored));
  assert.equal(record.psnr.nlm, psnr(clean, baselines.nlm(degraded)));
  assert.equal(record.scores.restored, (await meanBrightness(restored)).covid);
  assert.equal(record.grid.restored, gridRatio(clean, restored));
  assert.equal(record.nyquist.clean, nyquistPeak(clean));
  assert.equal(record.identity.grid, gridRatio(clean, medianFilter(clean, 1)));
  // No source column: no within-source rows.
  assert.deepEqual(report.classification.withinSource, []);

  // summaries agree with the per-image records
  const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
  const overall = report.restoration.restored.overall;
  assert.ok(
    Math.abs(overall.psnr - mean(report.images.map((r) => Math.min(psnrCapDb, r.psnr.restored!)))) < 1e-9,
    'mean PSNR',
  );
  assert.ok(
    Math.abs(
      overall.psnrGain -
        mean(
          report.images.map(
            (r) => Math.min(psnrCapDb, r.psnr.restored!) - Math.min(psnrCapDb, r.psnr.degraded!),
          ),
        ),
    ) < 1e-9,
    'mean PSNR gain',
  );
  assert.equal(report.restoration.degraded.overall.psnrGain, 0);
  for (const [type, stats] of Object.entries(report.restoration.restored.byType)) {
    const subset = report.images.filter((r) => r.artifacts.some((a) => a.type === type));
    assert.equal(stats!.count, subset.length);
    assert.ok(Math.abs(stats!.ssim - mean(subset.map((r) => r.ssim.restored!))) < 1e-9, `SSIM for ${type}`);
  }
  const byCount = Object.values(report.restoration.restored.byArtifactCount).reduce((s, v) => s + v.count, 0);
  assert.equal(byCount, 8);

  const plots = reportPlots(report);
  assert.ok(plots.roc.startsWith('<svg') && plots.roc.includes('restored (AUC'), 'ROC plot');
  assert.ok(plots.psnrGain.includes('PSNR gain'), 'PSNR plot');
  assert.doesNotThrow(() => JSON.stringify(report));
});

test('same seed, same report; another seed changes the degradations', async () => {
  const run = (seed: number) =>
    evaluate({
      items,
      classify: meanBrightness,
      restore: medianRestore,
      degradationSeed: seed,
      size: 24,
      loadImage: load,
      baselines: [],
    });
  const a = await run(1);
  assert.deepEqual(a, await run(1));
  const b = await run(2);
  assert.notDeepEqual(
    a.images.map((r) => r.artifacts),
    b.images.map((r) => r.artifacts),
  );
  assert.deepEqual(a.classification.baselines, {});
});

test('cancellation and bad callback output are reported with clear errors', async () => {
  const controller = new AbortController();
  await assert.rejects(
    evaluate({
      items,
      classify: meanBrightness,
      restore: async (image) => {
        controller.abort();
        return image;
      },
      degradationSeed: 1,
      size: 16,
      loadImage: load,
      baselines: [],
      signal: controller.signal,
    }),
    (e: unknown) => e instanceof AppError && e.code === 'cancelled',
  );
  await assert.rejects(
    evaluate({
      items,
      classify: meanBrightness,
      restore: async () => createGray(8, 8),
      degradationSeed: 1,
      size: 16,
      loadImage: load,
      baselines: [],
    }),
    /restore returned a 8x8 image for a 16x16 input/,
  );
  await assert.rejects(
    evaluate({
      items,
      classify: async () => ({ covid: Number.NaN }),
      restore: medianRestore,
      degradationSeed: 1,
      size: 16,
      loadImage: load,
      baselines: [],
    }),
    /finite COVID-19 probability/,
  );
  await assert.rejects(
    evaluate({ items: [], classify: meanBrightness, restore: medianRestore, degradationSeed: 1 }),
    /at least one/,
  );
});

test('runs on real chest X-rays from the shared data', { skip: sharedDataMissing() }, async () => {
  const all = await loadManifest(sharedManifest, { checkFiles: false });
  const sample = [
    ...all.filter((i) => i.label === 'covid').slice(0, 2),
    ...all.filter((i) => i.label === 'normal').slice(0, 2),
  ];
  const report = await evaluate({
    items: sample,
    classify: meanBrightness,
    restore: async (image) => baselines.nlm(image),
    degradationSeed: 3,
    size: 48,
    baselines: ['median_clahe'],
  });
  assert.equal(report.images.length, 4);
  assert.ok(
    report.images.every((r) => r.psnr.degraded! > 5 && r.ssim.degraded! <= 1),
    'report.images.every((r) => r.psnr.degraded! > 5 && r.ssim.degraded! <= 1)',
  );
  // restoring with NLM is the same computation as the nlm baseline would be
  assert.ok(
    Number.isFinite(report.restoration.restored.overall.psnr),
    'Number.isFinite(report.restoration.restored.overall.psnr)',
  );
});

test('within-source classification: only sources holding both classes, scored on their own images', async () => {
  const sourced = items.map((item, i) => ({
    ...item,
    source: i < 4 ? 'mixed' : i === 5 || i === 7 ? 'normals' : 'x',
  }));
  const report = await evaluate({
    items: sourced,
    classify: meanBrightness,
    restore: medianRestore,
    degradationSeed: 5,
    size: 32,
    baselines: [],
    loadImage: load,
  });
  // 'mixed' = cases 0-3 (2 covid, 2 normal); 'normals' = cases 5 and 7 (normal only) is left out;
  // 'x' = cases 4 and 6 (covid only) is left out.
  assert.deepEqual(
    report.classification.withinSource.map((s) => [s.source, s.count, s.covid, s.normal]),
    [['mixed', 4, 2, 2]],
  );
  assert.equal(report.classification.withinSource[0]!.clean.auc, 1);
  assert.deepEqual(report.config.baselines, []);
});

test('the card threshold comes from the calibration images: F1-optimal over clean and degraded scores', () => {
  const record = (id: string, label: 'covid' | 'normal', clean: number, degraded: number): ImageRecord => ({
    id,
    label,
    artifacts: [],
    scores: { clean, degraded },
    psnr: {},
    ssim: {},
    grid: {},
    nyquist: {},
    identity: { grid: 1, psnr: 40 },
  });
  // Separable at 0.3 over both conditions (not at 0.5): covid scores 0.35-0.6, normal 0.1-0.25.
  const calibration = [
    record('a', 'covid', 0.6, 0.35),
    record('b', 'covid', 0.55, 0.4),
    record('c', 'normal', 0.2, 0.25),
    record('d', 'normal', 0.1, 0.15),
  ];
  const t = thresholdFromCalibration(calibration);
  assert.ok(t.threshold > 0.25 && t.threshold < 0.35, `threshold ${t.threshold}`);
  assert.equal(t.f1, 1);
  // Another calibration set gives another threshold: nothing is fixed in advance.
  const shifted = calibration.map((r) => ({
    ...r,
    scores: { clean: r.scores.clean! + 0.3, degraded: r.scores.degraded! + 0.3 },
  }));
  const t2 = thresholdFromCalibration(shifted);
  assert.ok(t2.threshold > 0.55 && t2.threshold < 0.65, `threshold ${t2.threshold}`);
  assert.throws(() => thresholdFromCalibration(calibration.slice(0, 2)), /both classes/);
});

test('a report re-thresholded from its per-image scores equals the evaluation run at that threshold', async () => {
  const common = {
    items: items.map((item, i) => ({ ...item, source: i < 6 ? 'mixed' : 'other' })),
    classify: meanBrightness,
    restore: medianRestore,
    degradationSeed: 9,
    size: 32,
    baselines: ['median_clahe'] as const,
    loadImage: load,
  };
  const at05 = await evaluate(common);
  const at065 = await evaluate({ ...common, threshold: 0.65 });
  const moved = reportAtThreshold(at05, 0.65);
  assert.deepEqual(moved.classification, at065.classification);
  assert.equal(moved.config.threshold, 0.65);
  assert.deepEqual(moved.restoration, at05.restoration);
  assert.notDeepEqual(moved.classification.clean.counts, at05.classification.clean.counts);
  assert.throws(() => reportAtThreshold(at05, 1.5), RangeError);
});
