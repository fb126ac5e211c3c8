import { z } from 'zod';
import type { StudyResults } from '../review/index.ts';
import {
  navigationSchema,
  questionSchema,
  sessionViewSchema,
  studyDetailsSchema,
  studySummarySchema,
} from '../review/index.ts';
import type { ChannelName } from './names.ts';

// Every payload that crosses IPC is validated against these schemas, in both directions.
const filePath = z.string().min(1).max(4096);
const jobId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'job id must be 8-64 letters, digits, _ or -');
// The main process's working directory means nothing to the user, so imports take absolute paths only.
const absolutePath = filePath.regex(/^(?:\/|[A-Za-z]:[\\/]|\\\\)/, 'must be an absolute path');
const rowId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const studyDate = z.string().regex(/^\d{4}-?\d{2}-?\d{2}$/, 'must be a date, YYYY-MM-DD or YYYYMMDD');
const processingStatus = z.enum(['not_processed', 'restored', 'classified']);

const studySummary = z.object({
  id: rowId,
  studyInstanceUid: z.string(),
  patient: z.object({ id: rowId, patientId: z.string().nullable(), patientName: z.string().nullable() }),
  studyDate: z.string().nullable(),
  studyTime: z.string().nullable(),
  description: z.string().nullable(),
  accessionNumber: z.string().nullable(),
  modalities: z.array(z.string()),
  seriesCount: z.number().int().nonnegative(),
  instanceCount: z.number().int().nonnegative(),
});

const seriesSummary = z.object({
  id: rowId,
  seriesInstanceUid: z.string(),
  studyId: rowId,
  modality: z.string().nullable(),
  seriesNumber: z.number().int().nullable(),
  description: z.string().nullable(),
  instanceCount: z.number().int().nonnegative(),
});

const instanceSummary = z.object({
  id: rowId,
  sopInstanceUid: z.string(),
  seriesId: rowId,
  instanceNumber: z.number().int().nullable(),
  rows: z.number().int().nonnegative(),
  columns: z.number().int().nonnegative(),
  numberOfFrames: z.number().int().nonnegative(),
  photometricInterpretation: z.string(),
  transferSyntaxName: z.string(),
  decodable: z.boolean(),
  undecodableReason: z.string().nullable(),
  sourceFormat: z.enum(['dicom', 'image']),
  storage: z.enum(['managed', 'reference']),
  processingStatus,
});

// Reader studies. Ids are the review store's opaque ids; outputs are checked against the store's own
// zod schemas (review/types.ts, types inferred), except results, checked for their key fields.
const reviewId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'ids use letters, digits, _ . or - only');
/** A loose schema that checks the key fields, typed as the store's full shape (results only). */
const shaped = <T>(schema: z.ZodType): z.ZodType<T> => schema as unknown as z.ZodType<T>;
const studyRef = z.object({ studyId: reviewId }).strict();
const sessionRef = z.object({ studyId: reviewId, readerId: reviewId }).strict();
const reviewStudySummary = studySummarySchema;
const reviewStudyDetails = studyDetailsSchema;
/** A variant to compare: the original, or a restoration by an installed model with 1-3 passes. */
const reviewVariantInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('original') }).strict(),
  z
    .object({
      kind: z.literal('restored'),
      modelId: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a model id such as r2c-q3'),
      passes: z.number().int().min(1).max(3),
    })
    .strict(),
]);
/** One audit-trail line as the study owner sees it: reader name and case position, no image ids. */
const reviewAuditRow = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  reader: z.string().nullable(),
  action: z.string(),
  position: z.number().int().positive().nullable(),
  questionId: z.string().nullable(),
  variant: z.string().nullable(),
  value: z.union([z.number(), z.string()]).nullable(),
  previousValue: z.union([z.number(), z.string()]).nullable(),
  summary: z.string(),
});
const sessionView = sessionViewSchema;

// Viewer. Pixel data travels as bytes (structured clone over Electron IPC; no base64).
const modelId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a model id such as r2c-q3');
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
const pixelBytes = z
  .instanceof(Uint8Array)
  .meta({ title: 'Uint8Array', description: 'raw bytes, sent by structured clone' });
