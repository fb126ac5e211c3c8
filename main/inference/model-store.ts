import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../util/errors.ts';
import { slug } from '../util/slug.ts';
import { z } from 'zod';
import { type ModelCard, modelCardSchema } from './model-card.ts';

/** Where a model's decision threshold comes from: its card, or a choice recorded in the model registry. */
export type ThresholdSource =
  | { kind: 'card' }
  | { kind: 'registry'; cardThreshold: number; method: string; chosenAt: string; chosenBy: string };

export interface InstalledModel {
  /**
   * The model card as read from disk, except `threshold`: the EFFECTIVE threshold (the registry's
   * choice for this exact file where there is one, else the card's). The card file itself is never changed.
   */
  card: ModelCard;
  dir: string;
  /** 'shipped' with the app, or 'local' (fine-tuned on this workstation or imported from a package). */
  origin: 'shipped' | 'local';
  thresholdSource: ThresholdSource;
  /** The workstation's active model (the registry's choice; else the shipped default). */
  active: boolean;
  /** Retired in the registry: not offered as the default, its results stay readable. */
  retired: boolean;
}

/**
 * What the model registry (main/registry) decides, as the model store reads it: a small JSON file it
 * writes atomically beside the local models. The store is below the registry in the layers and runs in
 * job workers, so it reads this file instead of the registry's database.
 */
export const REGISTRY_STATE_FILE = 'registry-state.json';
const versionKey = z.object({ id: z.string(), version: z.string(), sha256: z.string() });
export const registryStateSchema = z.object({
  format: z.literal('r2c-model-registry-state/1'),
  active: versionKey.nullable(),
  versions: z.array(
    versionKey.extend({
      retired: z.boolean(),
      threshold: z
        .object({
          value: z.number().min(0).max(1),
          method: z.string(),
          chosenAt: z.string(),
          chosenBy: z.string(),
        })
        .nullable(),
    }),
  ),
});
export type RegistryState = z.infer<typeof registryStateSchema>;

/** The registry's state in `localDir`; null when there is none (no registry yet, e.g. a fresh data folder). */
export async function readRegistryState(localDir: string): Promise<RegistryState | null> {
  const path = join(localDir, REGISTRY_STATE_FILE);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AppError(
      'integrity',
      `the model registry's state file ${path} is unreadable: ${(error as Error).message}`,
    );
  }
  const parsed = registryStateSchema.safeParse(raw);
  if (!parsed.success)
    throw new AppError(
      'integrity',
      `the model registry's state file ${path} is not valid: ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}

const sameVersion = (card: ModelCard, key: { id: string; version: string; sha256: string }) =>
  card.id === key.id && card.version === key.version && card.sha256 === key.sha256;

/** Applies the registry's decisions (active model, retired, chosen thresholds) to the cards read. */
function applyRegistry(models: InstalledModel[], state: RegistryState | null): InstalledModel[] {
  if (!state) return models;
  return models.map((model) => {
    const entry = state.versions.find((v) => sameVersion(model.card, v));
    const active = state.active !== null && sameVersion(model.card, state.active);
    if (!entry) return { ...model, active };
    const threshold = entry.threshold;
    return {
      ...model,
      active,
      retired: entry.retired,
      ...(threshold
        ? {
            card: { ...model.card, threshold: threshold.value },
            thresholdSource: {
              kind: 'registry' as const,
              cardThreshold: model.card.threshold,
              method: threshold.method,
              chosenAt: threshold.chosenAt,
              chosenBy: threshold.chosenBy,
            },
          }
        : {}),
    };
  });
}

export interface ModelProblem {
  file: string;
  problem: string;
}

async function readCards(dir: string, origin: InstalledModel['origin'], problems: ModelProblem[]) {
  if (!existsSync(dir)) return [];
  const models: InstalledModel[] = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.model.json')).sort()) {
    try {
      const parsed = modelCardSchema.safeParse(JSON.parse(await readFile(join(dir, name), 'utf8')));
      if (parsed.success)
        models.push({
          card: parsed.data,
          dir,
          origin,
          thresholdSource: { kind: 'card' },
          active: false,
          retired: false,
        });
      else
        problems.push({
          file: name,
          problem: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        });
    } catch (error) {
      problems.push({ file: name, problem: `unreadable model card: ${(error as Error).message}` });
    }
  }
  return models;
}

/**
 * Models shipped with the app plus those installed locally, with the model registry's decisions
 * (active model, chosen thresholds, retired) applied; broken cards are reported, not fatal.
 */
export async function listModels(shippedDir: string, localDir?: string) {
  const problems: ModelProblem[] = [];
  const models = [
    ...(await readCards(shippedDir, 'shipped', problems)),
    ...(localDir ? await readCards(localDir, 'local', problems) : []),
  ];
  const state = localDir ? await readRegistryState(localDir) : null;
  return { models: applyRegistry(models, state), problems };
}

/** The active model: the registry's choice, else the shipped default, else the first model not retired. */
export function defaultModel(models: InstalledModel[]): InstalledModel | undefined {
  return (
    models.find((m) => m.active) ??
    models.find((m) => m.origin === 'shipped' && m.card.default && !m.retired) ??
    models.find((m) => !m.retired) ??
    models[0]
  );
}

export function findModel(models: InstalledModel[], id: string): InstalledModel {
  const model = models.find((m) => m.card.id === id);
  if (!model) {
    const known = models.map((m) => m.card.id).join(', ') || 'none';
    throw new AppError('not_found', `no model '${id}' is installed (installed: ${known})`);
  }
  return model;
}

/** Reads a model file and checks it against its card before anything parses it. */
export async function readVerifiedModel(model: InstalledModel): Promise<Uint8Array> {
  const { card } = model;
  let bytes: Buffer;
  try {
    bytes = await readFile(join(model.dir, card.file));
  } catch {
    throw new AppError('not_found', `model file ${card.file} for model '${card.id}' is missing`);
  }
  if (bytes.length !== card.bytes) {
    throw new AppError(
      'integrity',
      `model file ${card.file} is ${bytes.length} bytes but its model card says ${card.bytes} (truncated or replaced); refusing to use it`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== card.sha256) {
    throw new AppError(
      'integrity',
      `model file ${card.file} does not match its model card (SHA-256 ${sha256.slice(0, 12)}… expected ${card.sha256.slice(0, 12)}…); refusing to use it`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A model file given by path, without an installed card (e.g. `r2c eval --model run/model.onnx`):
 * its card is made from the file itself, so nothing vouches for it beyond the caller.
 */
export async function adHocModel(
  path: string,
  architecture: ModelCard['architecture'],
  threshold = 0.5,
): Promise<InstalledModel> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new AppError('not_found', `model file ${path} does not exist or cannot be read`);
  }
  const name = basename(path);
  const card: ModelCard = {
    format: 'r2c-model-card/1',
    id: slug(name.replace(/\.onnx$/i, ''), { maxLength: 60 }) || 'model',
    version: 'unversioned',
    name,
    file: name,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    architecture,
    threshold,
    input: { classificationSize: 256, workingLongSide: 512 },
    intendedUse: 'evaluation of a model file given by path',
    limitations: ['no model card: provenance unknown'],
  };
  return {
    card,
    dir: dirname(path),
    origin: 'local',
    thresholdSource: { kind: 'card' },
    active: false,
    retired: false,
  };
}
