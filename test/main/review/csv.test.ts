import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../../../main/cli/main.ts';
import { analyseRatings, formatRatingsCsv, parseRatingsCsv } from '../../../main/review/index.ts';
import { tempDir } from './helpers.ts';

const { dir, remove } = tempDir();
after(remove);

function badInput(text: string, message: RegExp) {
  assert.throws(
    () => parseRatingsCsv(text),
    (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'bad_input');
      assert.match((error as Error).message, message);
      return true;
    },
  );
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTty: false,
    signal: new AbortController().signal,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// Hand-made two-reader study: 3 cases, variants original (o) and restored (r).
const handMade = [
  'reader,case,variant,truth,rating,question',
  'A,c1,original,1,2,quality',
  'A,c1,r,1,4,quality',
  'B,c1,original,1,3,quality',
  'B,c1,r,1,4,quality',
  'A,c2,original,0,3,quality',
  'A,c2,r,0,5,quality',
  'B,c2,original,0,3,quality',
  'B,c2,r,0,5,quality',
  'A,c3,original,1,1,quality',
  'A,c3,r,1,3,quality',
  'B,c3,original,1,2,quality',
  'B,c3,r,1,2,quality',
  'A,c1,original,1,0,preference',
  'A,c1,r,1,1,preference',
  'B,c1,original,1,0,preference',
  'B,c1,r,1,1,preference',
  'A,c2,original,0,0,preference',
  'A,c2,r,0,1,preference',
  'B,c2,original,0,1,preference',
  'B,c2,r,0,0,preference',
  'A,c3,r,1,yes,findings',
  'B,c3,r,1,unsure,findings',
].join('\n');

