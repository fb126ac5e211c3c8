// Writing DICOM: derived Secondary Capture for restored images, Secondary Capture from PNG/JPEG,
// optional de-identification (PS3.15 Annex E, Basic Application Level Confidentiality Profile), and a
// JSON sidecar for classification results. Data sets are encoded with dcmjs.
import { createHash, randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';
import { AppError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { readGrayImage, writeFileAtomic } from '../util/image-io.ts';
import { decodeFrame, type StoredArray } from './decode.ts';
import { type DicomHeader, readDicomHeader } from './header.ts';
import { minMaxWindow, type VoiFunction, type Window } from './pixel.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export const SECONDARY_CAPTURE_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation's UID: a fixed 2.25 UID derived from the product name. */
export const IMPLEMENTATION_CLASS_UID = uidFromHash('R2C Workstation implementation');
const IMPLEMENTATION_VERSION = 'R2C_0.1';
const SOFTWARE_NAME = 'R2C Workstation';

export interface WrittenDicom {
  /** The Part 10 file (preamble + meta + data set, explicit VR little endian). */
  bytes: Uint8Array;
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  /** The stored pixel values written (row-major, interleaved for RGB). */
  stored: StoredArray;
}

/** De-identification on export (PS3.15 Annex E Basic Application Level Confidentiality Profile). */
export interface DeidentifyOptions {
  /**
   * Secret salt for replacing UIDs: the same salt maps the same original UID to the same new UID
   * (internally consistent within an export, as Annex E requires) and cannot be reversed without it.
   */
  uidSalt: string;
  /** Replacement Patient's Name / Patient ID (default: empty, the profile's "Z" action). */
  patientName?: string;
  patientId?: string;
}

export interface DerivedImageOptions {
  /** The source DICOM file (read only, never modified). */
  source: Uint8Array;
  /** The restored image, gray in [0,1] with bone bright — the same convention as toModelInput. */
  image: GrayImage;
  /** Which model produced it; named in Series Description and Derivation Description. */
  model: { name: string; version?: string };
  seriesDescription?: string;
  /** Source frame (0-based) the image was derived from. */
  frameIndex?: number;
  deidentify?: DeidentifyOptions;
  now?: Date;
}

/**
 * A derived Secondary Capture for a restored image: new Series and SOP Instance UIDs, Image Type
 * DERIVED\SECONDARY, Source Image Sequence referencing the source, patient/study attributes copied
 * from the source, and pixel data in the source's bit depth and photometric interpretation.
 *
 * Pixel mapping: the image is in the model's [0,1] space (see toModelInput), so values are mapped
 * back through the same VOI window (the source's first window, else its min/max window) to modality
 * values, then through the source's Rescale Slope/Intercept to stored values (rounded and clamped to
 * Bits Stored). The source window is written too, so a viewer shows the restored image like the
 * original. Sources with a Modality LUT Sequence are written with an identity rescale (stored =
 * modality value); colour sources are written as RGB with R=G=B.
 */
export async function writeDerivedImage(options: DerivedImageOptions): Promise<WrittenDicom> {
  const { source, image, model } = options;
  checkImage(image);
  const header = readDicomHeader(source);
  if (!header.decodable.ok) {
    throw new AppError('unsupported', `cannot derive from this source: ${header.decodable.reason}`);
  }
  const frameIndex = options.frameIndex ?? 0;
  const now = options.now ?? new Date();
  const deid = options.deidentify;
  const mapUid = (uid: string) => (deid ? replaceUid(uid, deid.uidSalt) : uid);
  const studyInstanceUid = header.studyInstanceUid
    ? mapUid(header.studyInstanceUid)
    : DicomMetaDictionary.uid();
  const seriesInstanceUid = DicomMetaDictionary.uid();
  const sopInstanceUid = DicomMetaDictionary.uid();
  const modelLabel = model.version ? `${model.name} ${model.version}` : model.name;

  const pixels =
    header.samplesPerPixel === 3
      ? grayToRgb8(image)
      : await grayToStored(options.source, header, frameIndex, image);

  const dataset: Record<string, unknown> = {
    ...sopCommon(sopInstanceUid, now),
    ...patientAndStudy(header, deid, mapUid),
    Modality: header.modality ?? 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: String(Math.min(2147483647, (header.seriesNumber ?? 0) + 1000)),
    SeriesDescription: (options.seriesDescription ?? `Restored by ${modelLabel}`).slice(0, 64),
    Laterality: header.laterality ?? '',
    Manufacturer: SOFTWARE_NAME,
    ConversionType: 'WSD',
    SecondaryCaptureDeviceManufacturer: SOFTWARE_NAME,
    SecondaryCaptureDeviceManufacturerModelName: SOFTWARE_NAME,
    SecondaryCaptureDeviceSoftwareVersions: modelLabel.slice(0, 64),
    InstanceNumber: '1',
    PatientOrientation: '',
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription:
      `Restored with the ${modelLabel} model by ${SOFTWARE_NAME}; not the acquired image`.slice(0, 1024),
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: header.sopClassUid,
        ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
        ...(header.numberOfFrames > 1 ? { ReferencedFrameNumber: String(frameIndex + 1) } : {}),
      },
    ],
    BurnedInAnnotation: 'NO',
    LossyImageCompression: header.lossyTransferSyntax ? '01' : '00',
    ...pixels.attributes,
    ...(deid ? deidentificationAttributes() : {}),
  };
  if (!deid) {
    dataset['ContentDate'] = dicomDate(now);
    dataset['ContentTime'] = dicomTime(now);
  }
  const bytes = encodePart10(dataset, sopInstanceUid);
  return {
    bytes,
    sopClassUid: SECONDARY_CAPTURE_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid,
    stored: pixels.stored,
  };
}

