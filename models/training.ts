// Training-step graphs: forward + reverse-mode gradients + Adam, all as plain ONNX ops, so one
// onnxruntime session runs a whole optimisation step wherever inference runs. Parameters and
// optimizer state are graph inputs; the updated values come back as outputs.
import { gradients } from './autodiff.ts';
import { type ExportedModel, Graph, type Value } from './graph.ts';
import type { BuildContext, NetOutputs, Network, WeightMap } from './nets.ts';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
}
/** The reference: Keras Adam with beta1 0.5 (beta2, epsilon Keras defaults). */
export const REFERENCE_ADAM: AdamConfig = { beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };

/**
 * Learning-rate schedule (reference LinearDecay): `lr` until `decayStart` steps, then linearly to
 * zero at `totalSteps`. Fed to the step graph as the input `lr_schedule` = [lr, decayStart, totalSteps].
 */
export interface LrSchedule {
  lr: number;
  decayStart: number;
  totalSteps: number;
}
export const REFERENCE_LR = 2e-4;

export function scheduleVector(s: LrSchedule): Float32Array {
  if (!(s.lr > 0) || !(s.totalSteps > s.decayStart) || s.decayStart < 0)
    throw new Error(`invalid learning-rate schedule: need lr > 0 and totalSteps > decayStart >= 0`);
  return Float32Array.of(s.lr, s.decayStart, s.totalSteps);
}

/** Same formula in plain TypeScript (used for reporting and tests). */
export function learningRateAt(s: LrSchedule, step: number): number {
  if (step < s.decayStart) return s.lr;
  return Math.max(0, s.lr * (1 - (step - s.decayStart) / (s.totalSteps - s.decayStart)));
}

// ---- losses (graph builders) ----

/** Least-squares GAN term: mean((x - target)^2). */
export function mseToConstant(g: Graph, x: Value, target: number): Value {
  const d = g.sub(x, g.scalar(target, x.shape.length));
  return g.mean(g.mul(d, d));
}
/** Mean absolute error. */
export function l1Loss(g: Graph, a: Value, b: Value): Value {
  return g.mean(g.abs(g.sub(a, b)));
}
/**
 * Categorical cross-entropy of softmax(logits) against one-hot labels [N,2], averaged over the batch.
 * Computed with LogSoftmax on the logits: the same value as Keras' CE on the softmax probabilities
 * except that Keras clips probabilities to [1e-7, 1 - 1e-7] (only differs for saturated outputs).
 */
export function crossEntropy(g: Graph, logits: Value, oneHot: Value): Value {
  const n = logits.shape[0] as number;
  const perSample = g.reduceSum(g.mul(g.logSoftmax(logits, 1), oneHot), [0, 1], false);
  return g.mul(perSample, g.scalar(-1 / n));
}

// ---- parameters as graph inputs ----

export interface ParamBinding {
  /** Full name: network prefix + parameter name (e.g. 'G_A2B/enc.q1.weight'). */
  name: string;
  shape: number[];
  value: Value;
}

/** A context whose parameters are graph inputs named `${prefix}${param}`. */
export function inputContext(
  g: Graph,
  net: Network,
  prefix: string,
): { ctx: BuildContext; params: ParamBinding[] } {
  const params: ParamBinding[] = net.params.map((p) => ({
    name: `${prefix}${p.name}`,
    shape: p.shape,
    value: g.input(`${prefix}${p.name}`, p.shape),
  }));
  const byName = new Map(net.params.map((p, i) => [p.name, (params[i] as ParamBinding).value]));
  return {
    params,
    ctx: {
      g,
      param(name) {
        const v = byName.get(name);
        if (!v) throw new Error(`network has no parameter ${name}`);
        return v;
      },
    },
  };
}

