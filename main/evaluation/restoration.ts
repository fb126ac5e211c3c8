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

/**
 * Mean absolute response of the 2x2 checkerboard filter [[1,-1],[-1,1]] over every 2x2 window: the
 * energy at the pixel grid's own period, where transposed-conv upsampling leaves its texture.
 */
export function checkerEnergy(image: GrayImage): number {
  const { width: w, height: h, data } = image;
  if (w < 2 || h < 2) return 0;
  let sum = 0;
  for (let y = 0; y + 1 < h; y++)
    for (let x = 0; x + 1 < w; x++) {
      const i = y * w + x;
      sum += Math.abs(data[i]! - data[i + 1]! - data[i + w]! + data[i + w + 1]!);
    }
  return sum / ((w - 1) * (h - 1));
}

/**
 * Grid texture a restoration adds: checkerEnergy(test) / checkerEnergy(reference). 1.0 = as much
 * pixel-period texture as the clean image; a checkerboard overlay scores far above 1.
 */
export function gridRatio(reference: GrayImage, test: GrayImage): number {
  checkSameSize(reference, test);
  const ref = checkerEnergy(reference);
  const t = checkerEnergy(test);
  if (ref === 0) return t === 0 ? 1 : Number.POSITIVE_INFINITY;
  return t / ref;
}

/** |DFT|² of a mean-removed image at one frequency (cycles per pixel fx, fy in [0, 0.5]). */
function powerAt(image: GrayImage, mean: number, fx: number, fy: number): number {
  const { width: w, height: h, data } = image;
  const cx = new Float64Array(w);
  const sx = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    cx[x] = Math.cos(2 * Math.PI * fx * x);
    sx[x] = Math.sin(2 * Math.PI * fx * x);
  }
  let re = 0;
  let im = 0;
  for (let y = 0; y < h; y++) {
    const cy = Math.cos(2 * Math.PI * fy * y);
    const sy = Math.sin(2 * Math.PI * fy * y);
    let rowRe = 0;
    let rowIm = 0;
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x]! - mean;
      rowRe += v * cx[x]!;
      rowIm += v * sx[x]!;
    }
    // (rowRe - i rowIm)(cy - i sy)
    re += rowRe * cy - rowIm * sy;
    im += rowRe * sy + rowIm * cy;
  }
  return (re * re + im * im) / (w * h);
}

/**
 * Spectral peak at the Nyquist frequencies: the mean power at (1/2, 1/2), (1/2, 0) and (0, 1/2)
 * cycles per pixel divided by the mean power a few bins away from each (same direction). A periodic
 * 2-pixel grid makes a sharp peak (>> 1); natural images and noise give about 1 or less.
 */
export function nyquistPeak(image: GrayImage): number {
  const { width: w, height: h, data } = image;
  if (w < 16 || h < 16) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i]!;
  mean /= data.length;
  const peaks: [number, number][] = [
    [0.5, 0.5],
    [0.5, 0],
    [0, 0.5],
  ];
  let peak = 0;
  let around = 0;
  let n = 0;
  for (const [fx, fy] of peaks) {
    peak += powerAt(image, mean, fx, fy);
    for (const k of [2, 3, 4]) {
      around += powerAt(image, mean, fx === 0 ? 0 : 0.5 - k / w, fy === 0 ? 0 : 0.5 - k / h);
      n++;
    }
  }
  peak /= peaks.length;
  around /= n;
  return around === 0 ? (peak === 0 ? 1 : Number.POSITIVE_INFINITY) : peak / around;
}
