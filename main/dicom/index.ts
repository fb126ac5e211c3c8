// Public API of the DICOM service (main process, no Electron):
//   readDicomHeader(bytes)                 header summary + validation (AppError bad_input)
//   decodeFrame(bytes, header, frame)      stored values (+ modality values for monochrome)
//   renderDisplay(bytes, frame, header)    8-bit gray as a viewer shows it
//   toModelInput(bytes, frame, header)     GrayImage in [0,1] for the model
//   writeDerivedImage / createSecondaryCapture / writeClassificationReport   writing (dcmjs)
// Parsing is cached per byte array: do not modify `bytes` between calls.
export type { DecodedFrame, StoredArray } from './decode.ts';
export { decodeFrame } from './decode.ts';
export type { Decodability, DicomHeader } from './header.ts';
export { MAX_FRAME_SAMPLES, readDicomHeader } from './header.ts';
export type { AppliedVoi, DisplayOptions, Gray8Image, Lut, VoiFunction, Window } from './pixel.ts';
export {
  applyVoi,
  gray8ToGrayImage,
  minMax,
  minMaxWindow,
  modalityTransform,
  readLutSequence,
  renderDisplay,
  toModelInput,
  windowValue,
} from './pixel.ts';
export type { PixelEncoding, TransferSyntax } from './transfer-syntax.ts';
export { knownTransferSyntaxes, lookupTransferSyntax } from './transfer-syntax.ts';
export type {
  ClassificationSidecar,
  DeidentifyOptions,
  DerivedImageOptions,
  SecondaryCaptureOptions,
  WrittenDicom,
} from './write.ts';
export {
  COMPREHENSIVE_SR_SOP_CLASS,
  classificationSidecar,
  createSecondaryCapture,
  newUid,
  replaceUid,
  SECONDARY_CAPTURE_SOP_CLASS,
  saveDicom,
  writeClassificationReport,
  writeClassificationSidecar,
  writeDerivedImage,
} from './write.ts';
