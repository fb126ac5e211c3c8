/**
 * Krippendorff's alpha for any number of readers, missing ratings allowed (Krippendorff 2011,
 * "Computing Krippendorff's alpha-reliability"), with the nominal, ordinal and interval metrics.
 * Our own code: no JavaScript package computes it; checked against the paper's worked example.
 */
export type AlphaMetric = 'nominal' | 'ordinal' | 'interval';

/**
 * units: one array per item of the values the readers gave (null = not rated). Items with fewer than
 * two values are not pairable and are dropped. Ordinal needs values that sort (numbers, or the
 * category order given in `order`). Null when there is no disagreement to measure.
 */
export function krippendorffAlpha(
  units: readonly (readonly (number | string | null)[])[],
  metric: AlphaMetric,
  order?: readonly (number | string)[],
): number | null {
  const pairable = units
    .map((u) => u.filter((v): v is number | string => v !== null))
    .filter((u) => u.length >= 2);
  if (pairable.length === 0) return null;
  const values =
    order !== undefined
      ? [...order]
      : [...new Set(pairable.flat())].sort((a, b) =>
          typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1,
        );
  const index = new Map(values.map((v, i) => [v, i]));
  const V = values.length;
  const o = Array.from({ length: V }, () => new Array<number>(V).fill(0));
  for (const u of pairable) {
    const m = u.length;
    for (let a = 0; a < m; a++)
      for (let b = 0; b < m; b++) {
        if (a === b) continue;
        const c = index.get(u[a]!);
        const k = index.get(u[b]!);
        if (c === undefined || k === undefined)
          throw new RangeError(`value ${u[a]} / ${u[b]} is not in the order`);
        o[c]![k]! += 1 / (m - 1);
      }
  }
  const nc = o.map((row) => row.reduce((s, x) => s + x, 0));
  const n = nc.reduce((s, x) => s + x, 0);
  const delta2 = (c: number, k: number): number => {
    if (metric === 'nominal') return c === k ? 0 : 1;
    if (metric === 'interval') return (Number(values[c]) - Number(values[k])) ** 2;
    const [lo, hi] = c <= k ? [c, k] : [k, c];
    let s = 0;
    for (let g = lo; g <= hi; g++) s += nc[g]!;
    return (s - (nc[c]! + nc[k]!) / 2) ** 2;
  };
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < V; c++)
    for (let k = 0; k < V; k++) {
      const d = delta2(c, k);
      observed += o[c]![k]! * d;
      expected += nc[c]! * nc[k]! * d;
    }
  if (expected === 0) return null;
  return 1 - ((n - 1) * observed) / expected;
}
