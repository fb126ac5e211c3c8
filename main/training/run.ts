// One R2C-GAN training run on this machine: data → unpaired sampler → R2CGanTrainer (G step, image
// pools, D step per iteration), with an append-only metrics log, atomic checkpoints, sample grids,
// resume after a kill, and at the end the deployable G_A2B (model.onnx) with a draft model card.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type Checkpoint,
  type GanTrainerConfig,
  type GanTrainerOptions,
  R2CGanTrainer,
  readWeightsFromOnnx,
  transposedToResizeKernel,
  saveCheckpoint,
  type SessionOptions,
  SupervisedTrainer,
  type SupervisedTrainerConfig,
  type WeightMap,
  writeFileAtomic,
} from '../../models/index.ts';
import { readDicomAsModelInput } from '../inference/index.ts';
import { AppError } from '../util/errors.ts';
import { slug } from '../util/slug.ts';
import type { RunConfig } from './config.ts';
import {
  type AugmentOptions,
  type DegradationOptions,
  classIndexOf,
  createPairedSampler,
  type DatasetItem,
  type LoadImageOptions,
  loadManifest,
  scaleJitterAugmentation,
  scanLabelledFolder,
  splitThreeWay,
  toModelRange,
  type UnpairedSample,
  type UnpairedSampler,
  createUnpairedSampler,
} from '../data/index.ts';
import { draftCard, type TrainData } from './draft-card.ts';
import { appendMetrics, type MetricsRecord, readMetrics, truncateMetrics } from './metrics.ts';
import {
  loadResumableCheckpoint,
  RUN_CONFIG_FORMAT,
  runFiles,
  savedInitSha256,
  trainerConfigFor,
  writeLossPlot,
  writeRunConfig,
} from './run-folder.ts';
import { type GridRow, sampleImages, writeSampleGrid } from './sample-grid.ts';

export { RUN_CONFIG_FORMAT, runFiles };

export interface TrainProgress {
  phase: 'setup' | 'training' | 'finished' | 'cancelled';
  step: number;
  totalSteps: number;
  epoch: number;
  lr: number;
  G: Record<string, number>;
  D: Record<string, number>;
  stepSeconds: number;
  /** Iterations per second over this session's iterations (including checkpoint/sample overhead). */
  itPerSecond: number;
  etaSeconds: number;
}

export interface TrainOptions {
  /** Aborting finishes the current iteration, saves a checkpoint and returns status 'cancelled'. */
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /** Human-readable notes (what was resumed, initialised, written). */
  log?: (line: string) => void;
  /**
   * Ends the run early at this step (or at once, when the checkpoint is already past it) and exports
   * the model as trained so far; the learning-rate schedule stays the config's.
   */
  stopAt?: number;
}

export interface TrainResult {
  status: 'finished' | 'cancelled';
  step: number;
  totalSteps: number;
  /** The checkpoint step this session continued from, or null for a fresh run. */
  resumedFrom: number | null;
  outDir: string;
  files: ReturnType<typeof runFiles>;
  data: TrainData;
  timings: {
    setupSeconds: number;
    /** Wall time of every iteration this session ran (G step + pools + D step). */
    stepSeconds: number[];
    checkpointSeconds: number[];
    sampleSeconds: number[];
    exportSeconds: number | null;
  };
}

/** The augmentation at the full size; with `crop`, the same resize but a smaller random crop. */
function augmentationFor(config: RunConfig, crop?: number): AugmentOptions {
  const full: AugmentOptions =
    config.augmentation === 'scale-jitter'
      ? scaleJitterAugmentation(config.size, 512)
      : // The reference's 286/256 resize margin, at the configured size.
        {
          size: config.size,
          resizeRange: [Math.round((config.size * 286) / 256), Math.round((config.size * 286) / 256)],
          flip: true,
        };
  return crop === undefined ? full : { ...full, size: crop };
}

async function loadItems(path: string, what: string): Promise<DatasetItem[]> {
  const items = path.toLowerCase().endsWith('.csv')
    ? await loadManifest(path, { includeDicom: true })
    : await scanLabelledFolder(path, { includeDicom: true });
  if (items.length === 0)
    throw new AppError(
      'bad_input',
      `${what} ${path} holds no labelled PNG/JPEG/TIFF/DICOM images (covid/ and normal/ folders or a manifest)`,
    );
  return items;
}

