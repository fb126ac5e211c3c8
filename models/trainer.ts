// Runs training-step graphs with onnxruntime-node and keeps the training state (weights, Adam
// moments, step) in plain Float32Arrays, so checkpoints and exports need no framework.
import * as ort from 'onnxruntime-node';
import { AppError, cancelledError } from '../main/util/errors.ts';
import { buildInferenceModel, ortSessionOptions, type SessionOptions } from './inference.ts';
import {
  type ArchKind,
  checkWeights,
  initWeights,
  type Network,
  r2cGanNetworks,
  seededRandom,
  sizeMultiple,
  type Upsampling,
  type WeightMap,
} from './nets.ts';
import {
  buildDiscriminatorStep,
  buildGeneratorStep,
  buildPairedDiscriminatorStep,
  buildSupervisedStep,
  GAN_PREFIXES,
  type GanWeights,
  learningRateAt,
  type LrSchedule,
  PAIRED_D_PREFIX,
  prefixed,
  REFERENCE_LR,
  REFERENCE_WEIGHTS,
  type StepGraph,
  scheduleVector,
  unprefixed,
} from './training.ts';

/** Weights and Adam moments keyed by full parameter name ('G_A2B/enc.q1.weight'), plus the step. */
export interface TrainState {
  step: number;
  weights: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /**
   * GAN image pools ('A2B', 'B2A': past fakes), kept in the state so a checkpoint holds them and a
   * resumed run continues exactly; absent for other trainers and in checkpoints from before pools were saved.
   */
  pools?: Map<string, Float32Array[]>;
  /** Exponential moving average of `weights` (same keys), when the run keeps one. */
  ema?: Map<string, Float32Array>;
}

export interface StepResult {
  losses: Record<string, number>;
  lr: number;
  extras: Record<string, { data: Float32Array; dims: number[] }>;
}

/** One compiled training step; `run` updates the trained entries of `state` in place. */
export class StepRunner {
  private constructor(
    readonly graph: StepGraph,
    private readonly session: ort.InferenceSession,
  ) {}

  static async create(graph: StepGraph, o: SessionOptions = {}): Promise<StepRunner> {
    const session = await ort.InferenceSession.create(graph.bytes, ortSessionOptions(o));
    return new StepRunner(graph, session);
  }

