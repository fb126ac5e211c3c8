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
  buildPairedDiscriminatorStep,
  buildSupervisedStep,
  buildTrainingStep,
  GAN_PREFIXES,
  learningRateAt,
  prefixed,
  REFERENCE_ADAM,
  unprefixed,
} from '../../models/training.ts';
import { checkAlongRandomDirections } from '../helpers/gradient.ts';
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

// ---- paired objective with the adversarial (LSGAN) term ----

const copyWeights = (w: ReadonlyMap<string, Float32Array>) =>
  new Map([...w].map(([k, v]) => [k, Float32Array.from(v)]));
const sameArray = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  !!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]);

function pairedAdversarialSetup(size: number) {
  const gen = operationalGenerator({ q: 2, width: 4 });
  const disc = operationalDiscriminator({ q: 2, width: 4 });
  const weights = new Map([
    ...prefixed('G/', initWeights(gen, 11)),
    ...prefixed('D/', initWeights(disc, 12)),
  ]);
  const rand = seededRandom(21);
  const { clean, noisy } = syntheticPair(size, rand);
  return { gen, disc, weights, input: noisy, target: clean };
}

test('paired + adversarial G step: total = l1Weight·l1 + classWeight·ce + weight·adv, adv is LS(D(G(x)), 1), D frozen', async () => {
  const size = 16;
  const { gen, disc, weights, input, target } = pairedAdversarialSetup(size);
  const graph = buildSupervisedStep({
    generator: gen,
    size,
    l1Weight: 3,
    classWeight: 0.5,
    adversarial: { discriminator: disc, weight: 0.7 },
  });
  assert.deepEqual(graph.losses, ['total', 'l1', 'ce', 'adv']);
  assert.ok(graph.trained.every((k) => k.startsWith('G/')) && graph.trained.length === gen.params.length);
  assert.ok(graph.frozen.every((k) => k.startsWith('D/')) && graph.frozen.length === disc.params.length);
  // Without the option the step is the plain paired one (no discriminator inputs, no adv term).
  const plain = buildSupervisedStep({ generator: gen, size, l1Weight: 3, classWeight: 0.5 });
  assert.deepEqual(plain.losses, ['total', 'l1', 'ce']);
  assert.deepEqual(plain.frozen, []);
  assert.ok(!plain.inputNames.some((n) => n.startsWith('D/')));

  const state: TrainState = { step: 0, weights: copyWeights(weights), m: new Map(), v: new Map() };
  const runner = await StepRunner.create(graph, { threads: 2 });
  const r = await runner.run(
    state,
    { lr: 1e-3, decayStart: 10, totalSteps: 20 },
    {
      input,
      target,
      label: Float32Array.of(0, 1),
    },
  );
  await runner.release();
  const L = r.losses as Record<'total' | 'l1' | 'ce' | 'adv', number>;
  const combined = 3 * L.l1 + 0.5 * L.ce + 0.7 * L.adv;
  assert.ok(Math.abs(L.total - combined) <= 1e-5 * Math.max(1, combined), `total ${L.total} vs ${combined}`);
  // Each term against the float64 reference forward passes.
  const x = t4([1, 1, size, size], input);
  const g = referenceForward(gen.config, unprefixed('G/', weights), x);
  const d = referenceForward(disc.config, unprefixed('D/', weights), g.output);
  const want = {
    l1: l1(g.output, t4([1, 1, size, size], target)),
    ce: ce(g.probabilities, 1),
    adv: mse(d.output, 1),
  };
  for (const [k, w] of Object.entries(want)) {
    const got = L[k as keyof typeof want];
    assert.ok(Math.abs(got - w) <= 1e-5 * Math.max(1, w), `${k}: ${got} vs ${w}`);
  }
  assert.ok(L.adv > 0.01, 'a fresh discriminator is far from calling the output real');
  // The discriminator is frozen in the G step: same weights, no Adam state; the generator moves.
  for (const [k, before] of weights) {
    const moved = !sameArray(state.weights.get(k), before);
    if (k.startsWith('D/')) assert.equal(moved, false, `${k} must not change in the G step`);
  }
  assert.ok(![...state.m.keys(), ...state.v.keys()].some((k) => k.startsWith('D/')));
  assert.ok(!sameArray(state.weights.get('G/dec.q1.weight'), weights.get('G/dec.q1.weight')));
  assert.equal(r.extras['output']?.data.length, size * size);
});

