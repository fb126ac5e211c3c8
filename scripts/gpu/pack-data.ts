// Packs the TRAINING split of the shared chest X-rays for a GPU run (scripts/gpu/train.py):
// each image resized (aspect not kept, as in the reference) to 286x286 with the training pipeline's
// own resizer, stored as 8-bit grayscale JPEG, plus labels.csv with the poor/good domain halves the
// engine's unpaired sampler would use. Also writes the split (seed + id lists) to split.json in the
// output folder and to scripts/gpu/split.json (committed), so evaluation can use the held-out list.
//
//   node --import tsx scripts/gpu/pack-data.ts [--manifest ../shared/data/MANIFEST.csv] [--out .gpu-data]
//       [--calibration-fraction 0.15]   (also hold out the engine run's calibration split; its
//                                        split.json then stays in --out only)
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadItemImage, loadManifest } from '../../main/data/dataset.ts';
import type { DatasetItem } from '../../main/data/dataset.ts';
import { Rng } from '../../main/data/random.ts';
import { resizeGray } from '../../main/util/resize.ts';
import { splitGrouped, splitThreeWay } from '../../main/data/split.ts';
import { AppError } from '../../main/util/errors.ts';
import type { GrayImage } from '../../main/util/image.ts';
import { writeFileAtomic } from '../../main/util/image-io.ts';

/** Train/validation split seed of the GPU-trained default model; evaluation must use the same. */
export const GPU_SPLIT_SEED = 20261126;
export const GPU_VALIDATION_FRACTION = 0.2;
/** Seed of the unpaired sampler whose poor/good halves labels.csv records. */
export const GPU_SAMPLER_SEED = 1;
export const STORED_SIZE = 286;
export const SPLIT_FORMAT = 'r2c-gpu-split/1';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface GpuSplit {
  format: string;
  manifest: string;
  seed: number;
  validationFraction: number;
  samplerSeed: number;
  counts: { train: number; validation: number; poor: number; good: number; calibration?: number };
  /** Share of all items held out for choosing thresholds (splitThreeWay); absent = none. */
  calibrationFraction?: number;
  /** Item ids (paths relative to the manifest's folder). */
  train: string[];
  validation: string[];
  /** Held out like validation (never packed), present when calibrationFraction > 0. */
  calibration?: string[];
  poor: string[];
  good: string[];
}

/**
 * The split evaluation uses: splitTrainValidation(items, {seed, validationFraction}) (grouped by
 * patient id / split group, label-stratified), then the training items' poor/good halves exactly as
 * createUnpairedSampler forms them (splitGrouped with the seed derived from 'unpaired-subsets').
 * With `calibrationFraction` > 0 the training items are splitThreeWay's (the engine's run with
 * validation.calibrationFraction, e.g. 0.15): the calibration split is held out of the packed data
 * too, so a GPU-trained model never sees the images its threshold is chosen on. 0 = as before.
 */
export function planSplit(
  items: readonly DatasetItem[],
  seed = GPU_SPLIT_SEED,
  samplerSeed = GPU_SAMPLER_SEED,
  calibrationFraction = 0,
): {
  train: DatasetItem[];
  validation: DatasetItem[];
  calibration: DatasetItem[];
  poor: DatasetItem[];
  good: DatasetItem[];
} {
  const { train, validation, calibration } = splitThreeWay(items, {
    seed,
    validationFraction: GPU_VALIDATION_FRACTION,
    calibrationFraction,
  });
  const [good, poor] = splitGrouped(train, {
    seed: new Rng(samplerSeed, 'unpaired-subsets').nextUint32(),
    fraction: 0.5,
  });
  return { train, validation, calibration, poor, good };
}

function to8Bit(image: GrayImage): Uint8Array {
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, image.data[i]!)) * 255);
  return out;
}

