// analyseRatings with readers and cases random: score differences by OR-MRMC, the preference share
// with its readers-and-cases interval, and Krippendorff's alpha with three readers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyseRatings, type AnalysisMeta, type RatingRow } from '../../../main/review/index.ts';
import { seededRandom } from '../../../main/review/randomise.ts';
import { close } from './worked-examples.ts';

const meta: AnalysisMeta = {
  questions: [
    { id: 'quality', kind: 'score', min: 1, max: 5 },
    { id: 'preference', kind: 'forced-choice' },
    { id: 'findings', kind: 'choice', options: ['yes', 'no', 'unsure'] },
  ],
  variants: [
    { id: 'original', label: 'Original', kind: 'original' },
    { id: 'restored', label: 'Restored', kind: 'restored' },
  ],
};

/** Three readers, 30 cases; the restored image scores about one point higher and is mostly preferred. */
function ratings(readers = ['A', 'B', 'C'], cases = 30): RatingRow[] {
  const random = seededRandom(7, 'mrmc-analysis');
  const rows: RatingRow[] = [];
  for (const reader of readers)
    for (let k = 0; k < cases; k++) {
      const base = 2 + Math.floor(random() * 2);
      const c = `img-${k}`;
      const o = base;
      const r = Math.min(5, base + (random() < 0.8 ? 1 : 0));
      rows.push({ reader, case: c, variant: 'original', truth: '', rating: String(o), question: 'quality' });
      rows.push({ reader, case: c, variant: 'restored', truth: '', rating: String(r), question: 'quality' });
      const pick = random() < 0.7 ? 'restored' : 'original';
      for (const v of ['original', 'restored'])
        rows.push({
          reader,
          case: c,
          variant: v,
          truth: '',
          rating: v === pick ? '1' : '0',
          question: 'preference',
        });
      rows.push({
        reader,
        case: c,
        variant: 'restored',
        truth: '',
        rating: random() < 0.9 ? 'yes' : 'no',
        question: 'findings',
      });
    }
  return rows;
}

describe('analysis with readers and cases random', () => {
  const rows = ratings();
  const stats = analyseRatings(rows, meta);

  test('score: restored minus original by OR-MRMC, with per-reader differences', () => {
    const [d] = stats.scores[0]!.differences;
    assert.ok(d, stats.scores[0]!.differencesNote ?? 'no difference');
    assert.equal(d.variantA, 'restored');
    assert.equal(d.cases, 30);
    assert.equal(d.readers, 3);
    const mean = (v: string) => {
      const xs = rows.filter((r) => r.question === 'quality' && r.variant === v).map((r) => Number(r.rating));
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    close(d.estimate, mean('restored') - mean('original'), 1e-12, 'difference = difference of means');
    assert.equal(d.unavailable, null);
    assert.ok(d.ci95 && d.ci95[0] < d.estimate && d.estimate < d.ci95[1]);
    assert.ok(d.p !== null && d.p < 0.05, `p ${d.p}`);
    assert.equal(d.perReader.length, 3);
    assert.deepEqual(
      d.perReader.map((r) => r.reader),
      ['A', 'B', 'C'],
    );
    assert.match(stats.scores[0]!.differenceSvg, /^<svg[^>]*>/);
    assert.ok(stats.scores[0]!.agreement.alpha?.alpha !== null);
  });

  test('preference share: the mean of reader shares with its readers-and-cases interval', () => {
    const c = stats.preferences[0]!.comparisons[0]!;
    assert.ok(c.mrmc);
    close(c.mrmc.estimate, c.chosenA / c.n, 1e-12, 'balanced design: share = pooled rate');
    assert.ok(c.mrmc.ci95[0] <= c.mrmc.estimate && c.mrmc.estimate <= c.mrmc.ci95[1]);
    assert.equal(c.mrmc.readers, 3);
    assert.ok(stats.preferences[0]!.alpha, "Krippendorff's alpha with three readers");
  });

  test('categorical: Fleiss and ordinal Krippendorff with three readers', () => {
    const q = stats.choices[0]!;
    assert.equal(q.agreement?.method, "Fleiss' kappa");
    assert.match(q.alpha?.method ?? '', /ordinal \(yes < no < unsure\)/);
  });

  test('one reader: the difference without interval or p, and why', () => {
    const one = analyseRatings(ratings(['A']), meta);
    const [d] = one.scores[0]!.differences;
    assert.ok(d);
    assert.equal(d.unavailable, 'needs at least 2 readers and 2 cases (here 1 reader and 30 cases)');
    assert.deepEqual([d.ci95, d.p, d.df, d.f], [null, null, null, null]);
    assert.ok(d.perReader[0]?.ci95, "the reader's own interval (cases random)");
    assert.match(one.scores[0]!.differenceSvg, /no interval/);
    assert.equal(one.scores[0]!.differencesNote, null);
    assert.match(one.preferences[0]!.comparisons[0]!.mrmc?.method ?? '', /one reader/);
  });

  test('readers who agree exactly (the same ratings): the difference, no interval, a reason, no throw', () => {
    const a = rows.filter((r) => r.reader === 'A');
    const copies = [...a, ...a.map((r) => ({ ...r, reader: 'B' })), ...a.map((r) => ({ ...r, reader: 'C' }))];
    const stats = analyseRatings(copies, meta);
    const [d] = stats.scores[0]!.differences;
    assert.ok(d);
    assert.match(d.unavailable ?? '', /^the readers' differences have no variance/);
    assert.deepEqual([d.ci95, d.p], [null, null]);
    assert.match(stats.scores[0]!.differenceSvg, /no interval/);
  });

  test('one case rated by every reader: the difference, no interval', () => {
    const one = rows.filter((r) => r.case === 'img-0');
    const [d] = analyseRatings(one, meta).scores[0]!.differences;
    assert.equal(d?.cases, 1);
    assert.equal(d?.unavailable, 'needs at least 2 readers and 2 cases (here 3 readers and 1 case)');
  });

  test('partial reading: only cases every reader rated under both variants count', () => {
    const partial = rows.filter((r) => !(r.reader === 'C' && r.case === 'img-0' && r.question === 'quality'));
    const [d] = analyseRatings(partial, meta).scores[0]!.differences;
    assert.equal(d?.cases, 29);
  });
});
