import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveSeed, logFactorial, Rng } from '../../../main/data/random.ts';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

test('same seed gives the same stream, other seeds and keys differ', () => {
  assert.deepEqual(draw(new Rng(42), 100), draw(new Rng(42), 100));
  assert.deepEqual(draw(new Rng('abc', 1, 2), 50), draw(new Rng('abc', 1, 2), 50));
  assert.notDeepEqual(draw(new Rng(42), 100), draw(new Rng(43), 100));
  assert.notDeepEqual(draw(new Rng(42, 'a'), 100), draw(new Rng(42, 'b'), 100));
  assert.notEqual(deriveSeed(1, 'x', 2), deriveSeed(1, 'x', 3));
  assert.notEqual(deriveSeed(1, 12), deriveSeed(1, '12'));
  assert.notEqual(deriveSeed(2 ** 32 + 5), deriveSeed(5));
});

test('uniform and int cover their ranges evenly', () => {
  const rng = new Rng(7);
  const counts = new Array(5).fill(0);
  let sum = 0;
  for (let i = 0; i < 50000; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1, 'u >= 0 && u < 1');
    sum += u;
    counts[rng.int(3, 7) - 3]++;
  }
  assert.ok(Math.abs(sum / 50000 - 0.5) < 0.01, 'Math.abs(sum / 50000 - 0.5) < 0.01');
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c}`);
});

test('normal samples have the requested mean and std', () => {
  const rng = new Rng(11);
  const n = 40000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.normal(2, 3);
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  const std = Math.sqrt(s2 / n - mean * mean);
  assert.ok(Math.abs(mean - 2) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(std - 3) < 0.05, `std ${std}`);
});

test('poisson samples have mean = variance = lambda (inversion and PTRS branches)', () => {
  for (const lambda of [0.5, 4, 25, 400]) {
    const rng = new Rng(5, lambda);
    const n = 40000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const k = rng.poisson(lambda);
      assert.ok(Number.isInteger(k) && k >= 0, 'Number.isInteger(k) && k >= 0');
      s += k;
      s2 += k * k;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    assert.ok(Math.abs(mean - lambda) < 0.03 * lambda + 0.02, `lambda ${lambda}: mean ${mean}`);
    assert.ok(Math.abs(variance / lambda - 1) < 0.05, `lambda ${lambda}: variance ${variance}`);
  }
  assert.equal(new Rng(1).poisson(0), 0);
});

test('logFactorial matches the exact sum on both sides of the table', () => {
  let exact = 0;
  for (let k = 1; k <= 200; k++) {
    exact += Math.log(k);
    assert.ok(Math.abs(logFactorial(k) - exact) < 1e-9 * Math.max(1, exact), `k=${k}`);
  }
});

test('shuffle is a seeded permutation', () => {
  const a = new Rng(3).shuffle([...Array(20).keys()]);
  const b = new Rng(3).shuffle([...Array(20).keys()]);
  assert.deepEqual(a, b);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    [...Array(20).keys()],
  );
  assert.notDeepEqual(a, [...Array(20).keys()]);
});
