import { resizeGray } from '../util/resize.ts';
import { AppError } from '../util/errors.ts';
import { createGray, type GrayImage } from '../util/image.ts';

/** Largest image we accept (pixels): beyond this a chest radiograph file is broken, not big. */
export const MAX_INPUT_PIXELS = 16384 * 16384;

export interface WorkingImage {
  /** The image at working size, padded to the model's size multiple, values in [-1,1]. */
  tensor: Float32Array;
  paddedWidth: number;
  paddedHeight: number;
  /** The working size before padding: crop the model output back to this. */
  width: number;
  height: number;
}

export function checkInput(image: GrayImage, what: string): void {
  const { width, height, data } = image;
  if (width < 16 || height < 16)
    throw new AppError('bad_input', `${what} is ${width}x${height}; at least 16x16 is needed`);
  if (width * height > MAX_INPUT_PIXELS) {
    throw new AppError(
      'bad_input',
      `${what} is ${width}x${height}, larger than the ${MAX_INPUT_PIXELS / 2 ** 20} Mpixel limit`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!))
      throw new AppError('bad_input', `${what} has a non-finite pixel value at index ${i}`);
  }
}

/** The size the restoration runs at: long side `longSide` (never upscaled), aspect kept. */
export function workingSize(
  width: number,
  height: number,
  longSide: number,
): { width: number; height: number } {
  const scale = Math.min(1, longSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** [0,1] image → model tensor in [-1,1] at working size, reflect-padded to a multiple of `multiple`. */
export function toWorkingTensor(image: GrayImage, longSide: number, multiple: number): WorkingImage {
  const size = workingSize(image.width, image.height, longSide);
  const resized = resizeGray(image, size.width, size.height);
  const paddedWidth = Math.max(2 * multiple, Math.ceil(size.width / multiple) * multiple);
  const paddedHeight = Math.max(2 * multiple, Math.ceil(size.height / multiple) * multiple);
  const tensor = new Float32Array(paddedWidth * paddedHeight);
  for (let y = 0; y < paddedHeight; y++) {
    const sy = reflectIndex(y, size.height);
    for (let x = 0; x < paddedWidth; x++) {
      const v = resized.data[sy * size.width + reflectIndex(x, size.width)]!;
      tensor[y * paddedWidth + x] = Math.min(1, Math.max(0, v)) * 2 - 1;
    }
  }
  return { tensor, paddedWidth, paddedHeight, width: size.width, height: size.height };
}

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/** The reference classifies at a fixed square size (resize, aspect not kept, as in training). */
export function toClassificationTensor(image: GrayImage, size: number): Float32Array {
  const resized = resizeGray(image, size, size);
  const tensor = new Float32Array(size * size);
  for (let i = 0; i < tensor.length; i++) tensor[i] = Math.min(1, Math.max(0, resized.data[i]!)) * 2 - 1;
  return tensor;
}

/** Model output in [-1,1] (padded) → [0,1] image cropped to the working size. */
export function fromModelTensor(
  tensor: Float32Array,
  paddedWidth: number,
  width: number,
  height: number,
): GrayImage {
  const out = createGray(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      out.data[y * width + x] = Math.min(1, Math.max(0, (tensor[y * paddedWidth + x]! + 1) / 2));
    }
  }
  return out;
}

/**
 * Class activation map → heat map in [0,1] at the image's size: negative evidence is cut at 0.
 * With `fixedMax` (the model's calibrated scale) the map is divided by it and clipped at 1, so the
 * same colour means the same evidence on every image; without it, by the image's own maximum.
 */
export function camToHeatmap(
  cam: Float32Array,
  camWidth: number,
  camHeight: number,
  width: number,
  height: number,
  fixedMax?: number,
): GrayImage {
  const positive = createGray(camWidth, camHeight);
  let max = 0;
  for (let i = 0; i < cam.length; i++) {
    const v = Math.max(0, cam[i]!);
    positive.data[i] = v;
    if (v > max) max = v;
  }
  const scale = fixedMax !== undefined && fixedMax > 0 ? fixedMax : max;
  if (scale > 0)
    for (let i = 0; i < positive.data.length; i++) positive.data[i] = Math.min(1, positive.data[i]! / scale);
  return resizeGray(positive, width, height);
}
