// The draft model card a finished run writes beside model.onnx (marked not evaluated).
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parameterCount, type R2CGanTrainer, type SupervisedTrainer } from '../../models/index.ts';
import type { ModelCard } from '../inference/index.ts';
import { slug } from '../util/slug.ts';
import type { RunConfig } from './config.ts';
import type { MetricsRecord } from './metrics.ts';
import { RUN_CONFIG_FORMAT } from './run-folder.ts';

/** How a run's data was split and sampled. */
export interface TrainData {
  train: number;
  validation: number;
  /** Held out for choosing thresholds (0 when the run keeps no calibration split). */
  calibration: number;
  poor: number;
  good: number;
  stepsPerEpoch: number;
}

export function draftCard(
  config: RunConfig,
  trainer: R2CGanTrainer | SupervisedTrainer,
  model: Uint8Array,
  extra: {
    data: TrainData;
    initFromSha256: string | null;
    last: MetricsRecord | undefined;
    stoppedEarly: boolean;
  },
): ModelCard {
  const step = trainer.state.step;
  return {
    format: 'r2c-model-card/1',
    id: `local-${slug(basename(config.outDir)) || 'run'}`,
    version: `draft-step-${step}`,
    name: `R2C-GAN ${config.arch}${config.arch === 'operational' ? ` Q=${config.q}` : ''} trained locally (draft)`,
    file: 'model.onnx',
    sha256: createHash('sha256').update(model).digest('hex'),
    bytes: model.length,
    architecture: {
      kind: config.arch,
      ...(config.arch === 'operational' ? { q: config.q } : {}),
      upsampling: config.upsampling,
      parameters: parameterCount(trainer.generator),
    },
    threshold: 0.5,
    input: { classificationSize: config.size, workingLongSide: Math.max(512, config.size) },
    training: {
      format: RUN_CONFIG_FORMAT,
      steps: step,
      ...(extra.stoppedEarly ? { stoppedEarly: `at step ${step} of a ${config.steps}-step schedule` } : {}),
      size: config.size,
      ...(config.cropSize !== undefined
        ? {
            crops: `${config.cropSize} px crops for the first ${config.cropSteps} steps, then ${config.size} px`,
          }
        : {}),
      ...(config.emaDecay !== undefined ? { weightAverage: `EMA, decay ${config.emaDecay} (exported)` } : {}),
      ...(config.trainOnly !== undefined
        ? {
            trainedLayers: `only ${config.trainOnly.join(', ')}; every other weight kept from the initialisation`,
          }
        : {}),
      width: config.width,
      lr: config.lr,
      decayStart: config.decayStart,
      seed: config.seed,
      augmentation: config.augmentation,
      objective:
        config.objective === 'paired'
          ? `paired: ${config.l1Weight}·L1(G(poor), clean) + ${config.classWeight}·CE${config.adversarialWeight !== undefined ? ` + ${config.adversarialWeight}·LSGAN(D(G(poor)), 1) against a PatchGAN discriminator trained alongside` : ''} on synthetic degradations (${config.cleanFraction} of steps clean)`
          : 'r2c-gan (reference weights)',
      data: basename(config.data),
      split: { seed: config.validation.seed, validationFraction: config.validation.fraction, ...extra.data },
      initialisation: config.initFrom
        ? `G_A2B from ${basename(config.initFrom)} (sha256 ${extra.initFromSha256})${config.objective === 'paired' ? (config.adversarialWeight !== undefined ? '; discriminator fresh (seeded Glorot)' : '') : '; G_B2A, D_A, D_B fresh (seeded Glorot)'}`
        : 'all networks fresh (seeded Glorot)',
      finalLosses: extra.last ? { G: extra.last.G, D: extra.last.D } : null,
      finishedAt: new Date().toISOString(),
    },
    intendedUse:
      'Research and decision support for chest X-ray restoration and COVID-19 classification; not a diagnosis.',
    limitations: [
      'draft: not evaluated; run r2c eval on held-out images before use',
      'trained locally on the data named in training.data; check it is representative',
    ],
  };
}
