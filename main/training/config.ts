// Run configuration of `r2c train`: a JSON file plus command-line overrides, validated with zod.
// Paths in the file are relative to the file's folder; paths given as flags are relative to the cwd.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { readWeightsFromOnnx } from '../../models/index.ts';
import { AppError } from '../util/errors.ts';

/** Train/validation split of the shipped model (scripts/gpu/pack-data.ts GPU_SPLIT_SEED). */
export const DEFAULT_VALIDATION_SEED = 20261126;
export const DEFAULT_VALIDATION_FRACTION = 0.2;

const positiveInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be at least 1`);

export const runConfigSchema = z
  .strictObject({
    arch: z.enum(['operational', 'convolutional', 'convolutional-light'], {
      error: 'arch must be one of operational, convolutional, convolutional-light',
    }),
    /** Operational order Q (operational only; the others use 1). */
    q: z.number().int().min(1, 'q must be 1, 2 or 3').max(3, 'q must be 1, 2 or 3'),
    /** Base channel width; 64 is the reference (and the shipped model). */
    width: positiveInt('width'),
    /**
     * Generator x2 upsampling: 'transposed' (the reference's 3x3 stride-2 transposed conv) or
     * 'resize' (nearest x2 + 3x3 conv, same parameters, no checkerboard texture).
     */
    upsampling: z.enum(['transposed', 'resize'], { error: 'upsampling must be transposed or resize' }),
    /** Square training crop; a multiple of 8 (the discriminators' stride). */
    size: positiveInt('size').refine(
      (s) => s % 8 === 0 && s >= 16,
      'size must be a multiple of 8, at least 16',
    ),
    batch: z.literal(1, { error: 'batch must be 1 (the engine trains with batch 1, like the reference)' }),
    steps: positiveInt('steps'),
    lr: z.number().positive('lr must be positive').max(1, 'lr must be at most 1'),
    /** Step after which the learning rate decays linearly to 0 at `steps`. Default: steps / 2. */
    decayStart: z
      .number()
      .int('decayStart must be a whole number')
      .min(0, 'decayStart must be >= 0')
      .optional(),
    seed: z.number().int('seed must be a whole number').min(0, 'seed must be >= 0'),
    /** A folder with covid/ and normal/ sub-folders, or a manifest CSV (path,label[,patient_id,...]). */
    data: z.string({ error: 'data (a folder or manifest CSV) is required' }).min(1, 'data must not be empty'),
    validation: z.strictObject({
      seed: z.number().int('validation.seed must be a whole number'),
      fraction: z
        .number()
        .min(0, 'validation.fraction must be in [0, 1)')
        .lt(1, 'validation.fraction must be in [0, 1)'),
      /**
       * Share of all items held out (by patient) as the calibration split, for choosing thresholds;
       * 0 = none (runs made before the split existed).
       */
      calibrationFraction: z
        .number()
        .min(0, 'validation.calibrationFraction must be in [0, 1)')
        .lt(1, 'validation.calibrationFraction must be in [0, 1)')
        .optional(),
    }),
    augmentation: z.enum(['reference', 'scale-jitter'], {
      error: 'augmentation must be reference or scale-jitter',
    }),
    checkpointEvery: positiveInt('checkpointEvery'),
    sampleEvery: positiveInt('sampleEvery'),
    logEvery: positiveInt('logEvery'),
    /** Rows in each sample grid. */
    sampleCount: positiveInt('sampleCount').max(16, 'sampleCount must be at most 16'),
    poolSize: z.number().int().min(0, 'poolSize must be >= 0'),
    /** onnxruntime intra-op threads. */
    threads: positiveInt('threads').max(64, 'threads must be at most 64'),
    outDir: z.string({ error: 'outDir is required' }).min(1, 'outDir must not be empty'),
    /** An exported inference model whose weights start G_A2B (the others start fresh). */
    initFrom: z.string().min(1).optional(),
    /** A folder (covid/ normal/) of real poor-quality images, added to the poor domain. */
    realPoor: z.string().min(1).optional(),
    /**
     * 'r2c-gan': the reference's unpaired objective (four networks). 'paired': supervised fine-tuning of
     * the restoration generator on (synthetically degraded, clean) pairs of the same image:
     * l1Weight·L1(G(poor), clean) + classWeight·CE(class of poor).
     */
    objective: z.enum(['r2c-gan', 'paired'], { error: 'objective must be r2c-gan or paired' }),
    /** Paired objective: weight of the L1 restoration term. */
    l1Weight: z.number().min(0, 'l1Weight must be >= 0'),
    /** Paired objective: weight of the classification (cross-entropy) term. */
    classWeight: z.number().min(0, 'classWeight must be >= 0'),
    /** Paired objective: share of steps whose input is the clean image itself (identity + clean class). */
    cleanFraction: z
      .number()
      .min(0, 'cleanFraction must be in [0, 1)')
      .lt(1, 'cleanFraction must be in [0, 1)'),
    /**
     * Paired objective: train the first `cropSteps` steps on random `cropSize` crops of the same
     * augmented image (the generator's receptive field is ~11 px, so small crops teach restoration at a
     * fraction of the cost), then at `size` so InstanceNorm and the class branch see whole images.
     */
    cropSize: positiveInt('cropSize')
      .refine((s) => s % 8 === 0 && s >= 16, 'cropSize must be a multiple of 8, at least 16')
      .optional(),
    cropSteps: z.number().int('cropSteps must be a whole number').min(0, 'cropSteps must be >= 0').optional(),
    /** Paired objective: decay of an exponential moving average of the weights, which is exported. */
    emaDecay: z.number().gt(0, 'emaDecay must be in (0, 1)').lt(1, 'emaDecay must be in (0, 1)').optional(),
    /**
     * Paired objective: train only the parameters whose names start with these (e.g. ["dec"]: refit the
     * output layer; the encoder and class branch, hence the classification, stay as initialised).
     */
    trainOnly: z.array(z.string().min(1, 'trainOnly entries must not be empty')).min(1).optional(),
    /**
     * Paired objective: weight of a least-squares GAN term (a PatchGAN discriminator trained alongside,
     * pix2pix-style L1 + adversarial); absent = none.
     */
    adversarialWeight: z
      .number({ error: 'adversarialWeight must be a number' })
      .positive('adversarialWeight must be > 0')
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.objective === 'paired' && c.realPoor !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['realPoor'],
        message:
          'realPoor cannot be used with the paired objective: real poor-quality images have no clean counterpart',
      });
    for (const key of ['cropSize', 'cropSteps', 'emaDecay', 'trainOnly'] as const)
      if (c.objective !== 'paired' && c[key] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} is supported with the paired objective only`,
        });
    if (c.objective !== 'paired' && c.adversarialWeight !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['adversarialWeight'],
        message:
          'adversarialWeight is supported with the paired objective only (the r2c-gan objective has its own, fixed adversarial terms)',
      });
    if ((c.cropSize === undefined) !== (c.cropSteps === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['cropSize'],
        message: 'cropSize and cropSteps go together (crop size, and how many steps train on crops)',
      });
    if (c.cropSize !== undefined && c.cropSize > c.size)
      ctx.addIssue({
        code: 'custom',
        path: ['cropSize'],
        message: `cropSize (${c.cropSize}) must not exceed size (${c.size})`,
      });
    if ((c.validation.calibrationFraction ?? 0) + c.validation.fraction >= 1)
      ctx.addIssue({
        code: 'custom',
        path: ['validation', 'calibrationFraction'],
        message: 'validation.fraction + validation.calibrationFraction must leave training data (< 1)',
      });
    if (c.decayStart !== undefined && c.decayStart >= c.steps)
      ctx.addIssue({
        code: 'custom',
        path: ['decayStart'],
        message: `decayStart (${c.decayStart}) must be below steps (${c.steps})`,
      });
  });

