// Shared by the statistics tests: a tolerance assertion and the published ICC worked example.
import assert from 'node:assert/strict';

export const close = (
  actual: number | null | undefined,
  expected: number,
  tolerance: number,
  what: string,
) => {
  assert.ok(actual !== null && actual !== undefined, `${what}: got ${actual}`);
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: expected ${expected} ± ${tolerance}, got ${actual}`,
  );
};

/**
 * Shrout PE, Fleiss JL (1979) Intraclass correlations: uses in assessing rater reliability.
 * Psychol Bull 86:420–428, Table 2: 6 targets × 4 judges.
 */
export const SHROUT_FLEISS_TABLE_2 = [
  [9, 2, 5, 8],
  [6, 1, 3, 2],
  [8, 4, 6, 8],
  [7, 1, 2, 6],
  [10, 5, 6, 9],
  [6, 2, 4, 7],
];
