// Fine-tuning an installed model on this workstation's images, as a job: `r2c train` from the
// model's verified weights into <dataDir>/training-runs/<name>, then the result installed as a local
// model with its draft card (marked not evaluated). Calling it again with the same name resumes.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readWeightsFromOnnx, writeFileAtomic } from '../../models/index.ts';
import { type ModelCard, modelCardSchema } from '../inference/index.ts';
import { findModel, listModels, readVerifiedModel } from '../inference/index.ts';
import type { JobContext } from '../jobs/types.ts';
import { AppError } from '../util/errors.ts';
import { parseRunConfig } from './config.ts';
import { slug, train } from './run.ts';

export interface FineTuneInput {
  shippedDir: string;
  localDir: string;
  /** Where runs live: <runsDir>/<name>. */
  runsDir: string;
  baseModelId: string;
  /** A folder with covid/ and normal/ sub-folders (PNG, JPEG, DICOM) or a manifest CSV. */
  data: string;
  objective: 'paired' | 'r2c-gan';
  steps: number;
  /** Names the run folder and the installed model (local-<name>). */
  name: string;
}

export interface FineTuneOutput {
  status: 'finished' | 'cancelled';
  step: number;
  totalSteps: number;
  resumedFrom: number | null;
  /** The installed local model, when the run finished. */
  modelId: string | null;
}

export function fineTuneSlug(name: string): string {
  const safe = slug(name);
  if (!safe) throw new AppError('bad_input', 'the fine-tune name needs at least one letter or digit');
  return safe;
}

export async function fineTuneModel(input: FineTuneInput, context: JobContext): Promise<FineTuneOutput> {
  const slug = fineTuneSlug(input.name);
  const modelId = `local-${slug}`;
  const { models } = await listModels(input.shippedDir, input.localDir);
  const base = findModel(models, input.baseModelId);
  if (models.some((m) => m.card.id === modelId))
    throw new AppError('bad_input', `a model '${modelId}' is already installed; choose another name`);
  // Never train from a file that does not match its card.
  const bytes = await readVerifiedModel(base);
  const net = readWeightsFromOnnx(bytes, `model ${base.card.id}`).config;
  const outDir = join(input.runsDir, slug);
  const config = parseRunConfig({
    arch: net.kind,
    q: net.q,
    width: net.width,
    size: base.card.input.classificationSize,
    steps: input.steps,
    objective: input.objective,
    // A fine-tune starts from trained weights: half the reference learning rate for the paired objective.
    lr: input.objective === 'paired' ? 1e-4 : 2e-4,
    data: input.data,
    outDir,
    initFrom: join(base.dir, base.card.file),
    checkpointEvery: 100,
    sampleEvery: 500,
    logEvery: 10,
  });
  const result = await train(config, {
    signal: context.signal,
    onProgress: (p) => {
      if (p.phase !== 'training' && p.phase !== 'setup') return;
      const loss = p.G['total'];
      const eta = Number.isFinite(p.etaSeconds) ? `, about ${Math.ceil(p.etaSeconds / 60)} min left` : '';
      context.progress({
        done: p.step,
        total: p.totalSteps,
        message: `step ${p.step} of ${p.totalSteps}${loss === undefined ? '' : `, loss ${loss.toFixed(3)}`}${eta}`,
      });
    },
  });
  const out = {
    status: result.status,
    step: result.step,
    totalSteps: result.totalSteps,
    resumedFrom: result.resumedFrom,
  };
  if (result.status !== 'finished') return { ...out, modelId: null };

  // Install: model file first, card last (the card is what makes a model visible).
  const model = await readFile(result.files.model);
  const draft = modelCardSchema.parse(JSON.parse(await readFile(result.files.card, 'utf8')));
  const card: ModelCard = {
    ...draft,
    id: modelId,
    name: `${input.name} (fine-tuned from ${base.card.id} ${base.card.version})`,
    file: `${modelId}.onnx`,
    sha256: createHash('sha256').update(model).digest('hex'),
    bytes: model.length,
    threshold: base.card.threshold,
    default: false,
    training: { ...draft.training, baseModel: `${base.card.id} ${base.card.version}`, run: outDir },
  };
  await mkdir(input.localDir, { recursive: true });
  await writeFileAtomic(join(input.localDir, card.file), model);
  await writeFileAtomic(
    join(input.localDir, `${modelId}.model.json`),
    Buffer.from(`${JSON.stringify(card, null, 1)}\n`),
  );
  return { ...out, modelId };
}
