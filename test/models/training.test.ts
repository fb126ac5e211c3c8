import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointToInferenceModel, decodeCheckpoint, encodeCheckpoint } from '../../models/checkpoint.ts';
import { loadInferenceModel, readWeightsFromOnnx } from '../../models/inference.ts';
import type { Value } from '../../models/graph.ts';
import {
  initWeights,
  type NetOutputs,
  type Network,
  operationalDiscriminator,
  operationalGenerator,
  seededRandom,
} from '../../models/nets.ts';
import {
  emaDecayAt,
  R2CGanTrainer,
  StepRunner,
  SupervisedTrainer,
  type TrainState,
} from '../../models/trainer.ts';
import {
  buildDiscriminatorStep,
  buildGeneratorStep,
  buildTrainingStep,
  GAN_PREFIXES,
  learningRateAt,
  prefixed,
  REFERENCE_ADAM,
} from '../../models/training.ts';
import { referenceForward, type T4, t4 } from './reference.ts';

// A one-parameter "network" whose loss gradient is known in closed form: L = sum(p * x * c).
const toyNet: Network = {
  config: { kind: 'operational', role: 'generator', q: 1, channels: 1, width: 1 },
  params: [{ name: 'p', shape: [5], init: 'zeros', fanIn: 0, fanOut: 0 }],
  forward: (ctx, x) => ({ output: ctx.g.mul(ctx.param('p'), x) }),
};

test('Adam with bias correction and the constant-then-linear-decay schedule match the Keras formulas', async () => {
  const c = [0.5, -2, 3, 0.25, -1];
  const graph = buildTrainingStep({
    trained: [{ prefix: 'toy/', net: toyNet }],
    batch: { x: [5] },
    objective: (g, nets, b) => {
      const y = (nets['toy/'] as (x: Value) => NetOutputs)(b['x'] as Value).output;
      return { total: g.reduceSum(g.mul(y, g.constant(c, [5])), [0], false), terms: {} };
    },
  });
  const runner = await StepRunner.create(graph, { threads: 1 });
  const schedule = { lr: 0.1, decayStart: 2, totalSteps: 6 };
  const state: TrainState = {
    step: 0,
    weights: new Map([['toy/p', Float32Array.of(1, 2, 3, 4, 5)]]),
    m: new Map(),
    v: new Map(),
  };
  // Plain float64 Keras Adam: m, v moments; p -= lr_t sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps).
  const { beta1: b1, beta2: b2, epsilon } = REFERENCE_ADAM;
  const p = [1, 2, 3, 4, 5];
  const m = [0, 0, 0, 0, 0];
  const v = [0, 0, 0, 0, 0];
  const rand = seededRandom(3);
  for (let step = 0; step < 8; step++) {
    const x = Array.from({ length: 5 }, () => rand() * 2 - 1);
    const r = await runner.run(state, schedule, { x: Float32Array.from(x) });
    const lr = step < 2 ? 0.1 : Math.max(0, 0.1 * (1 - (step - 2) / 4));
    assert.ok(Math.abs(r.lr - lr) < 1e-7, `lr at step ${step}: ${r.lr} vs ${lr}`);
    assert.ok(Math.abs(learningRateAt(schedule, step) - lr) < 1e-12);
    const t = step + 1;
    const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    for (let i = 0; i < 5; i++) {
      const grad = (x[i] as number) * (c[i] as number);
      m[i] = b1 * (m[i] as number) + (1 - b1) * grad;
      v[i] = b2 * (v[i] as number) + (1 - b2) * grad * grad;
      p[i] = (p[i] as number) - (alpha * (m[i] as number)) / (Math.sqrt(v[i] as number) + epsilon);
    }
    const got = state.weights.get('toy/p') as Float32Array;
    for (let i = 0; i < 5; i++)
      assert.ok(
        Math.abs((got[i] as number) - (p[i] as number)) < 1e-5,
        `step ${step} p[${i}]: ${got[i]} vs ${p[i]}`,
      );
    state.step += 1;
  }
  // At and past the end of the schedule the learning rate is zero: the parameters stop moving.
  assert.equal(learningRateAt(schedule, 6), 0);
  await runner.release();
});

// Independent float64 computation of the reference objectives from the TypeScript reference forward.
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0) / a.length;
const mse = (a: T4, target: number) => mean(a.data.map((x) => (x - target) ** 2));
const l1 = (a: T4, b: T4) => mean(a.data.map((x, i) => Math.abs(x - (b.data[i] as number))));
const ce = (probs: number[] | undefined, label: number) => -Math.log((probs as number[])[label] as number);

