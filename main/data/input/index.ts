// Public surface of the input module (data layer: imports util and dicom only). Every command that
// reads user files goes through it, so they all accept the same inputs and word refusals the same:
//   detectKind(header, name?) / detectFile(path)   what a file is, from its first bytes
//   walkFolder / expandPaths / collectImageInputs  files, folders and DICOMDIRs to the files to read
//   readModelInput(path)                           any image file as the models see it
//   dicomFrameToModelInput / toTrainingLevels      the conversion to the models' input range
export type { ImageKind, InputKind, RasterKind } from './detect.ts';
export {
  detectFile,
  detectFiles,
  detectKind,
  HEADER_BYTES,
  isDicomDirName,
  isImageKind,
  isRasterKind,
  readHeader,
  unsupportedReason,
} from './detect.ts';
export type { DicomSource, ModelInput } from './model-input.ts';
export {
  dicomFrameToModelInput,
  readModelInput,
  readModelInputImage,
  toTrainingLevels,
} from './model-input.ts';
export type { SniffedFile } from './read.ts';
export { MAX_INPUT_BYTES, readImageFile, sniffFile } from './read.ts';
export type { ExpandedInput, InputFailure, WalkOptions } from './walk.ts';
export {
  collectImageInputs,
  dicomDirReferences,
  errorText,
  expandPaths,
  isIgnoredName,
  walkFolder,
} from './walk.ts';