  async run(
    state: TrainState,
    schedule: LrSchedule,
    batch: Record<string, Float32Array>,
  ): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = {};
    const tensor = (name: string, data: Float32Array | undefined, dims: readonly number[]) => {
      const n = dims.reduce((a, b) => a * b, 1);
      if (!data) throw new AppError('bad_input', `training step input ${name} is missing`);
      if (data.length !== n)
        throw new AppError(
          'bad_input',
          `training step input ${name} has ${data.length} values, expected ${n}`,
        );
      feeds[name] = new ort.Tensor('float32', data, [...dims]);
    };
    for (const [name, dims] of Object.entries(this.graph.batch)) {
      const data = batch[name];
      if (data)
        for (let i = 0; i < data.length; i++)
          if (!Number.isFinite(data[i])) throw new AppError('bad_input', `${name} value ${i} is not finite`);
      tensor(name, data, dims);
    }
    for (const name of this.graph.inputNames) {
      if (name in feeds) continue;
      const base = name.startsWith('m:') || name.startsWith('v:') ? name.slice(2) : name;
      const src = name.startsWith('m:') ? state.m : name.startsWith('v:') ? state.v : state.weights;
      if (name === 'step') feeds[name] = new ort.Tensor('float32', Float32Array.of(state.step), []);
      else if (name === 'lr_schedule') feeds[name] = new ort.Tensor('float32', scheduleVector(schedule), [3]);
      else {
        const dims = this.graph.inputShapes[name] as number[];
        let data = src.get(base);
        if (!data && src !== state.weights) {
          // Fresh Adam moments start at zero.
          data = new Float32Array(dims.reduce((a, b) => a * b, 1));
          src.set(base, data);
        }
        if (!data) throw new AppError('bad_input', `training state has no parameter ${name}`);
        tensor(name, data, dims);
      }
    }
    const out = await this.session.run(feeds);
    const scalar = (name: string) => Number((out[name] as ort.Tensor).data[0]);
    const losses: Record<string, number> = {};
    for (const name of this.graph.losses) losses[name] = scalar(name);
    if (!Number.isFinite(losses['total']))
      throw new AppError(
        'internal',
        `training step produced a non-finite loss (${losses['total']}); state left unchanged`,
      );
    for (const name of this.graph.trained) {
      state.weights.set(name, (out[`${name}:next`] as ort.Tensor).data as Float32Array);
      state.m.set(name, (out[`m:${name}:next`] as ort.Tensor).data as Float32Array);
      state.v.set(name, (out[`v:${name}:next`] as ort.Tensor).data as Float32Array);
    }
    const extras: StepResult['extras'] = {};
    for (const name of this.graph.extras) {
      const t = out[name] as ort.Tensor;
      extras[name] = { data: t.data as Float32Array, dims: [...t.dims] };
    }
    return { losses, lr: scalar('lr'), extras };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Reference image pool (50 past fakes): with probability 1/2 swap the new fake for an old one.
 * `items` is owned by the caller (the training state), so it can be checkpointed.
 */
export class ImagePool {
  constructor(
    private readonly size: number,
    private readonly items: Float32Array[] = [],
  ) {}
  query(image: Float32Array, random: () => number): Float32Array {
    if (this.size === 0) return image;
    if (this.items.length < this.size) {
      this.items.push(image);
      return image;
    }
    if (random() > 0.5) {
      const i = Math.floor(random() * this.size);
      const old = this.items[i] as Float32Array;
      this.items[i] = image;
      return old;
    }
    return image;
  }
}

export interface GanTrainerConfig {
  mode: 'gan';
  kind: ArchKind;
  q: number;
  width: number;
  channels: number;
  /** Generators' x2 upsampling; absent = the reference's transposed conv. */
  upsampling?: Upsampling;
  /** Square training crop size. */
  size: number;
  schedule: LrSchedule;
  weights: GanWeights;
  poolSize: number;
  seed: number;
}

export interface GanTrainerOptions extends Partial<Omit<GanTrainerConfig, 'mode' | 'kind' | 'size'>> {
  kind: ArchKind;
  size: number;
  /** Start from given weights (e.g. a shipped G_A2B read with readWeightsFromOnnx); others are fresh. */
  initialWeights?: Partial<Record<'G_A2B' | 'G_B2A' | 'D_A' | 'D_B', WeightMap>>;
}

export interface GanBatch {
  A: Float32Array;
  B: Float32Array;
  /** Class index of A and B: 0 normal, 1 COVID-19. */
  labelA: number;
  labelB: number;
}

function oneHot(label: number): Float32Array {
  if (label !== 0 && label !== 1) throw new AppError('bad_input', `class label must be 0 or 1, got ${label}`);
  return label === 1 ? Float32Array.of(0, 1) : Float32Array.of(1, 0);
}

function shapesOf(prefix: string, net: Network): Map<string, number[]> {
  return new Map(net.params.map((p) => [`${prefix}${p.name}`, p.shape]));
}

/** The full R2C-GAN training loop step (G step, image pools, D step), batch size 1 like the reference. */
export class R2CGanTrainer {
  private constructor(
    readonly config: GanTrainerConfig,
    readonly state: TrainState,
    readonly generator: Network,
    readonly discriminator: Network,
    private readonly gStep: StepRunner,
    private readonly dStep: StepRunner,
    private readonly poolA2B: ImagePool,
    private readonly poolB2A: ImagePool,
  ) {}

