// How sure a classification is. The calibrated probability of COVID-19 at a score is the isotonic
// (pool-adjacent-violators) fit of the calibration split's labels on their scores: runs of cases
// pooled into blocks, each block's share of COVID-19 cases its calibrated probability, with a Wilson
// 95% interval. The decision level is the calibrated probability at the card's threshold; the
// indeterminate band is the run of blocks around the threshold whose 95% interval still contains that
// level (their calibrated probability cannot be told apart from the threshold's). Scores in the band
// are reported as "indeterminate", neither positive nor negative.
// Written here: PAV and the Wilson interval are a few lines each, and no maintained npm package
// offers the pair with the block boundaries we need.
import { AppError } from '../util/errors.ts';
import type { ModelCalibration } from './model-card.ts';

export interface CalibrationCase {
  score: number;
  positive: boolean;
}

export interface IsotonicBlock {
  /** Lowest and highest calibration score in the block. */
  minScore: number;
  maxScore: number;
  n: number;
  positives: number;
  /** Calibrated probability: positives / n. */
  value: number;
  /** Wilson 95% interval of `value`. */
  interval: [number, number];
}

/** Wilson score interval for k successes in n trials (z = 1.96: 95%). */
export function wilsonInterval(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (!(n > 0) || k < 0 || k > n) throw new AppError('bad_input', `Wilson interval needs 0 <= k <= n, n > 0`);
  const p = k / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Pool-adjacent-violators: a non-decreasing step fit of the labels on the scores. */
export function isotonicBlocks(cases: readonly CalibrationCase[]): IsotonicBlock[] {
  if (cases.length === 0) throw new AppError('bad_input', 'calibration needs at least one case');
  const sorted = [...cases].sort((a, b) => a.score - b.score);
  // Equal scores cannot be ordered, so they start in one block.
  const stack: { minScore: number; maxScore: number; n: number; positives: number }[] = [];
  for (const c of sorted) {
    const last = stack.at(-1);
    if (last && last.maxScore === c.score) {
      last.n++;
      last.positives += c.positive ? 1 : 0;
    } else stack.push({ minScore: c.score, maxScore: c.score, n: 1, positives: c.positive ? 1 : 0 });
    while (stack.length > 1) {
      const b = stack.at(-1)!;
      const a = stack.at(-2)!;
      if (a.positives / a.n < b.positives / b.n) break;
      stack.splice(-2, 2, {
        minScore: a.minScore,
        maxScore: b.maxScore,
        n: a.n + b.n,
        positives: a.positives + b.positives,
      });
    }
  }
  return stack.map((b) => ({
    ...b,
    value: b.positives / b.n,
    interval: wilsonInterval(b.positives, b.n),
  }));
}

export interface IndeterminateBand {
  low: number;
  high: number;
  /** Calibrated probability at the threshold. */
  level: number;
  blocks: IsotonicBlock[];
}

/**
 * The band around `threshold`: the block the threshold falls in (or the first block above it, when it
 * falls between blocks) and its neighbours on either side, outwards while their Wilson interval
 * contains the calibrated probability at the threshold. Edges lie halfway between the outermost
 * included score and the next calibration score (0 or 1 when none); the band always holds the threshold.
 */
export function indeterminateBand(cases: readonly CalibrationCase[], threshold: number): IndeterminateBand {
  const blocks = isotonicBlocks(cases);
  let centre = blocks.findIndex((b) => b.maxScore >= threshold);
  if (centre < 0) centre = blocks.length - 1;
  const level = blocks[centre]!.value;
  const contains = (b: IsotonicBlock) => b.interval[0] <= level && level <= b.interval[1];
  let lo = centre;
  while (lo > 0 && contains(blocks[lo - 1]!)) lo--;
  let hi = centre;
  while (hi < blocks.length - 1 && contains(blocks[hi + 1]!)) hi++;
  const low = lo > 0 ? (blocks[lo - 1]!.maxScore + blocks[lo]!.minScore) / 2 : 0;
  const high = hi < blocks.length - 1 ? (blocks[hi]!.maxScore + blocks[hi + 1]!.minScore) / 2 : 1;
  return { low: Math.min(low, threshold), high: Math.max(high, threshold), level, blocks };
}

export type Decision = 'positive' | 'negative' | 'indeterminate';

/** Positive above the threshold, negative at or below it, indeterminate inside the band. */
export function decide(
  probability: number,
  threshold: number,
  band: { low: number; high: number } | undefined,
): Decision {
  if (band && probability >= band.low && probability <= band.high) return 'indeterminate';
  return probability > threshold ? 'positive' : 'negative';
}

/** What travels with every result: the decision, the band, and the validation figures. */
export interface ResultCertainty {
  decision: Decision;
  threshold: number;
  indeterminate?: { low: number; high: number };
  validation?: ModelCalibration['validation'];
}

export function certaintyOf(
  probability: number,
  card: { threshold: number; calibration?: ModelCalibration | undefined },
): ResultCertainty {
  const band = card.calibration?.indeterminate;
  return {
    decision: decide(probability, card.threshold, band),
    threshold: card.threshold,
    ...(band ? { indeterminate: { low: band.low, high: band.high } } : {}),
    ...(card.calibration ? { validation: card.calibration.validation } : {}),
  };
}

export const DECISION_TEXT: Record<Decision, string> = {
  positive: 'COVID-19 pattern suggested',
  negative: 'No COVID-19 pattern suggested',
  indeterminate: 'Indeterminate',
};

export const DECISION_SUPPORT_STATEMENT =
  'Decision support for research use only; not a diagnosis. The result must be reviewed by a qualified reader together with the original image.';
