import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meanSquaredError, psnr, ssim } from '../../../main/evaluation/restoration.ts';
import { Rng } from '../../../main/data/random.ts';
import type { GrayImage } from '../../../main/util/image.ts';
import { createGray } from '../../../main/util/image.ts';

function fromFunction(width: number, height: number, f: (x: number, y: number) => number): GrayImage {
  const image = createGray(width, height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data[y * width + x] = f(x, y);
  return image;
}

test('PSNR of a known MSE', () => {
  const a = createGray(8, 8, 0.3);
  const b = createGray(8, 8, 0.4);
  assert.ok(Math.abs(meanSquaredError(a, b) - 0.01) < 1e-8, 'Math.abs(meanSquaredError(a, b) - 0.01) < 1e-8');
  assert.ok(Math.abs(psnr(a, b) - 20) < 1e-5, 'Math.abs(psnr(a, b) - 20) < 1e-5');
  assert.ok(
    Math.abs(psnr(a, b, 255) - (20 + 20 * Math.log10(255))) < 1e-5,
    'Math.abs(psnr(a, b, 255) - (20 + 20 * Math.log10(255))) < 1e-5',
  );
  assert.equal(psnr(a, a), Number.POSITIVE_INFINITY);
  assert.throws(() => psnr(a, createGray(8, 9)), RangeError);
});

test('SSIM of identical images is 1; of two flat images it is the luminance term', () => {
  const rng = new Rng(1);
  const image = fromFunction(20, 16, () => rng.next());
  assert.ok(Math.abs(ssim(image, image) - 1) < 1e-12, 'Math.abs(ssim(image, image) - 1) < 1e-12');
  // zero variance: contrast-structure term (0 + C2) / (0 + C2) = 1
  const c1 = 0.01 ** 2;
  const expected = (2 * 0.25 * 0.75 + c1) / (0.25 ** 2 + 0.75 ** 2 + c1);
  assert.ok(
    Math.abs(ssim(createGray(12, 12, 0.25), createGray(12, 12, 0.75)) - expected) < 1e-6,
    'Math.abs(ssim(createGray(12, 12, 0.25), createGray(12, 12, 0.75)) - expected)...',
  );
  assert.throws(() => ssim(createGray(10, 12), createGray(10, 12)), RangeError);
});

test('SSIM matches an independent NumPy/SciPy computation of Wang et al.', () => {
  // Expected value computed once with NumPy 2.4 / SciPy 1.17 on the same float32 images, following
  // ssim_index.m: w = fspecial('gaussian', 11, 1.5), mu = filter2(w, x, 'valid') via
  // scipy.signal.convolve2d(x, rot90(w, 2), 'valid'), C1 = 0.01², C2 = 0.03², mean of the SSIM map.
  const x = fromFunction(
    24,
    20,
    (c, r) => 0.5 + 0.3 * Math.sin(0.37 * c + 0.21 * r) * Math.cos(0.05 * c * r),
  );
  const y = fromFunction(24, 20, (c, r) =>
    Math.min(1, Math.max(0, 0.9 * x.data[r * 24 + c]! + 0.05 + 0.08 * Math.sin(1.7 * c + 2.3 * r))),
  );
  assert.ok(Math.abs(ssim(x, y) - 0.879372460518623) < 1e-6, String(ssim(x, y)));
  assert.ok(
    Math.abs(psnr(x, y) - 24.60384859431589) < 1e-4,
    'Math.abs(psnr(x, y) - 24.60384859431589) < 1e-4',
  );
});

test('SSIM matches a direct (non-separable) window sum on random images', () => {
  const rng = new Rng(2);
  const a = fromFunction(17, 15, () => rng.next());
  const b = fromFunction(17, 15, (c, r) => 0.7 * a.data[r * 17 + c]! + 0.3 * rng.next());
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2)));
  const gs = g.reduce((s, v) => s + v, 0);
  let total = 0;
  let windows = 0;
  for (let r0 = 0; r0 + 11 <= 15; r0++) {
    for (let c0 = 0; c0 + 11 <= 17; c0++) {
      let mx = 0;
      let my = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const w = (g[i]! * g[j]!) / (gs * gs);
          const xv = a.data[(r0 + i) * 17 + c0 + j]!;
          const yv = b.data[(r0 + i) * 17 + c0 + j]!;
          mx += w * xv;
          my += w * yv;
          sxx += w * xv * xv;
          syy += w * yv * yv;
          sxy += w * xv * yv;
        }
      }
      const vx = sxx - mx * mx;
      const vy = syy - my * my;
      const cov = sxy - mx * my;
      total += ((2 * mx * my + 1e-4) * (2 * cov + 9e-4)) / ((mx * mx + my * my + 1e-4) * (vx + vy + 9e-4));
      windows++;
    }
  }
  assert.ok(Math.abs(ssim(a, b) - total / windows) < 1e-10, 'Math.abs(ssim(a, b) - total / windows) < 1e-10');
  assert.ok(ssim(a, b) < 0.95, 'ssim(a, b) < 0.95');
});
