import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cohenKappa,
  fleissKappa,
  icc21,
  kooLiBand,
  landisKochBand,
  meanWithTInterval,
  studentTQuantile,
  wilsonInterval,
} from '../../../main/review/stats.ts';
import { close, SHROUT_FLEISS_TABLE_2 } from './worked-examples.ts';

describe('Student t quantiles', () => {
  test('match a printed t table (two-sided 95%: t_0.975)', () => {
    // Standard table values, e.g. Fisher & Yates, Statistical Tables, Table III.
    for (const [df, t] of [
      [1, 12.706],
      [2, 4.303],
      [5, 2.571],
      [10, 2.228],
      [30, 2.042],
      [120, 1.98],
    ] as const)
      close(studentTQuantile(0.975, df), t, 0.0006, `t(0.975, ${df})`);
    close(studentTQuantile(0.025, 10), -2.228, 0.0006, 't(0.025, 10)');
  });
});

describe('mean with t-based 95% CI', () => {
  test('hand calculation for 1,2,3,4,5', () => {
    // mean 3, SD √2.5 = 1.5811, SE 0.70711, t(0.975,4) = 2.77645 → half-width 1.96324.
    const s = meanWithTInterval([1, 2, 3, 4, 5]);
    close(s.mean, 3, 1e-12, 'mean');
    close(s.sd, Math.sqrt(2.5), 1e-12, 'sd');
    close(s.ci95?.[0], 3 - 1.96324, 1e-4, 'lower');
    close(s.ci95?.[1], 3 + 1.96324, 1e-4, 'upper');
  });
  test('no CI from one value, nothing from none', () => {
    assert.deepEqual(meanWithTInterval([4]), { n: 1, mean: 4, sd: null, ci95: null });
    assert.equal(meanWithTInterval([]).mean, null);
  });
});

describe('Wilson score interval', () => {
  // Source: Newcombe RG (1998) Two-sided confidence intervals for the single proportion: comparison
  // of seven methods. Stat Med 17:857–872, Table I, method 3 (score interval without continuity correction).
  for (const [x, n, lo, hi] of [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ] as const) {
    test(`${x}/${n} → ${lo}–${hi}`, () => {
      const ci = wilsonInterval(x, n);
      close(ci?.[0], lo, 0.00006, 'lower');
      close(ci?.[1], hi, 0.00006, 'upper');
    });
  }
  test('no interval without trials', () => assert.equal(wilsonInterval(0, 0), null));
});

describe("Cohen's kappa", () => {
  // Hand calculation. Reader A: 1,2,3,1,2; reader B: 1,3,3,2,2 (5 items, scale 1–3).
  // Marginals A: (.4,.4,.2), B: (.2,.4,.4).
  // Unweighted: po = 3/5 = .6, pe = .4·.2+.4·.4+.2·.4 = .32, κ = (.6−.32)/(1−.32) = 7/17.
  // Linear weights |i−j|: observed disagreement 2/5 = .4, expected Σ pA·pB·|i−j| = .88, κ = 1−.4/.88 = 6/11.
  // Quadratic weights (i−j)²: observed .4, expected 1.28, κ = 1−.4/1.28 = 11/16.
  const a = [1, 2, 3, 1, 2];
  const b = [1, 3, 3, 2, 2];
  const pairs = a.map((v, i) => [v, b[i]!] as const);
  test('unweighted', () => close(cohenKappa(pairs, 'none'), 7 / 17, 1e-12, 'kappa'));
  test('linear weights', () => close(cohenKappa(pairs, 'linear'), 6 / 11, 1e-12, 'kappa'));
  test('quadratic weights', () => close(cohenKappa(pairs, 'quadratic'), 11 / 16, 1e-12, 'kappa'));
  test('perfect agreement is 1; no variation is undefined', () => {
    assert.equal(
      cohenKappa(
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
        'quadratic',
      ),
      1,
    );
    assert.equal(
      cohenKappa(
        [
          [2, 2],
          [2, 2],
        ],
        'linear',
      ),
      null,
    );
  });
});

describe("Fleiss' kappa", () => {
  // Source: Fleiss JL (1971) Measuring nominal scale agreement among many raters. Psychol Bull
  // 76:378–382, Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses; the paper reports κ = .430.
  // Counts per patient (depression, personality disorder, schizophrenia, neurosis, other).
  // biome-ignore format: the table reads as printed
  const table = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
  ];
  test('κ = .430 on Fleiss (1971) Table 1', () => close(fleissKappa(table), 0.43, 0.0005, 'kappa'));
  test('unequal numbers of ratings are rejected', () =>
    assert.throws(
      () =>
        fleissKappa([
          [2, 1],
          [1, 1],
        ]),
      /same number of ratings/,
    ));
});

describe('ICC(2,1)', () => {
  // Source: Shrout PE, Fleiss JL (1979) Intraclass correlations: uses in assessing rater reliability.
  // Psychol Bull 86:420–428, Table 2 (6 targets × 4 judges) and Table 4: ICC(2,1) = .29;
  // Table 3 mean squares: between targets 11.24, between judges 32.49, residual 1.02.
  const data = SHROUT_FLEISS_TABLE_2;
  test('ICC(2,1) = .29 and the mean squares of Table 3', () => {
    const r = icc21(data);
    close(r?.icc, 0.29, 0.005, 'ICC(2,1)');
    close(r?.msRows, 11.24, 0.005, 'BMS');
    close(r?.msColumns, 32.49, 0.005, 'JMS');
    close(r?.msError, 1.02, 0.005, 'EMS');
  });
  test('perfect agreement gives 1', () =>
    close(
      icc21([
        [1, 1],
        [3, 3],
        [5, 5],
      ])?.icc,
      1,
      1e-12,
      'ICC',
    ));
});

describe('interpretation bands', () => {
  test('Landis & Koch (1977) for kappa', () => {
    assert.deepEqual([-0.1, 0.1, 0.3, 0.5, 0.7, 0.9].map(landisKochBand), [
      'poor',
      'slight',
      'fair',
      'moderate',
      'substantial',
      'almost perfect',
    ]);
  });
  test('Koo & Li (2016) for ICC', () => {
    assert.deepEqual([0.29, 0.6, 0.8, 0.95].map(kooLiBand), ['poor', 'moderate', 'good', 'excellent']);
  });
});
