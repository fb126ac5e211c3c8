// Krippendorff's alpha on the paper's worked example and on a small example worked by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { krippendorffAlpha } from '../../../main/review/krippendorff.ts';
import { fleissKappa } from '../../../main/review/stats.ts';
import { close } from './worked-examples.ts';

// Krippendorff K (2011) Computing Krippendorff's alpha-reliability, section C: 4 observers × 12 units,
// missing values. Published: nominal .743, ordinal .815, interval .849.
const A = [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null];
const B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3];
const C = [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null];
const D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null];
const units = A.map((_, u) => [A[u]!, B[u]!, C[u]!, D[u]!]);

describe("Krippendorff's alpha", () => {
  test('paper example: nominal .743', () =>
    close(krippendorffAlpha(units, 'nominal'), 0.743, 0.0005, 'nominal'));
  test('paper example: ordinal .815', () =>
    close(krippendorffAlpha(units, 'ordinal'), 0.815, 0.0005, 'ordinal'));
  test('paper example: interval .849', () =>
    close(krippendorffAlpha(units, 'interval'), 0.849, 0.0005, 'interval'));

  test('worked by hand: 3 readers, 3 items, ordinal 1-3', () => {
    // Items (1,1,1), (2,2,3), (3,3,3). Coincidences (pairs / (m-1) = /2): o11 = 3, o22 = 1, o23 = o32 = 1,
    // o33 = 3 + 1 = 4 → n1 = 3, n2 = 2, n3 = 4, n = 9. Ordinal δ²: δ12 = (3+2 − (3+2)/2)² = 2.5² = 6.25,
    // δ23 = (2+4 − 3)² = 9, δ13 = (3+2+4 − 3.5)² = 5.5² = 30.25.
    // Observed Σ o·δ² = 2·1·9 = 18. Expected Σ n_c n_k δ² = 2(3·2·6.25 + 2·4·9 + 3·4·30.25) = 2(37.5 + 72 + 363) = 945.
    // α = 1 − (n − 1)·18/945 = 1 − 8·18/945 = 0.847619…
    const hand = [
      [1, 1, 1],
      [2, 2, 3],
      [3, 3, 3],
    ];
    close(krippendorffAlpha(hand, 'ordinal'), 1 - (8 * 18) / 945, 1e-12, 'ordinal by hand');
  });

  test('perfect agreement is 1; one distinct value has no disagreement to measure', () => {
    assert.equal(
      krippendorffAlpha(
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
        'ordinal',
      ),
      1,
    );
    assert.equal(
      krippendorffAlpha(
        [
          [2, 2],
          [2, 2],
        ],
        'ordinal',
      ),
      null,
    );
  });

  test("Fleiss' kappa worked by hand: 3 readers, 4 items, yes/no", () => {
    // Counts [yes, no]: (3,0) (0,3) (2,1) (1,2). P_i = (Σ n² − 3)/6 → 1, 1, 1/3, 1/3; P̄ = 2/3.
    // p_yes = 6/12 = .5, P_e = .5; κ = (2/3 − .5)/(1 − .5) = 1/3.
    close(
      fleissKappa([
        [3, 0],
        [0, 3],
        [2, 1],
        [1, 2],
      ]),
      1 / 3,
      1e-12,
      'Fleiss by hand',
    );
  });
});
