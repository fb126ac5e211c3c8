import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Artifact, ArtifactType } from '../../../main/data/degrade.ts';
import {
  applyArtifact,
  artifactAtSeverity,
  artifactTypes,
  degradationName,
  degrade,
  sampleArtifacts,
} from '../../../main/data/degrade.ts';
import { Rng } from '../../../main/data/random.ts';
import type { GrayImage } from '../../../main/util/image.ts';
import { createGray } from '../../../main/util/image.ts';

function stats(values: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i]!;
    s2 += values[i]! * values[i]!;
  }
  const mean = s / values.length;
  return { mean, std: Math.sqrt(Math.max(0, s2 / values.length - mean * mean)) };
}

function difference(a: GrayImage, b: GrayImage): Float64Array {
  return Float64Array.from(a.data, (v, i) => v - b.data[i]!);
}

/** Mean squared difference of horizontal and vertical neighbours: energy at high spatial frequencies. */
function highFrequencyEnergy(image: GrayImage): number {
  const { width, height, data } = image;
  let sum = 0;
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      const v = data[y * width + x]!;
      sum += (v - data[y * width + x + 1]!) ** 2 + (v - data[(y + 1) * width + x]!) ** 2;
    }
  }
  return sum / ((width - 1) * (height - 1));
}

function textured(size: number, seed: number): GrayImage {
  const rng = new Rng(seed);
  const image = createGray(size, size);
  for (let i = 0; i < image.data.length; i++) image.data[i] = 0.2 + 0.6 * rng.next();
  return image;
}

function impulse(size: number): GrayImage {
  const image = createGray(size, size);
  image.data[(size >> 1) * size + (size >> 1)] = 1;
  return image;
}

/** Spatial second moments of a non-negative image around its centroid. */
function moments(image: GrayImage) {
  let m = 0;
  let cx = 0;
  let cy = 0;
  const { width, data } = image;
  for (let i = 0; i < data.length; i++) {
    m += data[i]!;
    cx += data[i]! * (i % width);
    cy += data[i]! * Math.floor(i / width);
  }
  cx /= m;
  cy /= m;
  let vx = 0;
  let vy = 0;
  let cxy = 0;
  for (let i = 0; i < data.length; i++) {
    const dx = (i % width) - cx;
    const dy = Math.floor(i / width) - cy;
    vx += (data[i]! * dx * dx) / m;
    vy += (data[i]! * dy * dy) / m;
    cxy += (data[i]! * dx * dy) / m;
  }
  return { mass: m, vx, vy, cxy };
}

test('Gaussian noise: the difference has mean 0 and std sigma', () => {
  const clean = createGray(128, 128, 0.5);
  const noisy = applyArtifact(clean, { type: 'gaussian_noise', sigma: 0.05 }, new Rng(1));
  const d = stats(difference(noisy, clean));
  assert.ok(Math.abs(d.mean) < 0.002, `mean ${d.mean}`);
  assert.ok(Math.abs(d.std - 0.05) < 0.0025, `std ${d.std}`);
});

test('Poisson noise: mean kept, variance = value / photons', () => {
  for (const [value, photons] of [
    [0.5, 200],
    [0.1, 1000],
  ] as const) {
    const clean = createGray(128, 128, value);
    const noisy = applyArtifact(clean, { type: 'poisson_noise', photons }, new Rng(2));
    const s = stats(noisy.data);
    assert.ok(Math.abs(s.mean - value) < 0.01 * value + 0.001, `mean ${s.mean}`);
    const expectedStd = Math.sqrt(value / photons);
    assert.ok(Math.abs(s.std / expectedStd - 1) < 0.05, `std ${s.std} vs ${expectedStd}`);
  }
});

test('Gaussian blur: impulse response has variance sigma², mean kept, high frequencies drop', () => {
  const response = applyArtifact(impulse(41), { type: 'gaussian_blur', sigma: 2 }, new Rng(0));
  const m = moments(response);
  assert.ok(Math.abs(m.mass - 1) < 1e-5, 'Math.abs(m.mass - 1) < 1e-5');
  assert.ok(Math.abs(m.vx - 4) < 0.1 && Math.abs(m.vy - 4) < 0.1, `variance ${m.vx}, ${m.vy}`);
  const image = textured(64, 3);
  const blurred = applyArtifact(image, { type: 'gaussian_blur', sigma: 1.5 }, new Rng(0));
  assert.ok(
    Math.abs(stats(blurred.data).mean - stats(image.data).mean) < 1e-5,
    'Math.abs(stats(blurred.data).mean - stats(image.data).mean) < 1e-5',
  );
  assert.ok(
    highFrequencyEnergy(blurred) < 0.1 * highFrequencyEnergy(image),
    'highFrequencyEnergy(blurred) < 0.1 * highFrequencyEnergy(image)',
  );
});

