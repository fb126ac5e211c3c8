/**
 * Reader-study service: blinded side-by-side comparison of image variants by named readers, with
 * answers saved to SQLite as they are given, and the statistics of the results.
 */
export type {
  AnalysisMeta,
  ChoiceQuestionResult,
  IccSummary,
  KappaSummary,
  PreferenceComparison,
  PreferenceQuestionResult,
  RatingRow,
  ScoreQuestionResult,
  StudyStatistics,
  WeightedKappaSummary,
} from './analysis.ts';
export { analyseRatings } from './analysis.ts';
export type { AuditRow } from './audit.ts';
export { auditRows } from './audit.ts';
export { csvColumns, formatRatingsCsv, parseRatingsCsv } from './csv.ts';
export type {
  AnswerInput,
  Blinding,
  GoBackInput,
  Navigation,
  Question,
  ReaderInput,
  SessionRef,
  StudyConfig,
  StudyInput,
  Variant,
} from './schema.ts';
export {
  answerInputSchema,
  defaultQuestions,
  goBackInputSchema,
  navigationSchema,
  questionSchema,
  readerInputSchema,
  sessionRefSchema,
  studyInputSchema,
} from './schema.ts';
export type {
  AnswerView,
  AuditEntry,
  CaseView,
  DisplayRules,
  PresentedImage,
  ReaderProgress,
  ReaderSummary,
  ResolvedPresentation,
  ReviewStoreOptions,
  SessionView,
  StudyDetails,
  StudyExport,
  StudyResults,
  StudySummary,
} from './types.ts';
export {
  answerViewSchema,
  auditEntrySchema,
  caseViewSchema,
  sessionViewSchema,
  studyDetailsSchema,
  studyExportSchema,
  studySummarySchema,
} from './types.ts';
export type { RenderedVariant, StudyPlanContext, StudyRequest } from './plan.ts';
export { exportFileName, planStudy, presentationImage, studyBlinding } from './plan.ts';
export type {
  AnswersFile,
  ExportKitOptions,
  KitImageRenderer,
  KitImportSummary,
  MergeSummary,
} from './kit.ts';
export { answersFormat, kitFormat } from './kit.ts';
export type { AlphaMetric } from './krippendorff.ts';
export { krippendorffAlpha } from './krippendorff.ts';
export type { OrResult } from './mrmc.ts';
export { orHillis, wilcoxonAuc } from './mrmc.ts';
export type { OwnerAccess, ReaderAccess } from './owner.ts';
export { minPassphraseLength } from './owner.ts';
export type { CandidateImage, CandidateInstance, Truth } from './candidates.ts';
export { describeCandidate, truthFromSource } from './candidates.ts';
export { kitsDir } from './kit.ts';
export type { KitImageSource } from './kit-deidentify.ts';
export { burnedInRisk, kitImageSource, leakedIdentifiers, libraryKitSource } from './kit-deidentify.ts';
export { type ReportOptions, studyReportBlocks, studyReportHtml } from './report.ts';
export { studyReportPdf } from './report-pdf.ts';
export type { ReaderSecret, ReviewStore } from './store.ts';
export { openReviewStore } from './store.ts';
export type { ComparisonRule, ModelInfo, VariantChoice } from './variants.ts';
export { studyComparisons, studyVariants } from './variants.ts';
export type { KitEncoding, KitPixels, PixelDataType, PixelDisplay, ReviewPixels } from './pixels.ts';
export {
  ByteLimitedCache,
  decodeKitImage,
  encodeKitImage,
  kitEncoding,
  kitPixelsSchema,
  packPixels,
  pixelBytes,
  pixelValues,
} from './pixels.ts';
export type {
  ChoiceSummary,
  ImageReading,
  PreferenceSummary,
  ScoreSummary,
  VariantReading,
} from './sr.ts';
export { closedStudyForReport, readerStudyImageResults, writeReaderStudyReport } from './sr.ts';