export type RunConfig = z.infer<typeof runConfigSchema> & { decayStart: number };

export const configDefaults = {
  arch: 'operational',
  q: 3,
  width: 64,
  upsampling: 'transposed',
  size: 256,
  batch: 1,
  lr: 2e-4,
  seed: 1,
  validation: { seed: DEFAULT_VALIDATION_SEED, fraction: DEFAULT_VALIDATION_FRACTION },
  augmentation: 'reference',
  checkpointEvery: 100,
  sampleEvery: 100,
  logEvery: 1,
  sampleCount: 3,
  poolSize: 50,
  threads: 2,
  objective: 'r2c-gan',
  l1Weight: 10,
  classWeight: 1,
  cleanFraction: 0.25,
} as const;

/** Command-line overrides; paths relative to the cwd. */
export interface ConfigOverrides {
  data?: string;
  steps?: number;
  outDir?: string;
  initFrom?: string;
  realPoor?: string;
  /** Checked by the schema like the file's value. */
  objective?: string;
  upsampling?: string;
}

const PATH_KEYS = ['data', 'outDir', 'initFrom', 'realPoor'] as const;

function describeIssues(error: z.ZodError, what: string): AppError {
  const issues = error.issues.map((i) => ({ path: i.path.join('.') || '(config)', message: i.message }));
  const text = issues.map((i) => (i.message.startsWith(i.path) ? i.message : `${i.path}: ${i.message}`));
  return new AppError('bad_input', `${what}: ${text.join('; ')}`, issues);
}

