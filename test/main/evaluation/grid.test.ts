import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkerEnergy, gridRatio, nyquistPeak } from '../../../main/evaluation/index.ts';
import { createGray, type GrayImage } from '../../../main/util/image.ts';

function image(w: number, h: number, f: (x: number, y: number) => number): GrayImage {
  const img = createGray(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = f(x, y);
  return img;
}

// A smooth image with a mixed second derivative, so its checker energy is small but not zero.
const smooth = image(64, 64, (x, y) => 0.2 + 0.6 * ((x / 63) * (y / 63)) ** 1.5);
const checker = (a: number) => image(64, 64, (x, y) => a * ((x + y) % 2 === 0 ? 1 : -1));

test('checker energy: the 2x2 filter is 4a on a checkerboard of amplitude a, 0 on a linear ramp', () => {
  assert.ok(Math.abs(checkerEnergy(checker(0.05)) - 0.2) < 1e-6);
  assert.ok(checkerEnergy(image(32, 32, (x, y) => 0.01 * x + 0.02 * y)) < 1e-6);
  assert.ok(checkerEnergy(smooth) > 0);
});

test('grid ratio: a smooth ramp scores 1.0 against itself, a checkerboard overlay scores high', () => {
  assert.equal(gridRatio(smooth, smooth), 1);
  const overlay = image(
    64,
    64,
    (x, y) => (smooth.data[y * 64 + x] as number) + ((x + y) % 2 === 0 ? 0.01 : -0.01),
  );
  const r = gridRatio(smooth, overlay);
  assert.ok(r > 10, `checkerboard overlay ratio ${r}`);
  // Smoothing removes texture: ratio below 1.
  const blurred = image(64, 64, (x, y) => {
    let s = 0;
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const)
      s += overlay.data[Math.min(63, y + dy) * 64 + Math.min(63, x + dx)] as number;
    return s / 4;
  });
  assert.ok(gridRatio(overlay, blurred) < 0.1);
  assert.throws(
    () =>
      gridRatio(
        smooth,
        image(32, 32, () => 0),
      ),
    /differ in size/,
  );
});

test('Nyquist peak: a 2-pixel grid makes a sharp spectral peak, a smooth image or white noise none', () => {
  const overlay = image(
    64,
    64,
    (x, y) => (smooth.data[y * 64 + x] as number) + ((x + y) % 2 === 0 ? 0.02 : -0.02),
  );
  const stripes = image(64, 64, (x, y) => (smooth.data[y * 64 + x] as number) + (x % 2 === 0 ? 0.02 : -0.02));
  let seed = 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const noise = image(64, 64, () => rand());
  assert.ok(nyquistPeak(overlay) > 20, `checkerboard ${nyquistPeak(overlay)}`);
  assert.ok(nyquistPeak(stripes) > 20, `column stripes ${nyquistPeak(stripes)}`);
  assert.ok(nyquistPeak(smooth) < 2, `smooth ${nyquistPeak(smooth)}`);
  const n = nyquistPeak(noise);
  assert.ok(n > 0.1 && n < 10, `white noise ${n}`);
});