test('motion blur: a line of the given length at the given angle, mean kept', () => {
  const horizontal = applyArtifact(impulse(31), { type: 'motion_blur', length: 9, angle: 0 }, new Rng(0));
  const row = 15 * 31;
  const nonzero = [...horizontal.data.keys()].filter((i) => horizontal.data[i]! > 1e-6);
  assert.ok(
    nonzero.every((i) => i >= row && i < row + 31),
    'horizontal blur stays in the row',
  );
  assert.equal(nonzero.length, 9);
  const h = moments(horizontal);
  // uniform segment of 9 pixels: variance (9² - 1) / 12
  assert.ok(Math.abs(h.vx - 80 / 12) < 0.05 && h.vy < 1e-9, `${h.vx}, ${h.vy}`);

  const vertical = moments(
    applyArtifact(impulse(31), { type: 'motion_blur', length: 9, angle: 90 }, new Rng(0)),
  );
  assert.ok(
    Math.abs(vertical.vy - 80 / 12) < 0.05 && vertical.vx < 1e-9,
    'Math.abs(vertical.vy - 80 / 12) < 0.05 && vertical.vx < 1e-9',
  );

  // 45° (counter-clockwise, image y downwards): spread along (1, -1), so x and y anti-correlate
  const diagonal = moments(
    applyArtifact(impulse(31), { type: 'motion_blur', length: 11, angle: 45 }, new Rng(0)),
  );
  assert.ok(diagonal.cxy < -3, `covariance ${diagonal.cxy}`);
  assert.ok(Math.abs(diagonal.vx - diagonal.vy) < 1e-6, 'Math.abs(diagonal.vx - diagonal.vy) < 1e-6');

  const image = textured(64, 4);
  const blurred = applyArtifact(image, { type: 'motion_blur', length: 7, angle: 30 }, new Rng(0));
  assert.ok(
    Math.abs(stats(blurred.data).mean - stats(image.data).mean) < 1e-4,
    'Math.abs(stats(blurred.data).mean - stats(image.data).mean) < 1e-4',
  );
  assert.ok(
    highFrequencyEnergy(blurred) < 0.5 * highFrequencyEnergy(image),
    'highFrequencyEnergy(blurred) < 0.5 * highFrequencyEnergy(image)',
  );
});

test('exposure: gamma and gain map known values, overexposure clips', () => {
  const image = createGray(3, 1);
  image.data.set([0.25, 0.81, 0]);
  const over = applyArtifact(image, { type: 'overexposure', gamma: 0.5, gain: 1.5 }, new Rng(0));
  assert.ok(Math.abs(over.data[0]! - 0.75) < 1e-6, 'Math.abs(over.data[0]! - 0.75) < 1e-6'); // 1.5 * sqrt(0.25)
  assert.equal(over.data[1], 1); // 1.5 * 0.9 = 1.35, clipped
  assert.equal(over.data[2], 0);
  const under = applyArtifact(image, { type: 'underexposure', gamma: 2, gain: 0.8 }, new Rng(0));
  assert.ok(Math.abs(under.data[0]! - 0.05) < 1e-6, 'Math.abs(under.data[0]! - 0.05) < 1e-6'); // 0.8 * 0.0625
  assert.ok(Math.abs(under.data[1]! - 0.8 * 0.6561) < 1e-6, 'Math.abs(under.data[1]! - 0.8 * 0.6561) < 1e-6');
});

test('low contrast: std shrinks by the factor, mean kept', () => {
  const image = textured(32, 5);
  const low = applyArtifact(image, { type: 'low_contrast', factor: 0.4 }, new Rng(0));
  const before = stats(image.data);
  const after = stats(low.data);
  assert.ok(Math.abs(after.mean - before.mean) < 1e-6, 'Math.abs(after.mean - before.mean) < 1e-6');
  assert.ok(Math.abs(after.std / before.std - 0.4) < 1e-4, 'Math.abs(after.std / before.std - 0.4) < 1e-4');
});

