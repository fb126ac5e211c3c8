import { z } from 'zod';
import type { StudyStatistics } from './analysis.ts';
import { navigationSchema, questionSchema, studyConfigSchema, variantSchema } from './schema.ts';

/**
 * The shapes the review store returns (plain JSON: they cross IPC), declared as zod schemas with
 * their types inferred, so a schema that checks them checks exactly what is declared. Inputs are in
 * schema.ts.
 */

export interface ReviewStoreOptions {
  /** Folder for the study database (created if missing). */
  dataDir: string;
  /** Clock in ms since the epoch; tests inject one to check time per case. */
  now?: () => number;
}

/** A stored answer value: score (number), option, comment or, for a forced choice, the chosen variant id. */
export const answerValueSchema = z.union([z.number(), z.string()]);

export const readerSummarySchema = z.strictObject({ id: z.string(), name: z.string() });
export type ReaderSummary = z.infer<typeof readerSummarySchema>;

export const readerProgressSchema = readerSummarySchema.extend({
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  started: z.boolean(),
  finished: z.boolean(),
});
export type ReaderProgress = z.infer<typeof readerProgressSchema>;

export const studySummarySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  images: z.number().int().nonnegative(),
  variants: z.number().int().nonnegative(),
  cases: z.number().int().nonnegative(),
  readers: z.number().int().nonnegative(),
  /** Closed by its owner: results and the audit trail are open to everyone on this workstation. */
  closed: z.boolean(),
  /** Has an owner passphrase: results stay hidden from readers until the owner closes the study. */
  ownerProtected: z.boolean(),
  /** 'kit': imported from a reading kit on a reader's workstation (answers go back as a file). */
  origin: z.enum(['local', 'kit']),
});
export type StudySummary = z.infer<typeof studySummarySchema>;

export const studyDetailsSchema = studySummarySchema.extend({
  config: studyConfigSchema,
  readerProgress: z.array(readerProgressSchema),
});
export type StudyDetails = z.infer<typeof studyDetailsSchema>;

/** A question as the reader sees it. */
export const questionViewSchema = questionSchema;
export type QuestionView = z.output<typeof questionViewSchema>;

export const presentedImageSchema = z.strictObject({
  side: z.enum(['left', 'right']),
  /** Opaque, unique to this case and side; the main-process image loader resolves it (resolvePresentation). */
  presentationId: z.string(),
  /** Only when the study does not hide method names. */
  label: z.string().optional(),
  /** The library instance id; only when the study does not hide patient identifiers. */
  imageRef: z.string().optional(),
});
export type PresentedImage = z.infer<typeof presentedImageSchema>;

export const answerViewSchema = z.strictObject({
  questionId: z.string(),
  /** The image answered about, for questions asked of each image. */
  presentationId: z.string().optional(),
  /** Score, option or comment; for a forced choice the presentation id of the chosen image. */
  value: answerValueSchema,
  answeredAt: z.string(),
});
export type AnswerView = z.infer<typeof answerViewSchema>;

export const displayRulesSchema = z.strictObject({
  lockWindowLevel: z.boolean(),
  lockZoom: z.boolean(),
  showAiOutput: z.boolean(),
  showPatientIdentifiers: z.boolean(),
  showMethodNames: z.boolean(),
});
export type DisplayRules = z.infer<typeof displayRulesSchema>;

export const caseViewSchema = z.strictObject({
  caseId: z.string(),
  position: z.number().int().positive(),
  images: z.array(presentedImageSchema),
  questions: z.array(questionViewSchema),
  answers: z.array(answerViewSchema),
  /** Required questions still unanswered, as "questionId" or "questionId@presentationId". */
  missing: z.array(z.string()),
  complete: z.boolean(),
  /** A finished case revisited in a study that forbids edits. */
  readOnly: z.boolean(),
  canGoBack: z.boolean(),
  timeSpentMs: z.number().nonnegative(),
  display: displayRulesSchema,
});
export type CaseView = z.infer<typeof caseViewSchema>;

export const sessionViewSchema = z.strictObject({
  studyId: z.string(),
  readerId: z.string(),
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  finished: z.boolean(),
  /** 1-based position of the case shown; null when the session is finished. */
  position: z.number().int().positive().nullable(),
  navigation: navigationSchema,
  case: caseViewSchema.nullable(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const readerTimingSchema = z.strictObject({
  readerId: z.string(),
  reader: z.string(),
  completedCases: z.number().int().nonnegative(),
  medianMsPerCase: z.number().nullable(),
  totalMs: z.number().nonnegative(),
});
export type ReaderTiming = z.infer<typeof readerTimingSchema>;

/** The statistics (analysis.ts) with the study named and the time per case of each reader. */
export interface StudyResults extends StudyStatistics {
  studyId: string;
  studyName: string;
  generatedAt: string;
  timing: ReaderTiming[];
}

/** Audit details are a JSON object (stored as text, parsed with this schema when read back). */
export const auditDetailsSchema = z.record(z.string(), z.unknown());

export const auditEntrySchema = z.strictObject({
  seq: z.number().int().positive(),
  at: z.string(),
  readerId: z.string().nullable(),
  reader: z.string().nullable(),
  action: z.string(),
  details: auditDetailsSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const exportedAnswerSchema = z.strictObject({
  questionId: z.string(),
  target: z.enum(['left', 'right', 'case']),
  variant: z.string().nullable(),
  value: answerValueSchema,
  answeredAt: z.string(),
});

export const exportedCaseSchema = z.strictObject({
  position: z.number().int().positive(),
  caseId: z.string(),
  case: z.string(),
  imageId: z.string(),
  comparison: z.number().int().nonnegative(),
  left: z.string(),
  right: z.string(),
  firstShownAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  timeMs: z.number().nonnegative(),
  answers: z.array(exportedAnswerSchema),
});

export const studyExportSchema = z.strictObject({
  format: z.literal('r2c-reader-study'),
  formatVersion: z.literal(1),
  schemaVersion: z.number().int(),
  exportedAt: z.string(),
  study: z.strictObject({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    config: studyConfigSchema,
  }),
  readers: z.array(readerSummarySchema),
  sessions: z.array(
    z.strictObject({
      readerId: z.string(),
      reader: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
      cases: z.array(exportedCaseSchema),
    }),
  ),
  audit: z.array(auditEntrySchema),
});
export type StudyExport = z.infer<typeof studyExportSchema>;

export const resolvedPresentationSchema = z.strictObject({
  studyId: z.string(),
  imageId: z.string(),
  variant: variantSchema,
});
export type ResolvedPresentation = z.infer<typeof resolvedPresentationSchema>;