test('paired discriminator step: MSE(D(real),1) + MSE(D(fake),0); trains only D and lowers its loss', async () => {
  const size = 16;
  const { gen, disc, weights, input, target } = pairedAdversarialSetup(size);
  const graph = buildPairedDiscriminatorStep({ discriminator: disc, size });
  assert.deepEqual(graph.losses, ['total', 'd_real', 'd_fake']);
  assert.ok(graph.trained.every((k) => k.startsWith('D/')) && graph.trained.length === disc.params.length);
  assert.deepEqual(Object.keys(graph.batch).sort(), ['fake', 'real']);
  // The fake is what the generator makes of the degraded input (fixed over the steps).
  const fake = Float32Array.from(
    referenceForward(gen.config, unprefixed('G/', weights), t4([1, 1, size, size], input)).output.data,
  );
  const state: TrainState = { step: 0, weights: copyWeights(weights), m: new Map(), v: new Map() };
  const runner = await StepRunner.create(graph, { threads: 2 });
  const schedule = { lr: 2e-3, decayStart: 100, totalSteps: 200 };
  const totals: number[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await runner.run(state, schedule, { real: target, fake });
    const { total, d_real, d_fake } = r.losses as Record<'total' | 'd_real' | 'd_fake', number>;
    assert.ok(Math.abs(total - (d_real + d_fake)) <= 1e-6 * Math.max(1, total), `total ${total}`);
    if (i === 0) {
      const D = (img: ArrayLike<number>) =>
        referenceForward(disc.config, unprefixed('D/', weights), t4([1, 1, size, size], img)).output;
      assert.ok(Math.abs(d_real - mse(D(target), 1)) < 1e-5, `d_real ${d_real}`);
      assert.ok(Math.abs(d_fake - mse(D(fake), 0)) < 1e-5, `d_fake ${d_fake}`);
    }
    totals.push(total);
    state.step += 1;
  }
  await runner.release();
  assert.ok(totals.at(-1)! < 0.5 * totals[0]!, `D loss ${totals[0]} -> ${totals.at(-1)}`);
  for (const [k, before] of weights)
    if (k.startsWith('G/')) assert.ok(sameArray(state.weights.get(k), before), `${k} unchanged`);
  assert.ok(
    disc.params.every((p) => !sameArray(state.weights.get(`D/${p.name}`), weights.get(`D/${p.name}`))),
    'every D parameter trains',
  );
});

test('adv term gradient w.r.t. every generator weight matches float64 finite differences', async () => {
  // With l1Weight = classWeight = 0 the step optimises weight·adv only, and Adam's first moment after
  // one step from zero is (1 - beta1)·gradient: the step graph's own gradient, read from m.
  const size = 16;
  const { gen, disc, weights, input, target } = pairedAdversarialSetup(size);
  const rand = seededRandom((Date.now() % 100003) + 1);
  for (const [k, w] of weights)
    if (k.startsWith('G/') && (k.endsWith('.bias') || k.endsWith('.scale')))
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) + (rand() - 0.5) * 0.4;
  const weight = 2.5;
  const graph = buildSupervisedStep({
    generator: gen,
    size,
    l1Weight: 0,
    classWeight: 0,
    adversarial: { discriminator: disc, weight },
  });
  const state: TrainState = { step: 0, weights: copyWeights(weights), m: new Map(), v: new Map() };
  const runner = await StepRunner.create(graph, { threads: 2 });
  await runner.run(
    state,
    { lr: 1e-3, decayStart: 10, totalSteps: 20 },
    { input, target, label: Float32Array.of(1, 0) },
  );
  await runner.release();
  const x = t4([1, 1, size, size], input);
  const dW = unprefixed('D/', weights);
  const adv = (gw: ReadonlyMap<string, ArrayLike<number>>) =>
    mse(referenceForward(disc.config, dW, referenceForward(gen.config, gw, x).output).output, 1);
  const gW = new Map<string, ArrayLike<number>>(unprefixed('G/', weights));
  const eps = 1e-7;
  let checked = 0;
  for (const p of gen.params) {
    const m = state.m.get(`G/${p.name}`) as Float32Array;
    const grad = Float64Array.from(m, (v) => v / ((1 - REFERENCE_ADAM.beta1) * weight));
    const base = gW.get(p.name) as Float32Array;
    const r = checkAlongRandomDirections({
      analytic: grad,
      base,
      loss: (moved) => adv(new Map(gW).set(p.name, moved)),
      rand,
      eps,
      absTolerance: 1e-7,
    });
    if (process.env.R2C_DEBUG) console.log(p.name, r.dot, r.numeric, r.scale);
    assert.ok(
      r.ok,
      `d adv / d ${p.name} along v: analytic ${r.dot} vs numeric ${r.numeric} (|g||v| ${r.scale})`,
    );
    // The class branch does not shape the image, so adv does not reach it; everything else it does.
    const reached = grad.some((g) => g !== 0);
    assert.equal(reached, !p.name.startsWith('classifier.'), `adv gradient reaches ${p.name}: ${reached}`);
    checked++;
  }
  assert.equal(checked, gen.params.length);
});

