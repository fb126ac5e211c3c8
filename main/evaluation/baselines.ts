import { mirrorIndex } from '../data/index.ts';
import type { GrayImage } from '../util/image.ts';
import { createGray } from '../util/image.ts';

/**
 * Classical restorations a user could try instead of the model, all GrayImage [0,1] -> GrayImage [0,1].
 * Written here (no image-processing package with NLM/CLAHE on float data is installed; sharp's median and
 * CLAHE work on 8-bit data only). Borders are mirrored.
 */

/** Median over a (2r+1)² window; r = 1 removes isolated salt-and-pepper pixels. */
export function medianFilter(image: GrayImage, radius = 1): GrayImage {
  const { width, height, data } = image;
  const out = createGray(width, height);
  const side = 2 * radius + 1;
  const window = new Float32Array(side * side);
  const half = (side * side - 1) / 2;
  const cols = new Int32Array(width + 2 * radius);
  for (let i = 0; i < cols.length; i++) cols[i] = mirrorIndex(i - radius, width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        const row = mirrorIndex(y + dy, height) * width;
        for (let dx = 0; dx < side; dx++) {
          // insertion sort while collecting: windows are tiny
          const v = data[row + cols[x + dx]!]!;
          let j = n++;
          while (j > 0 && window[j - 1]! > v) {
            window[j] = window[j - 1]!;
            j--;
          }
          window[j] = v;
        }
      }
      out.data[y * width + x] = window[half]!;
    }
  }
  return out;
}

function binOf(value: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(value * bins)));
}

/**
 * Global histogram equalisation over `bins` levels of [0,1]: each value maps to its level's
 * cumulative share, (cdf - cdf_min) / (N - cdf_min), so the output histogram is as flat as the ties allow.
 */
export function histogramEqualize(image: GrayImage, bins = 256): GrayImage {
  const { width, height, data } = image;
  const hist = new Float64Array(bins);
  for (let i = 0; i < data.length; i++) hist[binOf(data[i]!, bins)]!++;
  const lut = cdfLut(hist, data.length);
  const out = createGray(width, height);
  for (let i = 0; i < data.length; i++) out.data[i] = lut[binOf(data[i]!, bins)]!;
  return out;
}

function cdfLut(hist: Float64Array, total: number): Float32Array {
  const lut = new Float32Array(hist.length);
  let cdfMin = 0;
  for (const count of hist) {
    if (count > 0) {
      cdfMin = count;
      break;
    }
  }
  let cdf = 0;
  for (let b = 0; b < hist.length; b++) {
    cdf += hist[b]!;
    lut[b] = total > cdfMin ? Math.max(0, (cdf - cdfMin) / (total - cdfMin)) : 0;
  }
  return lut;
}

export interface ClaheOptions {
  /** Tiles per side. Default 8. */
  tiles?: number;
  /** Histogram clip limit as a multiple of the mean bin count (OpenCV's clipLimit). Default 2. */
  clipLimit?: number;
  bins?: number;
}

/**
 * Contrast-limited adaptive histogram equalisation (Zuiderveld 1994): per-tile histograms clipped at
 * clipLimit x mean and redistributed, mapped through each tile's CDF and blended bilinearly between tile centres.
 */
export function clahe(image: GrayImage, options: ClaheOptions = {}): GrayImage {
  const { width, height, data } = image;
  const bins = options.bins ?? 256;
  const tilesX = Math.max(1, Math.min(options.tiles ?? 8, width));
  const tilesY = Math.max(1, Math.min(options.tiles ?? 8, height));
  const clipLimit = options.clipLimit ?? 2;
  const luts: Float32Array[] = [];
  for (let ty = 0; ty < tilesY; ty++) {
    const y0 = Math.floor((ty * height) / tilesY);
    const y1 = Math.floor(((ty + 1) * height) / tilesY);
    for (let tx = 0; tx < tilesX; tx++) {
      const x0 = Math.floor((tx * width) / tilesX);
      const x1 = Math.floor(((tx + 1) * width) / tilesX);
      const hist = new Float64Array(bins);
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) hist[binOf(data[y * width + x]!, bins)]!++;
      const total = (y1 - y0) * (x1 - x0);
      const limit = Math.max(1, (clipLimit * total) / bins);
      let excess = 0;
      for (let b = 0; b < bins; b++) {
        if (hist[b]! > limit) {
          excess += hist[b]! - limit;
          hist[b] = limit;
        }
      }
      for (let b = 0; b < bins; b++) hist[b]! += excess / bins;
      // Plain CDF (no cdf_min shift): a flat tile keeps its level instead of jumping to black.
      const lut = new Float32Array(bins);
      let cdf = 0;
      for (let b = 0; b < bins; b++) {
        cdf += hist[b]!;
        lut[b] = cdf / total;
      }
      luts.push(lut);
    }
  }
  const out = createGray(width, height);
  for (let y = 0; y < height; y++) {
    // position relative to tile centres
    const gy = ((y + 0.5) * tilesY) / height - 0.5;
    const ty0 = Math.max(0, Math.min(tilesY - 1, Math.floor(gy)));
    const ty1 = Math.min(tilesY - 1, ty0 + 1);
    const fy = Math.min(1, Math.max(0, gy - ty0));
    for (let x = 0; x < width; x++) {
      const gx = ((x + 0.5) * tilesX) / width - 0.5;
      const tx0 = Math.max(0, Math.min(tilesX - 1, Math.floor(gx)));
      const tx1 = Math.min(tilesX - 1, tx0 + 1);
      const fx = Math.min(1, Math.max(0, gx - tx0));
      const b = binOf(data[y * width + x]!, bins);
      const top = (1 - fx) * luts[ty0 * tilesX + tx0]![b]! + fx * luts[ty0 * tilesX + tx1]![b]!;
      const bottom = (1 - fx) * luts[ty1 * tilesX + tx0]![b]! + fx * luts[ty1 * tilesX + tx1]![b]!;
      out.data[y * width + x] = (1 - fy) * top + fy * bottom;
    }
  }
  return out;
}