test('generator and discriminator steps compute the reference R2C-GAN objectives', async () => {
  const gen = operationalGenerator({ q: 2, width: 4 });
  const disc = operationalDiscriminator({ q: 2, width: 4 });
  const size = 16;
  const P = GAN_PREFIXES;
  const weights = new Map([
    ...prefixed(P.gA2B, initWeights(gen, 1)),
    ...prefixed(P.gB2A, initWeights(gen, 2)),
    ...prefixed(P.dA, initWeights(disc, 3)),
    ...prefixed(P.dB, initWeights(disc, 4)),
  ]);
  const state: TrainState = { step: 0, weights: new Map(weights), m: new Map(), v: new Map() };
  const rand = seededRandom(99);
  const img = () => Float32Array.from({ length: size * size }, () => rand() * 2 - 1);
  const A = img();
  const B = img();
  const [labelA, labelB] = [1, 0];
  const schedule = { lr: 2e-4, decayStart: 100, totalSteps: 200 };

  const g = await StepRunner.create(buildGeneratorStep({ generator: gen, discriminator: disc, size }), {
    threads: 2,
  });
  const r = await g.run(state, schedule, {
    A,
    B,
    labelA: Float32Array.of(0, 1),
    labelB: Float32Array.of(1, 0),
  });
  const net = (prefix: string, n: Network) => (x: T4) => {
    const w = new Map(
      [...weights].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]),
    );
    return referenceForward(n.config, w, x);
  };
  const [GA2B, GB2A, DA, DB] = [net(P.gA2B, gen), net(P.gB2A, gen), net(P.dA, disc), net(P.dB, disc)];
  const a = t4([1, 1, size, size], A);
  const b = t4([1, 1, size, size], B);
  const A2B = GA2B(a);
  const B2A = GB2A(b);
  const A2B2A = GB2A(A2B.output);
  const B2A2B = GA2B(B2A.output);
  const A2A = GB2A(a);
  const B2B = GA2B(b);
  const expected: Record<string, number> = {
    A2B_g_loss: mse(DB(A2B.output).output, 1),
    B2A_g_loss: mse(DA(B2A.output).output, 1),
    A2B2A_cycle_loss: l1(a, A2B2A.output),
    B2A2B_cycle_loss: l1(b, B2A2B.output),
    A2A_id_loss: l1(a, A2A.output),
    B2B_id_loss: l1(b, B2B.output),
    A2B_c_loss: ce(A2B.probabilities, labelA),
    B2A_c_loss: ce(B2A.probabilities, labelB),
    A2B2A_c_loss: ce(A2B2A.probabilities, labelA),
    B2A2B_c_loss: ce(B2A2B.probabilities, labelB),
    A2A_c_loss: ce(A2A.probabilities, labelA),
    B2B_c_loss: ce(B2B.probabilities, labelB),
  };
  const e = expected as Record<string, number> & typeof expected;
  const x = (k: string) => e[k] as number;
  expected['total'] =
    x('A2B_g_loss') +
    x('B2A_g_loss') +
    0.1 * (x('A2B_c_loss') + x('B2A_c_loss')) +
    10 * (x('A2B2A_cycle_loss') + x('B2A2B_cycle_loss') + 0.01 * (x('A2B2A_c_loss') + x('B2A2B_c_loss'))) +
    5 * (x('A2A_id_loss') + x('B2B_id_loss') + 0.02 * (x('A2A_c_loss') + x('B2B_c_loss')));
  for (const [k, want] of Object.entries(expected)) {
    const got = r.losses[k] as number;
    assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `G ${k}: ${got} vs ${want}`);
  }
  // Generators moved, discriminators are frozen in the generator step.
  for (const [k, before] of weights) {
    const after = state.weights.get(k) as Float32Array;
    const moved = after.some((v, i) => v !== before[i]);
    if (k.startsWith('D_')) assert.equal(moved, false, `${k} must not change in the G step`);
  }
  assert.ok(
    (state.weights.get('G_A2B/res.conv1.q2.weight') as Float32Array).some(
      (v, i) => v !== weights.get('G_A2B/res.conv1.q2.weight')?.[i],
    ),
  );
  await g.release();

  // Discriminator step on the fakes just produced.
  const fakeA2B = r.extras['A2B']?.data as Float32Array;
  const fakeB2A = r.extras['B2A']?.data as Float32Array;
  const d = await StepRunner.create(buildDiscriminatorStep({ generator: gen, discriminator: disc, size }), {
    threads: 2,
  });
  const dr = await d.run(state, schedule, { A, B, A2B: fakeA2B, B2A: fakeB2A });
  const dExpected =
    mse(DA(a).output, 1) +
    mse(DA(t4([1, 1, size, size], fakeB2A)).output, 0) +
    mse(DB(b).output, 1) +
    mse(DB(t4([1, 1, size, size], fakeA2B)).output, 0);
  assert.ok(
    Math.abs((dr.losses['total'] as number) - dExpected) < 1e-5 * Math.max(1, dExpected),
    `D total ${dr.losses['total']} vs ${dExpected}`,
  );
  await d.release();
});

