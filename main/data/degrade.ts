import type { GrayImage } from '../util/image.ts';
import { createGray } from '../util/image.ts';
import { convolveSparse, gaussianBlur, motionKernel } from './filters.ts';
import { Rng } from './random.ts';

/**
 * Blind degradation model for the poor-quality domain: 1 to 3 different artifacts at random severities,
 * applied in a fixed physical order (blur during acquisition, then exposure/contrast, then noise) and
 * clipped to [0,1]. Every parameter is drawn from a seeded Rng and returned, so a degraded image can be
 * reproduced and evaluation can report per artifact type.
 */
export const artifactTypes = [
  'gaussian_blur',
  'motion_blur',
  'overexposure',
  'underexposure',
  'low_contrast',
  'poisson_noise',
  'gaussian_noise',
] as const;
export type ArtifactType = (typeof artifactTypes)[number];

export type Artifact =
  /** Additive white Gaussian noise of standard deviation `sigma` (in [0,1] units). */
  | { type: 'gaussian_noise'; sigma: number }
  /** Quantum noise: y = Poisson(x * photons) / photons; `photons` is the expected count at x = 1. */
  | { type: 'poisson_noise'; photons: number }
  /** Isotropic Gaussian blur, `sigma` in pixels of the image it is applied to. */
  | { type: 'gaussian_blur'; sigma: number }
  /** Linear motion blur over `length` pixels at `angle` degrees (0 = horizontal). */
  | { type: 'motion_blur'; length: number; angle: number }
  /** y = clip(gain * x^gamma, 0, 1); gamma < 1 and gain > 1 brighten and clip the highlights. */
  | { type: 'overexposure'; gamma: number; gain: number }
  /** y = clip(gain * x^gamma, 0, 1); gamma > 1 and gain < 1 darken and compress the shadows. */
  | { type: 'underexposure'; gamma: number; gain: number }
  /** y = m + factor * (x - m), m the image mean: the standard deviation shrinks by `factor`. */
  | { type: 'low_contrast'; factor: number };

/** An artifact as sampled: its parameters plus the severity in [0,1] they were derived from. */
export type SampledArtifact = Artifact & { severity: number };

export interface DegradationOptions {
  /** Artifact types to draw from. Default: all. */
  types?: readonly ArtifactType[];
  minArtifacts?: number;
  maxArtifacts?: number;
  /** Severities are uniform in this range. Default [0, 1]. */
  severityRange?: readonly [number, number];
  /** Blur sizes are specified for this image side and scale with max(width, height). Default 256. */
  referenceSize?: number;
}