describe('MRMC long-format CSV', () => {
  test('parses quoting, CRLF and a BOM, and round-trips', () => {
    const rows = [
      { reader: 'Dr "Q", MD', case: 'c,1', variant: 'r', truth: '', rating: '4', question: 'quality' },
      { reader: 'Dr B', case: 'c\n2', variant: 'r', truth: '1', rating: '5', question: 'quality' },
    ];
    const text = `\ufeff${formatRatingsCsv(rows)}`;
    assert.deepEqual(parseRatingsCsv(text).rows, rows);
  });

  test('a file without a question column is one score question', () => {
    const parsed = parseRatingsCsv('reader,case,variant,truth,rating\nA,1,x,0,3\nA,2,x,1,4\n');
    assert.deepEqual(parsed.meta.questions, [{ id: 'rating', kind: 'score', prompt: 'rating' }]);
  });

  test('statistics of the hand-made study', () => {
    const { rows, meta } = parseRatingsCsv(handMade);
    const stats = analyseRatings(rows, meta);
    const q = stats.scores[0]!;
    const r = q.perVariant.find((v) => v.variant === 'r')!;
    // Restored ratings 4,4,5,5,3,2: mean 23/6.
    assert.equal(r.mean, 23 / 6);
    assert.equal(r.n, 6);
    // 6 items × 2 readers; A: 2,4,3,5,1,3  B: 3,4,3,5,2,2 → disagreements 1,0,0,0,1,1 (all 1 point).
    assert.equal(q.agreement.weightedKappa?.linear.items, 6);
    assert.ok(q.agreement.icc?.icc !== null && q.agreement.icc!.icc! > 0.5);
    const p = stats.preferences[0]!.comparisons[0]!;
    assert.deepEqual(
      [p.variantA, p.variantB, p.chosenA, p.n, p.restoredVsOriginal],
      ['r', 'original', 3, 4, true],
    );
    assert.equal(stats.choices[0]!.perVariant[0]!.firstOptionRate, 0.5);
  });

  test("three readers: Fleiss' kappa for categorical answers, ICC but no weighted kappa for scores", () => {
    const lines = ['reader,case,variant,rating,question'];
    const findings = [
      ['yes', 'yes', 'no'],
      ['no', 'no', 'no'],
      ['yes', 'unsure', 'yes'],
      ['yes', 'yes', 'yes'],
    ];
    for (const [c, answers] of findings.entries())
      for (const [r, answer] of answers.entries()) {
        lines.push(`R${r},c${c},restored,${answer},findings`);
        lines.push(`R${r},c${c},restored,${((c + r) % 5) + 1},quality`);
      }
    const { rows, meta } = parseRatingsCsv(lines.join('\n'));
    const stats = analyseRatings(rows, meta);
    const agreement = stats.choices[0]!.agreement!;
    assert.equal(agreement.method, "Fleiss' kappa");
    assert.equal(agreement.items, 4);
    // Hand calculation: category shares yes 7/12, no 4/12, unsure 1/12 → Pe = (49+16+1)/144 = 66/144;
    // per-item agreement (pairs agreeing / 6): 2/6, 6/6, 2/6, 6/6 → P̄ = 16/24; κ = (2/3 − 66/144)/(1 − 66/144) = 30/78.
    assert.ok(Math.abs(agreement.kappa! - 30 / 78) < 1e-12, String(agreement.kappa));
    assert.equal(stats.scores[0]!.agreement.weightedKappa, null);
    assert.equal(stats.scores[0]!.agreement.icc?.readers.length, 3);
  });

  test('malformed files name the line and the problem', () => {
    badInput('', /line 1: the file is empty/);
    badInput('reader,case,rating\nA,1,3\n', /line 1: header lacks column\(s\) variant/);
    badInput('reader,case,variant,rating\nA,1,x,3\nA,2,x\n', /line 3: expected 4 fields, found 3/);
    badInput('reader,case,variant,rating\nA,1,x,3\n,2,x,4\n', /line 3: empty reader/);
    badInput(
      'reader,case,variant,rating\nA,1,x,3\nA,1,x,4\n',
      /line 3: second rating .* \(first on line 2\)/,
    );
    badInput(
      'reader,case,variant,rating,question\nA,1,x,3,quality\nA,2,x,good,quality\n',
      /line 3: rating 'good' of score question 'quality' is not a number/,
    );
    badInput(
      'reader,case,variant,rating,question\nA,1,x,1,preference\nA,1,y,1,preference\n',
      /line 2: forced-choice question 'preference' needs exactly two rows .*lines 2, 3/,
    );
    badInput('reader,case,variant,rating\nA,1,x,"3\n', /line 2: quoted field is not closed/);
    badInput(
      'reader,case,variant,rating\nA,1,x,"3"x\n',
      /line 2: unexpected character after a closing quote/,
    );
  });
});

describe('r2c study stats', () => {
  test('prints statistics, JSON and SVG plots', async () => {
    const file = join(dir, 'scores.csv');
    writeFileSync(file, handMade);
    const text = await cli(['study', 'stats', file]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /r: 3\.83 \(/);
    assert.match(text.out, /Wilson/);
    assert.match(text.out, /ICC\(2,1\)/);
    const svgDir = join(dir, 'plots');
    const json = await cli(['study', 'stats', file, '--json', '--svg-dir', svgDir]);
    assert.equal(json.code, 0, json.err);
    const stats = JSON.parse(json.out);
    assert.equal(stats.preferences[0].comparisons[0].chosenA, 3);
    for (const name of ['score-quality.svg', 'preference-preference.svg']) {
      assert.ok(existsSync(join(svgDir, name)), name);
      assert.match(
        readFileSync(join(svgDir, name), 'utf8'),
        /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>$/,
      );
    }
  });

  test('a malformed CSV fails with exit code 1 and the line number', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'reader,case,variant,rating\nA,1,x,3\nA,2,x\n');
    const result = await cli(['study', 'stats', file]);
    assert.equal(result.code, 1);
    assert.match(result.err, /line 3: expected 4 fields, found 3/);
  });

  test('usage errors exit with code 2', async () => {
    assert.equal((await cli(['study', 'nonsense'])).code, 2);
    assert.equal((await cli(['study', 'stats'])).code, 2);
    assert.equal((await cli(['study', 'stats', join(dir, 'missing.csv')])).code, 1);
  });
});
