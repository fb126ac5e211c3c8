// Confidence intervals of agreement: the analytic ICC(2,1) interval against a published worked
// example, F quantiles against printed tables, and the seeded bootstrap used for weighted kappa.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyseRatings, type RatingRow } from '../../../main/review/analysis.ts';
import { seededRandom } from '../../../main/review/randomise.ts';
import {
  bootstrapInterval,
  cohenKappa,
  fQuantile,
  icc21,
  icc21Interval,
  meanWithTInterval,
} from '../../../main/review/stats.ts';
import { close, SHROUT_FLEISS_TABLE_2 } from './worked-examples.ts';

describe('F quantiles', () => {
  test('match a printed F table', () => {
    // Upper percentage points of F (e.g. Pearson & Hartley, Biometrika Tables, Table 18).
    for (const [p, d1, d2, value] of [
      [0.95, 3, 10, 3.71],
      [0.95, 1, 20, 4.35],
      [0.975, 5, 15, 3.58],
      [0.99, 4, 30, 4.02],
    ] as const)
      close(fQuantile(p, d1, d2), value, 0.006, `F(${p}; ${d1}, ${d2})`);
  });
  test('fractional degrees of freedom lie between their integer neighbours', () => {
    const q = fQuantile(0.975, 5, 7.5);
    assert.ok(q < fQuantile(0.975, 5, 7) && q > fQuantile(0.975, 5, 8), String(q));
  });
});

describe('ICC(2,1) confidence interval (McGraw & Wong 1996, case 2A)', () => {
  // Shrout & Fleiss (1979) Table 2, 6 targets × 4 judges; ICC(2,1) = .29. The 95% interval
  // .019 to .76 is the one R's psych::ICC prints for this data set (its documented example `sf`).
  const data = SHROUT_FLEISS_TABLE_2;
  test('the worked example: .019 to .76', () => {
    const ci = icc21Interval(icc21(data)!, 6, 4);
    close(ci?.[0], 0.019, 0.001, 'lower bound');
    close(ci?.[1], 0.76, 0.005, 'upper bound');
  });
  test('more subjects rated alike give a narrower interval around a higher ICC', () => {
    const agreeing = Array.from({ length: 40 }, (_, i) => [i % 5, (i % 5) + (i % 3 === 0 ? 1 : 0), i % 5]);
    const r = icc21(agreeing)!;
    const ci = icc21Interval(r, 40, 3)!;
    assert.ok(ci[0] < r.icc && r.icc < ci[1], `the interval ${ci} holds the ICC ${r.icc}`);
    const small = icc21Interval(icc21(agreeing.slice(0, 8))!, 8, 3)!;
    assert.ok(ci[1] - ci[0] < small[1] - small[0], 'narrower with more subjects');
  });
  test('undefined for perfect agreement', () => {
    const perfect = [
      [1, 1],
      [3, 3],
      [5, 5],
    ];
    assert.equal(icc21Interval(icc21(perfect)!, 3, 2), null);
  });
});

describe('seeded percentile bootstrap', () => {
  const values = Array.from({ length: 200 }, (_, i) => ((i * 37) % 101) / 10);
  const mean = (sample: readonly number[]) => sample.reduce((s, v) => s + v, 0) / sample.length;

  test('for a mean it agrees with the t interval', () => {
    const boot = bootstrapInterval(values, mean, seededRandom(1, 'mean'))!;
    const t = meanWithTInterval(values).ci95!;
    close(boot[0], t[0], 0.1 * (t[1] - t[0]), 'lower bound');
    close(boot[1], t[1], 0.1 * (t[1] - t[0]), 'upper bound');
  });

  test('the same seed gives the same interval; another seed a slightly different one', () => {
    const a = bootstrapInterval(values, mean, seededRandom(7, 'x'));
    const b = bootstrapInterval(values, mean, seededRandom(7, 'x'));
    const c = bootstrapInterval(values, mean, seededRandom(8, 'x'));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test("for Cohen's kappa it matches the large-sample standard error", () => {
    // 300 pairs, 3 categories, ~70% observed agreement. Cohen's (1960) approximate SE:
    // sqrt(po(1−po) / (n(1−pe)²)); the bootstrap's 95% width should be about 2·1.96·SE.
    const pairs = Array.from({ length: 300 }, (_, i) => {
      const a = i % 3;
      const b = i % 10 < 7 ? a : (a + 1 + (i % 2)) % 3;
      return [a, b] as const;
    });
    const kappa = cohenKappa(pairs)!;
    const po = pairs.filter(([a, b]) => a === b).length / pairs.length;
    const pe = (kappa - po) / (kappa - 1);
    const se = Math.sqrt((po * (1 - po)) / (pairs.length * (1 - pe) ** 2));
    const ci = bootstrapInterval(pairs, (s) => cohenKappa(s), seededRandom(3, 'kappa'))!;
    assert.ok(ci[0] < kappa && kappa < ci[1], 'the interval holds kappa');
    close(ci[1] - ci[0], 2 * 1.96 * se, 0.15 * 2 * 1.96 * se, 'interval width');
  });

  test('null with fewer than two items or when the statistic is mostly undefined', () => {
    assert.equal(bootstrapInterval([1], mean, seededRandom(1, 'a')), null);
    assert.equal(
      bootstrapInterval([1, 2, 3], () => null, seededRandom(1, 'a')),
      null,
    );
  });
});

describe('intervals in the study statistics', () => {
  function rows(items: number): RatingRow[] {
    const out: RatingRow[] = [];
    for (let i = 0; i < items; i++)
      for (const [reader, shift] of [
        ['Dr A', 0],
        ['Dr B', i % 4 === 0 ? 1 : 0],
      ] as const)
        out.push({
          reader,
          case: `img${i}`,
          variant: 'v1',
          truth: '',
          rating: String(Math.min(5, 1 + (i % 5) + shift)),
          question: 'quality',
        });
    return out;
  }
  const meta = { questions: [{ id: 'quality', kind: 'score' as const, min: 1, max: 5 }], variants: [] };

  test('weighted kappa and ICC come with 95% intervals that hold the estimate, reproducibly', () => {
    const stats = analyseRatings(rows(30), meta);
    const { weightedKappa, icc } = stats.scores[0]!.agreement;
    for (const k of [weightedKappa!.linear, weightedKappa!.quadratic]) {
      assert.ok(k.ci95, `${k.method} has an interval`);
      assert.ok(k.ci95[0] <= k.kappa! && k.kappa! <= k.ci95[1], `${k.method}: ${k.ci95} holds ${k.kappa}`);
      assert.match(k.ciMethod, /bootstrap/);
    }
    assert.ok(
      icc!.ci95 && icc!.ci95[0] < icc!.icc! && icc!.icc! < icc!.ci95[1],
      'the ICC interval holds the ICC',
    );
    assert.deepEqual(
      analyseRatings(rows(30), meta).scores[0]!.agreement,
      stats.scores[0]!.agreement,
      'same data, same intervals',
    );
  });

  test('too few items: no kappa interval', () => {
    const { weightedKappa } = analyseRatings(rows(4), meta).scores[0]!.agreement;
    assert.equal(weightedKappa!.quadratic.ci95, null);
  });
});
