import type { GrayImage } from '../util/image.ts';
import { createGray } from '../util/image.ts';
import type { Rng } from './random.ts';
import { cropGray, flipHorizontal, resizeGray } from '../util/resize.ts';

export interface AugmentOptions {
  /** Side of the square training crop. */
  size: number;
  /** The image is first resized (aspect not kept, as in the reference) to a random square side in this range. */
  resizeRange: readonly [number, number];
  /** Random horizontal flip with probability 0.5. */
  flip: boolean;
}

/** The reference: resize to 286, random crop 256, random horizontal flip. */
export const referenceAugmentation: AugmentOptions = { size: 256, resizeRange: [286, 286], flip: true };

/**
 * Scale jitter: resize to a random side between the reference's 286/256 margin at `size` and the same
 * margin at `maxWorkingSize`, then crop `size`. Crops thus show anatomy at every scale between the
 * training and the working resolution (a 256 crop of a 572 resize looks like a 512-resolution patch).
 */
export function scaleJitterAugmentation(size = 256, maxWorkingSize = 512): AugmentOptions {
  const margin = 286 / 256;
  return {
    size,
    resizeRange: [
      Math.round(size * margin),
      Math.max(Math.round(size * margin), Math.round(maxWorkingSize * margin)),
    ],
    flip: true,
  };
}

export interface AugmentParams {
  resizedTo: number;
  cropX: number;
  cropY: number;
  flipped: boolean;
}

/** One random augmentation; all randomness comes from `rng`. Input and output in [0,1]. */
export function augment(
  image: GrayImage,
  rng: Rng,
  options: AugmentOptions,
): { image: GrayImage; params: AugmentParams } {
  const [lo, hi] = options.resizeRange;
  if (!(lo >= options.size && hi >= lo)) {
    throw new RangeError(`resize range [${lo}, ${hi}] must start at or above the crop size ${options.size}`);
  }
  const resizedTo = rng.int(Math.round(lo), Math.round(hi));
  const cropX = rng.int(0, resizedTo - options.size);
  const cropY = rng.int(0, resizedTo - options.size);
  const flipped = options.flip ? rng.bool(0.5) : false;
  const resized = resizeGray(image, resizedTo, resizedTo);
  const cropped = cropGray(resized, cropX, cropY, options.size, options.size);
  return { image: flipped ? flipHorizontal(cropped) : cropped, params: { resizedTo, cropX, cropY, flipped } };
}

/** Test-time transform of the reference: resize to a square of `size`. */
export function prepareForTest(image: GrayImage, size = 256): GrayImage {
  return resizeGray(image, size, size);
}

/** [0,1] -> [-1,1], the model's input range. */
export function toModelRange(image: GrayImage): GrayImage {
  const out = createGray(image.width, image.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = image.data[i]! * 2 - 1;
  return out;
}

/** [-1,1] -> [0,1], clipped. */
export function fromModelRange(image: GrayImage): GrayImage {
  const out = createGray(image.width, image.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(1, Math.max(0, (image.data[i]! + 1) / 2));
  return out;
}
