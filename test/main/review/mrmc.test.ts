// The Obuchowski-Rockette analysis (mrmc.ts) against the Van Dyke example's published results
// (fixtures/vandyke.README.md says where the data and the numbers come from).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { orHillis, wilcoxonAuc } from '../../../main/review/mrmc.ts';
import { close } from './worked-examples.ts';

interface Lrc {
  /** ratings[modality][reader][case]; cases 0..68 normal, 69..113 abnormal. */
  ratings: number[][][];
  truth: boolean[];
}

/** Parses the LABMRMC .lrc layout of the fixture (two modalities, blocks ended by '*'). */
function parseLrc(text: string): Lrc {
  // Line 2 is the first reader's id; later readers' ids follow the previous reader's blocks.
  const lines = text.split('\n');
  const ratings: number[][][] = [[], []];
  const truth: boolean[] = [];
  let i = 4;
  while (i < lines.length && lines[i] !== '#') {
    const reader = ratings[0]!.length;
    if (reader > 0) i++; // this reader's id
    ratings[0]![reader] = [];
    ratings[1]![reader] = [];
    for (const abnormal of [false, true]) {
      while (lines[i] !== '*') {
        const [a, b, c] = lines[i]!.split('\t').map(Number);
        ratings[0]![reader]![c!] = a!;
        ratings[1]![reader]![c!] = b!;
        truth[c!] = abnormal;
        i++;
      }
      i++;
    }
  }
  return { ratings, truth };
}

const data = parseLrc(readFileSync(new URL('./fixtures/vandyke.lrc', import.meta.url), 'utf8'));

