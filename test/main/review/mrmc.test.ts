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
    const c = result.components;
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
    close(d.ci95[0], -0.0879594986, 5e-9, 'CI low');
    close(d.ci95[1], 0.0003588544, 5e-9, 'CI high');
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

  test('needs two readers and two cases', () => {
    assert.throws(() => orHillis(auc, 2, 1, 114), RangeError);
  });
});