const windowPreset = z.object({
  center: z.number(),
  width: z.number().positive(),
  label: z.string(),
  source: z.enum(['file', 'voiLut', 'minmax']),
});
const viewerImage = z
  .object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    components: z.union([z.literal(1), z.literal(3)]),
    dataType: z.enum(['uint8', 'int16', 'uint16', 'float32']),
    pixels: pixelBytes,
    min: z.number(),
    max: z.number(),
    photometric: z.enum(['MONOCHROME1', 'MONOCHROME2', 'RGB']),
    windows: z.array(windowPreset).min(1),
    voiFunction: z.enum(['LINEAR', 'LINEAR_EXACT', 'SIGMOID']),
    spacing: z.object({ row: z.number().positive(), column: z.number().positive() }),
    calibration: z.enum(['PixelSpacing', 'ImagerPixelSpacing']).nullable(),
    modality: z.string().nullable(),
    units: z.string(),
    frames: z.number().int().nonnegative(),
    lossy: z.boolean(),
  })
  .refine(
    (i) =>
      i.pixels.byteLength ===
      i.width * i.height * i.components * { uint8: 1, int16: 2, uint16: 2, float32: 4 }[i.dataType],
    { message: 'pixel bytes do not match width x height x data type' },
  );
const analysisSummary = z.object({
  instanceId: rowId,
  model: z.object({ id: z.string(), version: z.string(), name: z.string() }),
  provider: z.string(),
  threshold: z.number().min(0).max(1),
  probabilities: z.object({ normal: z.number().min(0).max(1), covid: z.number().min(0).max(1) }),
  label: z.enum(['covid', 'normal']),
  passes: z.number().int().min(1).max(3),
  working: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  createdAt: z.string(),
  reused: z.boolean(),
});

