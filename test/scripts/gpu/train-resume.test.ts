// scripts/gpu/train.py on CPU with tiny nets: the compact CNN ('convolutional-light') trains, writes
// the resumable checkpoint (g_a2b + state), resumes from it, refuses a mismatched resume, and its
// PyTorch mirror matches the engine (import-weights.ts parity). Needs a Python with torch + numpy
// (R2C_TORCH_PYTHON, or python3 on PATH); skips with a reason otherwise.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initWeights, networkFromConfig, transposedToResizeKernel } from '../../../models/nets.ts';
import { emaDecayAt } from '../../../models/trainer.ts';
import {
  checkParity,
  formatParity,
  importGenerator,
  readWeightsFile,
} from '../../../scripts/gpu/import-weights.ts';
import { repoRoot } from '../../helpers/paths.ts';
import { findPython, writeInitWeights, writeTinyData } from './helpers.ts';

const python = findPython('torch, numpy');
const skip = python ? false : 'no Python with torch and numpy here (set R2C_TORCH_PYTHON to run this check)';
const trainPy = join(repoRoot, 'scripts', 'gpu', 'train.py');

function runTrain(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python as string, [trainPy, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += String(d);
    });
    child.stderr.on('data', (d) => {
      output += String(d);
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

interface StateMeta {
  format: string;
  arch: string;
  steps: number;
  gAdamStep: number;
  dAdamStored: boolean;
  totalBytes: number;
  g_a2b: { sha256: string };
  train: { resumedFrom: { step: number } | null };
  tensors: { name: string; dtype: string }[];
}

const readState = async (dir: string) =>
  JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateMeta;

describe('train.py compact CNN: checkpoint, resume, parity', { skip }, () => {
  let dir = '';
  const common = ['--size', '32', '--width', '2', '--minutes', '2', '--log-every', '1', '--pool', '4'];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-train-resume-'));
    await writeTinyData(join(dir, 'data'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('trains 3 steps, resumes to 5 with the G Adam step carried on, refuses a mismatched arch', async () => {
    const data = join(dir, 'data');
    const first = await runTrain([
      '--arch',
      'convolutional-light',
      '--data',
      data,
      '--out',
      join(dir, 'run1'),
      '--max-steps',
      '3',
      ...common,
    ]);
    assert.equal(first.status, 0, `first run failed:\n${first.output}`);
    const s1 = await readState(join(dir, 'run1'));
    assert.equal(s1.format, 'r2c-gan-train-state/1', 'state.json format');
    assert.equal(s1.arch, 'convolutional-light', 'state.json records the arch');
    assert.equal(s1.steps, 3, 'first run stops at --max-steps 3');
    assert.equal(s1.gAdamStep, 3, 'one G Adam step per training step');
    assert.equal(s1.dAdamStored, false, 'D Adam moments are documented as not stored');
    assert.ok(
      s1.tensors.some((t) => t.name === 'adam.v/G_B2A/res.conv1.weight' && t.dtype === 'bfloat16'),
      'G Adam moments are stored as bfloat16 with plain compact names',
    );
    assert.ok(
      !s1.tensors.some((t) => t.name.startsWith('G_A2B/')),
      'G_A2B weights live in g_a2b.bin, not state.bin',
    );
    assert.equal((await stat(join(dir, 'run1', 'state.bin'))).size, s1.totalBytes, 'state.bin size');
    const g1 = JSON.parse(await readFile(join(dir, 'run1', 'g_a2b.json'), 'utf8')) as {
      sha256: string;
      config: { kind: string; q: number };
    };
    assert.equal(s1.g_a2b.sha256, g1.sha256, 'state.json pairs with the g_a2b.bin written with it');
    assert.deepEqual([g1.config.kind, g1.config.q], ['convolutional-light', 1], 'g_a2b.json config');

    const second = await runTrain([
      '--arch',
      'convolutional-light',
      '--resume',
      join(dir, 'run1'),
      '--data',
      data,
      '--out',
      join(dir, 'run2'),
      '--max-steps',
      '5',
      ...common,
    ]);
    assert.equal(second.status, 0, `resumed run failed:\n${second.output}`);
    assert.match(second.output, /resumed from .*: step 3, G Adam step 3/, 'the resume is logged');
    const s2 = await readState(join(dir, 'run2'));
    assert.equal(s2.steps, 5, 'resumed run continues the step counter to 5');
    assert.equal(s2.gAdamStep, 5, 'resumed run continues the G Adam step');
    assert.equal(s2.train.resumedFrom?.step, 3, 'state.json records where it resumed from');
    const metrics = (await readFile(join(dir, 'run2', 'metrics.jsonl'), 'utf8')).trim().split('\n');
    assert.deepEqual(
      metrics.map((l) => (JSON.parse(l) as { step: number }).step),
      [4, 5],
      'the resumed run logs steps 4 and 5 only',
    );

    const wrongArch = await runTrain([
      '--resume',
      join(dir, 'run1'),
      '--data',
      data,
      '--out',
      join(dir, 'run3'),
      '--max-steps',
      '4',
      ...common,
    ]);
    assert.notEqual(wrongArch.status, 0, 'resuming a compact checkpoint as operational must fail');
    assert.match(wrongArch.output, /checkpoint generator is .*convolutional-light/, 'names the mismatch');
  });

  test('the compact PyTorch mirror matches the engine (forward, step, init) and imports', async () => {
    const out = join(dir, 'parity');
    const r = await runTrain([
      '--parity',
      '--parity-step',
      '--arch',
      'convolutional-light',
      '--width',
      '4',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, `parity run failed:\n${r.output}`);
    const report = await checkParity(out);
    assert.ok(report.pass, `compact parity failed:\n${formatParity(report)}`);
    assert.ok(
      report.checks.some((c) => c.name.startsWith('D grads')),
      'the parity report includes the training step',
    );
    const model = await importGenerator(join(dir, 'run1', 'g_a2b.json'), join(dir, 'compact.onnx'));
    assert.equal(model.config.kind, 'convolutional-light', 'the imported model is the compact CNN');
    assert.equal(model.steps, 3, 'the imported model carries the training step count');
  });
});

interface PairedState {
  format: string;
  steps: number;
  adamStep: number;
  generator: { upsampling?: string };
  recipe: { steps: number; cropSize: number; cropSteps: number; emaDecay: number };
  g_a2b: { holds: string; sha256: string };
  train: { resumedFrom: { step: number } | null };
  tensors: { name: string; dtype: string; shape: number[]; offset: number; length: number }[];
}

interface MetricsRow {
  step: number;
  side: number;
  lr: number;
}

const readJsonl = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsRow);

/** float32 LE values of one row of a .bin. */
function floats(bin: Buffer, row: { offset: number; length: number }): Float32Array {
  const out = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = bin.readFloatLE(row.offset + 4 * i);
  return out;
}

describe('train.py --objective paired: resize upsampling, crop phase, lr decay, EMA export, resume', {
  skip,
}, () => {
  let dir = '';
  const base = [
    '--objective',
    'paired',
    '--arch',
    'convolutional-light',
    '--size',
    '32',
    '--width',
    '2',
    '--minutes',
    '2',
    '--log-every',
    '1',
  ];
  const common = [...base, '--upsampling', 'resize'];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-train-paired-'));
    await writeTinyData(join(dir, 'data'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('crops then full size, lr linear to 0 over the budget, resumes, imports as a resize model', async () => {
    const data = join(dir, 'data');
    const recipe = ['--crop-size', '16', '--crop-steps', '2', '--ema-decay', '0.9'];
    const first = await runTrain([
      ...common,
      ...recipe,
      '--steps',
      '3',
      '--data',
      data,
      '--out',
      join(dir, 'p1'),
    ]);
    assert.equal(first.status, 0, `paired run failed:\n${first.output}`);
    const rows = await readJsonl(join(dir, 'p1', 'metrics.jsonl'));
    assert.deepEqual(
      rows.map((r) => [r.step, r.side]),
      [
        [1, 16],
        [2, 16],
        [3, 32],
      ],
      'two crop steps, then the full size',
    );
    // lr at the 0-based step k of a 3-step budget with decayStart 0: 2e-4 * (1 - k / 3).
    for (const [k, r] of rows.entries())
      assert.ok(Math.abs(r.lr - 2e-4 * (1 - k / 3)) < 1e-12, `lr at step ${k}: ${r.lr}`);
    const s1 = JSON.parse(await readFile(join(dir, 'p1', 'state.json'), 'utf8')) as PairedState;
    assert.equal(s1.format, 'r2c-paired-train-state/1');
    assert.deepEqual([s1.steps, s1.adamStep], [3, 3]);
    assert.deepEqual([s1.recipe.steps, s1.recipe.cropSize, s1.recipe.cropSteps], [3, 16, 2]);
    assert.equal(s1.generator.upsampling, 'resize');
    assert.equal(s1.g_a2b.holds, 'ema', 'g_a2b.bin holds the weight average');

    const second = await runTrain([
      ...common,
      ...recipe,
      '--resume',
      join(dir, 'p1'),
      '--steps',
      '5',
      '--data',
      data,
      '--out',
      join(dir, 'p2'),
    ]);
    assert.equal(second.status, 0, `resumed paired run failed:\n${second.output}`);
    assert.match(second.output, /resumed from .*: step 3 of 5, Adam step 3/);
    const s2 = JSON.parse(await readFile(join(dir, 'p2', 'state.json'), 'utf8')) as PairedState;
    assert.deepEqual([s2.steps, s2.adamStep, s2.train.resumedFrom?.step], [5, 5, 3]);
    assert.deepEqual(
      (await readJsonl(join(dir, 'p2', 'metrics.jsonl'))).map((r) => r.step),
      [4, 5],
    );

    const wrong = await runTrain([
      ...base,
      '--resume',
      join(dir, 'p1'),
      '--data',
      data,
      '--out',
      join(dir, 'p3'),
    ]);
    assert.notEqual(wrong.status, 0, 'resuming a resize checkpoint as transposed must fail');
    assert.match(wrong.output, /checkpoint generator is .*resize/);

    const model = await importGenerator(join(dir, 'p2', 'g_a2b.json'), join(dir, 'paired.onnx'));
    assert.equal(model.config.upsampling, 'resize', 'the imported model is built with resize upsampling');
    assert.equal(model.steps, 5);
  });

  test('the exported weights are the average: d * initial + (1 - d) * trained after one step', async () => {
    const out = join(dir, 'ema1');
    const r = await runTrain([
      ...common,
      '--ema-decay',
      '0.999',
      '--steps',
      '1',
      '--seed',
      '7',
      '--data',
      join(dir, 'data'),
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, `one-step run failed:\n${r.output}`);
    const state = JSON.parse(await readFile(join(out, 'state.json'), 'utf8')) as PairedState;
    const stateBin = await readFile(join(out, 'state.bin'));
    const { net, weights: exported } = await readWeightsFile(join(out, 'g_a2b.json'));
    assert.equal(net.config.upsampling, 'resize');
    const initial = initWeights(net, 7); // train.py's init is the engine's, bit for bit
    const d = emaDecayAt(0.999, 1); // the step counter after the step
    let worst = 0;
    let moved = 0;
    for (const p of net.params) {
      const row = state.tensors.find((t) => t.name === `G/${p.name}`);
      assert.ok(row, `state.bin has G/${p.name}`);
      const trained = floats(stateBin, row);
      const w0 = initial.get(p.name) as Float32Array;
      const got = exported.get(p.name) as Float32Array;
      for (let i = 0; i < got.length; i++) {
        const want = d * (w0[i] as number) + (1 - d) * (trained[i] as number);
        worst = Math.max(worst, Math.abs((got[i] as number) - want));
        if (trained[i] !== w0[i]) moved++;
      }
    }
    assert.ok(moved > 0, 'the step changed the weights');
    assert.ok(worst < 1e-6, `exported average differs by ${worst}`);
  });
});

describe('train.py --init: a transposed generator starts a resize run', { skip }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-train-init-'));
    await writeTinyData(join(dir, 'data'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the upsampling kernel becomes its closest resize kernel, the rest is kept', async () => {
    const net = networkFromConfig({
      kind: 'convolutional-light',
      role: 'generator',
      q: 1,
      channels: 1,
      width: 2,
    });
    const init = initWeights(net, 11);
    const initJson = await writeInitWeights(join(dir, 'init'), net.config, init);
    const out = join(dir, 'run');
    const r = await runTrain([
      ...['--objective', 'paired', '--arch', 'convolutional-light', '--upsampling', 'resize'],
      ...['--width', '2', '--size', '32', '--steps', '1', '--minutes', '2'],
      ...['--init', initJson, '--data', join(dir, 'data'), '--out', out],
    ]);
    assert.equal(r.status, 0, `--init run failed:\n${r.output}`);
    assert.match(r.output, /converted to their closest resize kernels/);
    const state = JSON.parse(await readFile(join(out, 'state.json'), 'utf8')) as PairedState;
    const stateBin = await readFile(join(out, 'state.bin'));
    const trained = (name: string) => {
      const row = state.tensors.find((t) => t.name === `G/${name}`);
      assert.ok(row, name);
      return floats(stateBin, row);
    };
    // One Adam step moves each weight by about lr (2e-4) at most.
    const dist = (a: Float32Array, b: Float32Array) =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
    const dec = init.get('dec.weight') as Float32Array;
    const converted = transposedToResizeKernel(dec);
    assert.ok(dist(trained('dec.weight'), converted) < 3e-4, 'dec.weight starts from the converted kernel');
    assert.ok(dist(converted, dec) > 1e-2, 'the conversion changes the kernel');
    assert.ok(dist(trained('enc.weight'), init.get('enc.weight') as Float32Array) < 3e-4, 'enc.weight kept');
  });
});
