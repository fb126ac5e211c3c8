// Reader-study channels: set-up, readers, sessions and answers, results, exports, audit trail, and
// the blinded images (by opaque presentation id).
import { z } from 'zod';
import type { StudyResults } from '../review/index.ts';
import {
  navigationSchema,
  questionSchema,
  sessionViewSchema,
  studyDetailsSchema,
  studySummarySchema,
} from '../review/index.ts';
import { absolutePath, type ChannelSchemas, jobId, pixelBytes, rowId } from './common.ts';

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
const ownerPassphrase = z.string().min(8).max(200);
/** Unblinded outputs: the owner passphrase until the owner closes the study. */
const ownerStudyRef = z.object({ studyId: reviewId, ownerPassphrase: ownerPassphrase.optional() }).strict();
const ownerRef = z.object({ studyId: reviewId, ownerPassphrase }).strict();
const truthValue = z.enum(['covid', 'normal', 'unknown']);
/** A library image offered to a study, with what the picker filters on. */
const reviewCandidate = z.strictObject({
  instanceId: rowId,
  modality: z.string().nullable(),
  bodyPart: z.string().nullable(),
  view: z.string().nullable(),
  studyDate: z.string().nullable(),
  description: z.string().nullable(),
  rows: z.number().int(),
  columns: z.number().int(),
  /** Within the chest-radiograph intended use (inference's checkIntendedUse on the DICOM attributes). */
  chest: z.boolean(),
  /** Why not, in words (empty when chest). */
  reasons: z.array(z.string()),
  /** Ground truth from the library's data (the import folder's name: covid / normal), else unknown. */
  truth: truthValue,
});
/** A reader's token from reviewSignInReader (readers with a secret; hex). */
const readerToken = z.string().regex(/^[0-9a-f]{64}$/);
const readerSecret = z.string().min(8).max(200);
const sessionRef = z
  .object({ studyId: reviewId, readerId: reviewId, readerToken: readerToken.optional() })
  .strict();
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