/** Emits Adam updates (Keras form with bias correction folded into the step size) for `params`. */
function adamUpdate(
  g: Graph,
  params: ParamBinding[],
  grads: Value[],
  adam: AdamConfig,
): { outputs: Value[]; lr: Value } {
  const step = g.input('step', []);
  const sched = g.input('lr_schedule', [3]);
  const at = (i: number) => g.reshape(g.slice(sched, [i], [i + 1], [0]), []);
  const lr0 = at(0);
  const decayStart = at(1);
  const total = at(2);
  // lr = lr0 * clamp((total - step) / (total - decayStart), 0, 1): constant, then linear to zero.
  const frac = g.div(g.sub(total, step), g.sub(total, decayStart));
  const lr = g.mul(lr0, g.max2(g.scalar(0), g.min2(g.scalar(1), frac)));
  const t = g.add(step, g.scalar(1));
  const b1t = g.exp(g.mul(t, g.scalar(Math.log(adam.beta1))));
  const b2t = g.exp(g.mul(t, g.scalar(Math.log(adam.beta2))));
  const alpha = g.div(g.mul(lr, g.sqrt(g.sub(g.scalar(1), b2t))), g.sub(g.scalar(1), b1t));
  const outputs: Value[] = [];
  params.forEach((p, i) => {
    const grad = grads[i] as Value;
    const m = g.input(`m:${p.name}`, p.shape);
    const v = g.input(`v:${p.name}`, p.shape);
    const m2 = g.add(g.mul(m, g.scalar(adam.beta1)), g.mul(grad, g.scalar(1 - adam.beta1)));
    const v2 = g.add(g.mul(v, g.scalar(adam.beta2)), g.mul(g.mul(grad, grad), g.scalar(1 - adam.beta2)));
    const upd = g.div(g.mul(m2, alpha), g.add(g.sqrt(v2), g.scalar(adam.epsilon)));
    outputs.push(g.named(g.sub(p.value, upd), `${p.name}:next`));
    outputs.push(g.named(m2, `m:${p.name}:next`));
    outputs.push(g.named(v2, `v:${p.name}:next`));
  });
  return { outputs, lr: g.named(lr, 'lr') };
}

export interface StepGraph extends ExportedModel {
  /** Full names of the trained parameters (each has inputs name, m:name, v:name and outputs name:next, ...). */
  trained: string[];
  /** Full names of frozen parameter inputs (e.g. the discriminators in the generator step). */
  frozen: string[];
  /** Batch input names and shapes. */
  batch: Record<string, number[]>;
  /** Loss output names (scalars); 'total' is the optimised objective. */
  losses: string[];
  /** Other outputs (e.g. generated images for the image pools). */
  extras: string[];
}

export interface StepSpec {
  /** `trainable` (default: all) picks the parameters that get gradients and Adam; the others are fed as frozen. */
  trained: { prefix: string; net: Network; trainable?: (param: string) => boolean }[];
  frozen?: { prefix: string; net: Network }[];
  batch: Record<string, number[]>;
  objective: (
    g: Graph,
    nets: Record<string, (x: Value) => NetOutputs>,
    batch: Record<string, Value>,
  ) => { total: Value; terms: Record<string, Value>; extras?: Record<string, Value> };
  adam?: AdamConfig;
}

