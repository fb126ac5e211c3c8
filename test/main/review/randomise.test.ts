import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CaseTemplate, planSession, seededRandom } from '../../../main/review/randomise.ts';

function templates(images: number, comparisons: [string, string][]): CaseTemplate[] {
  return Array.from({ length: images }, (_, i) => `img-${i}`).flatMap((imageId) =>
    comparisons.map((variants, comparison) => ({ imageId, comparison, variants })),
  );
}

function leftBalance(plan: ReturnType<typeof planSession>): Map<string, { left: number; total: number }> {
  const counts = new Map<string, { left: number; total: number }>();
  for (const c of plan) {
    for (const v of [c.left, c.right]) {
      const entry = counts.get(v) ?? { left: 0, total: 0 };
      entry.total += 1;
      if (v === c.left) entry.left += 1;
      counts.set(v, entry);
    }
  }
  return counts;
}

const order = (plan: ReturnType<typeof planSession>) =>
  plan.map((c) => `${c.imageId}/${c.comparison}/${c.left}`);

describe('per-reader randomisation', () => {
  const cases = templates(20, [['restored', 'original']]);

  test('is reproducible for the same study seed and reader', () => {
    const a = planSession(cases, seededRandom(1234, 'reader-a'));
    const b = planSession(cases, seededRandom(1234, 'reader-a'));
    assert.deepEqual(order(a), order(b));
  });

  test('differs between readers and between seeds', () => {
    const a = order(planSession(cases, seededRandom(1234, 'reader-a')));
    assert.notDeepEqual(a, order(planSession(cases, seededRandom(1234, 'reader-b'))));
    assert.notDeepEqual(a, order(planSession(cases, seededRandom(1235, 'reader-a'))));
  });

  test('keeps every case exactly once and shows each pair once', () => {
    const plan = planSession(cases, seededRandom(7, 'r'));
    assert.equal(plan.length, cases.length);
    assert.equal(new Set(plan.map((c) => c.imageId)).size, 20);
    for (const c of plan) assert.deepEqual([c.left, c.right].sort(), ['original', 'restored']);
  });

  test('the sfc32 stream is pinned (a change would reshuffle every existing study)', () => {
    const random = seededRandom(42, 'reader-x');
    assert.deepEqual(
      [random(), random(), random()],
      [0.6047201375477016, 0.47750627086497843, 0.4239661730825901],
    );
  });
});

describe('left/right balance', () => {
  const layouts: { name: string; images: number; comparisons: [string, string][] }[] = [
    { name: 'two variants, even number of images', images: 20, comparisons: [['r', 'o']] },
    { name: 'two variants, odd number of images', images: 21, comparisons: [['r', 'o']] },
    {
      name: 'three variants, all pairs, odd counts',
      images: 7,
      comparisons: [
        ['a', 'b'],
        ['a', 'c'],
        ['b', 'c'],
      ],
    },
    {
      name: 'two models against the original, odd',
      images: 5,
      comparisons: [
        ['m1', 'o'],
        ['m2', 'o'],
      ],
    },
    {
      name: 'four variants, all pairs, odd',
      images: 3,
      comparisons: [
        ['a', 'b'],
        ['a', 'c'],
        ['a', 'd'],
        ['b', 'c'],
        ['b', 'd'],
        ['c', 'd'],
      ],
    },
  ];
  for (const layout of layouts) {
    test(`${layout.name}: each variant is on the left in half its cases ±1, for many readers`, () => {
      for (let reader = 0; reader < 50; reader++) {
        const plan = planSession(
          templates(layout.images, layout.comparisons),
          seededRandom(99, `reader-${reader}`),
        );
        for (const [variant, { left, total }] of leftBalance(plan))
          assert.ok(
            Math.abs(left - total / 2) <= 1,
            `reader-${reader}: ${variant} left in ${left} of ${total} cases`,
          );
        // Within each comparison the split is even too (±1 for odd counts).
        for (const [index, [a]] of layout.comparisons.entries()) {
          const ofPair = plan.filter((c) => c.comparison === index);
          const aLeft = ofPair.filter((c) => c.left === a).length;
          assert.ok(
            Math.abs(aLeft - ofPair.length / 2) <= 1,
            `comparison ${index}: ${aLeft} of ${ofPair.length}`,
          );
        }
      }
    });
  }

  test('the left side is not always the same variant for the odd case', () => {
    const odd = new Set<string>();
    for (let reader = 0; reader < 40; reader++) {
      const plan = planSession(templates(1, [['r', 'o']]), seededRandom(5, `reader-${reader}`));
      odd.add(plan[0]!.left);
    }
    assert.deepEqual([...odd].sort(), ['o', 'r']);
  });
});
