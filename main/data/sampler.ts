import { cancelledError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import type { AugmentOptions, AugmentParams } from './augment.ts';
import { augment } from './augment.ts';
import type { DatasetItem, Label, LoadImageOptions } from './dataset.ts';
import { loadItemImage } from './dataset.ts';
import type { DegradationOptions, SampledArtifact } from './degrade.ts';
import { degrade } from './degrade.ts';
import { Rng } from './random.ts';
import { splitGrouped } from './split.ts';

export interface PoorSample {
  /** [0,1], augmented, then degraded when synthetic. */
  image: GrayImage;
  label: Label;
  itemId: string;
  /** The synthetic artifacts; null for a real poor-quality image. */
  artifacts: SampledArtifact[] | null;
  augmentation: AugmentParams;
}

export interface GoodSample {
  image: GrayImage;
  label: Label;
  itemId: string;
  augmentation: AugmentParams;
}

export interface UnpairedSample {
  epoch: number;
  step: number;
  poor: PoorSample;
  good: GoodSample;
}

export interface UnpairedSamplerOptions {
  /** The training split (never the validation split). */
  train: readonly DatasetItem[];
  seed: number | string;
  augmentation: AugmentOptions;
  degradation?: DegradationOptions;
  /**
   * Degrade part of `train` to make the poor domain (default true). The train items are then split
   * into disjoint halves, grouped by patient like the train/validation split: A is degraded, B stays clean.
   */
  synthetic?: boolean;
  /** Share of `train` that goes to the synthetic poor subset A. Default 0.5. */
  poorFraction?: number;
  /** Real poor-quality images (used as they are), instead of or besides the synthetic ones. */
  realPoor?: readonly DatasetItem[];
  /** Image loader; default loadItemImage (PNG/JPEG, DICOM through `loadOptions.readDicom`). */
  loadImage?: (item: DatasetItem) => Promise<GrayImage>;
  loadOptions?: LoadImageOptions;
}

export interface UnpairedSampler {
  /** Poor-domain sources: synthetic subset A then real poor images. */
  readonly poorPool: readonly { item: DatasetItem; synthetic: boolean }[];
  readonly goodPool: readonly DatasetItem[];
  /** max(|poor|, |good|): the shorter pool wraps around within an epoch. */
  readonly stepsPerEpoch: number;
  /** The sample at (epoch, step); a pure function of the seed, epoch and step. */
  sample(epoch: number, step: number): Promise<UnpairedSample>;
  /** All steps of one epoch in order. */
  epoch(epoch: number, signal?: AbortSignal): AsyncGenerator<UnpairedSample>;
}

/**
 * Unpaired poor/good sampler for CycleGAN-style training. Poor and good images come from disjoint image
 * sets; each epoch visits both pools in a seeded order; augmentation and degradation seeds derive from
 * (seed, epoch, step), so any sample can be reproduced alone, in any order or worker.
 */
export function createUnpairedSampler(options: UnpairedSamplerOptions): UnpairedSampler {
  const synthetic = options.synthetic ?? true;
  const realPoor = options.realPoor ?? [];
  const load = options.loadImage ?? ((item: DatasetItem) => loadItemImage(item, options.loadOptions));
  let poorPool: { item: DatasetItem; synthetic: boolean }[];
  let goodPool: DatasetItem[];
  if (synthetic) {
    const [b, a] = splitGrouped(options.train, {
      seed: new Rng(options.seed, 'unpaired-subsets').nextUint32(),
      fraction: options.poorFraction ?? 0.5,
    });
    poorPool = a.map((item) => ({ item, synthetic: true }));
    goodPool = b;
  } else {
    poorPool = [];
    goodPool = [...options.train];
  }
  poorPool.push(...realPoor.map((item) => ({ item, synthetic: false })));
  if (poorPool.length === 0)
    throw new RangeError('the poor-quality pool is empty: enable synthetic or give realPoor');
  if (goodPool.length === 0) throw new RangeError('the good-quality pool is empty');
  const stepsPerEpoch = Math.max(poorPool.length, goodPool.length);
  const orders = new Map<number, { poor: number[]; good: number[] }>();
  const orderOf = (epoch: number) => {
    let order = orders.get(epoch);
    if (!order) {
      const rng = new Rng(options.seed, 'order', epoch);
      order = {
        poor: rng.shuffle(poorPool.map((_, i) => i)),
        good: rng.shuffle(goodPool.map((_, i) => i)),
      };
      orders.clear(); // keep one epoch's order; epochs are visited in sequence
      orders.set(epoch, order);
    }
    return order;
  };

  const sample = async (epoch: number, step: number): Promise<UnpairedSample> => {
    if (!Number.isInteger(step) || step < 0 || step >= stepsPerEpoch) {
      throw new RangeError(`step ${step} is outside the epoch (0..${stepsPerEpoch - 1})`);
    }
    const order = orderOf(epoch);
    const poorEntry = poorPool[order.poor[step % poorPool.length]!]!;
    const goodItem = goodPool[order.good[step % goodPool.length]!]!;
    const [poorRaw, goodRaw] = await Promise.all([load(poorEntry.item), load(goodItem)]);
    const poorAug = augment(
      poorRaw,
      new Rng(options.seed, 'augment-poor', epoch, step),
      options.augmentation,
    );
    const goodAug = augment(
      goodRaw,
      new Rng(options.seed, 'augment-good', epoch, step),
      options.augmentation,
    );
    let poorImage = poorAug.image;
    let artifacts: SampledArtifact[] | null = null;
    if (poorEntry.synthetic) {
      const degraded = degrade(poorImage, new Rng(options.seed, 'degrade', epoch, step), options.degradation);
      poorImage = degraded.image;
      artifacts = degraded.artifacts;
    }
    return {
      epoch,
      step,
      poor: {
        image: poorImage,
        label: poorEntry.item.label,
        itemId: poorEntry.item.id,
        artifacts,
        augmentation: poorAug.params,
      },
      good: {
        image: goodAug.image,
        label: goodItem.label,
        itemId: goodItem.id,
        augmentation: goodAug.params,
      },
    };
  };

  return {
    poorPool,
    goodPool,
    stepsPerEpoch,
    sample,
    async *epoch(epoch: number, signal?: AbortSignal) {
      for (let step = 0; step < stepsPerEpoch; step++) {
        if (signal?.aborted) throw cancelledError('training data sampling');
        yield await sample(epoch, step);
      }
    },
  };
}

export interface PairedSample {
  epoch: number;
  step: number;
  /** [0,1]: the augmented image, degraded unless this step is a clean (identity) step. */
  input: GrayImage;
  /** [0,1]: the same augmented image, clean. */
  target: GrayImage;
  label: Label;
  itemId: string;
  /** The synthetic artifacts; empty for a clean step. */
  artifacts: SampledArtifact[];
  augmentation: AugmentParams;
}

export interface PairedSamplerOptions {
  /** The training split (never the validation split). */
  train: readonly DatasetItem[];
  seed: number | string;
  augmentation: AugmentOptions;
  degradation?: DegradationOptions;
  /** Share of steps whose input is the clean image (identity pairs). Default 0.25. */
  cleanFraction?: number;
  loadImage?: (item: DatasetItem) => Promise<GrayImage>;
  loadOptions?: LoadImageOptions;
}

export interface PairedSampler {
  readonly stepsPerEpoch: number;
  /** The sample at (epoch, step); a pure function of the seed, epoch and step. */
  sample(epoch: number, step: number): Promise<PairedSample>;
}

/**
 * Paired (poor, clean) sampler for supervised fine-tuning: every training image, in a seeded order per
 * epoch, augmented, then degraded with the blind degradation model (or kept clean for a share of steps).
 * The clean target is known because the degradation is synthetic.
 */
export function createPairedSampler(options: PairedSamplerOptions): PairedSampler {
  const items = [...options.train];
  if (items.length === 0) throw new RangeError('the training set is empty');
  const cleanFraction = options.cleanFraction ?? 0.25;
  if (!(cleanFraction >= 0 && cleanFraction < 1))
    throw new RangeError(`cleanFraction must be in [0, 1), got ${cleanFraction}`);
  const load = options.loadImage ?? ((item: DatasetItem) => loadItemImage(item, options.loadOptions));
  let order: { epoch: number; indices: number[] } | null = null;
  const orderOf = (epoch: number) => {
    if (order?.epoch !== epoch)
      order = {
        epoch,
        indices: new Rng(options.seed, 'paired-order', epoch).shuffle(items.map((_, i) => i)),
      };
    return order.indices;
  };
  return {
    stepsPerEpoch: items.length,
    async sample(epoch, step) {
      if (!Number.isInteger(step) || step < 0 || step >= items.length)
        throw new RangeError(`step ${step} is outside the epoch (0..${items.length - 1})`);
      const item = items[orderOf(epoch)[step]!]!;
      const aug = augment(
        await load(item),
        new Rng(options.seed, 'augment-paired', epoch, step),
        options.augmentation,
      );
      const rng = new Rng(options.seed, 'degrade-paired', epoch, step);
      const clean = rng.next() < cleanFraction;
      const degraded = clean ? null : degrade(aug.image, rng, options.degradation);
      return {
        epoch,
        step,
        input: degraded?.image ?? aug.image,
        target: aug.image,
        label: item.label,
        itemId: item.id,
        artifacts: degraded?.artifacts ?? [],
        augmentation: aug.params,
      };
    },
  };
}