async function initialWeightsFrom(
  config: RunConfig,
): Promise<{ weights: WeightMap | undefined; sha256: string | null }> {
  if (!config.initFrom) return { weights: undefined, sha256: null };
  let bytes: Uint8Array;
  try {
    bytes = await readFile(config.initFrom);
  } catch {
    throw new AppError('not_found', `initFrom model ${config.initFrom} does not exist or cannot be read`);
  }
  const { config: net, weights } = readWeightsFromOnnx(bytes, `initFrom model ${basename(config.initFrom)}`);
  const from = net.upsampling ?? 'transposed';
  if (from !== config.upsampling) {
    if (from === 'resize')
      throw new AppError(
        'bad_input',
        `initFrom model ${basename(config.initFrom)} uses resize upsampling; the config asks for ${config.upsampling}`,
      );
    // Transposed -> resize: the same parameters, each upsampling kernel replaced by its closest
    // resize-conv kernel; the fine-tune then adapts them.
    for (const [name, w] of weights)
      if (UPSAMPLING_LAYERS.some((l) => name.startsWith(`${l}.`)) && name.endsWith('.weight'))
        weights.set(name, transposedToResizeKernel(w));
  }
  if (
    net.role !== 'generator' ||
    net.kind !== config.arch ||
    net.q !== config.q ||
    net.width !== config.width ||
    net.channels !== 1
  )
    throw new AppError(
      'bad_input',
      `initFrom model ${basename(config.initFrom)} is a ${net.kind} ${net.role} (q ${net.q}, width ${net.width}, ${net.channels} channel(s)); the config asks for ${config.arch} q ${config.q} width ${config.width}`,
    );
  return { weights, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The generators' upsampling layers (their parameters keep their names in both variants). */
const UPSAMPLING_LAYERS = ['dec', 'up1', 'up2'];

export { slug };

/** One step's decoded, augmented (and degraded) inputs in model range, ready for the trainer. */
interface PreparedStep {
  epoch: number;
  /** Images the step consumes (throughput). */
  images: number;
  batch:
    | { kind: 'gan'; A: Float32Array; B: Float32Array; labelA: number; labelB: number }
    | { kind: 'paired'; input: Float32Array; target: Float32Array; label: number };
}

interface ObjectiveData {
  data: Omit<TrainResult['data'], 'validation' | 'calibration'>;
  prepare(epoch: number, step: number): Promise<PreparedStep>;
  /** A training sample as a sample-grid row (tiny data sets without validation images). */
  gridRow(i: number): Promise<GridRow>;
}

/** DICOM training images are decoded like inference inputs (main/dicom through readInput). */
const LOAD_OPTIONS: LoadImageOptions = { readDicom: readDicomAsModelInput };

function objectiveData(config: RunConfig, train: DatasetItem[], realPoor: DatasetItem[]): ObjectiveData {
  const augmentation = augmentationFor(config);
  if (config.objective === 'paired') {
    const pairedSampler = (a: AugmentOptions, degradation?: DegradationOptions) =>
      createPairedSampler({
        train,
        seed: config.seed,
        augmentation: a,
        cleanFraction: config.cleanFraction,
        loadOptions: LOAD_OPTIONS,
        ...(degradation ? { degradation } : {}),
      });
    const sampler = pairedSampler(augmentation);
    // Crop phase: the same seeded draws (image, flip, degradation), a smaller crop of the same resize.
    // Blur sizes scale with the image side, so the crop side is their reference: a crop gets the blur
    // in pixels that a full-size image of the same resize gets.
    const cropSampler =
      config.cropSize !== undefined
        ? pairedSampler(augmentationFor(config, config.cropSize), { referenceSize: config.cropSize })
        : null;
    const cropSteps = config.cropSteps ?? 0;
    return {
      data: {
        train: train.length,
        poor: train.length,
        good: train.length,
        stepsPerEpoch: sampler.stepsPerEpoch,
      },
      async prepare(epoch, step) {
        const k = epoch * sampler.stepsPerEpoch + step;
        const s = await (cropSampler && k < cropSteps ? cropSampler : sampler).sample(epoch, step);
        return {
          epoch,
          images: 1,
          batch: {
            kind: 'paired',
            input: toModelRange(s.input).data,
            target: toModelRange(s.target).data,
            label: classIndexOf(s.label),
          },
        };
      },
      async gridRow(i) {
        const s = await sampler.sample(0, i);
        return { poor: s.input, clean: s.target };
      },
    };
  }
  const sampler: UnpairedSampler = createUnpairedSampler({
    train,
    seed: config.seed,
    augmentation,
    realPoor,
    loadOptions: LOAD_OPTIONS,
  });
  return {
    data: {
      train: train.length,
      poor: sampler.poorPool.length,
      good: sampler.goodPool.length,
      stepsPerEpoch: sampler.stepsPerEpoch,
    },
    async prepare(epoch, step) {
      const s: UnpairedSample = await sampler.sample(epoch, step);
      return {
        epoch,
        images: 2,
        batch: {
          kind: 'gan',
          A: toModelRange(s.poor.image).data,
          B: toModelRange(s.good.image).data,
          labelA: classIndexOf(s.poor.label),
          labelB: classIndexOf(s.good.label),
        },
      };
    },
    async gridRow(i) {
      // Unpaired: the poor image has no clean counterpart here; the grid's third column is the cycle.
      const s = await sampler.sample(0, i);
      return { poor: s.poor.image, clean: s.poor.image };
    },
  };
}

async function createTrainer(
  config: RunConfig,
  checkpoint: Checkpoint | null,
  initialWeights: WeightMap | undefined,
  session: SessionOptions,
): Promise<R2CGanTrainer | SupervisedTrainer> {
  if (checkpoint)
    return checkpoint.config.mode === 'gan'
      ? R2CGanTrainer.create(checkpoint.config as GanTrainerConfig, checkpoint.state, session)
      : SupervisedTrainer.create(
          checkpoint.config as SupervisedTrainerConfig,
          { state: checkpoint.state },
          session,
        );
  const c = trainerConfigFor(config);
  if (config.objective === 'paired')
    return SupervisedTrainer.create(
      c as Omit<SupervisedTrainerConfig, 'mode' | 'channels'>,
      initialWeights ? { weights: initialWeights } : undefined,
      session,
    );
  const options: GanTrainerOptions & { kind: GanTrainerConfig['kind']; size: number } = {
    ...(c as Omit<GanTrainerConfig, 'mode' | 'weights' | 'channels'>),
    ...(initialWeights ? { initialWeights: { G_A2B: initialWeights } } : {}),
  };
  return R2CGanTrainer.create(options, undefined, session);
}

async function runStep(
  trainer: R2CGanTrainer | SupervisedTrainer,
  prepared: PreparedStep,
): Promise<{ lr: number; G: Record<string, number>; D: Record<string, number> }> {
  const b = prepared.batch;
  if (b.kind === 'gan') {
    if (!(trainer instanceof R2CGanTrainer)) throw new Error('a GAN batch needs the R2C-GAN trainer');
    return trainer.step({ A: b.A, B: b.B, labelA: b.labelA, labelB: b.labelB });
  }
  if (!(trainer instanceof SupervisedTrainer)) throw new Error('a paired batch needs the supervised trainer');
  const lr = trainer.learningRate();
  const losses = await trainer.step(b.input, b.target, b.label);
  // With the adversarial term the trainer also reports its discriminator's d_real and d_fake.
  const { d_real, d_fake, ...G } = losses;
  if (d_real === undefined || d_fake === undefined) return { lr, G: losses, D: {} };
  return { lr, G, D: { total: d_real + d_fake, d_real, d_fake } };
}

/**
 * Trains (or resumes) the run `config` describes in `config.outDir`. An existing checkpoint there is
 * continued when its config matches; a different config is refused. Cancelling via `signal` lets the
 * current iteration finish (so G and D stay consistent), saves a checkpoint and returns 'cancelled'.
 */
export async function train(config: RunConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const files = runFiles(config.outDir);
  const session: SessionOptions = { threads: config.threads };

  const items = await loadItems(config.data, 'training data');
  const {
    train: trainItems,
    validation,
    calibration,
  } = splitThreeWay(items, {
    seed: config.validation.seed,
    validationFraction: config.validation.fraction,
    calibrationFraction: config.validation.calibrationFraction ?? 0,
  });
  const realPoor = config.realPoor ? await loadItems(config.realPoor, 'realPoor folder') : [];
  let objective: ObjectiveData;
  try {
    objective = objectiveData(config, trainItems, realPoor);
  } catch (e) {
    throw new AppError('bad_input', `training data ${basename(config.data)}: ${(e as Error).message}`);
  }
  const data = { validation: validation.length, calibration: calibration.length, ...objective.data };

  await mkdir(files.samples, { recursive: true });
  const checkpoint = await loadResumableCheckpoint(files, config);
  const startStep = checkpoint?.state.step ?? 0;
  const init = checkpoint ? null : await initialWeightsFrom(config);
  // On resume the initFrom file is not needed (the weights are in the checkpoint); its hash is kept
  // in run-config.json from the first start.
  const initFromSha256 = init?.sha256 ?? (await savedInitSha256(files.config));
  const trainer = await createTrainer(config, checkpoint, init?.weights, session);
  try {
    if (checkpoint) {
      const { dropped } = await truncateMetrics(files.metrics, startStep);
      log(
        `resuming from the checkpoint at step ${startStep} of ${config.steps}` +
          (dropped > 0 ? ` (dropped ${dropped} metrics line(s) logged after it)` : '') +
          (trainer instanceof R2CGanTrainer && !checkpoint.state.pools
            ? '; image pools start empty (a checkpoint from before pools were saved)'
            : ''),
      );
    } else {
      await truncateMetrics(files.metrics, 0);
      await writeRunConfig(files, config);
      log(
        config.objective === 'paired'
          ? (config.initFrom
              ? `paired fine-tuning of the generator from ${basename(config.initFrom)}`
              : 'paired training of a fresh generator (seeded Glorot init)') +
              (config.adversarialWeight !== undefined
                ? `, with an adversarial term (weight ${config.adversarialWeight}) against a fresh discriminator`
                : '')
          : config.initFrom
            ? `G_A2B starts from ${basename(config.initFrom)}; G_B2A, D_A and D_B start fresh (seeded Glorot init)`
            : 'all four networks start fresh (seeded Glorot init)',
      );
    }
    log(
      config.objective === 'paired'
        ? `data: ${data.train} training images, each degraded on the fly (${config.cleanFraction} of steps clean), ${data.validation} held out for validation${data.calibration ? ` and ${data.calibration} for calibration` : ''}; ${data.stepsPerEpoch} steps per epoch`
        : `data: ${data.train} training images (${data.poor} poor-domain, ${data.good} good-domain), ${data.validation} held out for validation${data.calibration ? ` and ${data.calibration} for calibration` : ''}; ${data.stepsPerEpoch} steps per epoch`,
    );
    const samples = await sampleImages(
      config,
      validation,
      objective.gridRow,
      data.stepsPerEpoch,
      LOAD_OPTIONS,
    );
    const timings: TrainResult['timings'] = {
      setupSeconds: (performance.now() - t0) / 1000,
      stepSeconds: [],
      checkpointSeconds: [],
      sampleSeconds: [],
      exportSeconds: null,
    };
    const total =
      options.stopAt !== undefined
        ? Math.max(startStep, Math.min(options.stopAt, config.steps))
        : config.steps;
    const spe = data.stepsPerEpoch;
    const sampleAt = (k: number) => objective.prepare(Math.floor(k / spe), k % spe);
    const progress = (phase: TrainProgress['phase'], last: Partial<TrainProgress> = {}) => {
      const done = trainer.state.step - startStep;
      const elapsed = (performance.now() - loopStart) / 1000;
      const rate = done > 0 && elapsed > 0 ? done / elapsed : 0;
      options.onProgress?.({
        phase,
        step: trainer.state.step,
        totalSteps: total,
        epoch: Math.floor(Math.max(0, trainer.state.step - 1) / spe),
        lr: last.lr ?? trainer.learningRate(),
        G: last.G ?? {},
        D: last.D ?? {},
        stepSeconds: last.stepSeconds ?? 0,
        itPerSecond: rate,
        etaSeconds: rate > 0 ? (total - trainer.state.step) / rate : Number.NaN,
      });
    };
    const checkpointNow = async () => {
      const c0 = performance.now();
      await saveCheckpoint(files.checkpoint, {
        config: trainer.config,
        state: trainer.state,
      });
      await writeLossPlot(files);
      timings.checkpointSeconds.push((performance.now() - c0) / 1000);
    };
    const sampleNow = async () => {
      const s0 = performance.now();
      const name = `step-${String(trainer.state.step).padStart(6, '0')}.png`;
      await writeSampleGrid(trainer, samples, join(files.samples, name), session);
      timings.sampleSeconds.push((performance.now() - s0) / 1000);
    };

    options.signal?.addEventListener(
      'abort',
      () => log('stopping: finishing the current step, then saving a checkpoint'),
      { once: true },
    );
    const loopStart = performance.now();
    progress('setup');
    let next: Promise<PreparedStep> | null = startStep < total ? sampleAt(startStep) : null;
    let cancelled = false;
    let last: MetricsRecord | undefined;
    while (trainer.state.step < total) {
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      const k = trainer.state.step;
      const sample = await (next as Promise<PreparedStep>);
      // Prefetch: decode, augment and degrade the next pair while onnxruntime runs this step.
      next = k + 1 < total ? sampleAt(k + 1) : null;
      next?.catch(() => {});
      const s0 = performance.now();
      // No signal here: an iteration is G step + D step, and stopping between them would save a
      // checkpoint whose generators and discriminators are one update apart.
      const r = await runStep(trainer, sample);
      const stepSeconds = (performance.now() - s0) / 1000;
      timings.stepSeconds.push(stepSeconds);
      const done = trainer.state.step;
      last = {
        step: done,
        epoch: sample.epoch,
        lr: r.lr,
        G: r.G,
        D: r.D,
        stepSeconds,
        imagesPerSecond: sample.images / stepSeconds,
        time: new Date().toISOString(),
      };
      if (done % config.logEvery === 0 || done === total) await appendMetrics(files.metrics, last);
      progress('training', last);
      if (done % config.checkpointEvery === 0 && done < total) await checkpointNow();
      if (done % config.sampleEvery === 0 || done === total) await sampleNow();
    }
    if (cancelled) {
      if (trainer.state.step > startStep || !checkpoint) await checkpointNow();
      log(`stopped at step ${trainer.state.step}; checkpoint saved to ${files.checkpoint}`);
      progress('cancelled');
      return {
        status: 'cancelled',
        step: trainer.state.step,
        totalSteps: total,
        resumedFrom: checkpoint ? startStep : null,
        outDir: config.outDir,
        files,
        data,
        timings,
      };
    }
    await checkpointNow();
    const e0 = performance.now();
    const model = trainer.exportInferenceModel();
    await writeFileAtomic(files.model, model);
    if (!last) last = (await readMetrics(files.metrics)).at(-1);
    const card = draftCard(config, trainer, model, {
      data,
      initFromSha256,
      last,
      stoppedEarly: total < config.steps,
    });
    await writeFileAtomic(files.card, Buffer.from(`${JSON.stringify(card, null, 1)}\n`, 'utf8'));
    timings.exportSeconds = (performance.now() - e0) / 1000;
    log(
      `${total < config.steps ? `stopped early after ${total} of ${config.steps}` : `finished ${total}`} steps; model ${files.model}, draft card ${files.card}`,
    );
    progress('finished');
    return {
      status: 'finished',
      step: trainer.state.step,
      totalSteps: total,
      resumedFrom: checkpoint ? startStep : null,
      outDir: config.outDir,
      files,
      data,
      timings,
    };
  } finally {
    await trainer.release();
  }
}
