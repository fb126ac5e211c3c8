// scripts/gpu/train.py --train-only (the engine's trainOnly) against SupervisedTrainer: the option's
// checks and messages (with a stand-in torch module, so it runs wherever python3 has numpy); the
// torch fixture parity-w4-train-only (2 steps with trainOnly ['dec']) against the engine's trainer;
// and, with torch (R2C_TORCH_PYTHON, python3 or /usr/bin/python3), a live parity run and a training
// run from a transposed --init in which only dec.* moves. Skips the parts it has no Python for.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  initWeights,
  type NetConfig,
  networkFromConfig,
  transposedToResizeKernel,
  type WeightMap,
} from '../../../models/nets.ts';
import { SupervisedTrainer } from '../../../models/trainer.ts';
import { REFERENCE_ADAM } from '../../../models/training.ts';
import {
  compareArrays,
  PARITY_TOLERANCE,
  type ParityCheck,
  readWeightsFile,
} from '../../../scripts/gpu/import-weights.ts';
import { repoRoot } from '../../helpers/paths.ts';
import { findPython, writeInitWeights, writeTinyData } from './helpers.ts';

const trainPy = join(repoRoot, 'scripts', 'gpu', 'train.py');
/** train.py --parity --parity-paired --train-only dec --upsampling resize --width 4 (PyTorch 1.13, CPU). */
const fixture = fileURLToPath(new URL('./fixtures/parity-w4-train-only/', import.meta.url));

const torchPython = findPython('torch, numpy');
const numpyPython = findPython('numpy');

