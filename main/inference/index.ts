// The inference service's public surface: model cards and the model store, the input gate
// (intended use + appearance), the uncertainty of a result, and the restore/classify service.
export type { IntendedInput, ModelCalibration, ModelCard } from './model-card.ts';
export { intendedInputSchema, modelCalibrationSchema, modelCardSchema } from './model-card.ts';
export type { AppearanceCheck, AppearanceReference } from './appearance.ts';
export { appearanceDistance, checkAppearance } from './appearance.ts';
export type {
  IntendedUseAttributes,
  IntendedUseOverride,
  IntendedUseReason,
  IntendedUseResult,
} from './intended-use.ts';
export {
  assessIntendedUse,
  CHEST_RADIOGRAPH_INPUT,
  checkIntendedUse,
  chestAppearanceReference,
  describeReasons,
  intendedUseError,
  IntendedUseRefusal,
  OUTSIDE_INTENDED_USE,
  readPatientAge,
} from './intended-use.ts';
export type { InstalledModel, ModelProblem, RegistryState, ThresholdSource } from './model-store.ts';
export {
  adHocModel,
  defaultModel,
  findModel,
  listModels,
  REGISTRY_STATE_FILE,
  readRegistryState,
  readVerifiedModel,
  registryStateSchema,
} from './model-store.ts';
export type { ModelCatalog, ModelDetails, ModelVerification } from './model-catalog.ts';
export { architectureLabel, createModelCatalog, modelDetails } from './model-catalog.ts';
export type { ResultCertainty } from './uncertainty.ts';
export { certaintyOf, DECISION_SUPPORT_STATEMENT, DECISION_TEXT, decide } from './uncertainty.ts';
export type { InferenceService, InferOptions, InferResult } from './service.ts';
export { createInferenceService } from './service.ts';
export type { BatchInput, BatchItem } from './batch.ts';
export {
  assessmentOf,
  gateAttributes,
  inferWithWorkerService,
  prepareModel,
  processImages,
  readDicomAsModelInput,
  restoreFile,
} from './batch.ts';
export { transferCorrection } from './full-resolution.ts';
