/**
 * Reader-study statistics. Written here because no statistics package is installed and the few
 * formulas we need are short and checked against published worked examples in the tests.
 */

export type Interval = [low: number, high: number];

// ---------------------------------------------------------------------------------------------
// Student t quantile (for t-based CIs): regularised incomplete beta + bisection.

function logGamma(x: number): number {
  // Lanczos approximation (g=7, n=9), accurate to ~1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  // Modified Lentz's method (Numerical Recipes 6.4).
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/**
 * Beyond this many degrees of freedom t is the normal distribution to ~2e-7, and the incomplete beta
 * loses precision (at 1e18, df + t² rounds to df): larger df, Infinity included, are taken as this.
 */
const largestDf = 1e7;

/** Student t cumulative distribution function (df > 0; Infinity gives the normal). */
export function studentTCdf(t: number, degrees: number): number {
  const df = Math.min(degrees, largestDf);
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile of Student's t distribution (p in (0,1), df > 0; Infinity gives the normal). */
export function studentTQuantile(p: number, degrees: number): number {
  if (!(p > 0 && p < 1) || !(degrees > 0))
    throw new RangeError(`studentTQuantile: p must be in (0,1) and df > 0 (got p = ${p}, df = ${degrees})`);
  const df = Math.min(degrees, largestDf);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * Math.max(1, high); i++) {
    const mid = (low + high) / 2;
    if (studentTCdf(mid, df) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** F distribution cumulative distribution function (d1, d2 > 0, fractional allowed; d2 may be Infinity). */
export function fCdf(x: number, d1: number, denominatorDf: number): number {
  if (x <= 0) return 0;
  const d2 = Math.min(denominatorDf, largestDf);
  return incompleteBeta((d1 * x) / (d1 * x + d2), d1 / 2, d2 / 2);
}

/** Quantile of the F distribution (p in (0,1)), by bisection on the CDF. */
export function fQuantile(p: number, d1: number, d2: number): number {
  if (!(p > 0 && p < 1) || !(d1 > 0) || !(d2 > 0))
    throw new RangeError('fQuantile: p must be in (0,1), d1 and d2 > 0');
  let low = 0;
  let high = 1;
  while (fCdf(high, d1, d2) < p && high < 1e12) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * Math.max(1, high); i++) {
    const mid = (low + high) / 2;
    if (fCdf(mid, d1, d2) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

// ---------------------------------------------------------------------------------------------
// Means and proportions.

export interface MeanSummary {
  n: number;
  mean: number | null;
  sd: number | null;
  /** Two-sided 95% CI, mean ± t(0.975, n−1)·sd/√n; null when n < 2. */
  ci95: Interval | null;
}

export function meanWithTInterval(values: readonly number[], level = 0.95): MeanSummary {
  const n = values.length;
  if (n === 0) return { n, mean: null, sd: null, ci95: null };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { n, mean, sd: null, ci95: null };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  const sd = Math.sqrt(variance);
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, ci95: [mean - half, mean + half] };
}

/** Wilson score interval (Wilson 1927) without continuity correction, two-sided 95%. */
export function wilsonInterval(successes: number, n: number, z = 1.959963984540054): Interval | null {
  if (n <= 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

// ---------------------------------------------------------------------------------------------
// Agreement.

export type KappaBand = 'poor' | 'slight' | 'fair' | 'moderate' | 'substantial' | 'almost perfect';
export type IccBand = 'poor' | 'moderate' | 'good' | 'excellent';

/** Landis & Koch (1977) bands: <0 poor, ≤.20 slight, ≤.40 fair, ≤.60 moderate, ≤.80 substantial, else almost perfect. */
export function landisKochBand(kappa: number): KappaBand {
  if (kappa < 0) return 'poor';
  if (kappa <= 0.2) return 'slight';
  if (kappa <= 0.4) return 'fair';
  if (kappa <= 0.6) return 'moderate';
  if (kappa <= 0.8) return 'substantial';
  return 'almost perfect';
}

/** Koo & Li (2016) bands: <.5 poor, .5–.75 moderate, .75–.9 good, >.9 excellent. */
export function kooLiBand(icc: number): IccBand {
  if (icc < 0.5) return 'poor';
  if (icc < 0.75) return 'moderate';
  if (icc <= 0.9) return 'good';
  return 'excellent';
}

/**
 * Cohen's kappa for two raters on paired ratings. `weights` 'none' is Cohen (1960); 'linear' and
 * 'quadratic' are Cohen's (1968) weighted kappa with disagreement weights |x−y| and (x−y)² on the
 * numeric rating values (the (k−1) normalisation cancels, so unused scale points do not matter).
 * Returns null when chance agreement is total (no variation), where kappa is undefined.
 */
export function cohenKappa(
  pairs: readonly (readonly [number | string, number | string])[],
  weights: 'none' | 'linear' | 'quadratic' = 'none',
): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const categories = [...new Set(pairs.flat())];
  const index = new Map(categories.map((c, i) => [c, i]));
  const k = categories.length;
  const observed = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const [a, b] of pairs) observed[index.get(a)!]![index.get(b)!]! += 1 / n;
  const rowMarginal = observed.map((row) => row.reduce((s, v) => s + v, 0));
  const colMarginal = categories.map((_, j) => observed.reduce((s, row) => s + row[j]!, 0));
  const disagreement = (i: number, j: number): number => {
    if (weights === 'none') return i === j ? 0 : 1;
    const d = Math.abs(Number(categories[i]) - Number(categories[j]));
    return weights === 'linear' ? d : d * d;
  };
  let observedDisagreement = 0;
  let expectedDisagreement = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      observedDisagreement += disagreement(i, j) * observed[i]![j]!;
      expectedDisagreement += disagreement(i, j) * rowMarginal[i]! * colMarginal[j]!;
    }
  if (expectedDisagreement < 1e-15) return null;
  return 1 - observedDisagreement / expectedDisagreement;
}

/**
 * Fleiss' (1971) kappa. `counts[i][j]` is how many raters put subject i in category j; every
 * subject must have the same number of ratings (≥ 2). Null when undefined (no variation).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number | null {
  const n = counts.length;
  if (n === 0) return null;
  const raters = counts[0]!.reduce((s, v) => s + v, 0);
  if (raters < 2) return null;
  for (const row of counts)
    if (row.reduce((s, v) => s + v, 0) !== raters)
      throw new RangeError('fleissKappa: every subject needs the same number of ratings');
  const k = counts[0]!.length;
  const p = new Array<number>(k).fill(0);
  let meanAgreement = 0;
  for (const row of counts) {
    let same = 0;
    row.forEach((c, j) => {
      p[j]! += c / (n * raters);
      same += c * (c - 1);
    });
    meanAgreement += same / (raters * (raters - 1)) / n;
  }
  const chance = p.reduce((s, v) => s + v * v, 0);
  if (1 - chance < 1e-15) return null;
  return (meanAgreement - chance) / (1 - chance);
}

export interface IccResult {
  icc: number;
  /** Mean squares of the two-way ANOVA, for readers who want other ICC forms. */
  msRows: number;
  msColumns: number;
  msError: number;
}

/**
 * ICC(2,1) of Shrout & Fleiss (1979): two-way random effects, absolute agreement, single rater.
 * `matrix[i][j]` is the rating of subject i by rater j (complete data, n ≥ 2 subjects, k ≥ 2 raters).
 * Null when the denominator vanishes (no variation at all).
 */
export function icc21(matrix: readonly (readonly number[])[]): IccResult | null {
  const n = matrix.length;
  if (n < 2) return null;
  const k = matrix[0]!.length;
  if (k < 2) return null;
  let grand = 0;
  for (const row of matrix) {
    if (row.length !== k) throw new RangeError('icc21: every subject needs a rating from every rater');
    for (const v of row) grand += v;
  }
  grand /= n * k;
  const rowMeans = matrix.map((row) => row.reduce((s, v) => s + v, 0) / k);
  const colMeans = Array.from({ length: k }, (_, j) => matrix.reduce((s, row) => s + row[j]!, 0) / n);
  let ssTotal = 0;
  for (const row of matrix) for (const v of row) ssTotal += (v - grand) ** 2;
  const ssRows = k * rowMeans.reduce((s, m) => s + (m - grand) ** 2, 0);
  const ssColumns = n * colMeans.reduce((s, m) => s + (m - grand) ** 2, 0);
  const ssError = ssTotal - ssRows - ssColumns;
  const msRows = ssRows / (n - 1);
  const msColumns = ssColumns / (k - 1);
  const msError = ssError / ((n - 1) * (k - 1));
  const denominator = msRows + (k - 1) * msError + (k * (msColumns - msError)) / n;
  if (Math.abs(denominator) < 1e-15) return null;
  return { icc: (msRows - msError) / denominator, msRows, msColumns, msError };
}

/**
 * Confidence interval of ICC(2,1) = ICC(A,1) from McGraw & Wong (1996), case 2A (two-way random,
 * absolute agreement), with Satterthwaite's degrees of freedom; the interval R's irr::icc and
 * psych::ICC report. `n` subjects, `k` raters. Null when undefined (ICC of 1, no variation).
 */
export function icc21Interval(result: IccResult, n: number, k: number, level = 0.95): Interval | null {
  const { icc, msRows, msColumns, msError } = result;
  if (!(icc < 1) || n < 2 || k < 2) return null;
  const alpha = 1 - level;
  const a = (k * icc) / (n * (1 - icc));
  const b = 1 + (k * icc * (n - 1)) / (n * (1 - icc));
  const v =
    (a * msColumns + b * msError) ** 2 /
    ((a * msColumns) ** 2 / (k - 1) + (b * msError) ** 2 / ((n - 1) * (k - 1)));
  if (!(v > 0) || !Number.isFinite(v)) return null;
  const fLow = fQuantile(1 - alpha / 2, n - 1, v);
  const fHigh = fQuantile(1 - alpha / 2, v, n - 1);
  const spread = k * msColumns + (k * n - k - n) * msError;
  const low = (n * (msRows - fLow * msError)) / (fLow * spread + n * msRows);
  const high = (n * (fHigh * msRows - msError)) / (spread + n * fHigh * msRows);
  return Number.isFinite(low) && Number.isFinite(high) ? [low, high] : null;
}

/**
 * Percentile bootstrap interval of a statistic over items (resampled with replacement), from a
 * seeded generator so the same data always give the same interval. Resamples where the statistic
 * is undefined (null) are dropped; null when fewer than half of them remain or items < 2.
 */
export function bootstrapInterval<T>(
  items: readonly T[],
  statistic: (sample: readonly T[]) => number | null,
  random: () => number,
  resamples = 2000,
  level = 0.95,
): Interval | null {
  const n = items.length;
  if (n < 2) return null;
  const values: number[] = [];
  const sample = new Array<T>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = items[Math.floor(random() * n)]!;
    const value = statistic(sample);
    if (value !== null && Number.isFinite(value)) values.push(value);
  }
  if (values.length < resamples / 2) return null;
  values.sort((x, y) => x - y);
  // Type 7 quantile (linear interpolation), as R's default.
  const quantile = (p: number) => {
    const h = (values.length - 1) * p;
    const lo = Math.floor(h);
    return values[lo]! + (h - lo) * (values[Math.min(lo + 1, values.length - 1)]! - values[lo]!);
  };
  return [quantile((1 - level) / 2), quantile(1 - (1 - level) / 2)];
}