/** Generic training step: objective -> gradients w.r.t. trained params -> Adam. */
export function buildTrainingStep(spec: StepSpec): StepGraph {
  const g = new Graph('float32');
  const nets: Record<string, (x: Value) => NetOutputs> = {};
  const trained: ParamBinding[] = [];
  const frozen: ParamBinding[] = [];
  for (const [list, out] of [
    [spec.trained, trained],
    [spec.frozen ?? [], frozen],
  ] as const) {
    for (const entry of list) {
      const { prefix, net } = entry;
      const trainable = 'trainable' in entry ? entry.trainable : undefined;
      const { ctx, params } = inputContext(g, net, prefix);
      for (const p of params) {
        if (!trainable || trainable(p.name.slice(prefix.length))) out.push(p);
        else frozen.push(p);
      }
      nets[prefix] = (x) => net.forward(ctx, x);
    }
  }
  if (trained.length === 0) throw new Error('training step has no trainable parameters');
  const batch: Record<string, Value> = {};
  for (const [name, shape] of Object.entries(spec.batch)) batch[name] = g.input(name, shape);
  const { total, terms, extras = {} } = spec.objective(g, nets, batch);
  const grads = gradients(
    g,
    total,
    trained.map((p) => p.value),
  );
  const { outputs, lr } = adamUpdate(g, trained, grads, spec.adam ?? REFERENCE_ADAM);
  const lossOutputs = [g.named(total, 'total'), ...Object.entries(terms).map(([k, v]) => g.named(v, k))];
  const extraOutputs = Object.entries(extras).map(([k, v]) => g.named(v, k));
  const model = g.toOnnx([...lossOutputs, lr, ...extraOutputs, ...outputs]);
  return {
    ...model,
    trained: trained.map((p) => p.name),
    frozen: frozen.map((p) => p.name),
    batch: spec.batch,
    losses: lossOutputs.map((v) => v.name),
    extras: extraOutputs.map((v) => v.name),
  };
}

/** Reference loss weights (train.py defaults). */
export interface GanWeights {
  cycle: number;
  identity: number;
  class: number;
  cycleClass: number;
  identityClass: number;
}
export const REFERENCE_WEIGHTS: GanWeights = {
  cycle: 10,
  identity: 5,
  class: 0.1,
  cycleClass: 0.01,
  identityClass: 0.02,
};

export interface GanStepOptions {
  generator: Network;
  discriminator: Network;
  /** Training crop size (square, reference 256) and batch size (reference 1). */
  size: number;
  batchSize?: number;
  weights?: GanWeights;
  adam?: AdamConfig;
}

export const GAN_PREFIXES = { gA2B: 'G_A2B/', gB2A: 'G_B2A/', dA: 'D_A/', dB: 'D_B/' } as const;

function imageShape(o: GanStepOptions): number[] {
  return [o.batchSize ?? 1, o.generator.config.channels, o.size, o.size];
}

/**
 * The full R2C-GAN generator step (both generators, one Adam step):
 * G = [LS(D_B(A2B)) + LS(D_A(B2A)) + 0.1 (CE_A(A2B) + CE_B(B2A))]
 *   + 10 [L1(A, A2B2A) + L1(B, B2A2B) + 0.01 (CE_A(A2B2A) + CE_B(B2A2B))]
 *   + 5 [L1(A, A2A) + L1(B, B2B) + 0.02 (CE_A(A2A) + CE_B(B2B))].
 * Batch inputs: A, B [N,1,S,S] in [-1,1]; labelA, labelB one-hot [N,2]. Extras: A2B, B2A (for the pools).
 */