  static async create(
    o: GanTrainerOptions,
    state?: TrainState,
    session: SessionOptions = {},
  ): Promise<R2CGanTrainer> {
    const config: GanTrainerConfig = {
      mode: 'gan',
      kind: o.kind,
      q: o.q ?? 3,
      width: o.width ?? 64,
      channels: o.channels ?? 1,
      size: o.size,
      schedule: o.schedule ?? { lr: REFERENCE_LR, decayStart: 1e9, totalSteps: 2e9 },
      weights: o.weights ?? REFERENCE_WEIGHTS,
      poolSize: o.poolSize ?? 50,
      seed: o.seed ?? 1,
    };
    if (o.upsampling === 'resize') config.upsampling = 'resize';
    scheduleVector(config.schedule);
    const { generator, discriminator } = r2cGanNetworks(config.kind, config);
    const opts = { generator, discriminator, size: config.size, weights: config.weights };
    const P = GAN_PREFIXES;
    const given = o.initialWeights ?? {};
    const start = (key: keyof typeof given, net: Network, seed: number) => {
      const w = given[key];
      if (!w) return initWeights(net, seed);
      try {
        checkWeights(net, w, `initial ${key} weights`);
      } catch (e) {
        throw new AppError('bad_input', (e as Error).message);
      }
      return w;
    };
    const s: TrainState = state ?? {
      step: 0,
      weights: new Map([
        ...prefixed(P.gA2B, start('G_A2B', generator, config.seed)),
        ...prefixed(P.gB2A, start('G_B2A', generator, config.seed + 1)),
        ...prefixed(P.dA, start('D_A', discriminator, config.seed + 2)),
        ...prefixed(P.dB, start('D_B', discriminator, config.seed + 3)),
      ]),
      m: new Map(),
      v: new Map(),
    };
    const shapes = new Map([
      ...shapesOf(P.gA2B, generator),
      ...shapesOf(P.gB2A, generator),
      ...shapesOf(P.dA, discriminator),
      ...shapesOf(P.dB, discriminator),
    ]);
    for (const name of shapes.keys())
      if (!s.weights.has(name)) throw new AppError('integrity', `training state lacks parameter ${name}`);
    const g = await StepRunner.create(buildGeneratorStep(opts), session);
    const d = await StepRunner.create(buildDiscriminatorStep(opts), session);
    if (!s.pools) s.pools = new Map();
    for (const key of ['A2B', 'B2A']) {
      const items = s.pools.get(key) ?? [];
      const n = config.channels * config.size * config.size;
      if (items.length > config.poolSize || items.some((a) => a.length !== n))
        throw new AppError('integrity', `training state's ${key} image pool does not fit this config`);
      s.pools.set(key, items);
    }
    return new R2CGanTrainer(
      config,
      s,
      generator,
      discriminator,
      g,
      d,
      new ImagePool(config.poolSize, s.pools.get('A2B')),
      new ImagePool(config.poolSize, s.pools.get('B2A')),
    );
  }

  /** One reference iteration: generator step, pool the fakes, discriminator step; then step += 1. */
  async step(
    batch: GanBatch,
    signal?: AbortSignal,
  ): Promise<{ G: Record<string, number>; D: Record<string, number>; lr: number }> {
    if (signal?.aborted) throw cancelledError('training step');
    const n = this.config.channels * this.config.size * this.config.size;
    for (const k of ['A', 'B'] as const)
      if (batch[k].length !== n)
        throw new AppError(
          'bad_input',
          `${k} must be ${this.config.channels}x${this.config.size}x${this.config.size}, got ${batch[k].length} values`,
        );
    const labelA = oneHot(batch.labelA);
    const labelB = oneHot(batch.labelB);
    const g = await this.gStep.run(this.state, this.config.schedule, {
      A: batch.A,
      B: batch.B,
      labelA,
      labelB,
    });
    // Seeded per step, so a run resumed from a checkpoint (pools included) draws what the uninterrupted run would.
    const random = seededRandom(this.config.seed * 7919 + this.state.step);
    const A2B = this.poolA2B.query((g.extras['A2B'] as { data: Float32Array }).data, random);
    const B2A = this.poolB2A.query((g.extras['B2A'] as { data: Float32Array }).data, random);
    if (signal?.aborted) throw cancelledError('training step');
    const d = await this.dStep.run(this.state, this.config.schedule, { A: batch.A, B: batch.B, A2B, B2A });
    this.state.step += 1;
    return { G: g.losses, D: d.losses, lr: g.lr };
  }

  learningRate(): number {
    return learningRateAt(this.config.schedule, this.state.step);
  }

  /** Dense-op work of one iteration (generator step + discriminator step), in FLOP. */
  get flopsPerIteration(): number {
    return this.gStep.graph.flops + this.dStep.graph.flops;
  }

  generatorWeights(which: 'G_A2B' | 'G_B2A' = 'G_A2B'): WeightMap {
    return unprefixed(`${which}/`, this.state.weights);
  }

  /** The deployable inference model of G_A2B (or G_B2A). */
  exportInferenceModel(which: 'G_A2B' | 'G_B2A' = 'G_A2B'): Uint8Array {
    return buildInferenceModel(this.generator, this.generatorWeights(which));
  }

