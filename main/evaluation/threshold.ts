// Operating points: which decision threshold a model should ship with, and how good it is when the
// threshold is chosen on data. Choosing and reporting on the same images is optimistic, so the
// honest figure is cross-fitted: the threshold for each fold is chosen on the other folds.
import { Rng } from '../data/index.ts';
import { classificationMetrics, confusionCounts, type ClassificationMetrics } from './classification.ts';

export interface OperatingPoint extends ClassificationMetrics {
  /** COVID-19 when the probability is above this (as the app and `r2c eval` decide). */
  threshold: number;
}

/** Metrics at `threshold`: COVID-19 when score > threshold. */
export function metricsAt(
  scores: readonly number[],
  actual: readonly boolean[],
  threshold: number,
): OperatingPoint {
  const predicted = scores.map((s) => s > threshold);
  return { threshold, ...classificationMetrics(confusionCounts(actual, predicted)) };
}

/**
 * The threshold with the highest F1 on these scores. Candidates are the midpoints between adjacent
 * distinct scores (and one below the lowest), so the choice does not sit on any image's score; ties in
 * F1 go to the candidate closest to 0.5, the untuned default.
 */
export function bestF1Threshold(scores: readonly number[], actual: readonly boolean[]): OperatingPoint {
  if (scores.length !== actual.length)
    throw new RangeError(`${scores.length} scores but ${actual.length} labels`);
  if (scores.length === 0) throw new RangeError('no scores to choose a threshold from');
  const distinct = [...new Set(scores)].sort((a, b) => a - b);
  const candidates = [distinct[0]! - 1e-6, ...distinct.slice(1).map((s, i) => (s + distinct[i]!) / 2)];
  let best: OperatingPoint | null = null;
  for (const t of candidates) {
    const p = metricsAt(scores, actual, t);
    const f1 = Number.isNaN(p.f1) ? -1 : p.f1;
    const bestF1 = best === null || Number.isNaN(best.f1) ? -1 : best.f1;
    if (
      best === null ||
      f1 > bestF1 + 1e-12 ||
      (Math.abs(f1 - bestF1) <= 1e-12 && Math.abs(t - 0.5) < Math.abs(best.threshold - 0.5))
    )
      best = p;
  }
  return best as OperatingPoint;
}

/** The fold of each item: whole groups dealt round-robin in a seeded order (fold sizes differ by at most one group). */
export function assignFolds(groups: readonly string[], folds: number, seed: number | string): number[] {
  const distinct = [...new Set(groups)].sort();
  if (!Number.isInteger(folds) || folds < 2 || distinct.length < folds)
    throw new RangeError(`cross-fitting needs at least ${Math.max(2, folds)} groups and folds >= 2`);
  const order = new Rng(seed, 'folds').shuffle(distinct);
  const foldOf = new Map(order.map((g, i) => [g, i % folds]));
  return groups.map((g) => foldOf.get(g)!);
}

export interface CrossFitted extends ClassificationMetrics {
  folds: number;
  /** The threshold chosen for each fold (on the other folds). */
  thresholds: number[];
}

/**
 * Cross-fitted F1-optimal thresholding: groups (e.g. patients) are dealt into `folds` folds by seed;
 * each fold is classified with the threshold that maximises F1 on the others; the metrics are those
 * of all images' predictions pooled. An unbiased estimate of what choosing the threshold on data gives.
 */
export function crossFittedThreshold(
  scores: readonly number[],
  actual: readonly boolean[],
  groups: readonly string[],
  options: { folds?: number; seed?: number | string } = {},
): CrossFitted {
  const folds = options.folds ?? 2;
  if (scores.length !== actual.length || groups.length !== scores.length)
    throw new RangeError('scores, labels and groups must have the same length');
  const foldOf = assignFolds(groups, folds, options.seed ?? 'threshold-folds');
  const predicted: boolean[] = new Array(scores.length).fill(false);
  const thresholds: number[] = [];
  for (let f = 0; f < folds; f++) {
    const fit = scores.map((_, i) => i).filter((i) => foldOf[i] !== f);
    const t = bestF1Threshold(
      fit.map((i) => scores[i]!),
      fit.map((i) => actual[i]!),
    ).threshold;
    thresholds.push(t);
    for (let i = 0; i < scores.length; i++) if (foldOf[i] === f) predicted[i] = scores[i]! > t;
  }
  return { folds, thresholds, ...classificationMetrics(confusionCounts(actual, predicted)) };
}
