// What the viewer gets for one image: pixel values in the ORIGINAL units (Modality LUT applied, VOI
// not), so window/level and the pixel probe work as in any DICOM viewer, plus the file's window
// presets. Restored images are mapped back into the same units (see restoredToModality).
import {
  type AppliedVoi,
  type DecodedFrame,
  type DicomHeader,
  minMax,
  parseDicomBytes,
  readLutSequence,
  type VoiFunction,
} from '../dicom/index.ts';
import type { GrayImage } from '../util/image.ts';

export type ViewerDataType = 'uint8' | 'int16' | 'uint16' | 'float32';

export interface WindowPreset {
  center: number;
  width: number;
  /** Shown in the preset menu, e.g. the file's Window Center & Width Explanation. */
  label: string;
  source: 'file' | 'voiLut' | 'minmax';
}

export interface ViewerImage {
  width: number;
  height: number;
  /** 1: gray; 3: interleaved RGB. */
  components: 1 | 3;
  dataType: ViewerDataType;
  /** Pixel values as the bytes of a `dataType` array (platform byte order, little-endian on every target). */
  pixels: Uint8Array<ArrayBuffer>;
  min: number;
  max: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';
  /** Window presets from the file (first = what the file asks to be shown with), modality units. */
  windows: WindowPreset[];
  voiFunction: VoiFunction;
  /** Millimetres per pixel (row, column); 1 when the file does not say (see calibration). */
  spacing: { row: number; column: number };
  /** Where `spacing` comes from; null: uncalibrated, lengths are in (original) pixels. */
  calibration: 'PixelSpacing' | 'ImagerPixelSpacing' | null;
  modality: string | null;
  /** Units of the pixel values, e.g. 'HU' for CT; '' when unitless. */
  units: string;
  frames: number;
  /** Which frame these pixels are (0-based). */
  frame: number;
  /** The pixels on file went through lossy compression. */
  lossy: boolean;
  /** What a clinical viewer shows over the image (from the file); null for restored images. */
  overlay: ViewerOverlay | null;
}

/**
 * The attributes shown in the viewport's corners and as orientation markers, as stored (DA/TM
 * unformatted, PN with its ^ separators); null where the file lacks them.
 */
export interface ViewerOverlay {
  patientName: string | null;
  patientId: string | null;
  patientSex: string | null;
  patientBirthDate: string | null;
  studyDate: string | null;
  studyTime: string | null;
  studyDescription: string | null;
  accessionNumber: string | null;
  seriesNumber: number | null;
  seriesDescription: string | null;
  instanceNumber: number | null;
  /** Patient Orientation (0020,0020): the direction of the rows and of the columns, e.g. ['P', 'F']. */
  patientOrientation: [string, string] | null;
  /** Image Laterality (0020,0062), else Laterality (0020,0060). */
  laterality: string | null;
  viewPosition: string | null;
  bodyPart: string | null;
}

export function overlayOf(bytes: Uint8Array, header: DicomHeader): ViewerOverlay {
  const orientation = (parseDicomBytes(bytes).dataSet.string('x00200020') ?? '')
    .split('\\')
    .map((part) => part.trim().toUpperCase());
  const valid = orientation.length === 2 && orientation.every((part) => /^[APRLHFB]+$/.test(part));
  return {
    patientName: header.patientName ?? null,
    patientId: header.patientId ?? null,
    patientSex: header.patientSex ?? null,
    patientBirthDate: header.patientBirthDate ?? null,
    studyDate: header.studyDate ?? null,
    studyTime: header.studyTime ?? null,
    studyDescription: header.studyDescription ?? null,
    accessionNumber: header.accessionNumber ?? null,
    seriesNumber: header.seriesNumber ?? null,
    seriesDescription: header.seriesDescription ?? null,
    instanceNumber: header.instanceNumber ?? null,
    patientOrientation: valid ? [orientation[0]!, orientation[1]!] : null,
    laterality: header.laterality ?? null,
    viewPosition: header.viewPosition ?? null,
    bodyPart: header.bodyPartExamined ?? null,
  };
}