export interface SecondaryCaptureOptions {
  /** PNG/JPEG (or anything sharp reads) bytes, or an already decoded [0,1] gray image. */
  image: Uint8Array | GrayImage;
  patient?: { name?: string; id?: string; birthDate?: string; sex?: string };
  study?: {
    studyInstanceUid?: string;
    studyDate?: string;
    studyTime?: string;
    accessionNumber?: string;
    studyDescription?: string;
    studyId?: string;
    referringPhysicianName?: string;
  };
  seriesDescription?: string;
  /** Modality of the new series (default OT). */
  modality?: string;
  now?: Date;
}

/**
 * Imports a PNG/JPEG as a new DICOM Secondary Capture (8-bit MONOCHROME2, colour converted to luma).
 * A new study is created unless `study.studyInstanceUid` is given.
 */
export async function createSecondaryCapture(options: SecondaryCaptureOptions): Promise<WrittenDicom> {
  const image = options.image instanceof Uint8Array ? await readGrayImage(options.image) : options.image;
  checkImage(image);
  const now = options.now ?? new Date();
  const studyInstanceUid = options.study?.studyInstanceUid ?? DicomMetaDictionary.uid();
  const seriesInstanceUid = DicomMetaDictionary.uid();
  const sopInstanceUid = DicomMetaDictionary.uid();
  const stored = new Uint8Array(image.width * image.height);
  for (let i = 0; i < stored.length; i++) stored[i] = Math.round(clamp01(image.data[i]!) * 255);
  const p = options.patient ?? {};
  const s = options.study ?? {};
  const dataset: Record<string, unknown> = {
    ...sopCommon(sopInstanceUid, now),
    PatientName: p.name ?? '',
    PatientID: p.id ?? '',
    PatientBirthDate: p.birthDate ?? '',
    PatientSex: p.sex ?? '',
    StudyInstanceUID: studyInstanceUid,
    StudyDate: s.studyDate ?? dicomDate(now),
    StudyTime: s.studyTime ?? dicomTime(now),
    ReferringPhysicianName: s.referringPhysicianName ?? '',
    StudyID: s.studyId ?? '',
    AccessionNumber: s.accessionNumber ?? '',
    ...(s.studyDescription ? { StudyDescription: s.studyDescription } : {}),
    Modality: options.modality ?? 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: '1',
    SeriesDescription: (options.seriesDescription ?? 'Imported image').slice(0, 64),
    Laterality: '',
    Manufacturer: SOFTWARE_NAME,
    ConversionType: 'WSD',
    SecondaryCaptureDeviceManufacturer: SOFTWARE_NAME,
    InstanceNumber: '1',
    PatientOrientation: '',
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    ImageType: ['DERIVED', 'SECONDARY'],
    BurnedInAnnotation: 'NO',
    ...imagePixelAttributes(image.width, image.height, 8, 8, 0, 'MONOCHROME2', stored),
    RescaleIntercept: '0',
    RescaleSlope: '1',
    RescaleType: 'US',
  };
  return {
    bytes: encodePart10(dataset, sopInstanceUid),
    sopClassUid: SECONDARY_CAPTURE_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid,
    stored,
  };
}

