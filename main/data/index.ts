export type { AugmentOptions, AugmentParams } from './augment.ts';
export {
  augment,
  fromModelRange,
  prepareForTest,
  referenceAugmentation,
  scaleJitterAugmentation,
  toModelRange,
} from './augment.ts';
export { parseCsv, parseCsvRecords } from './csv.ts';
export type {
  DatasetItem,
  DicomReader,
  ImageFormat,
  Label,
  LoadImageOptions,
  ManifestOptions,
  ScanOptions,
} from './dataset.ts';
export { classIndexOf, labels, loadItemImage, loadManifest, scanLabelledFolder } from './dataset.ts';
export type {
  Artifact,
  ArtifactType,
  DegradationOptions,
  DegradationResult,
  SampledArtifact,
} from './degrade.ts';
export {
  applyArtifact,
  applyArtifacts,
  artifactAtSeverity,
  artifactTypes,
  degradationName,
  degrade,
  sampleArtifacts,
} from './degrade.ts';
export type { SparseTap } from './filters.ts';
export {
  convolveSeparable,
  convolveSparse,
  gaussianBlur,
  gaussianKernel1d,
  mirrorIndex,
  motionKernel,
} from './filters.ts';
export { deriveSeed, logFactorial, Rng } from './random.ts';
export { cropGray, flipHorizontal, resizeGray } from '../util/resize.ts';
export type {
  GoodSample,
  PairedSample,
  PairedSampler,
  PairedSamplerOptions,
  PoorSample,
  UnpairedSample,
  UnpairedSampler,
  UnpairedSamplerOptions,
} from './sampler.ts';
export { createPairedSampler, createUnpairedSampler } from './sampler.ts';
export type { SplitOptions, SplitResult } from './split.ts';
export {
  countLabels,
  groupItems,
  splitGrouped,
  splitThreeWay,
  splitTrainValidation,
  type ThreeWaySplit,
} from './split.ts';
