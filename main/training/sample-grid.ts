// The sample grids a run writes to samples/step-NNNNNN.png: fixed rows (validation images degraded
// with a fixed seed) put through the current generator(s).
import {
  loadInferenceModel,
  R2CGanTrainer,
  type SessionOptions,
  type SupervisedTrainer,
  writeFileAtomic,
} from '../../models/index.ts';
import {
  type DatasetItem,
  degrade,
  fromModelRange,
  type LoadImageOptions,
  loadItemImage,
  prepareForTest,
  Rng,
  toModelRange,
} from '../data/index.ts';
import { createGray, type GrayImage } from '../util/image.ts';
import { encodeGrayPng } from '../util/image-io.ts';
import type { RunConfig } from './config.ts';

export interface GridRow {
  poor: GrayImage;
  clean: GrayImage;
}

/** Fixed rows for the sample grids: validation images degraded with a fixed seed, and their clean originals. */
export async function sampleImages(
  config: RunConfig,
  validation: readonly DatasetItem[],
  trainingRow: (i: number) => Promise<GridRow>,
  trainingRows: number,
  loadOptions: LoadImageOptions,
): Promise<GridRow[]> {
  const out: GridRow[] = [];
  for (let i = 0; i < Math.min(config.sampleCount, validation.length); i++) {
    const clean = prepareForTest(await loadItemImage(validation[i] as DatasetItem, loadOptions), config.size);
    out.push({ poor: degrade(clean, new Rng(config.seed, 'sample-grid', i)).image, clean });
  }
  // Tiny data sets may have no validation images: fall back to the first training samples.
  for (let i = 0; out.length < config.sampleCount && i < trainingRows; i++) out.push(await trainingRow(i));
  return out;
}

/**
 * A grid with one row per sample, [0,1] gray PNG: poor | restored (G_A2B) | cycle (G_B2A(G_A2B)) for
 * the GAN objective, poor | restored | clean for the paired one.
 */
export async function writeSampleGrid(
  trainer: R2CGanTrainer | SupervisedTrainer,
  images: readonly GridRow[],
  path: string,
  session: SessionOptions,
): Promise<void> {
  const a2b = await loadInferenceModel(
    trainer instanceof R2CGanTrainer ? trainer.exportInferenceModel('G_A2B') : trainer.exportInferenceModel(),
    session,
    'G_A2B',
  );
  const b2a =
    trainer instanceof R2CGanTrainer
      ? await loadInferenceModel(trainer.exportInferenceModel('G_B2A'), session, 'G_B2A')
      : null;
  try {
    const s = trainer.config.size;
    const gap = 2;
    const grid = createGray(3 * s + 2 * gap, images.length * s + (images.length - 1) * gap, 1);
    const paste = (img: GrayImage, row: number, col: number) => {
      for (let y = 0; y < s; y++)
        grid.data.set(
          img.data.subarray(y * s, (y + 1) * s),
          (row * (s + gap) + y) * grid.width + col * (s + gap),
        );
    };
    for (const [row, { poor, clean }] of images.entries()) {
      const dims = [1, 1, s, s];
      const restored = await a2b.run(toModelRange(poor).data, dims);
      paste(poor, row, 0);
      paste(fromModelRange({ width: s, height: s, data: restored.restored }), row, 1);
      if (b2a) {
        const cycle = await b2a.run(restored.restored, dims);
        paste(fromModelRange({ width: s, height: s, data: cycle.restored }), row, 2);
      } else paste(clean, row, 2);
    }
    await writeFileAtomic(path, await encodeGrayPng(grid));
  } finally {
    await a2b.release();
    await b2a?.release();
  }
}
