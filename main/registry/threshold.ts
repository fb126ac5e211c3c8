// Choosing a model's operating threshold on a calibration evaluation: a target sensitivity, a target
// specificity, or the F1-optimal point, reported with sensitivity and specificity and their 95% Wilson
// intervals.
import { bestF1Threshold, metricsAt } from '../evaluation/index.ts';
import { AppError } from '../util/errors.ts';

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  /** successes / trials behind it. */
  successes: number;
  trials: number;
}

/**
 * The Wilson score interval for a binomial proportion (z = 1.96 for 95%). Written here: a few lines
 * of closed form, and the npm statistics packages that offer it pull in far more than this.
 */
export function wilsonInterval(successes: number, trials: number, z = 1.959964): Interval {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials)
    throw new RangeError(`a proportion needs 0 <= successes <= trials, got ${successes}/${trials}`);
  if (trials === 0) return { estimate: Number.NaN, low: Number.NaN, high: Number.NaN, successes, trials };
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return {
    estimate: p,
    low: Math.max(0, centre - half),
    high: Math.min(1, centre + half),
    successes,
    trials,
  };
}

export type ThresholdTarget =
  | { kind: 'sensitivity'; value: number }
  | { kind: 'specificity'; value: number }
  | { kind: 'f1' };

export interface ChosenThreshold {
  threshold: number;
  target: ThresholdTarget;
  sensitivity: Interval;
  specificity: Interval;
  f1: number;
  /** Images (score pairs) the choice was made on. */
  count: number;
}

/** Candidate thresholds: midpoints between adjacent distinct scores, one below the lowest and one above the highest. */
function candidates(scores: readonly number[]): number[] {
  const distinct = [...new Set(scores)].sort((a, b) => a - b);
  return [
    Math.max(0, distinct[0]! - 1e-6),
    ...distinct.slice(1).map((s, i) => (s + distinct[i]!) / 2),
    Math.min(1, distinct[distinct.length - 1]! + 1e-6),
  ];
}

/** The operating point at `threshold`: COVID-19 when the score is above it (as the app decides). */
export function operatingPoint(
  scores: readonly number[],
  actual: readonly boolean[],
  threshold: number,
  target: ThresholdTarget,
): ChosenThreshold {
  let tp = 0;
  let fn = 0;
  let tn = 0;
  let fp = 0;
  for (let i = 0; i < scores.length; i++) {
    const positive = scores[i]! > threshold;
    if (actual[i]) positive ? tp++ : fn++;
    else positive ? fp++ : tn++;
  }
  const f1 = metricsAt(scores, actual, threshold).f1;
  return {
    threshold,
    target,
    sensitivity: wilsonInterval(tp, tp + fn),
    specificity: wilsonInterval(tn, tn + fp),
    f1,
    count: scores.length,
  };
}

/**
 * The threshold meeting `target` on labelled scores: for a target sensitivity, the highest threshold
 * that keeps sensitivity at or above it (so specificity is as high as it can be); for a target
 * specificity, the lowest threshold that keeps specificity at or above it; 'f1': the F1-optimal one.
 */
export function chooseThreshold(
  scores: readonly number[],
  actual: readonly boolean[],
  target: ThresholdTarget,
): ChosenThreshold {
  if (scores.length !== actual.length)
    throw new RangeError(`${scores.length} scores but ${actual.length} labels`);
  if (new Set(actual).size < 2)
    throw new AppError('bad_input', 'choosing a threshold needs calibration images of both classes');
  if (target.kind === 'f1')
    return operatingPoint(scores, actual, bestF1Threshold(scores, actual).threshold, target);
  if (!(target.value > 0 && target.value <= 1))
    throw new AppError(
      'bad_input',
      `a target ${target.kind} must be above 0 and at most 1, got ${target.value}`,
    );
  const points = candidates(scores).map((t) => operatingPoint(scores, actual, t, target));
  const meets = points.filter(
    (p) => (target.kind === 'sensitivity' ? p.sensitivity : p.specificity).estimate >= target.value - 1e-12,
  );
  // Sensitivity falls as the threshold rises, specificity rises: take the best point on the other measure.
  const chosen = target.kind === 'sensitivity' ? meets[meets.length - 1] : meets[0];
  if (!chosen)
    throw new AppError(
      'bad_input',
      `no threshold reaches a ${target.kind} of ${target.value} on these images`,
    );
  return chosen;
}

export function describeTarget(target: ThresholdTarget): string {
  return target.kind === 'f1' ? 'F1-optimal' : `target ${target.kind} ${target.value}`;
}
