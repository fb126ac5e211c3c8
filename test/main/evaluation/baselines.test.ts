import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  baselineNames,
  baselines,
  clahe,
  estimateNoiseSigma,
  histogramEqualize,
  medianFilter,
  nlmDenoise,
} from '../../../main/evaluation/baselines.ts';
import { meanSquaredError } from '../../../main/evaluation/restoration.ts';
import { applyArtifact } from '../../../main/data/degrade.ts';
import { Rng } from '../../../main/data/random.ts';
import type { GrayImage } from '../../../main/util/image.ts';
import { createGray } from '../../../main/util/image.ts';

function smooth(size: number): GrayImage {
  const image = createGray(size, size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++)
      image.data[y * size + x] = 0.3 + 0.4 * (x / size) * (0.5 + 0.5 * (y / size));
  }
  return image;
}

/** Bright square on a dark background: a sharp edge NLM should keep. */
function step(size: number): GrayImage {
  const image = createGray(size, size, 0.2);
  for (let y = size / 4; y < (3 * size) / 4; y++)
    for (let x = size / 4; x < (3 * size) / 4; x++) image.data[y * size + x] = 0.8;
  return image;
}

test('median filter removes salt-and-pepper noise', () => {
  const clean = smooth(48);
  const noisy = createGray(48, 48);
  noisy.data.set(clean.data);
  const rng = new Rng(1);
  let hit = 0;
  for (let i = 0; i < noisy.data.length; i++) {
    if (rng.bool(0.05)) {
      noisy.data[i] = rng.bool() ? 0 : 1;
      hit++;
    }
  }
  assert.ok(hit > 50, 'hit > 50');
  const filtered = medianFilter(noisy, 1);
  let worst = 0;
  for (let i = 0; i < clean.data.length; i++)
    worst = Math.max(worst, Math.abs(filtered.data[i]! - clean.data[i]!));
  assert.ok(worst < 0.03, `largest error after median ${worst}`);
  // a lone outlier in a flat image disappears exactly; the median of a constant is the constant
  const flat = createGray(5, 5, 0.4);
  flat.data[12] = 1;
  assert.ok(
    medianFilter(flat).data.every((v) => Math.abs(v - 0.4) < 1e-7),
    'medianFilter(flat).data.every((v) => Math.abs(v - 0.4) < 1e-7)',
  );
});

test('histogram equalisation flattens the histogram and keeps the order of values', () => {
  const rng = new Rng(2);
  const image = createGray(64, 64);
  // dark and skewed: density falls linearly from 0.1 to 0.5 (no single level holds more than ~2%)
  for (let i = 0; i < image.data.length; i++) image.data[i] = 0.1 + 0.4 * (1 - Math.sqrt(1 - rng.next()));
  const out = histogramEqualize(image);
  const bins = new Array(8).fill(0);
  for (const v of out.data) bins[Math.min(7, Math.floor(v * 8))]++;
  const expected = image.data.length / 8;
  for (const count of bins) assert.ok(Math.abs(count - expected) < 0.2 * expected, `bins ${bins}`);
  const before = new Array(8).fill(0);
  for (const v of image.data) before[Math.min(7, Math.floor(v * 8))]++;
  assert.ok(Math.max(...before) > 2.5 * expected, 'the input histogram was far from flat');
  for (let i = 1; i < image.data.length; i++) {
    if (image.data[i]! > image.data[i - 1]! + 1 / 256)
      assert.ok(out.data[i]! >= out.data[i - 1]!, 'out.data[i]! >= out.data[i - 1]!');
  }
  assert.ok(
    Math.max(...out.data) === 1 && Math.min(...out.data) === 0,
    'Math.max(...out.data) === 1 && Math.min(...out.data) === 0',
  );
});

test('CLAHE raises local contrast of a low-contrast image and stays in [0,1]', () => {
  const image = smooth(64);
  for (let i = 0; i < image.data.length; i++) image.data[i] = 0.45 + 0.1 * image.data[i]!;
  const out = clahe(image);
  const strong = clahe(image, { clipLimit: 40 });
  const std = (img: GrayImage) => {
    const m = img.data.reduce((s, v) => s + v, 0) / img.data.length;
    return Math.sqrt(img.data.reduce((s, v) => s + (v - m) ** 2, 0) / img.data.length);
  };
  // the clip limit bounds the gain: modest at the default 2, large at 40
  assert.ok(std(out) > 1.1 * std(image), `${std(out)} vs ${std(image)}`);
  assert.ok(std(strong) > 3 * std(image), `${std(strong)} vs ${std(image)}`);
  assert.ok(
    strong.data.every((v) => v >= 0 && v <= 1),
    'strong.data.every((v) => v >= 0 && v <= 1)',
  );
  // a flat image stays close to its level (no jump to black or white)
  assert.ok(
    clahe(createGray(128, 128, 0.4)).data.every((v) => Math.abs(v - 0.4) < 0.02),
    'clahe(createGray(128, 128, 0.4)).data.every((v) => Math.abs(v - 0.4) < 0.02)',
  );
});

test('noise estimate recovers sigma on a smooth image', () => {
  const noisy = applyArtifact(smooth(96), { type: 'gaussian_noise', sigma: 0.04 }, new Rng(3));
  const sigma = estimateNoiseSigma(noisy);
  assert.ok(Math.abs(sigma - 0.04) < 0.004, `estimated ${sigma}`);
  assert.ok(estimateNoiseSigma(smooth(96)) < 0.002, 'estimateNoiseSigma(smooth(96)) < 0.002');
});

test('non-local means removes most Gaussian noise and keeps the edge', () => {
  const clean = step(48);
  const noisy = applyArtifact(clean, { type: 'gaussian_noise', sigma: 0.06 }, new Rng(4));
  const denoised = nlmDenoise(noisy);
  const before = meanSquaredError(noisy, clean);
  const after = meanSquaredError(denoised, clean);
  assert.ok(after < before / 4, `MSE ${before} -> ${after}`);
  // the edge stays sharp: pixels next to the edge keep most of the step
  const row = 24 * 48;
  assert.ok(
    denoised.data[row + 11]! < 0.35 && denoised.data[row + 12]! > 0.65,
    'denoised.data[row + 11]! < 0.35 && denoised.data[row + 12]! > 0.65',
  );
  // a clean image is left nearly untouched
  assert.ok(
    meanSquaredError(nlmDenoise(clean), clean) < 1e-6,
    'meanSquaredError(nlmDenoise(clean), clean) < 1e-6',
  );
});

test('every named baseline maps a gray image to one of the same size', () => {
  const image = applyArtifact(smooth(24), { type: 'gaussian_noise', sigma: 0.03 }, new Rng(5));
  for (const name of baselineNames) {
    const out = baselines[name](image);
    assert.equal(out.width, 24);
    assert.equal(out.height, 24);
    assert.ok(
      out.data.every((v) => Number.isFinite(v)),
      'out.data.every((v) => Number.isFinite(v))',
    );
  }
});