/**
 * Validates a raw config object (file content merged with overrides), fills defaults and resolves
 * relative paths against `baseDir`. Throws AppError('bad_input') naming every bad field.
 */
export function parseRunConfig(raw: unknown, what = 'training config', baseDir = process.cwd()): RunConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AppError('bad_input', `${what} must be a JSON object`);
  const input = raw as Record<string, unknown>;
  const merged: Record<string, unknown> = {
    ...configDefaults,
    ...input,
    validation: { ...configDefaults.validation, ...(input['validation'] as object | undefined) },
  };
  // Unless asked otherwise, a fine-tune keeps its starting model's upsampling (the default r2c-q3 is resize).
  if (
    input['upsampling'] === undefined &&
    typeof input['initFrom'] === 'string' &&
    input['initFrom'] !== ''
  ) {
    const from = initModelUpsampling(resolve(baseDir, input['initFrom']));
    if (from) merged.upsampling = from;
  }
  const parsed = runConfigSchema.safeParse(merged);
  if (!parsed.success) throw describeIssues(parsed.error, what);
  const c = parsed.data;
  const out: RunConfig = { ...c, decayStart: c.decayStart ?? Math.floor(c.steps / 2) };
  // The engine builds non-operational networks with q = 1 whatever is asked.
  if (out.arch !== 'operational') out.q = 1;
  for (const key of PATH_KEYS) {
    const v = out[key];
    if (v !== undefined) out[key] = isAbsolute(v) ? v : resolve(baseDir, v);
  }
  return out;
}

/** The upsampling of an initFrom model, or undefined when it cannot be read (training then says why). */
function initModelUpsampling(path: string): 'transposed' | 'resize' | undefined {
  try {
    return readWeightsFromOnnx(new Uint8Array(readFileSync(path))).config.upsampling ?? 'transposed';
  } catch {
    return undefined;
  }
}

/** Reads a config file (optional) and applies the overrides on top. */
export async function loadRunConfig(
  file: string | undefined,
  overrides: ConfigOverrides = {},
): Promise<RunConfig> {
  let raw: Record<string, unknown> = {};
  let baseDir = process.cwd();
  const what = file ? `training config ${file}` : 'training config';
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new AppError(
        'not_found',
        `${what} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new AppError('bad_input', `${what} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new AppError('bad_input', `${what} must hold a JSON object`);
    baseDir = dirname(resolve(file));
    for (const key of PATH_KEYS) {
      const v = raw[key];
      if (typeof v === 'string' && v !== '' && !isAbsolute(v)) raw[key] = resolve(baseDir, v);
    }
  }
  const merged: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    merged[key] = typeof value === 'string' && PATH_KEYS.includes(key as never) ? resolve(value) : value;
  }
  return parseRunConfig(merged, what, baseDir);
}

/** Fields that change what is trained; a resumed run must match them exactly. */
export const IDENTITY_KEYS = [
  'arch',
  'q',
  'width',
  'upsampling',
  'size',
  'batch',
  'steps',
  'lr',
  'decayStart',
  'seed',
  'data',
  'validation',
  'augmentation',
  'poolSize',
  'initFrom',
  'realPoor',
  'objective',
  'l1Weight',
  'classWeight',
  'cleanFraction',
  'cropSize',
  'cropSteps',
  'emaDecay',
  'trainOnly',
  'adversarialWeight',
] as const;

/** Identity fields added after runs were made: a saved config without them had these values. */
const ADDED_KEY_DEFAULTS: Partial<Record<(typeof IDENTITY_KEYS)[number], unknown>> = {
  objective: 'r2c-gan',
  l1Weight: configDefaults.l1Weight,
  classWeight: configDefaults.classWeight,
  cleanFraction: configDefaults.cleanFraction,
  upsampling: 'transposed',
};

/** The first identity field where two configs differ, with both values, or null when they match. */
export function configDifference(
  saved: Partial<RunConfig>,
  current: RunConfig,
): { key: string; saved: unknown; current: unknown } | null {
  for (const key of IDENTITY_KEYS) {
    const before = saved[key] ?? ADDED_KEY_DEFAULTS[key] ?? null;
    const now = current[key] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(now)) return { key, saved: before, current: now };
  }
  return null;
}
