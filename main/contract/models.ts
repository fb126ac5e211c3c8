// Model channels: the catalogue of installed models, fine-tuning, evaluation and the file check.
import { z } from 'zod';
import { absolutePath, type ChannelSchemas, jobId, modelId } from './common.ts';

const conditionValues = z
  .object({ clean: z.number().nullable(), degraded: z.number().nullable(), restored: z.number().nullable() })
  .nullable();
const modelDetails = z.object({
  id: z.string(),
  version: z.string(),
  name: z.string(),
  origin: z.enum(['shipped', 'local']),
  isDefault: z.boolean(),
  architecture: z.string(),
  parameters: z.number().int().positive(),
  threshold: z.number().min(0).max(1),
  classificationSize: z.number().int().positive(),
  workingLongSide: z.number().int().positive(),
  file: z.string(),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  intendedUse: z.string(),
  limitations: z.array(z.string()),
  metrics: z.object({
    evaluatedOn: z.string().nullable(),
    f1: conditionValues,
    auc: conditionValues,
    psnrGainDb: z.number().nullable(),
    ssimGain: z.number().nullable(),
  }),
  training: z.object({
    steps: z.number().nullable(),
    hardware: z.string().nullable(),
    objective: z.string().nullable(),
    stoppedEarly: z.string().nullable(),
    run: z.string().nullable(),
  }),
});

export const modelChannels = {
  modelCatalog: {
    input: z.object({}).strict(),
    output: z.object({
      models: z.array(modelDetails),
      /** Model cards that could not be read: file name and what is wrong (no model is run from them). */
      problems: z.array(z.object({ file: z.string(), problem: z.string() })),
    }),
  },
  fineTuneModel: {
    input: z
      .object({
        jobId,
        baseModelId: modelId,
        data: absolutePath,
        objective: z.enum(['paired', 'r2c-gan']),
        steps: z.number().int().min(1).max(200_000),
        name: z
          .string()
          .trim()
          .regex(
            /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/,
            'must be 1-40 letters, digits, spaces, dots, dashes or underscores',
          ),
      })
      .strict(),
    output: z.object({
      status: z.enum(['finished', 'cancelled']),
      step: z.number().int().nonnegative(),
      totalSteps: z.number().int().nonnegative(),
      resumedFrom: z.number().int().nonnegative().nullable(),
      /** The installed local model (finished runs only). */
      modelId: modelId.nullable(),
    }),
  },
  evaluateModel: {
    input: z
      .object({
        jobId,
        modelId,
        data: absolutePath,
        /** Evaluate only the held-out part of this seed's split (e.g. 20261126, the shipped models' split). */
        validationSeed: z.number().int().min(0).optional(),
      })
      .strict(),
    output: z.object({
      count: z.number().int().positive(),
      threshold: z.number(),
      /** Null where undefined (e.g. F1 with no COVID-19 predictions). */
      f1: z.object({
        clean: z.number().nullable(),
        degraded: z.number().nullable(),
        restored: z.number().nullable(),
      }),
      auc: z.object({
        clean: z.number().nullable(),
        degraded: z.number().nullable(),
        restored: z.number().nullable(),
      }),
      psnrGainDb: z.number().nullable(),
      ssimGain: z.number().nullable(),
      bestBaselinePsnrGainDb: z.number().nullable(),
      crossFittedF1Degraded: z.number().nullable(),
      savedToCard: z.boolean(),
      outDir: z.string(),
    }),
  },
  verifyModel: {
    input: z.object({ modelId }).strict(),
    output: z.object({ modelId, ok: z.boolean(), detail: z.string() }),
  },
} satisfies Record<string, ChannelSchemas>;
