import type { GrayImage } from '../util/image.ts';
import { createGray } from '../util/image.ts';

/** Maps any index into [0, n) by mirroring with the edge sample repeated (…cba|abc…xyz|zyx…). */
export function mirrorIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

export function gaussianKernel1d(sigma: number, radius = Math.max(1, Math.ceil(3 * sigma))): Float32Array {
  const kernel = new Float32Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel[i + radius] = w;
    total += w;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= total;
  return kernel;
}

/** Separable convolution with a symmetric odd-length kernel, mirrored borders (mean-preserving). */
export function convolveSeparable(
  image: GrayImage,
  kernelX: Float32Array,
  kernelY: Float32Array = kernelX,
): GrayImage {
  const { width, height, data } = image;
  const rx = (kernelX.length - 1) / 2;
  const ry = (kernelY.length - 1) / 2;
  const mid = new Float32Array(width * height);
  const cols = new Int32Array(width + 2 * rx);
  for (let i = 0; i < cols.length; i++) cols[i] = mirrorIndex(i - rx, width);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = 0; k < kernelX.length; k++) acc += kernelX[k]! * data[row + cols[x + k]!]!;
      mid[row + x] = acc;
    }
  }
  const out = createGray(width, height);
  for (let y = 0; y < height; y++) {
    const outRow = y * width;
    for (let k = 0; k < kernelY.length; k++) {
      const w = kernelY[k]!;
      const inRow = mirrorIndex(y + k - ry, height) * width;
      for (let x = 0; x < width; x++) out.data[outRow + x]! += w * mid[inRow + x]!;
    }
  }
  return out;
}

export function gaussianBlur(image: GrayImage, sigma: number): GrayImage {
  if (!(sigma > 0)) {
    return { width: image.width, height: image.height, data: Float32Array.from(image.data) };
  }
  return convolveSeparable(image, gaussianKernel1d(sigma));
}

export interface SparseTap {
  dx: number;
  dy: number;
  weight: number;
}

/**
 * Linear motion blur kernel: a segment of `length` px centred on the origin at `angleDegrees`
 * (0 = horizontal, counter-clockwise with y pointing up). Each pixel weighs the share of the segment
 * that crosses its square (the share of exposure time spent there), so a horizontal length-9 blur is
 * 9 equal taps; found by dense sampling along the segment.
 */
export function motionKernel(length: number, angleDegrees: number): SparseTap[] {
  if (!(length > 0)) return [{ dx: 0, dy: 0, weight: 1 }];
  const theta = (angleDegrees * Math.PI) / 180;
  const cx = Math.cos(theta);
  const cy = -Math.sin(theta); // image rows grow downwards
  const samples = Math.max(1, Math.ceil(length * 16));
  const weights = new Map<string, SparseTap>();
  for (let s = 0; s < samples; s++) {
    const t = ((s + 0.5) / samples - 0.5) * length;
    const dx = Math.round(t * cx);
    const dy = Math.round(t * cy);
    const key = `${dx},${dy}`;
    const tap = weights.get(key);
    if (tap) tap.weight += 1 / samples;
    else weights.set(key, { dx, dy, weight: 1 / samples });
  }
  return [...weights.values()];
}

/** out(x,y) = sum of weight * in(x+dx, y+dy) over the taps, mirrored borders. */
export function convolveSparse(image: GrayImage, taps: readonly SparseTap[]): GrayImage {
  const { width, height, data } = image;
  const out = createGray(width, height);
  const colMaps = new Map<number, Int32Array>();
  for (const tap of taps) {
    if (colMaps.has(tap.dx)) continue;
    const map = new Int32Array(width);
    for (let x = 0; x < width; x++) map[x] = mirrorIndex(x + tap.dx, width);
    colMaps.set(tap.dx, map);
  }
  for (const tap of taps) {
    const cols = colMaps.get(tap.dx)!;
    const w = tap.weight;
    for (let y = 0; y < height; y++) {
      const inRow = mirrorIndex(y + tap.dy, height) * width;
      const outRow = y * width;
      for (let x = 0; x < width; x++) out.data[outRow + x]! += w * data[inRow + cols[x]!]!;
    }
  }
  return out;
}