function runTrain(python: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(python, [trainPy, ...args], { encoding: 'utf8', env, timeout: 300_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface Row {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

/** A train.py parity output: tensors by name (float32 LE) and the manifest. */
async function readParity(dir: string) {
  const meta = JSON.parse(await readFile(join(dir, 'parity.json'), 'utf8')) as {
    generator: NetConfig;
    pairedTrainOnly: {
      trainOnly: string[];
      trained: string[];
      steps: number;
      l1Weight: number;
      classWeight: number;
      schedule: { lr: number; decayStart: number; totalSteps: number };
      emaDecay: number;
    } | null;
    bin: string;
    tensors: Row[];
  };
  const bin = await readFile(join(dir, meta.bin));
  const rows = new Map(meta.tensors.map((r) => [r.name, r]));
  const tensor = (name: string): Float32Array => {
    const r = rows.get(name);
    assert.ok(r, `${dir}: no tensor ${name}`);
    const out = new Float32Array(r.length);
    for (let i = 0; i < r.length; i++) out[i] = bin.readFloatLE(r.offset + 4 * i);
    return out;
  };
  return { meta, rows, tensor };
}

const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  !!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]);

/** A change from `start` compared where the first step's |grad| is not tiny (as import-weights' compareDelta). */
function deltaCheck(
  name: string,
  start: Float32Array,
  engine: Float32Array,
  torch: Float32Array,
  grad: Float32Array,
): ParityCheck {
  const big = grad.reduce((a, v) => Math.max(a, Math.abs(v)), 0) * 1e-3;
  const idx = [...grad.keys()].filter((i) => Math.abs(grad[i] as number) > big);
  const d = (a: Float32Array) => Float32Array.from(idx, (i) => (a[i] as number) - (start[i] as number));
  return compareArrays(name, d(engine), d(torch), 1e-2);
}

/**
 * Runs SupervisedTrainer with the parity file's trainOnly, schedule and EMA on its batch for its
 * step count and compares everything torch recorded; returns the failed checks (empty = parity).
 */
async function checkTrainOnlyParity(dir: string): Promise<{ failed: string[]; trained: string[] }> {
  const { meta, rows, tensor } = await readParity(dir);
  const o = meta.pairedTrainOnly;
  assert.ok(o, `${dir}: parity.json has no pairedTrainOnly (train.py --parity-paired --train-only)`);
  const net = networkFromConfig(meta.generator);
  const start: WeightMap = new Map(net.params.map((p) => [p.name, tensor(`G/${p.name}`)]));
  const input = tensor('input/0');
  const size = Math.round(Math.sqrt(input.length));
  const trainer = await SupervisedTrainer.create(
    {
      kind: meta.generator.kind,
      q: meta.generator.q,
      width: meta.generator.width,
      channels: meta.generator.channels,
      ...(meta.generator.upsampling ? { upsampling: meta.generator.upsampling } : {}),
      size,
      schedule: o.schedule,
      l1Weight: o.l1Weight,
      classWeight: o.classWeight,
      emaDecay: o.emaDecay,
      trainOnly: o.trainOnly,
      seed: 1,
    },
    { weights: new Map([...start].map(([k, v]) => [k, Float32Array.from(v)])) },
    { threads: 1 },
  );
  const checks: ParityCheck[] = [];
  const failed: string[] = [];
  const label = tensor('only/label');
  const firstGrad = new Map<string, Float32Array>();
  try {
    for (let k = 0; k < o.steps; k++) {
      const lr = trainer.learningRate();
      const losses = await trainer.step(input, tensor('only/target'), label[1] === 1 ? 1 : 0);
      checks.push(compareArrays(`step ${k} lr`, Float32Array.of(lr), tensor(`only/${k}/lr`)));
      for (const key of ['total', 'l1', 'ce'])
        checks.push(
          compareArrays(
            `step ${k} ${key}`,
            Float32Array.of(losses[key] as number),
            tensor(`only/${k}/${key}`),
          ),
        );
      if (k === 0)
        for (const [name, m] of trainer.state.m)
          firstGrad.set(
            name.slice(2),
            m.map((v) => v / (1 - REFERENCE_ADAM.beta1)),
          );
    }
    // Which parameters train: the engine's rule and torch's agree, name for name.
    const engineTrained = [...trainer.state.m.keys()].map((k) => k.slice(2));
    if (engineTrained.join() !== o.trained.join())
      failed.push(`trained: engine ${engineTrained.join()} vs torch ${o.trained.join()}`);
    const torchMoments = [...rows.keys()].filter((n) => n.startsWith('only/m/')).map((n) => n.slice(7));
    if (torchMoments.join() !== o.trained.join()) failed.push(`torch Adam state for ${torchMoments.join()}`);
    const ema = trainer.state.ema as Map<string, Float32Array>;
    for (const p of net.params) {
      const w0 = start.get(p.name) as Float32Array;
      const engineW = trainer.state.weights.get(`G/${p.name}`) as Float32Array;
      const engineA = ema.get(`G/${p.name}`) as Float32Array;
      const torchW = tensor(`only/next/${p.name}`);
      const torchA = tensor(`only/ema/${p.name}`);
      if (!o.trained.includes(p.name)) {
        // Frozen: bit-identical in both, the weights and their average.
        for (const [what, a] of [
          ['engine weights', engineW],
          ['engine average', engineA],
          ['torch weights', torchW],
          ['torch average', torchA],
        ] as const)
          if (!same(a, w0)) failed.push(`frozen ${p.name}: ${what} changed`);
        continue;
      }
      if (same(engineW, w0)) failed.push(`${p.name} did not train`);
      const g = tensor(`only/grad/${p.name}`);
      checks.push(
        compareArrays(`grad ${p.name}`, firstGrad.get(p.name) as Float32Array, g, PARITY_TOLERANCE * 10),
      );
      checks.push(deltaCheck(`weights ${p.name}`, w0, engineW, torchW, g));
      checks.push(deltaCheck(`average ${p.name}`, w0, engineA, torchA, g));
      for (const mv of ['m', 'v'] as const) {
        const e = trainer.state[mv].get(`G/${p.name}`) as Float32Array;
        checks.push(
          compareArrays(`adam ${mv} ${p.name}`, e, tensor(`only/${mv}/${p.name}`), PARITY_TOLERANCE * 10),
        );
      }
    }
  } finally {
    await trainer.release();
  }
  for (const c of checks) if (!c.pass) failed.push(`${c.name}: rel ${c.relError.toExponential(2)}`);
  return { failed, trained: o.trained };
}

describe('train.py --train-only: parity with SupervisedTrainer (trainOnly)', () => {
  test('the torch fixture (2 steps, trainOnly dec, resize) matches the engine; only dec.* moves', async () => {
    const { failed, trained } = await checkTrainOnlyParity(fixture);
    assert.deepEqual(failed, []);
    const names = networkFromConfig({ kind: 'operational', role: 'generator', q: 3, channels: 1, width: 4 })
      .params.map((p) => p.name)
      .filter((n) => n.startsWith('dec.'));
    assert.deepEqual(trained, names, 'dec = dec.q1..q3 weight and bias');
  });

  test('a fixture with a frozen weight moved fails the check', async () => {
    // The check can fail: copy the fixture with one frozen torch weight nudged by an ulp.
    const dir = await mkdtemp(join(tmpdir(), 'r2c-train-only-bad-'));
    try {
      const json = await readFile(join(fixture, 'parity.json'), 'utf8');
      const bin = Buffer.from(await readFile(join(fixture, 'parity.bin')));
      const row = (JSON.parse(json) as { tensors: Row[] }).tensors.find(
        (r) => r.name === 'only/next/enc.q1.weight',
      );
      assert.ok(row);
      bin.writeFloatLE(bin.readFloatLE(row.offset) * (1 + 2 ** -20), row.offset);
      await writeFile(join(dir, 'parity.json'), json);
      await writeFile(join(dir, 'parity.bin'), bin);
      const { failed } = await checkTrainOnlyParity(dir);
      assert.deepEqual(failed, ['frozen enc.q1.weight: torch weights changed']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('train.py --train-only: the checks and messages of SupervisedTrainer.create', {
  skip: numpyPython ? false : 'no python with numpy here',
}, () => {
  let stub = '';
  let env: NodeJS.ProcessEnv = {};
  before(async () => {
    // A stand-in torch (what r2c_torch/degrade_torch touch at import), so the option's parsing and
    // checks run without torch; they happen before train.py uses torch.
    stub = await mkdtemp(join(tmpdir(), 'r2c-torch-stub-'));
    await mkdir(join(stub, 'torch', 'nn'), { recursive: true });
    await writeFile(
      join(stub, 'torch', '__init__.py'),
      '__version__ = "stub"\ndef no_grad():\n    return lambda f: f\n',
    );
    await writeFile(join(stub, 'torch', 'nn', '__init__.py'), '');
    await writeFile(join(stub, 'torch', 'nn', 'functional.py'), '');
    env = { ...process.env, PYTHONPATH: stub, PYTHONDONTWRITEBYTECODE: '1' };
  });
  after(async () => {
    if (stub) await rm(stub, { recursive: true, force: true });
  });
  const base = ['--objective', 'paired', '--width', '2', '--out', join(tmpdir(), 'r2c-never-written')];
  const engineError = async (trainOnly: string[]) => {
    try {
      await SupervisedTrainer.create({ kind: 'operational', q: 3, width: 2, size: 32, trainOnly });
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail(`SupervisedTrainer accepted trainOnly ${JSON.stringify(trainOnly)}`);
  };

  test('an unknown prefix (a name prefix must end at a dot) is refused with the engine message', async () => {
    const message = await engineError(['de']);
    assert.match(message, /no parameter de \(it has enc, res, classifier, dec\)/);
    const r = runTrain(numpyPython as string, [...base, '--train-only', 'dec,de'], env);
    assert.equal(r.status, 2, r.output);
    assert.ok(r.output.includes(message), `train.py says:\n${r.output}\nthe engine says: ${message}`);
  });

  test('an empty list is refused with the engine message; gan runs refuse the option', async () => {
    const message = await engineError([]);
    const r = runTrain(numpyPython as string, [...base, '--train-only', ' , '], env);
    assert.equal(r.status, 2, r.output);
    assert.ok(r.output.includes(message), `train.py says:\n${r.output}\nthe engine says: ${message}`);
    const gan = runTrain(
      numpyPython as string,
      ['--train-only', 'dec', '--out', join(tmpdir(), 'r2c-never')],
      env,
    );
    assert.equal(gan.status, 2, gan.output);
    assert.match(gan.output, /--train-only is supported with --objective paired/);
    const help = runTrain(numpyPython as string, ['--help'], env);
    assert.equal(help.status, 0, help.output);
    assert.match(help.output, /--train-only P1,P2/);
  });
});

interface StateJson {
  steps: number;
  adamStep: number;
  recipe: { trainOnly: string[] | null };
  tensors: Row[];
}

describe('train.py --train-only with torch: live parity, training run, resume', {
  skip: torchPython ? false : 'no Python with torch and numpy here (set R2C_TORCH_PYTHON to run this check)',
}, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-train-only-'));
    await writeTinyData(join(dir, 'data'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('live parity: transposed upsampling, two prefixes (dec,classifier)', async () => {
    const out = join(dir, 'parity');
    const r = runTrain(torchPython as string, [
      ...['--parity', '--parity-paired', '--train-only', 'dec,classifier', '--width', '4', '--out', out],
    ]);
    assert.equal(r.status, 0, r.output);
    const { failed, trained } = await checkTrainOnlyParity(out);
    assert.deepEqual(failed, []);
    assert.ok(trained.some((n) => n.startsWith('classifier.')) && trained.some((n) => n.startsWith('dec.')));
  });

  test('dec-only refit from a transposed --init: only dec.* moves (weights, average), resume keeps it', async () => {
    const config: NetConfig = { kind: 'operational', role: 'generator', q: 3, channels: 1, width: 2 };
    const net = networkFromConfig(config);
    const init = initWeights(net, 11);
    const initJson = await writeInitWeights(join(dir, 'init'), net.config, init);
    const common = [
      ...[
        '--objective',
        'paired',
        '--upsampling',
        'resize',
        '--width',
        '2',
        '--size',
        '32',
        '--minutes',
        '3',
      ],
      ...[
        '--crop-size',
        '16',
        '--crop-steps',
        '2',
        '--ema-decay',
        '0.9',
        '--class-weight',
        '0',
        '--lr',
        '5e-4',
      ],
      ...['--train-only', 'dec', '--data', join(dir, 'data')],
    ];
    const r = runTrain(torchPython as string, [
      ...common,
      ...['--steps', '3', '--init', initJson, '--out', join(dir, 'r1')],
    ]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /converted to their closest resize kernels/);
    assert.match(r.output, /trainOnly dec: 6 of \d+ parameter tensors train/);

    const started = new Map(init);
    for (const p of net.params)
      if (p.name.startsWith('dec.') && p.name.endsWith('.weight'))
        started.set(p.name, transposedToResizeKernel(init.get(p.name) as Float32Array));
    const check = async (run: string, steps: number) => {
      const state = JSON.parse(await readFile(join(dir, run, 'state.json'), 'utf8')) as StateJson;
      const sbin = await readFile(join(dir, run, 'state.bin'));
      assert.deepEqual([state.steps, state.adamStep, state.recipe.trainOnly], [steps, steps, ['dec']]);
      const adamRows = state.tensors.filter((t) => t.name.startsWith('adam.')).map((t) => t.name);
      assert.deepEqual(
        adamRows,
        net.params
          .filter((p) => p.name.startsWith('dec.'))
          .flatMap((p) => [`adam.m/G/${p.name}`, `adam.v/G/${p.name}`]),
        'Adam state of the trained parameters only',
      );
      const exported = (await readWeightsFile(join(dir, run, 'g_a2b.json'))).weights;
      for (const p of net.params) {
        const row = state.tensors.find((t) => t.name === `G/${p.name}`);
        assert.ok(row);
        const trained = Float32Array.from({ length: row.length }, (_, i) =>
          sbin.readFloatLE(row.offset + 4 * i),
        );
        const s = started.get(p.name) as Float32Array;
        if (p.name.startsWith('dec.')) {
          assert.ok(!same(trained, s), `${p.name} trains`);
          assert.ok(!same(exported.get(p.name), s), `${p.name}'s average moves`);
        } else {
          assert.ok(same(trained, s), `${p.name} stays bit-identical`);
          assert.ok(same(exported.get(p.name), s), `${p.name}'s average stays bit-identical`);
        }
      }
    };
    await check('r1', 3);
    // Resumed without the option: the checkpoint's trainOnly holds (its Adam state is dec's only).
    const common2 = common.filter((a) => a !== '--train-only' && a !== 'dec');
    const r2 = runTrain(torchPython as string, [
      ...common2,
      ...['--steps', '4', '--resume', join(dir, 'r1'), '--out', join(dir, 'r2')],
    ]);
    assert.equal(r2.status, 0, r2.output);
    assert.match(r2.output, /resume: trainOnly \['dec'\] from the checkpoint/);
    await check('r2', 4);
  });
});