export function buildGeneratorStep(o: GanStepOptions): StepGraph {
  const w = o.weights ?? REFERENCE_WEIGHTS;
  const n = o.batchSize ?? 1;
  const P = GAN_PREFIXES;
  return buildTrainingStep({
    trained: [
      { prefix: P.gA2B, net: o.generator },
      { prefix: P.gB2A, net: o.generator },
    ],
    frozen: [
      { prefix: P.dA, net: o.discriminator },
      { prefix: P.dB, net: o.discriminator },
    ],
    batch: { A: imageShape(o), B: imageShape(o), labelA: [n, 2], labelB: [n, 2] },
    adam: o.adam,
    objective(g, nets, b) {
      const [A, B, la, lb] = [b['A'], b['B'], b['labelA'], b['labelB']] as Value[] as [
        Value,
        Value,
        Value,
        Value,
      ];
      const gA2B = nets[P.gA2B] as (x: Value) => NetOutputs;
      const gB2A = nets[P.gB2A] as (x: Value) => NetOutputs;
      const A2B = gA2B(A);
      const B2A = gB2A(B);
      const A2B2A = gB2A(A2B.output);
      const B2A2B = gA2B(B2A.output);
      const A2A = gB2A(A);
      const B2B = gA2B(B);
      const ce = (r: NetOutputs, label: Value) => crossEntropy(g, r.logits as Value, label);
      const terms = {
        A2B_g_loss: mseToConstant(g, (nets[P.dB] as (x: Value) => NetOutputs)(A2B.output).output, 1),
        B2A_g_loss: mseToConstant(g, (nets[P.dA] as (x: Value) => NetOutputs)(B2A.output).output, 1),
        A2B2A_cycle_loss: l1Loss(g, A, A2B2A.output),
        B2A2B_cycle_loss: l1Loss(g, B, B2A2B.output),
        A2A_id_loss: l1Loss(g, A, A2A.output),
        B2B_id_loss: l1Loss(g, B, B2B.output),
        A2B_c_loss: ce(A2B, la),
        B2A_c_loss: ce(B2A, lb),
        A2B2A_c_loss: ce(A2B2A, la),
        B2A2B_c_loss: ce(B2A2B, lb),
        A2A_c_loss: ce(A2A, la),
        B2B_c_loss: ce(B2B, lb),
      };
      const s = (...v: Value[]) => v.reduce((acc, x) => g.add(acc, x));
      const k = (c: number, v: Value) => g.mul(v, g.scalar(c));
      const adv = s(terms.A2B_g_loss, terms.B2A_g_loss, k(w.class, s(terms.A2B_c_loss, terms.B2A_c_loss)));
      const cyc = s(
        terms.A2B2A_cycle_loss,
        terms.B2A2B_cycle_loss,
        k(w.cycleClass, s(terms.A2B2A_c_loss, terms.B2A2B_c_loss)),
      );
      const idt = s(
        terms.A2A_id_loss,
        terms.B2B_id_loss,
        k(w.identityClass, s(terms.A2A_c_loss, terms.B2B_c_loss)),
      );
      const total = s(adv, k(w.cycle, cyc), k(w.identity, idt));
      return {
        total,
        terms,
        extras: { A2B: A2B.output, B2A: B2A.output, A2B_probabilities: A2B.probabilities as Value },
      };
    },
  });
}

/**
 * The discriminator step (both discriminators): D = MSE(D_A(A),1) + MSE(D_A(B2A),0) + MSE(D_B(B),1)
 * + MSE(D_B(A2B),0). Batch inputs: A, B, and A2B, B2A taken from the image pools.
 */
export function buildDiscriminatorStep(o: GanStepOptions): StepGraph {
  const P = GAN_PREFIXES;
  const shape = imageShape(o);
  return buildTrainingStep({
    trained: [
      { prefix: P.dA, net: o.discriminator },
      { prefix: P.dB, net: o.discriminator },
    ],
    batch: { A: shape, B: shape, A2B: shape, B2A: shape },
    adam: o.adam,
    objective(g, nets, b) {
      const dA = nets[P.dA] as (x: Value) => NetOutputs;
      const dB = nets[P.dB] as (x: Value) => NetOutputs;
      const terms = {
        A_d_loss: mseToConstant(g, dA(b['A'] as Value).output, 1),
        B2A_d_loss: mseToConstant(g, dA(b['B2A'] as Value).output, 0),
        B_d_loss: mseToConstant(g, dB(b['B'] as Value).output, 1),
        A2B_d_loss: mseToConstant(g, dB(b['A2B'] as Value).output, 0),
      };
      const total = g.add(g.add(terms.A_d_loss, terms.B2A_d_loss), g.add(terms.B_d_loss, terms.A2B_d_loss));
      return { total, terms };
    },
  });
}

/**
 * Paired (supervised) fine-tuning of one generator: l1 * L1(G(input), target) + classWeight * CE,
 * plus, with `adversarial`, weight * LS(D(G(input)), 1) against a frozen discriminator (pix2pix-style
 * L1 + LSGAN; train D with buildPairedDiscriminatorStep). Batch inputs: input, target [N,1,S,S];
 * label one-hot [N,2]. Prefixes 'G/' and, for the frozen discriminator, 'D/'.
 */
