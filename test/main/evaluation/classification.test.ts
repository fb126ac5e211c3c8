import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classificationMetrics,
  classificationReport,
  confusionCounts,
  confusionMatrix,
  rocAuc,
  rocCurve,
} from '../../../main/evaluation/classification.ts';
import { Rng } from '../../../main/data/random.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

test('metrics from confusion counts match hand-computed fractions', () => {
  // TP 40, FP 10, TN 45, FN 5: sensitivity 8/9, precision 4/5, F1 = 16/19, F2 = 20/23
  const m = classificationMetrics({ tp: 40, fp: 10, tn: 45, fn: 5 });
  close(m.accuracy, 85 / 100);
  close(m.sensitivity, 8 / 9);
  close(m.specificity, 45 / 55);
  close(m.precision, 4 / 5);
  close(m.f1, 16 / 19);
  close(m.f2, 20 / 23);
});

test('undefined ratios are NaN, not zero', () => {
  const m = classificationMetrics({ tp: 0, fp: 0, tn: 5, fn: 3 });
  assert.ok(Number.isNaN(m.precision), 'Number.isNaN(m.precision)');
  assert.equal(m.sensitivity, 0);
  assert.ok(Number.isNaN(m.f1), 'Number.isNaN(m.f1)');
  assert.equal(m.specificity, 1);
});

test('counts and matrix layout (row = actual, column = predicted; 0 normal, 1 COVID-19)', () => {
  const counts = confusionCounts([true, true, false, false, false], [true, false, true, false, false]);
  assert.deepEqual(counts, { tp: 1, fn: 1, fp: 1, tn: 2 });
  assert.deepEqual(confusionMatrix(counts), [
    [2, 1],
    [1, 1],
  ]);
  assert.throws(() => confusionCounts([true], []), RangeError);
});

test('a probability of exactly the threshold counts as normal (argmax of two equal classes)', () => {
  const report = classificationReport([0.5, 0.51, 0.2], [true, true, false]);
  assert.deepEqual(report.counts, { tp: 1, fn: 1, fp: 0, tn: 1 });
});

test('ROC with ties, by hand', () => {
  // positives 0.9, 0.8, 0.6; negatives 0.8, 0.7, 0.6
  const scores = [0.9, 0.8, 0.8, 0.7, 0.6, 0.6];
  const actual = [true, false, true, false, true, false];
  const roc = rocCurve(scores, actual);
  assert.deepEqual(
    roc.map((p) => [p.threshold, p.fpr, p.tpr]),
    [
      [Number.POSITIVE_INFINITY, 0, 0],
      [0.9, 0, 1 / 3],
      [0.8, 1 / 3, 2 / 3],
      [0.7, 2 / 3, 2 / 3],
      [0.6, 1, 1],
    ],
  );
  // trapezoids: 0 + 1/6 + 2/9 + 5/18 = 2/3; Mann-Whitney by hand: (3 + 2.5 + 0.5) / 9 = 2/3
  close(rocAuc(roc), 2 / 3);
});

test('AUC equals the Mann-Whitney statistic with ties counted as one half', () => {
  const rng = new Rng(4);
  const scores = Array.from({ length: 200 }, () => rng.int(0, 9) / 10); // many ties
  const actual = scores.map((s) => rng.bool(0.3 + 0.4 * s));
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!actual[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (actual[j]) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  close(rocAuc(rocCurve(scores, actual)), wins / pairs, 1e-12);
  assert.ok(
    Number.isNaN(rocAuc(rocCurve([0.1, 0.2], [true, true]))),
    'Number.isNaN(rocAuc(rocCurve([0.1, 0.2], [true, true])))',
  );
});
