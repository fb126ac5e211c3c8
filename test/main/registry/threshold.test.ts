import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseThreshold, wilsonInterval } from '../../../main/registry/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { calibrationImages } from './helpers.ts';

const scores = calibrationImages.map((i) => i.clean);
const actual = calibrationImages.map((i) => i.covid);
const close = (a: number, b: number, tol = 5e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} is not ${b}`);

test('Wilson 95% intervals match the published values', () => {
  const four = wilsonInterval(4, 5);
  close(four.low, 0.3755);
  close(four.high, 0.9638);
  const three = wilsonInterval(3, 5);
  close(three.low, 0.2307);
  close(three.high, 0.8824);
  const all = wilsonInterval(5, 5);
  close(all.low, 0.5655);
  assert.equal(all.high, 1);
  assert.ok(Number.isNaN(wilsonInterval(0, 0).estimate));
  assert.throws(() => wilsonInterval(6, 5), RangeError);
});

// Scores, sorted: 0.05 n, 0.1 n, 0.2 P, 0.3 n, 0.35 n, 0.4 P, 0.6 n, 0.7 P, 0.8 P, 0.9 P.
test('target sensitivity 0.8: the highest threshold keeping 4 of 5 COVID-19 images (0.375)', () => {
  const c = chooseThreshold(scores, actual, { kind: 'sensitivity', value: 0.8 });
  close(c.threshold, 0.375, 1e-9);
  assert.equal(c.sensitivity.successes, 4);
  assert.equal(c.sensitivity.trials, 5);
  assert.equal(c.specificity.successes, 4);
  close(c.sensitivity.low, 0.3755);
  close(c.f1, 0.8, 1e-9);
});

test('target specificity 1.0: the lowest threshold with no false positive (0.65)', () => {
  const c = chooseThreshold(scores, actual, { kind: 'specificity', value: 1 });
  close(c.threshold, 0.65, 1e-9);
  assert.equal(c.specificity.successes, 5);
  assert.equal(c.sensitivity.successes, 3);
  close(c.sensitivity.high, 0.8824);
});

test('F1-optimal on the hand-worked set is 0.375 (F1 0.8)', () => {
  const c = chooseThreshold(scores, actual, { kind: 'f1' });
  close(c.threshold, 0.375, 1e-9);
  close(c.f1, 0.8, 1e-9);
});

test('a target of sensitivity 1.0 goes below the lowest COVID-19 score; one class only is refused', () => {
  const c = chooseThreshold(scores, actual, { kind: 'sensitivity', value: 1 });
  close(c.threshold, 0.15, 1e-9);
  assert.equal(c.specificity.successes, 2);
  assert.throws(
    () => chooseThreshold([0.1, 0.2], [true, true], { kind: 'f1' }),
    (e: unknown) => e instanceof AppError && e.code === 'bad_input' && /both classes/.test(e.message),
  );
  assert.throws(() => chooseThreshold(scores, actual, { kind: 'sensitivity', value: 1.5 }), AppError);
});