describe('Obuchowski-Rockette with Hillis df: Van Dyke example', () => {
  test('the fixture is 2 modalities × 5 readers × 114 cases (69 normal, 45 abnormal)', () => {
    assert.equal(data.ratings[0]!.length, 5);
    assert.equal(data.truth.length, 114);
    assert.equal(data.truth.filter(Boolean).length, 45);
  });

  const auc = (i: number, j: number, cases: readonly number[]) => {
    const r = data.ratings[i]![j]!;
    return wilcoxonAuc(
      cases.filter((k) => !data.truth[k]).map((k) => r[k]!),
      cases.filter((k) => data.truth[k]).map((k) => r[k]!),
    );
  };
  const result = orHillis(auc, 2, 5, 114);

  test('reader AUCs as RJafroc prints them', () => {
    const published = [
      [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
      [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
    ];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 5; j++) close(result.foms[i]![j], published[i]![j]!, 5e-8, `AUC trt${i} rdr${j}`);
  });

  test('variance components, F, ddf and p reproduce MRMCaov/RJafroc', () => {
    assert.equal(result.unavailable, null);
    const c = result.components;
    assert.ok(c);
    close(c.msT, 0.004796171, 5e-9, 'MS(T)');
    close(c.msTR, 0.0005510306, 5e-10, 'MS(T:R)');
    close(c.varError, 0.0008022883, 5e-10, 'Var');
    close(c.cov1, 0.0003466137, 5e-10, 'Cov1');
    close(c.cov2, 0.0003440748, 5e-10, 'Cov2');
    close(c.cov3, 0.0002390284, 5e-10, 'Cov3');
    close(result.f, 4.456319, 5e-6, 'F');
    close(result.ddf, 15.25967, 5e-5, 'ddf');
    close(result.p, 0.05166569, 5e-7, 'p');
  });

  test('the difference with its 95% CI', () => {
    const d = result.difference;
    close(d.estimate, -0.04380032, 5e-8, 'estimate');
    close(d.stdErr, 0.02074862, 5e-8, 'SE');
    close(d.t, -2.110999, 5e-6, 't');
    close(d.p, 0.05166569, 5e-7, 'p');
    close(d.ci95?.[0], -0.0879594986, 5e-9, 'CI low');
    close(d.ci95?.[1], 0.0003588544, 5e-9, 'CI high');
  });

  test('each modality on its own (single-treatment OR)', () => {
    const [a, b] = result.perTreatment;
    close(a!.estimate, 0.897037, 5e-7, 'trt0');
    close(a!.stdErr, 0.0331736, 5e-8, 'trt0 SE');
    close(a!.df, 12.74465, 5e-5, 'trt0 df');
    close(a!.ci95[0], 0.8252236, 5e-7, 'trt0 CI low');
    close(b!.estimate, 0.9408374, 5e-7, 'trt1');
    close(b!.stdErr, 0.02156637, 5e-8, 'trt1 SE');
    close(b!.df, 12.71019, 5e-5, 'trt1 df');
    close(b!.ci95[1], 0.9875369, 5e-7, 'trt1 CI high');
  });

  test('per reader (cases random): reader 1 as RJafroc FRRC', () => {
    const r = result.perReader[0]!;
    close(r.estimate, -0.0282, 5e-5, 'reader 1 difference');
    close(r.stdErr, 0.0255, 5e-5, 'reader 1 SE');
    close(r.p, 0.2693, 5e-4, 'reader 1 p');
  });

  test('needs two treatments', () => {
    assert.throws(() => orHillis(auc, 1, 5, 114), RangeError);
  });
});

// Data the test cannot be computed from: the point estimate comes back with a reason, never a throw
// (a throw here once took down the results page and both reports).
describe('Obuchowski-Rockette when the data give no readers-and-cases test', () => {
  /** Mean score FOM over ratings[treatment][reader][case]. */
  const meanScore =
    (ratings: number[][][]) =>
    (i: number, j: number, cases: readonly number[]): number =>
      cases.reduce((s, k) => s + ratings[i]![j]![k]!, 0) / cases.length;
  const noTest = (r: ReturnType<typeof orHillis>) => {
    assert.equal(r.f, null);
    assert.equal(r.ddf, null);
    assert.equal(r.p, null);
    assert.deepEqual(
      [r.difference.stdErr, r.difference.df, r.difference.t, r.difference.p, r.difference.ci95],
      [null, null, null, null, null],
    );
  };

  test('every reader the same difference, varying over cases (Hillis ddf infinite): point estimate and reason', () => {
    // Three readers, six cases: each reader's restored − original is +0.5, but the cases differ (and
    // the readers on them), so the per-reader intervals exist while the reader-by-variant variance is 0.
    const original = [
      [2, 3, 3, 2, 4, 3],
      [2, 3, 3, 2, 4, 4],
      [1, 3, 3, 2, 4, 3],
    ];
    const restored = [
      [3, 3, 4, 2, 4, 4],
      [3, 3, 4, 2, 4, 5],
      [2, 3, 4, 2, 4, 4],
    ];
    const r = orHillis(meanScore([restored, original]), 2, 3, 6);
    noTest(r);
    close(r.difference.estimate, 0.5, 1e-12, 'estimate');
    assert.match(
      r.unavailable ?? '',
      /^the readers' differences have no variance: every reader's difference is 0\.500/,
    );
    assert.equal(r.components?.msTR, 0);
    assert.ok((r.components?.cov2 ?? 0) - (r.components?.cov3 ?? 0) > 0, 'the cases do vary');
    for (const reader of r.perReader) {
      close(reader.estimate, 0.5, 1e-12, 'reader difference');
      assert.ok(
        reader.ci95 && reader.ci95[0] < 0.5 && reader.ci95[1] > 0.5,
        'per-reader interval (cases random)',
      );
    }
  });

  test('every rating +1 on every case (no variance at all): point estimate, no per-reader interval either', () => {
    const original = [
      [2, 3, 1, 4],
      [3, 2, 2, 1],
    ];
    const restored = original.map((row) => row.map((v) => v + 1));
    const r = orHillis(meanScore([restored, original]), 2, 2, 4);
    noTest(r);
    close(r.difference.estimate, 1, 1e-12, 'estimate');
    assert.match(r.unavailable ?? '', /no variance: every reader's difference is 1\.000/);
    for (const reader of r.perReader) {
      close(reader.estimate, 1, 1e-12, 'reader difference');
      assert.equal(reader.p, null, 'a zero standard error gives no p (was p = 1)');
      assert.equal(reader.ci95, null);
    }
  });

  test('identical readers and identical ratings under both variants: difference 0, no test', () => {
    const same = [
      [3, 3, 3],
      [3, 3, 3],
    ];
    const r = orHillis(meanScore([same, same]), 2, 2, 3);
    noTest(r);
    assert.equal(r.difference.estimate, 0);
    assert.match(r.unavailable ?? '', /every reader's difference is 0\.000/);
  });

  test('one reader: point estimate, per-reader interval, reason', () => {
    const r = orHillis(meanScore([[[3, 4, 4, 5]], [[3, 3, 4, 4]]]), 2, 1, 4);
    noTest(r);
    close(r.difference.estimate, 0.5, 1e-12, 'estimate');
    assert.equal(r.unavailable, 'needs at least 2 readers and 2 cases (here 1 reader and 4 cases)');
    assert.ok(r.perReader[0]!.ci95, 'the one reader with cases random');
  });

  test('one case: point estimates only, reason', () => {
    const r = orHillis(
      meanScore([
        [[4], [5], [3]],
        [[3], [3], [3]],
      ]),
      2,
      3,
      1,
    );
    noTest(r);
    close(r.difference.estimate, 1, 1e-12, 'estimate');
    assert.equal(r.unavailable, 'needs at least 2 readers and 2 cases (here 3 readers and 1 case)');
    assert.deepEqual(
      r.perReader.map((x) => [x.estimate, x.stdErr, x.ci95]),
      [
        [1, null, null],
        [2, null, null],
        [0, null, null],
      ],
    );
    assert.equal(r.components, null);
  });

  test('readers nearly identical (MS(T×R) tiny but real): a finite ddf and an interval', () => {
    const original = [
      [2, 3, 3, 2, 4, 3],
      [3, 3, 2, 2, 3, 4],
    ];
    const restored = [
      [3, 3, 4, 2, 4, 4],
      [3, 4, 2, 3, 4, 5],
    ];
    const r = orHillis(meanScore([restored, original]), 2, 2, 6);
    assert.equal(r.unavailable, null);
    assert.ok(r.ddf !== null && Number.isFinite(r.ddf) && r.ddf >= 1, `ddf ${r.ddf}`);
    assert.ok(r.difference.ci95 && r.difference.ci95[0] < r.difference.estimate);
  });
});