async function encodeJpeg(pixels: Uint8Array, size: number, quality: number): Promise<Buffer> {
  return sharp(pixels, { raw: { width: size, height: size, channels: 1 } })
    .toColourspace('b-w')
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export async function ensureExcluded(): Promise<void> {
  const gitDir = join(repoRoot, '.git');
  try {
    if (!(await stat(gitDir)).isDirectory()) return; // a worktree/submodule link: leave it to git
  } catch {
    return; // not a git checkout: nothing to exclude
  }
  const exclude = join(gitDir, 'info', 'exclude');
  await mkdir(dirname(exclude), { recursive: true });
  const text = await readFile(exclude, 'utf8').catch(() => '');
  if (!text.split(/\r?\n/).includes('/.gpu-data/'))
    await appendFile(exclude, `${text.endsWith('\n') || text === '' ? '' : '\n'}/.gpu-data/\n`);
}

export interface PackOptions {
  manifest: string;
  out: string;
  /** JPEG qualities tried in order until the total fits `maxBytes`. */
  qualities?: number[];
  maxBytes?: number;
  splitCopy?: string;
  /** planSplit's calibrationFraction (0 = no calibration split, the committed split.json). */
  calibrationFraction?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function packData(
  o: PackOptions,
): Promise<{ bytes: number; quality: number; images: number; split: GpuSplit }> {
  const qualities = o.qualities ?? [95, 94, 93, 92];
  const maxBytes = o.maxBytes ?? 40 * 1024 * 1024;
  const items = (await loadManifest(o.manifest)).filter((item) => item.format === 'raster');
  if (items.length === 0) throw new AppError('bad_input', `manifest ${o.manifest} lists no labelled images`);
  const calibrationFraction = o.calibrationFraction ?? 0;
  const plan = planSplit(items, GPU_SPLIT_SEED, GPU_SAMPLER_SEED, calibrationFraction);
  const domainOf = new Map<string, string>();
  for (const item of plan.poor) domainOf.set(item.id, 'poor');
  for (const item of plan.good) domainOf.set(item.id, 'good');

  // Decode + resize once; encode per quality until the total fits.
  const pixels: Uint8Array[] = [];
  for (const [i, item] of plan.train.entries()) {
    pixels.push(to8Bit(resizeGray(await loadItemImage(item), STORED_SIZE, STORED_SIZE)));
    if (i % 100 === 0) o.onProgress?.(i, plan.train.length);
  }
  let encoded: Buffer[] = [];
  let quality = 0;
  let total = 0;
  for (const q of qualities) {
    encoded = [];
    for (const p of pixels) encoded.push(await encodeJpeg(p, STORED_SIZE, q));
    total = encoded.reduce((a, b) => a + b.length, 0);
    quality = q;
    if (total <= maxBytes * 0.97) break; // leave room for labels.csv and split.json
  }

  const split: GpuSplit = {
    format: SPLIT_FORMAT,
    manifest: 'MANIFEST.csv (shared data)',
    seed: GPU_SPLIT_SEED,
    validationFraction: GPU_VALIDATION_FRACTION,
    samplerSeed: GPU_SAMPLER_SEED,
    counts: {
      train: plan.train.length,
      validation: plan.validation.length,
      poor: plan.poor.length,
      good: plan.good.length,
      ...(calibrationFraction > 0 ? { calibration: plan.calibration.length } : {}),
    },
    ...(calibrationFraction > 0 ? { calibrationFraction } : {}),
    train: plan.train.map((i) => i.id),
    validation: plan.validation.map((i) => i.id),
    ...(calibrationFraction > 0 ? { calibration: plan.calibration.map((i) => i.id) } : {}),
    poor: plan.poor.map((i) => i.id),
    good: plan.good.map((i) => i.id),
  };
  const splitJson = `${JSON.stringify(split, null, 2)}\n`;

  const outDir = resolve(o.out);
  const temp = `${outDir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(join(temp, 'images'), { recursive: true });
  const lines = ['file,label,class_index,domain,id'];
  for (const [i, item] of plan.train.entries()) {
    const file = `images/${String(i).padStart(5, '0')}.jpg`;
    await writeFile(join(temp, file), encoded[i]!);
    const domain = domainOf.get(item.id) ?? '';
    lines.push([file, item.label, item.label === 'covid' ? '1' : '0', domain, csvField(item.id)].join(','));
  }
  await writeFile(join(temp, 'labels.csv'), `${lines.join('\n')}\n`);
  await writeFile(join(temp, 'split.json'), splitJson);
  const bytes = total + Buffer.byteLength(lines.join('\n')) + Buffer.byteLength(splitJson);
  if (bytes > maxBytes) {
    await rm(temp, { recursive: true, force: true });
    throw new AppError(
      'bad_input',
      `packed data is ${bytes} bytes even at JPEG quality ${quality}, over ${maxBytes}`,
    );
  }
  await rm(outDir, { recursive: true, force: true });
  await rename(temp, outDir);
  if (o.splitCopy) await writeFileAtomic(o.splitCopy, splitJson);
  return { bytes, quality, images: plan.train.length, split };
}

async function dirBytes(dir: string): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  return total;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      manifest: { type: 'string', default: resolve(repoRoot, '../shared/data/MANIFEST.csv') },
      out: { type: 'string', default: join(repoRoot, '.gpu-data') },
      'calibration-fraction': { type: 'string', default: '0' },
    },
  });
  const calibrationFraction = Number(values['calibration-fraction']);
  if (!(calibrationFraction >= 0 && calibrationFraction + GPU_VALIDATION_FRACTION < 1))
    throw new AppError('bad_input', `--calibration-fraction must be in [0, ${1 - GPU_VALIDATION_FRACTION})`);
  const out = values.out as string;
  await ensureExcluded();
  const started = Date.now();
  const r = await packData({
    manifest: values.manifest as string,
    out,
    // The committed split.json is the two-way split; a calibration split stays with .gpu-data.
    ...(calibrationFraction > 0
      ? { calibrationFraction }
      : { splitCopy: join(repoRoot, 'scripts', 'gpu', 'split.json') }),
    onProgress: (done, total) => console.log(`decoded ${done}/${total}`),
  });
  const measured = await dirBytes(out);
  const c = r.split.counts;
  console.log(
    `packed ${r.images} training images (poor ${c.poor}, good ${c.good}; validation ${c.validation}` +
      `${c.calibration ? ` and calibration ${c.calibration}` : ''} held out) ` +
      `at JPEG quality ${r.quality}: ${measured} bytes (${(measured / 1048576).toFixed(2)} MiB) in ${out}, ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(
    `split written to ${join(out, 'split.json')}${calibrationFraction > 0 ? '' : ' and scripts/gpu/split.json'}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof AppError ? `error (${e.code}): ${e.message}` : e);
    process.exit(1);
  });
}