export function buildSupervisedStep(o: {
  generator: Network;
  size: number;
  batchSize?: number;
  l1Weight?: number;
  classWeight?: number;
  /** Parameter-name prefixes to train (e.g. ['dec']); the rest stay fixed. Absent = all. */
  trainOnly?: readonly string[];
  /** Adds the generator's least-squares GAN term (loss term 'adv') against this frozen discriminator. */
  adversarial?: { discriminator: Network; weight: number };
  adam?: AdamConfig;
}): StepGraph {
  const n = o.batchSize ?? 1;
  const shape = [n, o.generator.config.channels, o.size, o.size];
  const only = o.trainOnly;
  const adv = o.adversarial;
  if (adv && !(adv.weight > 0 && Number.isFinite(adv.weight)))
    throw new Error(`adversarial weight must be a positive number, got ${adv.weight}`);
  return buildTrainingStep({
    trained: [
      {
        prefix: 'G/',
        net: o.generator,
        ...(only
          ? { trainable: (name: string) => only.some((p) => name === p || name.startsWith(`${p}.`)) }
          : {}),
      },
    ],
    ...(adv ? { frozen: [{ prefix: PAIRED_D_PREFIX, net: adv.discriminator }] } : {}),
    batch: { input: shape, target: shape, label: [n, 2] },
    adam: o.adam,
    objective(g, nets, b): { total: Value; terms: Record<string, Value>; extras: Record<string, Value> } {
      const r = (nets['G/'] as (x: Value) => NetOutputs)(b['input'] as Value);
      const l1 = l1Loss(g, r.output, b['target'] as Value);
      const ce = crossEntropy(g, r.logits as Value, b['label'] as Value);
      const total = g.add(g.mul(l1, g.scalar(o.l1Weight ?? 1)), g.mul(ce, g.scalar(o.classWeight ?? 0.1)));
      if (!adv) return { total, terms: { l1, ce }, extras: { output: r.output } };
      const d = nets[PAIRED_D_PREFIX] as (x: Value) => NetOutputs;
      const advLoss = mseToConstant(g, d(r.output).output, 1);
      return {
        total: g.add(total, g.mul(advLoss, g.scalar(adv.weight))),
        terms: { l1, ce, adv: advLoss },
        extras: { output: r.output },
      };
    },
  });
}

/** Prefix of the paired objective's discriminator ('D/' + parameter name). */
export const PAIRED_D_PREFIX = 'D/';

/**
 * The paired objective's discriminator step (LSGAN): MSE(D(real), 1) + MSE(D(fake), 0), reported as
 * d_real and d_fake. Batch inputs: real (the clean target), fake (the generator's output). Prefix 'D/'.
 */
export function buildPairedDiscriminatorStep(o: {
  discriminator: Network;
  size: number;
  batchSize?: number;
  adam?: AdamConfig;
}): StepGraph {
  const shape = [o.batchSize ?? 1, o.discriminator.config.channels, o.size, o.size];
  return buildTrainingStep({
    trained: [{ prefix: PAIRED_D_PREFIX, net: o.discriminator }],
    batch: { real: shape, fake: shape },
    adam: o.adam,
    objective(g, nets, b) {
      const d = nets[PAIRED_D_PREFIX] as (x: Value) => NetOutputs;
      const d_real = mseToConstant(g, d(b['real'] as Value).output, 1);
      const d_fake = mseToConstant(g, d(b['fake'] as Value).output, 0);
      return { total: g.add(d_real, d_fake), terms: { d_real, d_fake } };
    },
  });
}

/** Prefixed copy of a weight map ('G_A2B/' + name). */
export function prefixed(prefix: string, w: WeightMap): Map<string, Float32Array> {
  return new Map([...w].map(([k, v]) => [`${prefix}${k}`, v]));
}
/** The weights of one network out of a prefixed map. */
export function unprefixed(prefix: string, all: ReadonlyMap<string, Float32Array>): WeightMap {
  const out: WeightMap = new Map();
  for (const [k, v] of all) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
