// Model channels: the catalogue of installed models, fine-tuning, evaluation and the file check.
import { z } from 'zod';
import { absolutePath, type ChannelSchemas, jobId, modelId } from './common.ts';

// The model registry: versions, the active model and its history, thresholds, comparisons, packages.
const version = z.string().min(1).max(100);
const reason = z.string().trim().max(500);
const interval = z.object({
  estimate: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  successes: z.number().int().nonnegative(),
  trials: z.number().int().nonnegative(),
});
const chosenThreshold = z.object({
  threshold: z.number(),
  target: z.unknown(),
  sensitivity: interval,
  specificity: interval,
  f1: z.number().nullable(),
  count: z.number().int().nonnegative(),
});
const thresholdTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sensitivity'), value: z.number().gt(0).max(1) }).strict(),
  z.object({ kind: z.literal('specificity'), value: z.number().gt(0).max(1) }).strict(),
  z.object({ kind: z.literal('f1') }).strict(),
]);
const scoreCondition = z.enum(['pooled', 'clean', 'degraded', 'restored']);
const evaluationInfo = z.object({
  evaluationId: z.number().int().positive(),
  evaluatedAt: z.string(),
  purpose: z.enum(['validation', 'calibration', 'other']),
  origin: z.enum(['workstation', 'card', 'package']),
  dataLabel: z.string(),
  dataFingerprint: z.string().nullable(),
  count: z.number().int().nonnegative(),
  metrics: z.record(z.string(), z.number().nullable()),
  hasScores: z.boolean(),
});
const thresholdChoice = z.object({
  value: z.number(),
  method: z.string(),
  evaluationId: z.number().nullable(),
  operatingPoint: chosenThreshold.nullable(),
  chosenAt: z.string(),
  chosenBy: z.string(),
  reason: z.string(),
});
const registeredVersion = z.object({
  versionId: z.number().int().positive(),
  modelId: z.string(),
  version: z.string(),
  sha256: z.string(),
  name: z.string(),
  origin: z.enum(['shipped', 'local']),
  source: z.string(),
  status: z.enum(['installed', 'evaluated', 'active', 'retired']),
  present: z.boolean(),
  installedAt: z.string(),
  retiredAt: z.string().nullable(),
  lineage: z.object({
    baseModel: z.string().nullable(),
    dataManifestSha256: z.string().nullable(),
    data: z.string().nullable(),
    recipe: z.string().nullable(),
    steps: z.number().nullable(),
  }),
  cardThreshold: z.number(),
  threshold: thresholdChoice.nullable(),
  evaluations: z.array(evaluationInfo),
});
const historyEvent = z.object({
  eventId: z.number().int().positive(),
  at: z.string(),
  user: z.string(),
  action: z.enum([
    'installed',
    'activated',
    'rolled back',
    'retired',
    'threshold',
    'evaluated',
    'imported',
    'exported',
    'removed',
  ]),
  modelId: z.string().nullable(),
  version: z.string().nullable(),
  sha256: z.string().nullable(),
  previousModelId: z.string().nullable(),
  previousVersion: z.string().nullable(),
  reason: z.string(),
  detail: z.string(),
});

const registryChannels = {
  modelRegistry: {
    input: z.object({}).strict(),
    output: z.object({
      versions: z.array(registeredVersion),
      active: registeredVersion.nullable(),
      history: z.array(historyEvent),
      policy: z.object({
        requireSignedPackages: z.boolean(),
        trustedKeys: z.number().int().nonnegative(),
        pinnedActiveModel: z.string().nullable(),
        fineTuningAllowed: z.boolean(),
      }),
    }),
  },
  activateModel: {
    input: z
      .object({
        modelId,
        version: version.optional(),
        reason: reason.min(1),
        confirmUnevaluated: z.boolean().optional(),
      })
      .strict(),
    output: registeredVersion,
  },
  rollbackModel: {
    input: z.object({ reason: reason.min(1) }).strict(),
    output: registeredVersion,
  },
  retireModel: {
    input: z.object({ modelId, version: version.optional(), reason: reason.min(1) }).strict(),
    output: registeredVersion,
  },
  modelHistoryCsv: {
    input: z.object({}).strict(),
    output: z.object({ csv: z.string(), fileName: z.string() }),
  },
  previewModelThreshold: {
    input: z
      .object({
        evaluationId: z.number().int().positive(),
        target: thresholdTarget,
        condition: scoreCondition.optional(),
      })
      .strict(),
    output: chosenThreshold,
  },
  setModelThreshold: {
    input: z
      .object({
        modelId,
        version: version.optional(),
        evaluationId: z.number().int().positive(),
        target: thresholdTarget,
        condition: scoreCondition.optional(),
        reason: reason.min(1),
      })
      .strict(),
    output: z.object({ threshold: thresholdChoice, chosen: chosenThreshold }),
  },
  compareModels: {
    input: z
      .object({
        evaluationIds: z.array(z.number().int().positive()).min(2).max(8),
        condition: z.enum(['clean', 'degraded', 'restored']).optional(),
      })
      .strict(),
    output: z.object({
      dataLabel: z.string(),
      count: z.number().int().nonnegative(),
      condition: z.enum(['clean', 'degraded', 'restored']),
      models: z.array(
        z.object({ evaluationId: z.number(), modelId: z.string(), version: z.string(), sha256: z.string() }),
      ),
      rows: z.array(z.object({ metric: z.string(), values: z.array(z.number().nullable()) })),
      rocSvg: z.string(),
    }),
  },
  exportModelPackage: {
    input: z
      .object({
        modelId,
        version: version.optional(),
        out: absolutePath,
        /** An Ed25519 private key (PEM file) to sign the package with. */
        signingKey: absolutePath.optional(),
      })
      .strict(),
    output: z.object({
      file: z.string(),
      bytes: z.number().int().positive(),
      sha256: z.string(),
      signed: z.boolean(),
    }),
  },
  /** What a stored result's model (id, version, SHA-256) is now: e.g. retired, or not installed any more. */
  modelProvenance: {
    input: z.object({ modelId, version, sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
    output: z.object({
      known: z.boolean(),
      status: z.enum(['installed', 'evaluated', 'active', 'retired']).nullable(),
      present: z.boolean(),
      note: z.string(),
    }),
  },
  importModelPackage: {
    input: z.object({ file: absolutePath }).strict(),
    output: z.object({
      modelId: z.string(),
      version: z.string(),
      sha256: z.string(),
      alreadyInstalled: z.boolean(),
      signer: z.string().nullable(),
      trusted: z.boolean(),
    }),
  },
} satisfies Record<string, ChannelSchemas>;

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
  /** The registry's status; the threshold above is the effective one and this says where it came from. */
  status: z.enum(['installed', 'evaluated', 'active', 'retired']),
  thresholdSource: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('card') }),
    z.object({
      kind: z.literal('registry'),
      cardThreshold: z.number(),
      method: z.string(),
      chosenAt: z.string(),
      chosenBy: z.string(),
    }),
  ]),
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
        /** Which held-out part of the seed's split; 'calibration' evaluations are for choosing thresholds. */
        split: z.enum(['validation', 'calibration']).optional(),
        /** What the registry records the evaluation as (default: validation). */
        purpose: z.enum(['validation', 'calibration', 'other']).optional(),
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
      /** The evaluation as recorded in the model registry. */
      evaluationId: z.number().int().positive(),
    }),
  },
  verifyModel: {
    input: z.object({ modelId }).strict(),
    output: z.object({ modelId, ok: z.boolean(), detail: z.string() }),
  },
  ...registryChannels,
} satisfies Record<string, ChannelSchemas>;
