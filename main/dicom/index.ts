// Public API of the DICOM service (main process, no Electron):
//   readDicomHeader(bytes)                 header summary + validation (AppError bad_input)
//   decodeFrame(bytes, header, frame)      stored values (+ modality values for monochrome)
//   renderDisplay(bytes, frame, header)    8-bit gray as a viewer shows it
//   toModelInput(bytes, frame, header)     GrayImage in [0,1] for the model
//   writeDerivedImage / createSecondaryCapture   Secondary Capture writing (secondary-capture.ts)
//   writeClassificationReport / classificationSidecar   SR and JSON results (structured-report.ts)
// Writing shares encode.ts (Part 10 encoding with dcmjs, UIDs, DS/DA/TM values) and deidentify.ts
// (PS3.15 Annex E Basic Profile, copied patient/study attributes).
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
export type { ParsedDicom } from './parse.ts';
export { parseDicomBytes } from './parse.ts';
export type { PixelEncoding, TransferSyntax } from './transfer-syntax.ts';
export { knownTransferSyntaxes, lookupTransferSyntax } from './transfer-syntax.ts';
export type { DeidentifyOptions } from './deidentify.ts';
export { replaceUid } from './deidentify.ts';
export type { WrittenDicom } from './encode.ts';
export { newUid, saveDicom } from './encode.ts';
export type { DerivedImageOptions, SecondaryCaptureOptions } from './secondary-capture.ts';
export type { BurntText } from './burn-in.ts';
export { AI_RESTORED_MARKING, burnInText } from './burn-in.ts';
export {
  createSecondaryCapture,
  SECONDARY_CAPTURE_SOP_CLASS,
  writeDerivedImage,
} from './secondary-capture.ts';
export type { ClassificationAssessment, ClassificationSidecar } from './structured-report.ts';
export {
  COMPREHENSIVE_SR_SOP_CLASS,
  classificationSidecar,
  writeClassificationReport,
  writeClassificationSidecar,
} from './structured-report.ts';
export type {
  AnnotationTool,
  ImageAnnotation,
  MeasurementSpacing,
} from './measurement-report.ts';
export { measure, TID_1500, writeMeasurementReport } from './measurement-report.ts';
export { GSPS_SOP_CLASS, writePresentationState } from './presentation-state.ts';
export type { ReferencedAnnotation, ReportItem, StructuredReport } from './sr-read.ts';
export {
  isPresentationStateClass,
  isStructuredReportClass,
  readReportAnnotations,
  readStructuredReport,
} from './sr-read.ts';
// Building blocks for SR writers outside dicom/ (review/sr.ts): the same Part 10 encoding, coded
// concepts, values and copied patient/study attributes as our own SR.
export {
  codedConcept,
  deviceObserverContext,
  dicomDate,
  dicomTime,
  encodePart10,
  formatDs,
  generateUid,
  SOFTWARE_NAME,
  uidFromHash,
} from './encode.ts';
export { patientAndStudy, uidMapper } from './deidentify.ts';