  async release(): Promise<void> {
    await this.gStep.release();
    await this.dStep.release();
  }
}

export interface SupervisedTrainerConfig {
  mode: 'supervised';
  kind: ArchKind;
  q: number;
  width: number;
  channels: number;
  /** Generators' x2 upsampling; absent = the reference's transposed conv. */
  upsampling?: Upsampling;
  /** Full training size (the last phase's square side). */
  size: number;
  schedule: LrSchedule;
  l1Weight: number;
  classWeight: number;
  seed: number;
  /**
   * Exponential moving average of the weights (kept in the state, exported instead of the raw
   * weights); absent = no average.
   */
  emaDecay?: number;
  /**
   * Parameter-name prefixes that train (e.g. ['dec'] refits only the output layer, so the encoder and
   * class branch, and with them the classification, stay exactly as initialised); absent = all.
   */
  trainOnly?: string[];
  /**
   * Weight of the least-squares GAN term against a PatchGAN discriminator trained alongside (state
   * 'D/...'), added to the paired L1 + class objective (pix2pix-style); absent = no GAN term.
   */
  adversarialWeight?: number;
}

/** EMA decay at a step: ramps up early so the average is not dominated by the initial weights. */
export function emaDecayAt(decay: number, step: number): number {
  return Math.min(decay, (1 + step) / (10 + step));
}

/** The generator's and, with an adversarial term, the discriminator's compiled steps at one size. */
interface SupervisedRunners {
  g: StepRunner;
  d: StepRunner | null;
}

/**
 * Paired fine-tuning of one generator (e.g. a shipped model on local paired data). Prefix 'G/'; with
 * `adversarialWeight`, also a discriminator under 'D/' trained each step after the generator.
 */
export class SupervisedTrainer {
  /** One compiled step per input size (crops, then full images); weights are size-independent. */
  private readonly runners = new Map<number, Promise<SupervisedRunners>>();

  private constructor(
    readonly config: SupervisedTrainerConfig,
    readonly state: TrainState,
    readonly generator: Network,
    /** The adversarial term's discriminator; null without one. */
    readonly discriminator: Network | null,
    private readonly session: SessionOptions,
  ) {}

  static async create(
    o: Partial<Omit<SupervisedTrainerConfig, 'mode'>> & { kind: ArchKind; size: number },
    init?: { state?: TrainState; weights?: WeightMap },
    session: SessionOptions = {},
  ): Promise<SupervisedTrainer> {
    const config: SupervisedTrainerConfig = {
      mode: 'supervised',
      kind: o.kind,
      q: o.q ?? 3,
      width: o.width ?? 64,
      channels: o.channels ?? 1,
      size: o.size,
      schedule: o.schedule ?? { lr: REFERENCE_LR, decayStart: 1e9, totalSteps: 2e9 },
      l1Weight: o.l1Weight ?? 1,
      classWeight: o.classWeight ?? 0.1,
      seed: o.seed ?? 1,
    };
    // Optional fields only when set, so configs of runs made before them compare equal.
    if (o.upsampling === 'resize') config.upsampling = 'resize';
    if (o.emaDecay !== undefined) {
      if (!(o.emaDecay > 0 && o.emaDecay < 1)) throw new AppError('bad_input', 'emaDecay must be in (0, 1)');
      config.emaDecay = o.emaDecay;
    }
    if (o.adversarialWeight !== undefined) {
      if (!(o.adversarialWeight > 0 && Number.isFinite(o.adversarialWeight)))
        throw new AppError('bad_input', 'adversarialWeight must be a positive number');
      config.adversarialWeight = o.adversarialWeight;
    }
    scheduleVector(config.schedule);
    const { generator, discriminator } = r2cGanNetworks(config.kind, config);
    if (o.trainOnly !== undefined) {
      const names = generator.params.map((p) => p.name);
      for (const prefix of o.trainOnly)
        if (!names.some((n) => n === prefix || n.startsWith(`${prefix}.`)))
          throw new AppError(
            'bad_input',
            `trainOnly: the generator has no parameter ${prefix} (it has ${[...new Set(names.map((n) => n.split('.')[0]))].join(', ')})`,
          );
      if (o.trainOnly.length === 0)
        throw new AppError('bad_input', 'trainOnly must name at least one parameter');
      config.trainOnly = [...o.trainOnly];
    }
    const state: TrainState = init?.state ?? {
      step: 0,
      weights: prefixed('G/', init?.weights ?? initWeights(generator, config.seed)),
      m: new Map(),
      v: new Map(),
    };
    const adversarial = config.adversarialWeight !== undefined;
    if (adversarial) {
      const shapes = shapesOf(PAIRED_D_PREFIX, discriminator);
      // A resumed state brings its discriminator (and its Adam moments); a fresh one gets a seeded init.
      if (![...state.weights.keys()].some((k) => k.startsWith(PAIRED_D_PREFIX)))
        for (const [k, v] of prefixed(PAIRED_D_PREFIX, initWeights(discriminator, config.seed + 2)))
          state.weights.set(k, v);
      for (const [name, shape] of shapes)
        if (state.weights.get(name)?.length !== shape.reduce((a, b) => a * b, 1))
          throw new AppError('integrity', `training state lacks discriminator parameter ${name}`);
    }
    // The average covers the generator only (what is exported), never the discriminator.
    if (config.emaDecay !== undefined && !state.ema)
      state.ema = new Map(
        [...state.weights].filter(([k]) => k.startsWith('G/')).map(([k, v]) => [k, Float32Array.from(v)]),
      );
    const trainer = new SupervisedTrainer(
      config,
      state,
      generator,
      adversarial ? discriminator : null,
      session,
    );
    await trainer.runnerFor(config.size);
    return trainer;
  }