/** The narrowest typed array that holds every value exactly (float32 for non-integers). */
export function packValues(values: ArrayLike<number>): {
  dataType: ViewerDataType;
  pixels: Uint8Array<ArrayBuffer>;
} {
  const { min, max } = minMax(values);
  let integral = true;
  for (let i = 0; i < values.length && integral; i++) integral = Number.isInteger(values[i]);
  let array:
    | Uint8Array<ArrayBuffer>
    | Int16Array<ArrayBuffer>
    | Uint16Array<ArrayBuffer>
    | Float32Array<ArrayBuffer>;
  let dataType: ViewerDataType;
  if (integral && min >= 0 && max <= 255) [array, dataType] = [new Uint8Array(values.length), 'uint8'];
  else if (integral && min >= 0 && max <= 65535)
    [array, dataType] = [new Uint16Array(values.length), 'uint16'];
  else if (integral && min >= -32768 && max <= 32767)
    [array, dataType] = [new Int16Array(values.length), 'int16'];
  else [array, dataType] = [new Float32Array(values.length), 'float32'];
  for (let i = 0; i < values.length; i++) array[i] = values[i]!;
  return { dataType, pixels: new Uint8Array(array.buffer, array.byteOffset, array.byteLength) };
}

function readSpacing(bytes: Uint8Array): Pick<ViewerImage, 'spacing' | 'calibration'> {
  const ds = parseDicomBytes(bytes).dataSet;
  for (const [tag, source] of [
    ['x00280030', 'PixelSpacing'],
    ['x00181164', 'ImagerPixelSpacing'],
  ] as const) {
    const parts = (ds.string(tag) ?? '').split('\\').map(Number);
    if (parts.length === 2 && parts.every((v) => Number.isFinite(v) && v > 0))
      return { spacing: { row: parts[0]!, column: parts[1]! }, calibration: source };
  }
  return { spacing: { row: 1, column: 1 }, calibration: null };
}

/**
 * A VOI LUT as a window: Cornerstone's GPU path windows linearly only, so a VOI LUT Sequence is
 * shown through its least-squares linear fit; `maxError` (in 8-bit grey levels) says how close it is.
 */
export function fitVoiLut(lut: { firstMapped: number; bits: number; data: ArrayLike<number> }): {
  center: number;
  width: number;
  maxError: number;
} {
  const n = lut.data.length;
  const scale = 1 / (2 ** lut.bits - 1);
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const x = lut.firstMapped + i;
    const y = lut.data[i]! * scale;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const slope = n > 1 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0;
  if (!(slope > 0)) return { center: lut.firstMapped + n / 2, width: Math.max(1, n), maxError: 255 };
  const intercept = (sy - slope * sx) / n;
  const width = 1 / slope;
  const center = (0.5 - intercept) / slope;
  let maxError = 0;
  for (let i = 0; i < n; i++) {
    const fitted = Math.min(1, Math.max(0, slope * (lut.firstMapped + i) + intercept));
    maxError = Math.max(maxError, Math.abs(fitted - lut.data[i]! * scale) * 255);
  }
  return { center, width, maxError };
}

export function buildViewerImage(bytes: Uint8Array, header: DicomHeader, frame: DecodedFrame): ViewerImage {
  const base = {
    width: frame.width,
    height: frame.height,
    ...readSpacing(bytes),
    modality: header.modality ?? null,
    frames: header.numberOfFrames,
    frame: frame.frameIndex,
    lossy: header.lossyTransferSyntax,
    voiFunction: header.voiLutFunction,
    overlay: overlayOf(bytes, header),
  };
  if (frame.samplesPerPixel === 3) {
    const max = 2 ** frame.bitsStored - 1;
    const values = new Uint8Array(frame.stored.length);
    for (let i = 0; i < values.length; i++) values[i] = Math.round((frame.stored[i]! / max) * 255);
    return {
      ...base,
      components: 3,
      dataType: 'uint8',
      pixels: values,
      min: 0,
      max: 255,
      photometric: 'RGB',
      windows: [{ center: 127.5, width: 256, label: 'Full range', source: 'minmax' }],
      units: '',
    };
  }
  const modality = frame.modality!;
  const { min, max } = minMax(modality);
  const windows: WindowPreset[] = header.windows.map((w, index) => ({
    center: w.center,
    width: w.width,
    label: w.explanation ?? `DICOM window ${index + 1}`,
    source: 'file',
  }));
  if (windows.length === 0 && header.hasVoiLutSequence) {
    for (const [index, lut] of readLutSequence(bytes, 'x00283010', true).entries()) {
      const fit = fitVoiLut(lut);
      const name = lut.explanation ?? `DICOM VOI LUT ${index + 1}`;
      windows.push({
        center: fit.center,
        width: fit.width,
        label: `${name} (linear fit, within ${Math.ceil(fit.maxError)} grey levels)`,
        source: 'voiLut',
      });
    }
  }
  windows.push({
    center: (min + max + 1) / 2,
    width: Math.max(1, max - min + 1),
    label: 'Full range',
    source: 'minmax',
  });
  const rescaleType = header.rescaleType?.trim();
  const units = rescaleType && rescaleType !== 'US' ? rescaleType : header.modality === 'CT' ? 'HU' : '';
  return {
    ...base,
    components: 1,
    ...packValues(modality),
    min,
    max,
    photometric: frame.photometricInterpretation === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2',
    windows,
    units,
  };
}