export const contract = {
  getAppInfo: {
    input: z.object({}).strict(),
    output: z.object({
      name: z.string(),
      version: z.string(),
      platform: z.string(),
      arch: z.string(),
      activeModel: z.object({ id: z.string(), version: z.string() }).nullable(),
      executionProvider: z.string().nullable(),
    }),
  },
  hashFiles: {
    input: z.object({ jobId, paths: z.array(filePath).min(1).max(10000) }).strict(),
    output: z.object({
      files: z.array(
        z.union([
          z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: z.string().length(64) }),
          z.object({ path: z.string(), error: z.string() }),
        ]),
      ),
    }),
  },
  importPaths: {
    input: z
      .object({ jobId, paths: z.array(absolutePath).min(1).max(10000), mode: z.enum(['copy', 'reference']) })
      .strict(),
    output: z.object({
      total: z.number().int().nonnegative(),
      added: z.number().int().nonnegative(),
      duplicates: z.number().int().nonnegative(),
      failed: z.array(z.object({ path: z.string(), reason: z.string() })),
      duplicateItems: z.array(z.object({ path: z.string(), match: z.enum(['content', 'sopInstanceUid']) })),
      cancelled: z.boolean(),
    }),
  },
  listStudies: {
    input: z
      .object({
        search: z.string().max(200).optional(),
        modality: z
          .string()
          .regex(/^[A-Za-z0-9]{1,16}$/, 'must be a modality code such as CR or DX')
          .optional(),
        dateFrom: studyDate.optional(),
        dateTo: studyDate.optional(),
        limit: z.number().int().min(1).max(1000).optional(),
        offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
      })
      .strict(),
    output: z.object({ studies: z.array(studySummary) }),
  },
  listSeries: {
    input: z.object({ studyId: rowId }).strict(),
    output: z.object({ series: z.array(seriesSummary) }),
  },
  listInstances: {
    input: z.object({ seriesId: rowId }).strict(),
    output: z.object({ instances: z.array(instanceSummary) }),
  },
  getThumbnail: {
    input: z.object({ instanceId: rowId, size: z.number().int().min(32).max(512) }).strict(),
    output: z.object({
      dataUrl: z.string().regex(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    }),
  },
  reviewListStudies: {
    input: z.object({}).strict(),
    output: z.object({ studies: z.array(reviewStudySummary) }),
  },
  reviewCreateStudy: {
    input: z
      .object({
        name: z.string().trim().min(1).max(200),
        /** Library instance ids of the images to read. */
        instanceIds: z.array(rowId).min(1).max(10000),
        /** Shorthand for variants [original, default model with this many passes]; give this or variants. */
        passes: z.number().int().min(1).max(10).optional(),
        /** The variants to compare (unique); give this or passes. */
        variants: z.array(reviewVariantInput).min(2).max(8).optional(),
        /** Which pairs are shown: each variant against the single original (default when there is one), or every pair. */
        comparisons: z.enum(['againstOriginal', 'allPairs']).optional(),
        /** Default: the service's defaults (quality 1-5, preference, findings preserved, comment). */
        questions: z.array(questionSchema).min(1).max(30).optional(),
        navigation: navigationSchema.optional(),
        /** Lock window/level and zoom for every reader (default true, as in the reference study). */
        lockDisplay: z.boolean().optional(),
        readers: z.array(z.string().trim().min(1).max(200)).max(200).optional(),
      })
      .strict()
      .refine((input) => (input.passes === undefined) !== (input.variants === undefined), {
        message: 'give either passes or variants',
      }),
    output: reviewStudyDetails,
  },
  reviewDefaultQuestions: {
    input: z.object({}).strict(),
    output: z.object({
      questions: z.array(questionSchema),
    }),
  },
  reviewGetStudy: { input: studyRef, output: reviewStudyDetails },
  reviewAddReader: {
    input: z.object({ studyId: reviewId, name: z.string().trim().min(1).max(200) }).strict(),
    output: z.object({ id: z.string(), name: z.string() }),
  },
  reviewStartSession: { input: sessionRef, output: sessionView },
  reviewAnswer: {
    input: z
      .object({
        studyId: reviewId,
        readerId: reviewId,
        caseId: reviewId,
        questionId: reviewId,
        presentationId: reviewId.optional(),
        value: z.union([z.number().int().min(-1000).max(1000), z.string().max(10000)]),
      })
      .strict(),
    output: sessionView,
  },
  reviewNext: { input: sessionRef, output: sessionView },
  reviewGoBack: {
    input: z
      .object({
        studyId: reviewId,
        readerId: reviewId,
        toPosition: z.number().int().min(1).max(1e7).optional(),
      })
      .strict(),
    output: sessionView,
  },
  reviewResults: {
    input: studyRef,
    output: shaped<StudyResults>(
      z.looseObject({
        studyId: z.string(),
        studyName: z.string(),
        generatedAt: z.string(),
        scores: z.array(z.looseObject({ questionId: z.string(), svg: z.string() })),
        preferences: z.array(z.looseObject({ questionId: z.string(), svg: z.string() })),
        choices: z.array(z.looseObject({ questionId: z.string() })),
        timing: z.array(z.looseObject({ readerId: z.string() })),
      }),
    ),
  },
  reviewExportCsv: {
    input: studyRef,
    output: z.object({ csv: z.string(), fileName: z.string() }),
  },
  reviewExportJson: {
    input: studyRef,
    output: z.object({ json: z.string(), fileName: z.string() }),
  },
  reviewAuditTrail: {
    input: studyRef,
    output: z.object({ entries: z.array(reviewAuditRow) }),
  },
  getReviewImage: {
    input: z.object({ presentationId: reviewId, size: z.number().int().min(64).max(2048) }).strict(),
    output: z.object({
      dataUrl: z.string().regex(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    }),
  },
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
  getViewerImage: {
    input: z.object({ instanceId: rowId }).strict(),
    output: viewerImage,
  },
  listAnalyses: {
    input: z.object({ instanceId: rowId }).strict(),
    output: z.object({ analyses: z.array(analysisSummary) }),
  },
  analyseImages: {
    input: z
      .object({
        jobId,
        instanceIds: z.array(rowId).min(1).max(10000),
        /** Default: the default model. */
        modelId: modelId.optional(),
        passes: z.number().int().min(1).max(3),
        /** Return a stored analysis (same model file, enough passes) instead of running again. */
        reuse: z.boolean(),
      })
      .strict(),
    output: z.object({
      items: z.array(
        z.union([
          z.object({ instanceId: rowId, ok: z.literal(true), analysis: analysisSummary }),
          z.object({
            instanceId: rowId,
            ok: z.literal(false),
            error: z.object({ code: z.string(), message: z.string() }),
          }),
        ]),
      ),
      cancelled: z.boolean(),
    }),
  },
  getRestoredImage: {
    input: z.object({ instanceId: rowId, modelId, pass: z.number().int().min(1).max(3) }).strict(),
    output: viewerImage,
  },
  getHeatmap: {
    input: z.object({ instanceId: rowId, modelId }).strict(),
    output: z
      .object({ width: z.number().int().positive(), height: z.number().int().positive(), data: pixelBytes })
      .refine((h) => h.data.byteLength === h.width * h.height, { message: 'heat map size mismatch' }),
  },
  cancelJob: {
    input: z.object({ jobId }).strict(),
    output: z.object({ cancelled: z.boolean() }),
  },
} satisfies Record<ChannelName, { input: z.ZodType; output: z.ZodType }>;

export const appEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('jobProgress'),
    jobId,
    done: z.number().nonnegative(),
    total: z.number().nonnegative(),
    message: z.string().optional(),
  }),
  /** Sent when a job's call returns, however it ended (finished, failed or cancelled). */
  z.object({ type: z.literal('jobEnded'), jobId }),
]);