test('degrade: same seed same bytes, other seed other image, values in [0,1]', () => {
  const image = textured(48, 6);
  const a = degrade(image, 123);
  const b = degrade(image, 123);
  assert.deepEqual(Buffer.from(a.image.data.buffer), Buffer.from(b.image.data.buffer));
  assert.deepEqual(a.artifacts, b.artifacts);
  const c = degrade(image, 124);
  assert.notDeepEqual(Buffer.from(a.image.data.buffer), Buffer.from(c.image.data.buffer));
  assert.ok(
    a.image.data.every((v) => v >= 0 && v <= 1),
    'a.image.data.every((v) => v >= 0 && v <= 1)',
  );
  assert.deepEqual(Array.from(image.data), Array.from(textured(48, 6).data), 'input untouched');
});

test('degrade: 1 to 3 distinct artifacts in physical order, all types and counts occur', () => {
  const types = new Set<ArtifactType>();
  const counts = new Set<number>();
  for (let seed = 0; seed < 300; seed++) {
    const artifacts = sampleArtifacts(new Rng(seed), 256, 256);
    counts.add(artifacts.length);
    assert.ok(
      artifacts.length >= 1 && artifacts.length <= 3,
      'artifacts.length >= 1 && artifacts.length <= 3',
    );
    const names = artifacts.map((a) => a.type);
    assert.equal(new Set(names).size, names.length);
    assert.ok(
      !(names.includes('overexposure') && names.includes('underexposure')),
      "!(names.includes('overexposure') && names.includes('underexposure'))",
    );
    const order = names.map((t) => artifactTypes.indexOf(t));
    assert.deepEqual(
      order,
      [...order].sort((x, y) => x - y),
    );
    for (const a of artifacts) {
      types.add(a.type);
      assert.ok(a.severity >= 0 && a.severity <= 1, 'a.severity >= 0 && a.severity <= 1');
    }
  }
  assert.deepEqual([...counts].sort(), [1, 2, 3]);
  assert.equal(types.size, artifactTypes.length);
  const only = sampleArtifacts(new Rng(1), 64, 64, { types: ['gaussian_noise'], maxArtifacts: 3 });
  assert.deepEqual(
    only.map((a) => a.type),
    ['gaussian_noise'],
  );
  assert.equal(
    degradationName([{ type: 'gaussian_blur' }, { type: 'poisson_noise' }]),
    'gaussian_blur+poisson_noise',
  );
});

test('severity maps monotonically to parameters; blur sizes scale with the image', () => {
  const rng = new Rng(0);
  const mild = artifactAtSeverity('gaussian_noise', 0, 1, rng) as Extract<
    Artifact,
    { type: 'gaussian_noise' }
  >;
  const severe = artifactAtSeverity('gaussian_noise', 1, 1, rng) as Extract<
    Artifact,
    { type: 'gaussian_noise' }
  >;
  assert.ok(severe.sigma > mild.sigma, 'severe.sigma > mild.sigma');
  const photonsMild = artifactAtSeverity('poisson_noise', 0, 1, rng) as Extract<
    Artifact,
    { type: 'poisson_noise' }
  >;
  const photonsSevere = artifactAtSeverity('poisson_noise', 1, 1, rng) as Extract<
    Artifact,
    { type: 'poisson_noise' }
  >;
  assert.ok(photonsSevere.photons < photonsMild.photons, 'photonsSevere.photons < photonsMild.photons');
  const at256 = sampleArtifacts(new Rng(8), 256, 256, { types: ['gaussian_blur'] })[0] as Extract<
    Artifact,
    { type: 'gaussian_blur' }
  >;
  const at512 = sampleArtifacts(new Rng(8), 512, 400, { types: ['gaussian_blur'] })[0] as Extract<
    Artifact,
    { type: 'gaussian_blur' }
  >;
  assert.ok(Math.abs(at512.sigma / at256.sigma - 2) < 1e-9, 'Math.abs(at512.sigma / at256.sigma - 2) < 1e-9');
});
