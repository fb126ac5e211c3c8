// Out-of-distribution check from the image itself (works for DICOM, PNG and JPEG alike): does this
// image look like the frontal chest radiographs the models were trained on?
//
// Features: the image squeezed to a 16x16 thumbnail (aspect not kept, as the classifier sees it),
// normalised per image to zero mean and unit variance (so exposure and contrast do not matter, only
// the layout: dark lungs either side of a bright mediastinum, bright shoulders and abdomen), plus
// the image's 8-bin intensity histogram. The reference is the per-feature mean and standard
// deviation over the training split's chest X-rays (a diagonal Gaussian); an image's distance is the
// mean squared z-score. The threshold is a high quantile of the distances of the calibration split
// (held out from training and from validation), so a fixed share of real chest X-rays is flagged.
// Written here rather than with a library: a 264-value mean/std table and a dot product, nothing
// a dependency would make clearer.
import { z } from 'zod';
import { AppError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { resizeGray } from '../util/resize.ts';

export const THUMBNAIL_SIDE = 16;
export const HISTOGRAM_BINS = 8;
export const FEATURE_COUNT = THUMBNAIL_SIDE * THUMBNAIL_SIDE + HISTOGRAM_BINS;

export const appearanceReferenceSchema = z.strictObject({
  format: z.literal('r2c-chest-appearance/1'),
  /** What the reference was fitted on (manifest, split seed and fractions, counts). */
  fittedOn: z.string().min(1),
  mean: z.array(z.number()).length(FEATURE_COUNT),
  std: z.array(z.number().positive()).length(FEATURE_COUNT),
  /** Distances above this are "unlike the training data". */
  threshold: z.number().positive(),
  /** How the threshold was chosen (e.g. the calibration split's 99th percentile). */
  thresholdChosenOn: z.string().min(1),
  /** Distances of the calibration images, summarised. */
  calibration: z.strictObject({ count: z.number().int().positive(), flagged: z.number().int().min(0) }),
});
export type AppearanceReference = z.infer<typeof appearanceReferenceSchema>;

/** The feature vector of an image in [0,1] (any size from 16x16 up). */
export function appearanceFeatures(image: GrayImage): Float64Array {
  const features = new Float64Array(FEATURE_COUNT);
  const thumb = resizeGray(image, THUMBNAIL_SIDE, THUMBNAIL_SIDE).data;
  let mean = 0;
  for (let i = 0; i < thumb.length; i++) mean += thumb[i]!;
  mean /= thumb.length;
  let variance = 0;
  for (let i = 0; i < thumb.length; i++) variance += (thumb[i]! - mean) ** 2;
  const std = Math.sqrt(variance / thumb.length);
  // A flat image has no layout: its features stay 0 and the histogram decides.
  for (let i = 0; i < thumb.length; i++) features[i] = std > 1e-6 ? (thumb[i]! - mean) / std : 0;
  const histogram = features.subarray(THUMBNAIL_SIDE * THUMBNAIL_SIDE);
  const { data } = image;
  for (let i = 0; i < data.length; i++) {
    const v = Math.min(1, Math.max(0, data[i]!));
    histogram[Math.min(HISTOGRAM_BINS - 1, Math.floor(v * HISTOGRAM_BINS))]! += 1;
  }
  for (let b = 0; b < HISTOGRAM_BINS; b++) histogram[b]! /= data.length;
  return features;
}

/** Mean squared z-score of the image's features against the reference. */
export function appearanceDistance(image: GrayImage, reference: Pick<AppearanceReference, 'mean' | 'std'>) {
  const features = appearanceFeatures(image);
  let sum = 0;
  for (let i = 0; i < FEATURE_COUNT; i++)
    sum += ((features[i]! - reference.mean[i]!) / reference.std[i]!) ** 2;
  return sum / FEATURE_COUNT;
}

/** Fits the reference's mean and standard deviation (floored, so a constant feature cannot dominate). */
export function fitAppearance(featureRows: readonly Float64Array[]): { mean: number[]; std: number[] } {
  if (featureRows.length < 2) throw new AppError('bad_input', 'fitting needs at least 2 images');
  const n = featureRows.length;
  const mean = new Array<number>(FEATURE_COUNT).fill(0);
  const std = new Array<number>(FEATURE_COUNT).fill(0);
  for (const row of featureRows) for (let i = 0; i < FEATURE_COUNT; i++) mean[i]! += row[i]! / n;
  for (const row of featureRows) for (let i = 0; i < FEATURE_COUNT; i++) std[i]! += (row[i]! - mean[i]!) ** 2;
  for (let i = 0; i < FEATURE_COUNT; i++) std[i] = Math.max(1e-3, Math.sqrt(std[i]! / (n - 1)));
  return { mean, std };
}

/** The value below which `q` of `values` lie (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new AppError('bad_input', 'quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface AppearanceCheck {
  /** True when the image looks like the training chest radiographs. */
  typical: boolean;
  distance: number;
  threshold: number;
}

export function checkAppearance(image: GrayImage, reference: AppearanceReference): AppearanceCheck {
  const distance = appearanceDistance(image, reference);
  return { typical: distance <= reference.threshold, distance, threshold: reference.threshold };
}
