// The model registry: installed model versions, the active model and its history, thresholds chosen
// on calibration evaluations, comparisons, and signed packages between offline workstations.
export type { EvaluationSummary, ScoreRecord } from './evaluation-record.ts';
export { labelledSetFingerprint, summariseEvaluation } from './evaluation-record.ts';
export type { PackageManifest, VerifiedPackage, VerifyPolicy } from './package.ts';
export { buildPackage, keyFingerprint, PACKAGE_FORMAT, publicKeyFrom, verifyPackage } from './package.ts';
export type {
  EvaluationInfo,
  EventAction,
  HistoryEvent,
  Lineage,
  ModelRegistry,
  ModelRegistryOptions,
  RegisteredVersion,
  ThresholdChoice,
  VersionStatus,
} from './registry.ts';
export { createModelRegistry, dataManifestHash, lineageFromCard } from './registry.ts';
export type { ChosenThreshold, Interval, ThresholdTarget } from './threshold.ts';
export { chooseThreshold, describeTarget, operatingPoint, wilsonInterval } from './threshold.ts';
