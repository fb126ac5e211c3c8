import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evenlySpaced } from '../../../main/evaluation/evaluation-run.ts';
import { AppError } from '../../../main/util/errors.ts';

test('--limit takes items spread over the whole list, so a class-sorted list yields both classes', () => {
  const items = [
    ...Array.from({ length: 60 }, (_, i) => `covid-${i}`),
    ...Array.from({ length: 40 }, (_, i) => `normal-${i}`),
  ];
  const picked = evenlySpaced(items, 10);
  assert.equal(picked.length, 10);
  assert.equal(new Set(picked).size, 10, 'no item twice');
  assert.deepEqual(
    picked.map((p) => p.split('-')[0]),
    ['covid', 'covid', 'covid', 'covid', 'covid', 'covid', 'normal', 'normal', 'normal', 'normal'],
  );
  assert.deepEqual(
    picked,
    [...picked].sort((a, b) => items.indexOf(a) - items.indexOf(b)),
    'list order is kept',
  );
  assert.deepEqual(evenlySpaced(items, 100), items);
  assert.deepEqual(evenlySpaced(items, 500), items);
  for (const bad of [0, -1, 2.5, Number.NaN])
    assert.throws(
      () => evenlySpaced(items, bad),
      (e: unknown) => e instanceof AppError && /limit/.test(e.message),
    );
});
