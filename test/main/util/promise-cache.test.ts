import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PromiseCache } from '../../../main/util/promise-cache.ts';

describe('PromiseCache', () => {
  test('concurrent requests for one key share one computation', async () => {
    const cache = new PromiseCache<string, number>(4);
    let calls = 0;
    const make = async () => ++calls;
    const [a, b] = await Promise.all([cache.get('k', make), cache.get('k', make)]);
    assert.equal(a, 1);
    assert.equal(b, 1);
    assert.equal(calls, 1);
  });

  test('evicts the least recently used entry beyond the limit', async () => {
    const cache = new PromiseCache<number, number>(2);
    const made: number[] = [];
    const get = (k: number) =>
      cache.get(k, async () => {
        made.push(k);
        return k;
      });
    await get(1);
    await get(2);
    await get(1); // 1 is now the most recent
    await get(3); // evicts 2
    assert.equal(cache.size, 2);
    await get(1);
    await get(2);
    assert.deepEqual(made, [1, 2, 3, 2]);
  });

  test('a rejected promise is not remembered', async () => {
    const cache = new PromiseCache<string, string>(Number.POSITIVE_INFINITY);
    let fail = true;
    const make = async () => {
      if (fail) throw new Error('not yet');
      return 'ok';
    };
    await assert.rejects(cache.get('k', make), /not yet/);
    fail = false;
    assert.equal(await cache.get('k', make), 'ok');
  });

  test('clear returns the entries and empties the cache', async () => {
    const cache = new PromiseCache<string, number>(4);
    await cache.get('a', async () => 1);
    await cache.get('b', async () => 2);
    const all = await Promise.all(cache.clear());
    assert.deepEqual(all, [1, 2]);
    assert.equal(cache.size, 0);
  });
});
