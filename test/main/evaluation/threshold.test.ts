import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assignFolds,
  bestF1Threshold,
  crossFittedThreshold,
  metricsAt,
} from '../../../main/evaluation/threshold.ts';
import { Rng } from '../../../main/data/random.ts';

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('the F1-optimal threshold of a hand-worked example', () => {
  // Candidates 0.15 (F1 0.75), 0.275 (3 TP, 1 FP: 6/7), 0.375 (2/3), 0.5 (0.8), 0.7 (0.5), below all (2/3).
  const scores = [0.1, 0.2, 0.35, 0.4, 0.6, 0.8];
  const actual = [false, false, true, false, true, true];
  const best = bestF1Threshold(scores, actual);
  close(best.threshold, 0.275, 'threshold');
  close(best.f1, 6 / 7, 'F1');
  close(best.sensitivity, 1, 'sensitivity');
  close(best.specificity, 2 / 3, 'specificity');
  const atHalf = metricsAt(scores, actual, 0.5);
  close(atHalf.f1, 0.8, 'F1 at 0.5');
  close(atHalf.precision, 1, 'precision at 0.5');
  assert.throws(() => bestF1Threshold([], []), /no scores/);
  assert.throws(() => bestF1Threshold([0.1], [true, false]), /1 scores but 2 labels/);
});

test('cross-fitting: perfect separation stays perfect; noise fitted on the same set does not carry over', () => {
  const groups = Array.from({ length: 40 }, (_, i) => `patient-${Math.floor(i / 2)}`);
  const actual = groups.map((_, i) => i % 4 < 2);
  const separable = actual.map((a, i) => (a ? 0.6 + (i % 7) * 0.05 : 0.1 + (i % 5) * 0.05));
  const perfect = crossFittedThreshold(separable, actual, groups);
  close(perfect.f1, 1, 'separable F1');
  assert.equal(perfect.thresholds.length, 2);
  for (const t of perfect.thresholds) assert.ok(t > 0.3 && t < 0.6, `threshold ${t} in the gap`);

  // Scores unrelated to the labels: a threshold fitted on the same images looks better than it is.
  let optimism = 0;
  for (let trial = 0; trial < 20; trial++) {
    const rng = new Rng('noise', trial);
    const noise = actual.map(() => rng.next());
    optimism += bestF1Threshold(noise, actual).f1 - crossFittedThreshold(noise, actual, groups).f1;
  }
  assert.ok(optimism / 20 > 0.02, `same-set F1 is optimistic on noise (mean gap ${optimism / 20})`);
  assert.throws(() => crossFittedThreshold([0.1, 0.9], [false, true], ['a', 'a']), /at least 2 groups/);
});

test('folds keep a patient together, are balanced and reproducible by seed', () => {
  const groups = Array.from({ length: 30 }, (_, i) => `p${Math.floor(i / 3)}`);
  const folds = assignFolds(groups, 2, 7);
  for (let i = 0; i < groups.length; i++)
    for (let j = 0; j < groups.length; j++)
      if (groups[i] === groups[j]) assert.equal(folds[i], folds[j], `${groups[i]} split across folds`);
  const perFold = [0, 1].map((f) => folds.filter((x) => x === f).length);
  assert.deepEqual(perFold, [15, 15], 'ten patients dealt five and five');
  assert.deepEqual(assignFolds(groups, 2, 7), folds, 'same seed, same folds');
  assert.notDeepEqual(
    [1, 2, 3, 4, 5].map((seed) => assignFolds(groups, 2, seed).join('')),
    Array(5).fill(folds.join('')),
    'the seed changes the deal',
  );
  assert.throws(() => assignFolds(['a', 'b'], 3, 1), /at least 3 groups/);
});