export interface DegradationResult {
  image: GrayImage;
  /** In the order applied. */
  artifacts: SampledArtifact[];
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
const logLerp = (a: number, b: number, t: number) => Math.exp(lerp(Math.log(a), Math.log(b), t));

/**
 * Parameters of one artifact at a severity in [0,1] (0 mild, 1 severe). `scale` = image side / 256; blurs
 * keep a visible minimum (sigma 0.5 px, length 2 px) on small images.
 */
export function artifactAtSeverity(
  type: ArtifactType,
  severity: number,
  scale: number,
  rng: Rng,
): SampledArtifact {
  const s = Math.min(1, Math.max(0, severity));
  switch (type) {
    case 'gaussian_noise':
      return { type, severity: s, sigma: lerp(0.01, 0.08, s) };
    case 'poisson_noise':
      return { type, severity: s, photons: logLerp(3000, 50, s) };
    case 'gaussian_blur':
      return { type, severity: s, sigma: Math.max(0.5, lerp(0.7, 2.5, s) * scale) };
    case 'motion_blur':
      return { type, severity: s, length: Math.max(2, lerp(3, 13, s) * scale), angle: rng.uniform(0, 180) };
    case 'overexposure':
      return { type, severity: s, gamma: lerp(0.85, 0.45, s), gain: lerp(1.05, 1.5, s) };
    case 'underexposure':
      return { type, severity: s, gamma: lerp(1.2, 2.6, s), gain: lerp(0.95, 0.6, s) };
    case 'low_contrast':
      return { type, severity: s, factor: lerp(0.85, 0.35, s) };
  }
}

const exclusive: Partial<Record<ArtifactType, ArtifactType>> = {
  overexposure: 'underexposure',
  underexposure: 'overexposure',
};

/** Draws the artifact list for an image of the given size (no pixels touched). */
export function sampleArtifacts(
  rng: Rng,
  width: number,
  height: number,
  options: DegradationOptions = {},
): SampledArtifact[] {
  const allowed = [...new Set(options.types ?? artifactTypes)];
  if (allowed.length === 0) throw new RangeError('degradation needs at least one artifact type');
  const min = options.minArtifacts ?? 1;
  const max = Math.min(options.maxArtifacts ?? 3, allowed.length);
  if (!(min >= 1 && min <= max)) throw new RangeError(`invalid artifact count range [${min}, ${max}]`);
  const [sLo, sHi] = options.severityRange ?? [0, 1];
  const scale = Math.max(width, height) / (options.referenceSize ?? 256);
  const count = rng.int(min, max);
  const chosen: ArtifactType[] = [];
  const pool = [...allowed];
  while (chosen.length < count && pool.length > 0) {
    const type = pool.splice(Math.floor(rng.next() * pool.length), 1)[0]!;
    chosen.push(type);
    const banned = exclusive[type];
    if (banned) {
      const at = pool.indexOf(banned);
      if (at >= 0) pool.splice(at, 1);
    }
  }
  chosen.sort((a, b) => artifactTypes.indexOf(a) - artifactTypes.indexOf(b));
  return chosen.map((type) => artifactAtSeverity(type, rng.uniform(sLo, sHi), scale, rng));
}

/** Applies one artifact (noise draws come from `rng`). The result is not clipped except where stated. */
export function applyArtifact(image: GrayImage, artifact: Artifact, rng: Rng): GrayImage {
  const { width, height, data } = image;
  const out = createGray(width, height);
  const o = out.data;
  switch (artifact.type) {
    case 'gaussian_noise':
      for (let i = 0; i < o.length; i++) o[i] = data[i]! + rng.normal(0, artifact.sigma);
      return out;
    case 'poisson_noise': {
      const n = artifact.photons;
      for (let i = 0; i < o.length; i++) o[i] = rng.poisson(Math.max(0, data[i]!) * n) / n;
      return out;
    }
    case 'gaussian_blur':
      return gaussianBlur(image, artifact.sigma);
    case 'motion_blur':
      return convolveSparse(image, motionKernel(artifact.length, artifact.angle));
    case 'overexposure':
    case 'underexposure': {
      const { gamma, gain } = artifact;
      for (let i = 0; i < o.length; i++)
        o[i] = Math.min(1, Math.max(0, gain * Math.max(0, data[i]!) ** gamma));
      return out;
    }
    case 'low_contrast': {
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += data[i]!;
      const mean = sum / data.length;
      for (let i = 0; i < o.length; i++) o[i] = mean + artifact.factor * (data[i]! - mean);
      return out;
    }
  }
}

/**
 * Degrades a [0,1] image with 1..3 random artifacts. Same image and seed give the same bytes. Pass an
 * Rng to continue an existing stream, or a seed (number/string) for a fresh one.
 */
export function degrade(
  image: GrayImage,
  seed: number | string | Rng,
  options: DegradationOptions = {},
): DegradationResult {
  const rng = seed instanceof Rng ? seed : new Rng(seed, 'degrade');
  const artifacts = sampleArtifacts(rng, image.width, image.height, options);
  return { image: applyArtifacts(image, artifacts, rng), artifacts };
}

/** Applies a given artifact list in order and clips to [0,1]. */
export function applyArtifacts(image: GrayImage, artifacts: readonly Artifact[], rng: Rng): GrayImage {
  let current = image;
  for (const artifact of artifacts) current = applyArtifact(current, artifact, rng);
  const out = current === image ? createGray(image.width, image.height) : current;
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(1, Math.max(0, current.data[i]!));
  return out;
}

/** Short name for a combination, e.g. "gaussian_blur+poisson_noise". */
export function degradationName(artifacts: readonly { type: ArtifactType }[]): string {
  return artifacts.map((a) => a.type).join('+');
}