/**
 * Noise standard deviation estimate (Immerkær 1996): the image filtered with the Laplacian-difference
 * mask [1 -2 1; -2 4 -2; 1 -2 1] cancels smooth structure; sigma = sqrt(pi/2) * mean|response| / 6.
 */
export function estimateNoiseSigma(image: GrayImage): number {
  const { width, height, data } = image;
  if (width < 3 || height < 3) return 0;
  let sum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const r =
        data[i - width - 1]! -
        2 * data[i - width]! +
        data[i - width + 1]! -
        2 * data[i - 1]! +
        4 * data[i]! -
        2 * data[i + 1]! +
        data[i + width - 1]! -
        2 * data[i + width]! +
        data[i + width + 1]!;
      sum += Math.abs(r);
    }
  }
  return (Math.sqrt(Math.PI / 2) * sum) / (6 * (width - 2) * (height - 2));
}

export interface NlmOptions {
  /** Patch half-size: patches are (2p+1)². Default 1 (3x3). */
  patchRadius?: number;
  /** Search half-size: candidates within (2s+1)². Default 5 (11x11). */
  searchRadius?: number;
  /** Noise sigma; default estimated with estimateNoiseSigma. */
  sigma?: number;
  /** Filtering strength h; default 0.8 * sigma (the value skimage suggests for this weighting). */
  h?: number;
}

/**
 * Non-local means (Buades, Coll, Morel 2005) with the sigma-corrected weight
 * w = exp(-max(d² - 2 sigma², 0) / h²), d² the mean squared difference of the two patches. Per search offset
 * the patch distances come from a separable box filter (Darbon et al. 2008), O(pixels x offsets). The centre
 * pixel weighs as much as its best other candidate, as in Buades' implementation.
 */
export function nlmDenoise(image: GrayImage, options: NlmOptions = {}): GrayImage {
  const { width, height, data } = image;
  const pr = options.patchRadius ?? 1;
  const sr = options.searchRadius ?? 5;
  const sigma = options.sigma ?? estimateNoiseSigma(image);
  const h = Math.max(options.h ?? 0.8 * sigma, 1e-4);
  const invH2 = 1 / (h * h);
  const bias = 2 * sigma * sigma;
  const pad = sr + pr;
  const pw = width + 2 * pad;
  const ph = height + 2 * pad;
  const padded = new Float32Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const row = mirrorIndex(y - pad, height) * width;
    for (let x = 0; x < pw; x++) padded[y * pw + x] = data[row + mirrorIndex(x - pad, width)]!;
  }
  // Region of patch pixels around all centres: (width + 2pr) x (height + 2pr), offset `sr` into `padded`.
  const rw = width + 2 * pr;
  const rh = height + 2 * pr;
  const diff = new Float32Array(rw * rh);
  const rowBox = new Float32Array(width * rh);
  const acc = new Float64Array(width * height);
  const weightSum = new Float64Array(width * height);
  const maxWeight = new Float64Array(width * height);
  const area = (2 * pr + 1) ** 2;
  for (let dy = -sr; dy <= sr; dy++) {
    for (let dx = -sr; dx <= sr; dx++) {
      if (dx === 0 && dy === 0) continue;
      for (let y = 0; y < rh; y++) {
        const a = (y + sr) * pw + sr;
        const b = (y + sr + dy) * pw + sr + dx;
        for (let x = 0; x < rw; x++) {
          const d = padded[a + x]! - padded[b + x]!;
          diff[y * rw + x] = d * d;
        }
      }
      // horizontal box sums of width 2pr+1 (running sum)
      for (let y = 0; y < rh; y++) {
        const row = y * rw;
        let s = 0;
        for (let k = 0; k < 2 * pr + 1; k++) s += diff[row + k]!;
        rowBox[y * width] = s;
        for (let x = 1; x < width; x++) {
          s += diff[row + x + 2 * pr]! - diff[row + x - 1]!;
          rowBox[y * width + x] = s;
        }
      }
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let k = 0; k < 2 * pr + 1; k++) s += rowBox[k * width + x]!;
        for (let y = 0; y < height; y++) {
          if (y > 0) s += rowBox[(y + 2 * pr) * width + x]! - rowBox[(y - 1) * width + x]!;
          const d2 = Math.max(0, s / area);
          const w = Math.exp(-Math.max(d2 - bias, 0) * invH2);
          const i = y * width + x;
          acc[i]! += w * padded[(y + pad + dy) * pw + x + pad + dx]!;
          weightSum[i]! += w;
          if (w > maxWeight[i]!) maxWeight[i] = w;
        }
      }
    }
  }
  const out = createGray(width, height);
  for (let i = 0; i < out.data.length; i++) {
    const self = maxWeight[i]! > 0 ? maxWeight[i]! : 1;
    out.data[i] = (acc[i]! + self * data[i]!) / (weightSum[i]! + self);
  }
  return out;
}

export const baselineNames = ['median_histeq', 'median_clahe', 'nlm'] as const;
export type BaselineName = (typeof baselineNames)[number];

/** The named baselines: median 3x3 then global histogram equalisation / CLAHE (8x8 tiles, clip 2); NLM defaults. */
export const baselines: Record<BaselineName, (image: GrayImage) => GrayImage> = {
  median_histeq: (image) => histogramEqualize(medianFilter(image, 1)),
  median_clahe: (image) => clahe(medianFilter(image, 1)),
  nlm: (image) => nlmDenoise(image),
};
