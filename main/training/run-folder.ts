// A training run's folder: where its files live, the run-config.json written at the first start, the
// check that a checkpoint there may be continued with the current config, and the loss plots.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  type Checkpoint,
  type GanTrainerConfig,
  loadCheckpoint,
  type SupervisedTrainerConfig,
  writeFileAtomic,
} from '../../models/index.ts';
import { AppError } from '../util/errors.ts';
import { configDifference, type RunConfig } from './config.ts';
import { lossesSvg, readMetrics } from './metrics.ts';

export const RUN_CONFIG_FORMAT = 'r2c-train-config/1';

/** Where a run keeps its files, all under `outDir`. */
export function runFiles(outDir: string) {
  return {
    config: join(outDir, 'run-config.json'),
    checkpoint: join(outDir, 'checkpoint.r2c'),
    metrics: join(outDir, 'metrics.jsonl'),
    samples: join(outDir, 'samples'),
    model: join(outDir, 'model.onnx'),
    /** Named like installed cards (<id>.model.json beside the .onnx) so the pair can be installed as is. */
    card: join(outDir, 'model.model.json'),
    lossesSvg: join(outDir, 'losses.svg'),
    lossesPng: join(outDir, 'losses.png'),
  };
}

export type RunFiles = ReturnType<typeof runFiles>;

interface SavedRunConfig {
  format: string;
  config: RunConfig;
  /** SHA-256 of the initFrom model at the first start, or null. */
  initFromSha256?: string | null;
  createdAt: string;
}

export async function savedInitSha256(path: string): Promise<string | null> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as SavedRunConfig).initFromSha256 ?? null;
  } catch {
    return null;
  }
}

/** Records the config a fresh run starts with (run-config.json), for the resume check. */
export async function writeRunConfig(files: RunFiles, config: RunConfig): Promise<void> {
  const saved: SavedRunConfig = {
    format: RUN_CONFIG_FORMAT,
    config,
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(files.config, Buffer.from(`${JSON.stringify(saved, null, 1)}\n`, 'utf8'));
}

/** The trainer settings a run's config maps to (what its checkpoint must hold to be continued). */
export function trainerConfigFor(
  config: RunConfig,
):
  | Omit<GanTrainerConfig, 'mode' | 'weights' | 'channels'>
  | Omit<SupervisedTrainerConfig, 'mode' | 'channels'> {
  const common = {
    kind: config.arch,
    q: config.q,
    width: config.width,
    // Only when set: checkpoints of transposed runs carry no field, before and after the option.
    ...(config.upsampling === 'resize' ? { upsampling: 'resize' as const } : {}),
    size: config.size,
    schedule: { lr: config.lr, decayStart: config.decayStart, totalSteps: config.steps },
    seed: config.seed,
  };
  return config.objective === 'paired'
    ? {
        ...common,
        l1Weight: config.l1Weight,
        classWeight: config.classWeight,
        ...(config.emaDecay !== undefined ? { emaDecay: config.emaDecay } : {}),
        ...(config.trainOnly !== undefined ? { trainOnly: config.trainOnly } : {}),
        ...(config.adversarialWeight !== undefined ? { adversarialWeight: config.adversarialWeight } : {}),
      }
    : { ...common, poolSize: config.poolSize };
}

/**
 * The checkpoint in the run folder, or null for a fresh run; refuses one made with other settings
 * (and an unreadable run-config.json beside it).
 */
export async function loadResumableCheckpoint(
  files: RunFiles,
  config: RunConfig,
): Promise<Checkpoint | null> {
  if (!existsSync(files.checkpoint)) return null;
  const checkpoint = await loadCheckpoint(files.checkpoint);
  let saved: SavedRunConfig | null = null;
  if (existsSync(files.config)) {
    try {
      saved = JSON.parse(await readFile(files.config, 'utf8')) as SavedRunConfig;
    } catch {
      throw new AppError(
        'integrity',
        `${files.config} is unreadable or corrupted; cannot check the run's config`,
      );
    }
  }
  checkResumable(saved, checkpoint, config, config.outDir);
  return checkpoint;
}

/** Refuses to continue a checkpoint made with other settings. */
function checkResumable(
  saved: SavedRunConfig | null,
  checkpoint: Checkpoint,
  config: RunConfig,
  outDir: string,
) {
  const fix = `use a new output folder, or the config that started it`;
  if (saved) {
    const diff = configDifference(saved.config, config);
    if (diff)
      throw new AppError(
        'bad_input',
        `${outDir} holds a run with a different config (${diff.key}: ${JSON.stringify(diff.saved)} there, ${JSON.stringify(diff.current)} now); ${fix}`,
      );
  }
  const c = checkpoint.config as unknown as Record<string, unknown>;
  const mode = config.objective === 'paired' ? 'supervised' : 'gan';
  if (c['mode'] !== mode)
    throw new AppError(
      'bad_input',
      `the checkpoint in ${outDir} is a ${String(c['mode'])} checkpoint, the config asks for the ${config.objective} objective; ${fix}`,
    );
  const expected = trainerConfigFor(config) as Record<string, unknown>;
  // adversarialWeight is in `expected` only when set: check it both ways, so a checkpoint with a
  // discriminator is not continued without its GAN term (or the other way round).
  for (const key of new Set([...Object.keys(expected), 'adversarialWeight'])) {
    if (JSON.stringify(c[key]) !== JSON.stringify(expected[key]))
      throw new AppError(
        'bad_input',
        `the checkpoint in ${outDir} was made with ${key} ${JSON.stringify(c[key])}, the config says ${JSON.stringify(expected[key])}; ${fix}`,
      );
  }
}

/** losses.svg and losses.png from the metrics log (nothing while it is empty). */
export async function writeLossPlot(files: RunFiles): Promise<void> {
  const records = await readMetrics(files.metrics);
  if (records.length === 0) return;
  const svg = lossesSvg(records);
  await writeFileAtomic(files.lossesSvg, Buffer.from(svg, 'utf8'));
  await writeFileAtomic(files.lossesPng, await sharp(Buffer.from(svg)).png().toBuffer());
}