/** The VOI the model input went through (see toModelInput), so restored pixels can be mapped back. */
export type ModelInputMapping =
  | { kind: 'window'; center: number; width: number; function: VoiFunction; invert: boolean }
  | { kind: 'rgb' };

export function mappingOf(voi: AppliedVoi | undefined, image: ViewerImage): ModelInputMapping {
  if (image.components === 3 || !voi) return { kind: 'rgb' };
  const invert = image.photometric === 'MONOCHROME1';
  if (voi.kind === 'window')
    return { kind: 'window', center: voi.center, width: voi.width, function: voi.function, invert };
  // A VOI LUT: its linear fit (the first 'voiLut' preset) is the best invertible stand-in.
  const fit = image.windows.find((w) => w.source === 'voiLut') ?? image.windows.at(-1)!;
  return { kind: 'window', center: fit.center, width: fit.width, function: 'LINEAR_EXACT', invert };
}

/** Inverse of windowValue (pixel.ts) for v in [0,1]; saturated values land on the window's edges. */
export function unwindow(v: number, center: number, width: number, fn: VoiFunction): number {
  const clamped = Math.min(1, Math.max(0, v));
  if (fn === 'SIGMOID') {
    const s = Math.min(1 - 1e-4, Math.max(1e-4, clamped));
    return center - (width / 4) * Math.log(1 / s - 1);
  }
  if (fn === 'LINEAR_EXACT') return (clamped - 0.5) * width + center;
  const w = Math.max(width, 1.0001);
  return (clamped - 0.5) * (w - 1) + center - 0.5;
}

/**
 * A restored image ([0,1], bone bright, the model's domain) in the original's units and photometric
 * interpretation, so both viewports take the same window/level. Detail outside the window the model
 * saw cannot come back: those pixels sit at the window's edges.
 */
export function restoredToModality(
  restored: GrayImage,
  mapping: ModelInputMapping,
  original: ViewerImage,
): ViewerImage {
  const values = new Float32Array(restored.data.length);
  if (mapping.kind === 'rgb') {
    for (let i = 0; i < values.length; i++)
      values[i] = Math.round(Math.min(1, Math.max(0, restored.data[i]!)) * 255);
  } else {
    for (let i = 0; i < values.length; i++) {
      const v = mapping.invert ? 1 - restored.data[i]! : restored.data[i]!;
      values[i] = unwindow(v, mapping.center, mapping.width, mapping.function);
    }
  }
  const { min, max } = minMax(values);
  const scaleX = original.width / restored.width;
  const scaleY = original.height / restored.height;
  return {
    ...original,
    width: restored.width,
    height: restored.height,
    components: 1,
    dataType: 'float32',
    pixels: new Uint8Array(values.buffer),
    min,
    max,
    photometric: mapping.kind === 'rgb' ? 'MONOCHROME2' : original.photometric,
    windows:
      mapping.kind === 'rgb'
        ? [{ center: 127.5, width: 256, label: 'Full range', source: 'minmax' }]
        : original.windows,
    // Same physical extent as the original, so the two viewports share one world frame.
    spacing: { row: original.spacing.row * scaleY, column: original.spacing.column * scaleX },
    frames: 1,
    frame: 0,
    lossy: false,
    overlay: null,
  };
}
