import type { GrayImage } from '../util/image.ts';

function checkSameSize(a: GrayImage, b: GrayImage): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
}

export function meanSquaredError(a: GrayImage, b: GrayImage): number {
  checkSameSize(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    sum += d * d;
  }
  return sum / a.data.length;
}

/** PSNR in dB, 10 log10(range² / MSE); +Infinity for identical images. */
export function psnr(reference: GrayImage, test: GrayImage, dataRange = 1): number {
  const mse = meanSquaredError(reference, test);
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((dataRange * dataRange) / mse);
}

export interface SsimOptions {
  dataRange?: number;
  windowSize?: number;
  sigma?: number;
  k1?: number;
  k2?: number;
}

/** Normalised 1-D Gaussian; its outer product is MATLAB's fspecial('gaussian', size, sigma). */
function gaussianWindow(size: number, sigma: number): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let total = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    total += w[i]!;
  }
  for (let i = 0; i < size; i++) w[i]! /= total;
  return w;
}

/** 'valid' separable filtering (no padding), as filter2(window, x, 'valid') in Wang et al.'s code. */
function filterValid(src: Float64Array, width: number, height: number, w: Float64Array): Float64Array {
  const n = w.length;
  const ow = width - n + 1;
  const oh = height - n + 1;
  const mid = new Float64Array(height * ow);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      const base = y * width + x;
      for (let k = 0; k < n; k++) acc += w[k]! * src[base + k]!;
      mid[y * ow + x] = acc;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let k = 0; k < n; k++) {
      const wk = w[k]!;
      const row = (y + k) * ow;
      for (let x = 0; x < ow; x++) out[y * ow + x]! += wk * mid[row + x]!;
    }
  }
  return out;
}

/**
 * Mean SSIM (Wang, Bovik, Sheikh, Simoncelli 2004): 11x11 Gaussian window with sigma 1.5, K1 0.01,
 * K2 0.03, data range 1 by default, averaged over the windows that fit entirely in the image (no padding,
 * no automatic downsampling). Images must be at least window-sized.
 */
export function ssim(reference: GrayImage, test: GrayImage, options: SsimOptions = {}): number {
  checkSameSize(reference, test);
  const size = options.windowSize ?? 11;
  const { width, height } = reference;
  if (width < size || height < size) {
    throw new RangeError(`SSIM needs images of at least ${size}x${size}, got ${width}x${height}`);
  }
  const range = options.dataRange ?? 1;
  const c1 = ((options.k1 ?? 0.01) * range) ** 2;
  const c2 = ((options.k2 ?? 0.03) * range) ** 2;
  const w = gaussianWindow(size, options.sigma ?? 1.5);
  const n = width * height;
  const x = Float64Array.from(reference.data);
  const y = Float64Array.from(test.data);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const muX = filterValid(x, width, height, w);
  const muY = filterValid(y, width, height, w);
  const sXX = filterValid(xx, width, height, w);
  const sYY = filterValid(yy, width, height, w);
  const sXY = filterValid(xy, width, height, w);
  let total = 0;
  for (let i = 0; i < muX.length; i++) {
    const mx = muX[i]!;
    const my = muY[i]!;
    const vx = sXX[i]! - mx * mx;
    const vy = sYY[i]! - my * my;
    const cxy = sXY[i]! - mx * my;
    total += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return total / muX.length;
}
