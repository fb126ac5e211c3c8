import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  augment,
  fromModelRange,
  prepareForTest,
  referenceAugmentation,
  scaleJitterAugmentation,
  toModelRange,
} from '../../../main/data/augment.ts';
import { Rng } from '../../../main/data/random.ts';
import { cropGray, flipHorizontal, resizeGray } from '../../../main/util/resize.ts';
import type { GrayImage } from '../../../main/util/image.ts';
import { createGray } from '../../../main/util/image.ts';

function ramp(width: number, height: number): GrayImage {
  const image = createGray(width, height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) image.data[y * width + x] = (x + 2 * y) / 1000;
  return image;
}

test('resizing keeps constants and reproduces a linear ramp away from the borders', () => {
  const flat = resizeGray(createGray(50, 30, 0.3), 17, 41);
  assert.ok(
    flat.data.every((v) => Math.abs(v - 0.3) < 1e-6),
    'flat.data.every((v) => Math.abs(v - 0.3) < 1e-6)',
  );
  for (const [w, h] of [
    [37, 23],
    [150, 90],
  ]) {
    const src = ramp(75, 45);
    const out = resizeGray(src, w!, h!);
    const sx = 75 / w!;
    const sy = 45 / h!;
    for (let y = 3; y < h! - 3; y++) {
      for (let x = 3; x < w! - 3; x++) {
        // the output pixel centre maps to ((x + 0.5) * s - 0.5) in input pixel coordinates
        const expected = ((x + 0.5) * sx - 0.5 + 2 * ((y + 0.5) * sy - 0.5)) / 1000;
        // Upscaling is exact bilinear; the sampled antialiasing triangle may shift the centroid by a few
        // hundredths of a pixel (as in PIL), i.e. up to 0.05 px x 0.003 per px here.
        const tolerance = sx > 1 ? 1.5e-4 : 1e-5;
        assert.ok(Math.abs(out.data[y * w! + x]! - expected) < tolerance, `${w}x${h} at ${x},${y}`);
      }
    }
  }
});

test('2x downscale averages with the antialiasing triangle (1,3,3,1)/8', () => {
  const src = createGray(8, 1);
  src.data[3] = 1; // impulse
  const out = resizeGray(src, 4, 1);
  assert.deepEqual(
    Array.from(out.data).map((v) => Number(v.toFixed(6))),
    [0, 0.375, 0.125, 0],
  );
});

test('crop and flip move pixels exactly', () => {
  const src = ramp(6, 4);
  const crop = cropGray(src, 2, 1, 3, 2);
  assert.deepEqual(Array.from(crop.data), [
    src.data[8],
    src.data[9],
    src.data[10],
    src.data[14],
    src.data[15],
    src.data[16],
  ]);
  const flipped = flipHorizontal(src);
  assert.equal(flipped.data[0], src.data[5]);
  assert.deepEqual(flipHorizontal(flipped).data, src.data);
  assert.throws(() => cropGray(src, 4, 0, 3, 1), RangeError);
});

test('reference augmentation: 286 resize, 256 crop, flip about half the time, seeded', () => {
  const image = ramp(300, 260);
  const a = augment(image, new Rng(1), referenceAugmentation);
  const b = augment(image, new Rng(1), referenceAugmentation);
  assert.equal(a.image.width, 256);
  assert.equal(a.image.height, 256);
  assert.deepEqual(a.params, b.params);
  assert.deepEqual(a.image.data, b.image.data);
  assert.equal(a.params.resizedTo, 286);
  let flips = 0;
  const crops = new Set<string>();
  for (let s = 0; s < 200; s++) {
    const { params } = augment(createGray(20, 20), new Rng(s), {
      size: 8,
      resizeRange: [10, 10],
      flip: true,
    });
    if (params.flipped) flips++;
    assert.ok(
      params.cropX >= 0 && params.cropX <= 2 && params.cropY >= 0 && params.cropY <= 2,
      'params.cropX >= 0 && params.cropX <= 2 && params.cropY >= 0 && params.cropY <= 2',
    );
    crops.add(`${params.cropX},${params.cropY}`);
  }
  assert.ok(flips > 70 && flips < 130, `flips ${flips}`);
  assert.equal(crops.size, 9);
});

test('scale jitter spans the training to working resolution, crop stays the training size', () => {
  const options = scaleJitterAugmentation(256, 512);
  assert.deepEqual(options.resizeRange, [286, 572]);
  const sizes = new Set<number>();
  for (let s = 0; s < 30; s++) {
    const { image, params } = augment(createGray(64, 64, 0.5), new Rng(s), {
      ...options,
      size: 16,
      resizeRange: [18, 36],
    });
    assert.equal(image.width, 16);
    assert.ok(
      params.resizedTo >= 18 && params.resizedTo <= 36,
      'params.resizedTo >= 18 && params.resizedTo <= 36',
    );
    sizes.add(params.resizedTo);
  }
  assert.ok(sizes.size > 8, 'sizes.size > 8');
  assert.throws(
    () => augment(createGray(8, 8), new Rng(1), { size: 16, resizeRange: [10, 20], flip: false }),
    RangeError,
  );
});

test('test transform resizes to a square; model range round-trips', () => {
  const out = prepareForTest(ramp(40, 30), 16);
  assert.equal(out.width, 16);
  assert.equal(out.height, 16);
  const x = createGray(2, 1);
  x.data.set([0, 0.75]);
  assert.deepEqual(Array.from(toModelRange(x).data), [-1, 0.5]);
  assert.deepEqual(Array.from(fromModelRange(toModelRange(x)).data), [0, 0.75]);
});