/** Classification result as JSON, for callers that keep results next to the image file. */
export interface ClassificationSidecar {
  format: 'r2c-classification/1';
  createdAt: string;
  source: { sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string; frame: number };
  model: { name: string; version?: string; sha256?: string };
  /** Class label -> probability in [0,1]. */
  probabilities: Record<string, number>;
  predicted: string;
  note: string;
}

export function classificationSidecar(
  header: DicomHeader,
  result: {
    probabilities: Record<string, number>;
    model: ClassificationSidecar['model'];
    frameIndex?: number;
  },
  now = new Date(),
): ClassificationSidecar {
  const entries = Object.entries(result.probabilities);
  if (entries.length === 0) throw new AppError('bad_input', 'classification result has no probabilities');
  for (const [label, p] of entries) {
    if (!(p >= 0 && p <= 1))
      throw new AppError('bad_input', `probability for "${label}" is ${p}, not in [0,1]`);
  }
  const predicted = entries.reduce((best, e) => (e[1] > best[1] ? e : best))[0];
  return {
    format: 'r2c-classification/1',
    createdAt: now.toISOString(),
    source: {
      sopInstanceUid: header.sopInstanceUid,
      seriesInstanceUid: header.seriesInstanceUid,
      studyInstanceUid: header.studyInstanceUid,
      frame: (result.frameIndex ?? 0) + 1,
    },
    model: result.model,
    probabilities: result.probabilities,
    predicted,
    note: 'Research software output; not a diagnosis.',
  };
}

export const COMPREHENSIVE_SR_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';

/** Local coding scheme for the classifier's concepts (no standard code exists for them). */
const R2C_SCHEME = '99R2C';

function code(value: string, scheme: string, meaning: string): Record<string, unknown> {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning.slice(0, 64) };
}

/**
 * The classification result as a DICOM Comprehensive SR in the source's study: a root container
 * "Findings" holding the analysed image reference, the model name, one NUM item per class
 * probability (unitless) and the predicted class as a CODE item. Concepts of the classifier use the
 * local coding scheme 99R2C.
 */
export function writeClassificationReport(
  source: Uint8Array,
  result: {
    probabilities: Record<string, number>;
    model: ClassificationSidecar['model'];
    frameIndex?: number;
  },
  options: { now?: Date; deidentify?: DeidentifyOptions } = {},
): WrittenDicom {
  const header = readDicomHeader(source);
  const sidecar = classificationSidecar(header, result, options.now);
  const now = options.now ?? new Date();
  const deid = options.deidentify;
  const mapUid = (uid: string) => (deid ? replaceUid(uid, deid.uidSalt) : uid);
  const sopInstanceUid = DicomMetaDictionary.uid();
  const seriesInstanceUid = DicomMetaDictionary.uid();
  const patientStudy = patientAndStudy(header, deid, mapUid);
  const studyInstanceUid = patientStudy['StudyInstanceUID'] as string;
  const referencedSop = {
    ReferencedSOPClassUID: header.sopClassUid,
    ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
    ...(header.numberOfFrames > 1 ? { ReferencedFrameNumber: String((result.frameIndex ?? 0) + 1) } : {}),
  };
  const modelLabel = result.model.version
    ? `${result.model.name} ${result.model.version}`
    : result.model.name;
  const content: Record<string, unknown>[] = [
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'IMAGE',
      ConceptNameCodeSequence: [code('121112', 'DCM', 'Source of Measurement')],
      ReferencedSOPSequence: [referencedSop],
    },
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'TEXT',
      ConceptNameCodeSequence: [code('111001', 'DCM', 'Algorithm Name')],
      TextValue: modelLabel,
    },
    ...Object.entries(sidecar.probabilities).map(([label, p]) => ({
      RelationshipType: 'CONTAINS',
      ValueType: 'NUM',
      ConceptNameCodeSequence: [code(`P-${label}`.slice(0, 16), R2C_SCHEME, `Probability of ${label}`)],
      MeasuredValueSequence: [
        { MeasurementUnitsCodeSequence: [code('1', 'UCUM', 'no units')], NumericValue: formatDs(p) },
      ],
    })),
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'CODE',
      ConceptNameCodeSequence: [code('121071', 'DCM', 'Finding')],
      ConceptCodeSequence: [code(sidecar.predicted.slice(0, 16), R2C_SCHEME, sidecar.predicted)],
    },
  ];
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: COMPREHENSIVE_SR_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    ...patientStudy,
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: '2000',
    SeriesDescription: `Classification by ${modelLabel}`.slice(0, 64),
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: SOFTWARE_NAME,
    InstanceNumber: '1',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: studyInstanceUid,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: header.seriesInstanceUid
              ? mapUid(header.seriesInstanceUid)
              : DicomMetaDictionary.uid(),
            ReferencedSOPSequence: [
              {
                ReferencedSOPClassUID: header.sopClassUid,
                ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
              },
            ],
          },
        ],
      },
    ],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('121070', 'DCM', 'Findings')],
    ContinuityOfContent: 'SEPARATE',
    ContentSequence: content,
    ...(deid ? deidentificationAttributes() : {}),
  };
  return {
    bytes: encodePart10(dataset, sopInstanceUid),
    sopClassUid: COMPREHENSIVE_SR_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid,
    stored: new Uint8Array(0),
  };
}