test('SupervisedTrainer with adversarialWeight: G then D each step, at crop and full size; EMA of G only; resumes exactly', async () => {
  const make = (state?: TrainState) =>
    SupervisedTrainer.create(
      {
        kind: 'operational',
        q: 1,
        width: 4,
        size: 32,
        upsampling: 'resize',
        emaDecay: 0.8,
        adversarialWeight: 0.5,
        seed: 7,
      },
      state ? { state } : undefined,
      { threads: 1 },
    );
  const trainer = await make();
  assert.equal(trainer.config.adversarialWeight, 0.5);
  const dNames = [...trainer.state.weights.keys()].filter((k) => k.startsWith('D/'));
  assert.ok(dNames.length > 0, 'the state holds a discriminator');
  assert.deepEqual(
    [...(trainer.state.ema?.keys() ?? [])].sort(),
    [...trainer.state.weights.keys()].filter((k) => k.startsWith('G/')).sort(),
  );
  const dBefore = copyWeights(new Map(dNames.map((k) => [k, trainer.state.weights.get(k) as Float32Array])));
  // The fresh discriminator is seeded from the config's seed: another trainer gets the same one.
  const twin = await make();
  for (const k of dNames) assert.ok(sameArray(twin.state.weights.get(k), dBefore.get(k)), k);
  await twin.release();

  const rand = seededRandom(8);
  const pairs = [16, 32, 16, 32, 32].map((s) => syntheticPair(s, rand));
  for (const [i, p] of pairs.slice(0, 3).entries()) {
    const losses = await trainer.step(p.noisy, p.clean, i % 2);
    assert.deepEqual(Object.keys(losses).sort(), ['adv', 'ce', 'd_fake', 'd_real', 'l1', 'total']);
    for (const v of Object.values(losses)) assert.ok(Number.isFinite(v));
    assert.ok(
      Math.abs(losses['total']! - (losses['l1']! + 0.1 * losses['ce']! + 0.5 * losses['adv']!)) < 1e-5,
    );
  }
  for (const k of dNames) assert.ok(!sameArray(trainer.state.weights.get(k), dBefore.get(k)), `${k} trains`);
  assert.ok(
    dNames.every((k) => trainer.state.m.has(k) && trainer.state.v.has(k)),
    'D has Adam moments',
  );
  assert.ok(![...(trainer.state.ema?.keys() ?? [])].some((k) => k.startsWith('D/')), 'D is not averaged');
  // The export is the generator's average, nothing of D.
  const exported = readWeightsFromOnnx(trainer.exportInferenceModel()).weights;
  assert.equal(exported.size, trainer.generator.params.length);
  for (const [name, w] of exported) assert.deepEqual(w, trainer.state.ema?.get(`G/${name}`), name);

  // Checkpoint at step 3, then two more steps both ways: bit-identical states.
  const saved = decodeCheckpoint(encodeCheckpoint({ config: trainer.config, state: trainer.state }));
  assert.deepEqual(saved.config, trainer.config);
  for (const p of pairs.slice(3)) await trainer.step(p.noisy, p.clean, 1);
  const resumed = await make(saved.state);
  for (const p of pairs.slice(3)) await resumed.step(p.noisy, p.clean, 1);
  for (const group of ['weights', 'm', 'v', 'ema'] as const) {
    const a = trainer.state[group] as Map<string, Float32Array>;
    const b = resumed.state[group] as Map<string, Float32Array>;
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), group);
    for (const [k, w] of a) assert.ok(sameArray(b.get(k), w), `${group} ${k}`);
  }
  assert.equal(resumed.state.step, 5);
  // The discriminator's strides need sides that are multiples of 8.
  const odd = syntheticPair(20, rand);
  await assert.rejects(resumed.step(odd.noisy, odd.clean, 0), /must be a multiple of 8, got 20/);
  await trainer.release();
  await resumed.release();
  await assert.rejects(
    SupervisedTrainer.create({ kind: 'operational', q: 1, width: 4, size: 16, adversarialWeight: 0 }),
    /adversarialWeight must be a positive number/,
  );
});

test('adversarialWeight with trainOnly: only the named generator layers and the whole discriminator train', async () => {
  const trainer = await SupervisedTrainer.create(
    { kind: 'convolutional-light', width: 4, size: 16, trainOnly: ['dec'], adversarialWeight: 1 },
    undefined,
    { threads: 1 },
  );
  const before = copyWeights(trainer.state.weights);
  const rand = seededRandom(9);
  for (let i = 0; i < 2; i++) {
    const { clean, noisy } = syntheticPair(16, rand);
    await trainer.step(noisy, clean, i);
  }
  const changed = [...trainer.state.weights].filter(([k, v]) => !sameArray(v, before.get(k))).map(([k]) => k);
  const expected = [...before.keys()].filter((k) => k.startsWith('G/dec.') || k.startsWith('D/'));
  assert.deepEqual(changed.sort(), expected.sort());
  await trainer.release();
});