  private runnerFor(size: number): Promise<SupervisedRunners> {
    let r = this.runners.get(size);
    if (!r) {
      const { discriminator: disc, config } = this;
      const adversarial =
        disc && config.adversarialWeight !== undefined
          ? { discriminator: disc, weight: config.adversarialWeight }
          : undefined;
      r = (async () => {
        const g = await StepRunner.create(
          buildSupervisedStep({
            generator: this.generator,
            size,
            l1Weight: config.l1Weight,
            classWeight: config.classWeight,
            ...(config.trainOnly ? { trainOnly: config.trainOnly } : {}),
            ...(adversarial ? { adversarial } : {}),
          }),
          this.session,
        );
        const d = disc
          ? await StepRunner.create(buildPairedDiscriminatorStep({ discriminator: disc, size }), this.session)
          : null;
        return { g, d };
      })();
      this.runners.set(size, r);
    }
    return r;
  }

  /** One step on a square image pair; its side (a crop or the full size) picks the compiled step. */
  async step(input: Float32Array, target: Float32Array, label: number): Promise<Record<string, number>> {
    const side = Math.round(Math.sqrt(input.length / this.config.channels));
    if (side * side * this.config.channels !== input.length)
      throw new AppError('bad_input', `training input of ${input.length} values is not a square image`);
    if (this.discriminator && side % sizeMultiple(this.discriminator) !== 0)
      throw new AppError(
        'bad_input',
        `with the adversarial term the image side must be a multiple of ${sizeMultiple(this.discriminator)}, got ${side}`,
      );
    const runners = await this.runnerFor(side);
    const r = await runners.g.run(this.state, this.config.schedule, {
      input,
      target,
      label: oneHot(label),
    });
    let losses = r.losses;
    if (runners.d) {
      // D sees this step's fake directly: no image pool (as in pix2pix; the L1 term anchors G), so
      // the D step depends on this step's images only and a resumed run needs no pool state.
      const fake = (r.extras['output'] as { data: Float32Array }).data;
      const d = await runners.d.run(this.state, this.config.schedule, { real: target, fake });
      losses = { ...losses, d_real: d.losses['d_real'] as number, d_fake: d.losses['d_fake'] as number };
    }
    this.state.step += 1;
    this.updateAverage();
    return losses;
  }

  private updateAverage(): void {
    const { ema } = this.state;
    if (this.config.emaDecay === undefined || !ema) return;
    const d = emaDecayAt(this.config.emaDecay, this.state.step);
    for (const [name, w] of this.state.weights) {
      if (!name.startsWith('G/')) continue;
      const a = ema.get(name);
      if (!a) throw new Error(`EMA of ${name} is missing`);
      for (let i = 0; i < w.length; i++) a[i] = d * (a[i] as number) + (1 - d) * (w[i] as number);
    }
  }

  learningRate(): number {
    return learningRateAt(this.config.schedule, this.state.step);
  }

  /** FLOP (2 x multiply-adds of the dense ops) of one step at this square size (compiles it if needed). */
  async flopsPerStep(size: number): Promise<number> {
    const { g, d } = await this.runnerFor(size);
    return g.graph.flops + (d?.graph.flops ?? 0);
  }

  /** The trained weights as they are. */
  weights(): WeightMap {
    return unprefixed('G/', this.state.weights);
  }

  /** What gets exported: the weight average when the run keeps one, else the trained weights. */
  exportWeights(): WeightMap {
    return this.state.ema ? unprefixed('G/', this.state.ema) : this.weights();
  }

  exportInferenceModel(): Uint8Array {
    return buildInferenceModel(this.generator, this.exportWeights());
  }

  async release(): Promise<void> {
    for (const r of this.runners.values()) {
      const { g, d } = await r;
      await g.release();
      await d?.release();
    }
    this.runners.clear();
  }
}
