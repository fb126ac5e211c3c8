// Secondary Capture objects we write: a derived image for a restoration (in the source's study, bit
// depth and photometric interpretation, with the pixel mapping back to stored values) and a new
// Secondary Capture from a PNG/JPEG import.
import { AppError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { readGrayImage } from '../util/image-io.ts';
import { burnInText } from './burn-in.ts';
import { decodeFrame, type StoredArray } from './decode.ts';
import {
  type DeidentifyOptions,
  deidentificationAttributes,
  patientAndStudy,
  uidMapper,
} from './deidentify.ts';
import {
  checkImage,
  clamp01,
  dicomDate,
  dicomTime,
  encodePart10,
  formatDs,
  generateUid,
  imagePixelAttributes,
  SOFTWARE_NAME,
  type WrittenDicom,
} from './encode.ts';
import { type DicomHeader, readDicomHeader } from './header.ts';
import { parseDicomBytes } from './parse.ts';
import { minMaxWindow, type VoiFunction, type Window } from './pixel.ts';

export const SECONDARY_CAPTURE_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.7';

export interface DerivedImageOptions {
  /** The source DICOM file (read only, never modified). */
  source: Uint8Array;
  /** The restored image, gray in [0,1] with bone bright — the same convention as toModelInput. */
  image: GrayImage;
  /** Which model produced it; named in Series Description and Derivation Description. */
  model: { name: string; version?: string; sha256?: string };
  /**
   * Text burnt into the top-left corner of the pixels (e.g. AI_RESTORED_MARKING); Burned In
   * Annotation is then YES.
   */
  marking?: string;
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
  const mapUid = uidMapper(deid);
  const studyInstanceUid = header.studyInstanceUid ? mapUid(header.studyInstanceUid) : generateUid();
  const seriesInstanceUid = generateUid();
  const sopInstanceUid = generateUid();
  const modelLabel = model.version ? `${model.name} ${model.version}` : model.name;
  const marked = options.marking ? burnInText(image, options.marking).image : image;

  const pixels =
    header.samplesPerPixel === 3
      ? grayToRgb8(marked)
      : await grayToStored(options.source, header, frameIndex, marked);

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
    DerivationDescription: (
      `Restored with the ${modelLabel} model${model.sha256 ? ` (ONNX SHA-256 ${model.sha256})` : ''} by ${SOFTWARE_NAME}; ` +
      `not the acquired image${options.marking ? `; marked "${options.marking}" in the pixels` : ''}`
    ).slice(0, 1024),
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: header.sopClassUid,
        ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
        ...(header.numberOfFrames > 1 ? { ReferencedFrameNumber: String(frameIndex + 1) } : {}),
      },
    ],
    BurnedInAnnotation: options.marking ? 'YES' : 'NO',
    LossyImageCompression: header.lossyTransferSyntax ? '01' : '00',
    ...pixels.attributes,
    ...spacingAttributes(source, header, image),
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
  const studyInstanceUid = options.study?.studyInstanceUid ?? generateUid();
  const seriesInstanceUid = generateUid();
  const sopInstanceUid = generateUid();
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

/**
 * The source's Pixel Spacing and Imager Pixel Spacing, scaled when the derived image has another
 * matrix size (a full-resolution result keeps them unchanged), so measurements stay in millimetres.
 */
function spacingAttributes(
  source: Uint8Array,
  header: DicomHeader,
  image: GrayImage,
): Record<string, unknown> {
  let ds: ReturnType<typeof parseDicomBytes>['dataSet'];
  try {
    ds = parseDicomBytes(source).dataSet;
  } catch {
    return {};
  }
  const rowScale = header.rows / image.height;
  const columnScale = header.columns / image.width;
  const out: Record<string, unknown> = {};
  for (const [tag, keyword] of [
    ['x00280030', 'PixelSpacing'],
    ['x00181164', 'ImagerPixelSpacing'],
  ] as const) {
    const values = ds.string(tag)?.split('\\').map(Number);
    if (values?.length === 2 && values.every((v) => Number.isFinite(v) && v > 0)) {
      const same = rowScale === 1 && columnScale === 1;
      out[keyword] = same
        ? ds
            .string(tag)!
            .split('\\')
            .map((v) => v.trim())
        : [formatDs(values[0]! * rowScale), formatDs(values[1]! * columnScale)];
    }
  }
  return out;
}

// --- pixel mapping ---------------------------------------------------------------------------

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

function sopCommon(sopInstanceUid: string, now: Date): Record<string, unknown> {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SECONDARY_CAPTURE_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
  };
}
