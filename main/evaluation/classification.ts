/**
 * Binary classification metrics as the reference reports them, COVID-19 being the positive class.
 * A ratio whose denominator is zero (e.g. precision with no positive predictions) is NaN: undefined,
 * not zero (JSON writes it as null).
 */
export interface ConfusionCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  sensitivity: number;
  specificity: number;
  precision: number;
  f1: number;
  f2: number;
}

const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);

/** Counts from true labels (true = COVID-19) and predicted labels. */
export function confusionCounts(actual: readonly boolean[], predicted: readonly boolean[]): ConfusionCounts {
  if (actual.length !== predicted.length) {
    throw new RangeError(`${actual.length} labels but ${predicted.length} predictions`);
  }
  const counts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < actual.length; i++) {
    if (actual[i]) predicted[i] ? counts.tp++ : counts.fn++;
    else predicted[i] ? counts.fp++ : counts.tn++;
  }
  return counts;
}

/**
 * The 2x2 confusion matrix in the reference's class order (index 0 = normal, 1 = COVID-19):
 * matrix[actual][predicted].
 */
export function confusionMatrix(counts: ConfusionCounts): [[number, number], [number, number]] {
  return [
    [counts.tn, counts.fp],
    [counts.fn, counts.tp],
  ];
}

export function classificationMetrics(counts: ConfusionCounts): ClassificationMetrics {
  const { tp, fp, tn, fn } = counts;
  const sensitivity = ratio(tp, tp + fn);
  const precision = ratio(tp, tp + fp);
  return {
    accuracy: ratio(tp + tn, tp + tn + fp + fn),
    sensitivity,
    specificity: ratio(tn, tn + fp),
    precision,
    f1: ratio(2 * precision * sensitivity, precision + sensitivity),
    f2: ratio(5 * precision * sensitivity, 4 * precision + sensitivity),
  };
}

export interface RocPoint {
  /** Scores >= threshold count as COVID-19. The first point (0,0) has threshold +Infinity. */
  threshold: number;
  fpr: number;
  tpr: number;
}

/**
 * ROC curve with one point per distinct score: tied scores move the curve diagonally in one step,
 * so the area counts a tied positive/negative pair as half a correctly ordered pair.
 */
export function rocCurve(scores: readonly number[], actual: readonly boolean[]): RocPoint[] {
  if (scores.length !== actual.length)
    throw new RangeError(`${scores.length} scores but ${actual.length} labels`);
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const positives = actual.filter(Boolean).length;
  const negatives = actual.length - positives;
  const points: RocPoint[] = [{ threshold: Number.POSITIVE_INFINITY, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; ) {
    const threshold = scores[order[k]!]!;
    if (Number.isNaN(threshold)) throw new RangeError('a classification score is NaN');
    while (k < order.length && scores[order[k]!] === threshold) {
      if (actual[order[k]!]) tp++;
      else fp++;
      k++;
    }
    points.push({ threshold, fpr: ratio(fp, negatives), tpr: ratio(tp, positives) });
  }
  return points;
}

/** Trapezoidal area under a ROC curve (NaN when a class is missing). */
export function rocAuc(points: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
  }
  return area;
}

export interface ClassificationReport {
  count: number;
  threshold: number;
  counts: ConfusionCounts;
  /** [actual][predicted], index 0 = normal, 1 = COVID-19. */
  matrix: [[number, number], [number, number]];
  metrics: ClassificationMetrics;
  roc: RocPoint[];
  auc: number;
}

/**
 * Full report from COVID-19 probabilities. As in the reference (argmax of the two-class softmax), an
 * image is called COVID-19 when its probability is above `threshold` (default 0.5; a tie goes to normal).
 */
export function classificationReport(
  scores: readonly number[],
  actual: readonly boolean[],
  threshold = 0.5,
): ClassificationReport {
  const counts = confusionCounts(
    actual,
    scores.map((s) => s > threshold),
  );
  const roc = rocCurve(scores, actual);
  return {
    count: scores.length,
    threshold,
    counts,
    matrix: confusionMatrix(counts),
    metrics: classificationMetrics(counts),
    roc,
    auc: rocAuc(roc),
  };
}