export async function writeClassificationSidecar(
  path: string,
  sidecar: ClassificationSidecar,
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(sidecar, null, 2)}\n`);
}

/** Writes a DICOM file atomically (temp + fsync + rename). */
export async function saveDicom(path: string, written: WrittenDicom): Promise<void> {
  await writeFileAtomic(path, written.bytes);
}

// --- pixel mapping ---------------------------------------------------------------------------

function checkImage(image: GrayImage): void {
  const { width, height, data } = image;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 65535 ||
    height > 65535
  ) {
    throw new AppError('bad_input', `image size ${width}x${height} cannot be stored in DICOM Rows/Columns`);
  }
  if (data.length !== width * height) {
    throw new AppError('bad_input', `image data has ${data.length} values for ${width}x${height}`);
  }
}

function clamp01(v: number): number {
  return v > 0 ? Math.min(v, 1) : 0; // NaN -> 0
}

/** Inverse of the VOI functions of PS3.3 C.11.2.1.2 (y in [0,1] -> modality value). */
function inverseWindow(y: number, window: Window, fn: VoiFunction): number {
  const { center: c, width: w } = window;
  if (fn === 'SIGMOID') {
    const t = Math.min(1 - 1e-6, Math.max(1e-6, y));
    return c - (w / 4) * Math.log(1 / t - 1);
  }
  if (fn === 'LINEAR_EXACT') return c + (y - 0.5) * w;
  return c - 0.5 + (y - 0.5) * Math.max(w - 1, 1e-4);
}

async function grayToStored(
  source: Uint8Array,
  header: DicomHeader,
  frameIndex: number,
  image: GrayImage,
): Promise<{ attributes: Record<string, unknown>; stored: StoredArray }> {
  let window: Window | undefined = header.windows[0];
  if (!window) {
    const frame = await decodeFrame(source, header, frameIndex);
    window = minMaxWindow(frame.modality!);
  }
  const fn = header.windows[0] ? header.voiLutFunction : 'LINEAR';
  const identity = header.hasModalityLutSequence;
  const slope = identity ? 1 : (header.rescaleSlope ?? 1);
  const intercept = identity ? 0 : (header.rescaleIntercept ?? 0);
  const signed = header.pixelRepresentation === 1;
  const min = signed ? -(2 ** (header.bitsStored - 1)) : 0;
  const max = signed ? 2 ** (header.bitsStored - 1) - 1 : 2 ** header.bitsStored - 1;
  const count = image.width * image.height;
  const stored: StoredArray =
    header.bitsAllocated === 8
      ? signed
        ? new Int8Array(count)
        : new Uint8Array(count)
      : signed
        ? new Int16Array(count)
        : new Uint16Array(count);
  const invert = header.photometricInterpretation === 'MONOCHROME1';
  for (let i = 0; i < count; i++) {
    const v = clamp01(image.data[i]!);
    const modality = inverseWindow(invert ? 1 - v : v, window, fn);
    const s = Math.round((modality - intercept) / slope);
    stored[i] = s < min ? min : Math.min(s, max);
  }
  const attributes = {
    ...imagePixelAttributes(
      image.width,
      image.height,
      header.bitsAllocated,
      header.bitsStored,
      header.pixelRepresentation,
      header.photometricInterpretation,
      stored,
    ),
    RescaleIntercept: String(intercept),
    RescaleSlope: String(slope),
    RescaleType: header.rescaleType ?? 'US',
    WindowCenter: formatDs(window.center),
    WindowWidth: formatDs(window.width),
    ...(fn !== 'LINEAR' ? { VOILUTFunction: fn } : {}),
  };
  return { attributes, stored };
}

function grayToRgb8(image: GrayImage): { attributes: Record<string, unknown>; stored: StoredArray } {
  const count = image.width * image.height;
  const stored = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    const v = Math.round(clamp01(image.data[i]!) * 255);
    stored[3 * i] = v;
    stored[3 * i + 1] = v;
    stored[3 * i + 2] = v;
  }
  return { attributes: imagePixelAttributes(image.width, image.height, 8, 8, 0, 'RGB', stored), stored };
}

function imagePixelAttributes(
  width: number,
  height: number,
  bitsAllocated: number,
  bitsStored: number,
  pixelRepresentation: number,
  photometric: string,
  stored: StoredArray,
): Record<string, unknown> {
  const rgb = photometric === 'RGB';
  // Pixel Data is written little-endian; an odd byte count is padded to even length (PS3.5 7.1).
  const raw = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  const padded = new Uint8Array(raw.length + (raw.length % 2));
  padded.set(raw);
  return {
    SamplesPerPixel: rgb ? 3 : 1,
    PhotometricInterpretation: photometric,
    ...(rgb ? { PlanarConfiguration: 0 } : {}),
    Rows: height,
    Columns: width,
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: pixelRepresentation,
    PixelData: padded.buffer,
    _vrMap: { PixelData: bitsAllocated > 8 ? 'OW' : 'OB' },
  };
}

// --- attributes ------------------------------------------------------------------------------

function sopCommon(sopInstanceUid: string, now: Date): Record<string, unknown> {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SECONDARY_CAPTURE_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
  };
}

function patientAndStudy(
  h: DicomHeader,
  deid: DeidentifyOptions | undefined,
  mapUid: (uid: string) => string,
): Record<string, unknown> {
  const studyInstanceUid = h.studyInstanceUid ? mapUid(h.studyInstanceUid) : DicomMetaDictionary.uid();
  if (deid) {
    // Annex E Basic Profile: Z (empty) for the Type 2 identifiers, X (removed) for descriptions.
    return {
      PatientName: deid.patientName ?? '',
      PatientID: deid.patientId ?? '',
      PatientBirthDate: '',
      PatientSex: '',
      StudyInstanceUID: studyInstanceUid,
      StudyDate: '',
      StudyTime: '',
      ReferringPhysicianName: '',
      StudyID: '',
      AccessionNumber: '',
    };
  }
  return {
    PatientName: h.patientName ?? '',
    PatientID: h.patientId ?? '',
    PatientBirthDate: h.patientBirthDate ?? '',
    PatientSex: h.patientSex ?? '',
    StudyInstanceUID: studyInstanceUid,
    StudyDate: h.studyDate ?? '',
    StudyTime: h.studyTime ?? '',
    ReferringPhysicianName: h.referringPhysicianName ?? '',
    StudyID: h.studyId ?? '',
    AccessionNumber: h.accessionNumber ?? '',
    ...(h.studyDescription ? { StudyDescription: h.studyDescription } : {}),
  };
}

function deidentificationAttributes(): Record<string, unknown> {
  return {
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'PS3.15 Annex E Basic Application Level Confidentiality Profile',
    DeidentificationMethodCodeSequence: [
      {
        CodeValue: '113100',
        CodingSchemeDesignator: 'DCM',
        CodeMeaning: 'Basic Application Confidentiality Profile',
      },
    ],
  };
}

/** Annex E "U": a new UID, the same for the same original UID and salt. */
export function replaceUid(uid: string, salt: string): string {
  return uidFromHash(`${salt}\u0000${uid}`);
}

function uidFromHash(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  // 2.25.<128-bit integer> (PS3.5 B.2): at most 44 characters.
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

function dicomDate(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

function dicomTime(d: Date): string {
  return d.toISOString().slice(11, 19).replace(/:/g, '');
}

/** DS values are at most 16 characters. */
function formatDs(value: number): string {
  for (let digits = 10; digits >= 1; digits--) {
    const text = String(Number(value.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  return String(Math.round(value));
}

function encodePart10(dataset: Record<string, unknown>, sopInstanceUid: string): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset['SOPClassUID'],
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  };
  try {
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
    return new Uint8Array(dict.write());
  } catch (error) {
    throw new AppError(
      'internal',
      `cannot encode DICOM: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** A fresh random UID (2.25 form), e.g. for callers that need one before writing. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}