export const reviewChannels = {
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
        /** The study owner's passphrase (at least 8 characters): unlocks results, kits and merging. */
        ownerPassphrase,
        /** Ground truth per image (library instance id → covid / normal / unknown); default unknown. */
        truth: z.record(z.string().regex(/^\d+$/), truthValue).optional(),
      })
      .strict()
      .refine((input) => (input.passes === undefined) !== (input.variants === undefined), {
        message: 'give either passes or variants',
      }),
    /** readerSecrets: each named reader's generated secret, shown once (only hashes are kept). */
    output: reviewStudyDetails.extend({
      readerSecrets: z.array(z.strictObject({ readerId: z.string(), name: z.string(), secret: z.string() })),
    }),
  },
  reviewDefaultQuestions: {
    input: z.object({}).strict(),
    output: z.object({
      questions: z.array(questionSchema),
    }),
  },
  reviewGetStudy: { input: studyRef, output: reviewStudyDetails },
  /** An owner-protected study: the owner adds readers; each gets the secret given or a generated one (returned once). */
  reviewAddReader: {
    input: z
      .object({
        studyId: reviewId,
        name: z.string().trim().min(1).max(200),
        ownerPassphrase: ownerPassphrase.optional(),
        secret: readerSecret.optional(),
      })
      .strict(),
    output: z.object({ id: z.string(), name: z.string(), secret: z.string().optional() }),
  },
  /** The owner gives a reader a new secret (the one given, or a generated one, returned). */
  reviewSetReaderSecret: {
    input: z
      .object({ studyId: reviewId, readerId: reviewId, ownerPassphrase, secret: readerSecret.optional() })
      .strict(),
    output: z.object({ readerId: z.string(), secret: z.string() }),
  },
  /** A reader signs in with their secret; the token goes with their session calls. */
  reviewSignInReader: {
    input: z
      .object({ studyId: reviewId, readerId: reviewId, readerSecret: z.string().min(1).max(200) })
      .strict(),
    output: z.object({ readerToken }),
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
        readerToken: readerToken.optional(),
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
        readerToken: readerToken.optional(),
      })
      .strict(),
    output: sessionView,
  },
  reviewResults: {
    input: ownerStudyRef,
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
    input: ownerStudyRef,
    output: z.object({ csv: z.string(), fileName: z.string() }),
  },
  reviewExportJson: {
    input: ownerStudyRef,
    output: z.object({ json: z.string(), fileName: z.string() }),
  },
  reviewAuditTrail: {
    input: ownerStudyRef,
    output: z.object({ entries: z.array(reviewAuditRow) }),
  },
  /**
   * One presentation as full-resolution grey values in the original image's units (the same window
   * means the same on both images of a case) with its default window. Blinded: every variant of an
   * image gets the same metadata; no UIDs, model or patient data.
   */
  getReviewPixels: {
    input: z.object({ presentationId: reviewId }).strict(),
    output: z
      .object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        dataType: z.enum(['uint8', 'uint16', 'int16', 'float32']),
        pixels: pixelBytes,
        photometric: z.enum(['MONOCHROME1', 'MONOCHROME2']),
        window: z.object({ center: z.number(), width: z.number().positive() }).strict(),
        voiFunction: z.enum(['LINEAR', 'LINEAR_EXACT', 'SIGMOID']),
        units: z.string(),
      })
      .strict()
      .refine(
        (i) =>
          i.pixels.byteLength ===
          i.width * i.height * { uint8: 1, int16: 2, uint16: 2, float32: 4 }[i.dataType],
        { message: 'pixel bytes do not match width x height x data type' },
      ),
  },
  reviewVerifyOwner: { input: ownerRef, output: z.object({ ok: z.literal(true) }) },
  reviewCloseStudy: { input: ownerRef, output: reviewStudyDetails },
  reviewCandidates: {
    input: z.object({}).strict(),
    output: z.object({ images: z.array(reviewCandidate) }),
  },
  /** The one-click study report: a standalone HTML page (statistics, plots, methods). */
  reviewReport: {
    input: ownerStudyRef,
    output: z.object({ html: z.string(), fileName: z.string() }),
  },
  /** The same study report as a PDF (pdfkit; the plots as vector graphics), base64. */
  reviewReportPdf: {
    input: ownerStudyRef,
    output: z.object({ pdfBase64: z.string().regex(/^[A-Za-z0-9+/]+=*$/), fileName: z.string() }),
  },
  /** The owner exports a reading kit to a file (a job: progress per image, cancellable). */
  reviewExportKit: {
    input: z
      .object({
        jobId,
        studyId: reviewId,
        ownerPassphrase,
        out: absolutePath,
        readerIds: z.array(reviewId).min(1).max(200).optional(),
        sign: z.boolean().optional(),
        /** Library instance ids to put in the kit although they may show burned-in text (the owner checked them). */
        includeBurnedIn: z.array(z.string().regex(/^\d+$/)).max(10000).optional(),
      })
      .strict(),
    output: z.object({
      kitId: z.string(),
      file: z.string(),
      readers: z.number().int(),
      images: z.number().int(),
      bytes: z.number().int(),
      signed: z.boolean(),
    }),
  },
  reviewImportKit: {
    input: z.object({ file: absolutePath }).strict(),
    output: z.object({
      studyId: z.string(),
      name: z.string(),
      kitId: z.string(),
      readers: z.array(z.object({ id: z.string(), name: z.string() })),
      images: z.number().int(),
      signed: z.boolean(),
      signerFingerprint: z.string().nullable(),
    }),
  },
  /** The reader's secret unwraps their answers key (a token is not enough). */
  reviewExportAnswers: {
    input: z
      .object({ studyId: reviewId, readerId: reviewId, readerSecret: z.string().min(1).max(200) })
      .strict(),
    output: z.object({ json: z.string(), fileName: z.string(), cases: z.number().int() }),
  },
  reviewMergeAnswers: {
    input: z.object({ studyId: reviewId, ownerPassphrase, text: z.string().min(2).max(50_000_000) }).strict(),
    output: z.object({
      readerId: z.string(),
      reader: z.string(),
      merged: z.number().int(),
      alreadyMerged: z.number().int(),
      completed: z.number().int(),
      total: z.number().int(),
    }),
  },
} satisfies Record<string, ChannelSchemas>;