/** Smooth synthetic "clean" images (a few Gaussian blobs in [-1,1]) and their noisy versions. */
function syntheticPair(size: number, rand: () => number): { clean: Float32Array; noisy: Float32Array } {
  const clean = new Float32Array(size * size).fill(-0.6);
  for (let b = 0; b < 3; b++) {
    const cx = rand() * size;
    const cy = rand() * size;
    const s = 2 + rand() * 3;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        clean[y * size + x] =
          (clean[y * size + x] as number) + 1.2 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s));
  }
  for (let i = 0; i < clean.length; i++) clean[i] = Math.max(-1, Math.min(1, clean[i] as number));
  const noisy = clean.map((v) => Math.max(-1, Math.min(1, v + (rand() - 0.5) * 0.8)));
  return { clean, noisy };
}

test('training smoke test: a few hundred Adam steps clearly lower the L1 restoration loss', async () => {
  const size = 16;
  const trainer = await SupervisedTrainer.create(
    {
      kind: 'operational',
      q: 2,
      width: 8,
      size,
      schedule: { lr: 2e-3, decayStart: 250, totalSteps: 400 },
      classWeight: 0.1,
    },
    undefined,
    { threads: 2 },
  );
  const rand = seededRandom(Date.now() % 100000);
  const l1s: number[] = [];
  const identity: number[] = [];
  for (let i = 0; i < 300; i++) {
    const { clean, noisy } = syntheticPair(size, rand);
    const losses = await trainer.step(noisy, clean, i % 2);
    l1s.push(losses['l1'] as number);
    identity.push(mean(noisy.map((v, k) => Math.abs(v - (clean[k] as number)))));
  }
  const first = mean(l1s.slice(0, 20));
  const last = mean(l1s.slice(-20));
  if (process.env.R2C_DEBUG)
    console.log(`L1 ${first.toFixed(4)} -> ${last.toFixed(4)}, identity ${mean(identity).toFixed(4)}`);
  assert.ok(last < 0.5 * first, `L1 went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
  // ... and the generator really denoises: better than returning its input unchanged.
  const doNothing = mean(identity.slice(-20));
  assert.ok(last < doNothing, `L1 ${last.toFixed(4)} not below the identity's ${doNothing.toFixed(4)}`);
  assert.equal(trainer.state.step, 300);
  // The fine-tuned generator exports to a working inference model.
  const model = await loadInferenceModel(trainer.exportInferenceModel(), { threads: 1 });
  const out = await model.run(syntheticPair(size, rand).noisy, [1, 1, size, size]);
  assert.equal(out.restored.length, size * size);
  await model.release();
  await trainer.release();
});

test('full R2C-GAN iterations run (G step, pools, D step) and can be cancelled', async () => {
  const trainer = await R2CGanTrainer.create(
    { kind: 'convolutional-light', width: 4, size: 16, poolSize: 2 },
    undefined,
    { threads: 2 },
  );
  const rand = seededRandom(5);
  const img = () => Float32Array.from({ length: 256 }, () => rand() * 2 - 1);
  const dBefore = Float32Array.from(trainer.state.weights.get('D_A/c1.weight') as Float32Array);
  for (let i = 0; i < 4; i++) {
    const r = await trainer.step({ A: img(), B: img(), labelA: 1, labelB: 0 });
    for (const v of [...Object.values(r.G), ...Object.values(r.D)]) assert.ok(Number.isFinite(v));
    assert.ok(r.G['total'] !== undefined && r.D['total'] !== undefined);
  }
  assert.equal(trainer.state.step, 4);
  assert.ok((trainer.state.weights.get('D_A/c1.weight') as Float32Array).some((v, i) => v !== dBefore[i]));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(trainer.step({ A: img(), B: img(), labelA: 0, labelB: 0 }, ac.signal), {
    code: 'cancelled',
  });
  await assert.rejects(trainer.step({ A: new Float32Array(10), B: img(), labelA: 0, labelB: 0 }), {
    code: 'bad_input',
  });
  await assert.rejects(trainer.step({ A: img(), B: img(), labelA: 2, labelB: 0 }), { code: 'bad_input' });
  assert.equal(trainer.state.step, 4);
  await trainer.release();
});

test('EMA: the exported model holds the moving average of the weights, not the last weights', async () => {
  const size = 16;
  const decay = 0.9;
  const trainer = await SupervisedTrainer.create(
    { kind: 'operational', q: 1, width: 4, size, emaDecay: decay, classWeight: 0.1 },
    undefined,
    { threads: 1 },
  );
  const expected = new Map([...trainer.state.weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const rand = seededRandom(3);
  for (let step = 1; step <= 4; step++) {
    const { clean, noisy } = syntheticPair(size, rand);
    await trainer.step(noisy, clean, step % 2);
    const d = emaDecayAt(decay, step);
    for (const [name, w] of trainer.state.weights) {
      const a = expected.get(name) as Float32Array;
      for (let i = 0; i < w.length; i++) a[i] = d * (a[i] as number) + (1 - d) * (w[i] as number);
    }
  }
  const exported = readWeightsFromOnnx(trainer.exportInferenceModel()).weights;
  let differs = false;
  for (const [name, w] of exported) {
    assert.deepEqual(w, expected.get(`G/${name}`), name);
    const raw = trainer.state.weights.get(`G/${name}`) as Float32Array;
    if (raw.some((v, i) => v !== w[i])) differs = true;
  }
  assert.ok(differs, 'the average differs from the last weights');
  assert.ok(emaDecayAt(0.999, 0) < 0.2 && emaDecayAt(0.999, 1e6) === 0.999, 'decay ramps up to its value');
  // The average travels in checkpoints and comes back.
  const back = decodeCheckpoint(encodeCheckpoint({ config: trainer.config, state: trainer.state }));
  for (const [name, a] of trainer.state.ema ?? []) assert.deepEqual(back.state.ema?.get(name), a, name);
  assert.deepEqual(
    readWeightsFromOnnx(checkpointToInferenceModel(back)).weights.get('dec.q1.weight'),
    exported.get('dec.q1.weight'),
  );
  await trainer.release();
});

test('a supervised trainer steps crops and full images with the same weights', async () => {
  const trainer = await SupervisedTrainer.create(
    { kind: 'operational', q: 1, width: 4, size: 32, upsampling: 'resize' },
    undefined,
    { threads: 1 },
  );
  const rand = seededRandom(4);
  const crop = syntheticPair(16, rand);
  const full = syntheticPair(32, rand);
  await trainer.step(crop.noisy, crop.clean, 0);
  await trainer.step(full.noisy, full.clean, 1);
  assert.equal(trainer.state.step, 2);
  assert.equal(trainer.config.upsampling, 'resize');
  await assert.rejects(trainer.step(new Float32Array(15 * 16), new Float32Array(15 * 16), 0), /not a square/);
  await trainer.release();
});

test('trainOnly: only the named layers change; the frozen encoder and class branch keep their exact weights', async () => {
  const trainer = await SupervisedTrainer.create(
    {
      kind: 'operational',
      q: 1,
      width: 4,
      size: 16,
      upsampling: 'resize',
      trainOnly: ['dec'],
      classWeight: 1,
    },
    undefined,
    { threads: 1 },
  );
  const before = new Map([...trainer.state.weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const rand = seededRandom(5);
  for (let step = 0; step < 3; step++) {
    const { clean, noisy } = syntheticPair(16, rand);
    await trainer.step(noisy, clean, step % 2);
  }
  const changed = [...trainer.state.weights]
    .filter(([k, v]) => v.some((x, i) => x !== (before.get(k) as Float32Array)[i]))
    .map(([k]) => k);
  assert.ok(changed.length > 0, 'the output layer trains');
  assert.ok(
    changed.every((k) => k.startsWith('G/dec.')),
    `only dec.* changes, got ${changed.join(', ')}`,
  );
  // Frozen parameters carry no Adam state; the config (and so a checkpoint) names what trains.
  assert.ok([...trainer.state.m.keys()].every((k) => k.startsWith('G/dec.')));
  assert.deepEqual(trainer.config.trainOnly, ['dec']);
  await trainer.release();
  await assert.rejects(
    SupervisedTrainer.create({ kind: 'operational', q: 1, width: 4, size: 16, trainOnly: ['decoder'] }),
    /no parameter decoder/,
  );
});
