import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../util/errors.ts';
import { slug } from '../util/slug.ts';
import { type ModelCard, modelCardSchema } from './model-card.ts';

export interface InstalledModel {
  card: ModelCard;
  dir: string;
  /** 'shipped' with the app, or 'local' (fine-tuned on this workstation). */
  origin: 'shipped' | 'local';
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
      if (parsed.success) models.push({ card: parsed.data, dir, origin });
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

/** Models shipped with the app plus those fine-tuned locally; broken cards are reported, not fatal. */
export async function listModels(shippedDir: string, localDir?: string) {
  const problems: ModelProblem[] = [];
  const models = [
    ...(await readCards(shippedDir, 'shipped', problems)),
    ...(localDir ? await readCards(localDir, 'local', problems) : []),
  ];
  return { models, problems };
}

export function defaultModel(models: InstalledModel[]): InstalledModel | undefined {
  return models.find((m) => m.origin === 'shipped' && m.card.default) ?? models[0];
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
  return { card, dir: dirname(path), origin: 'local' };
}
