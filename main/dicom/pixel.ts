// The grayscale pipeline of PS3.3 C.11 / PS3.4 N.2: stored values -> Modality LUT -> VOI LUT ->
// presentation (MONOCHROME1 inverted). Used for what a viewer shows (renderDisplay) and for the
// model input (toModelInput).
import type { DataSet, Element } from 'dicom-parser';
import type { GrayImage } from '../util/image.ts';
import type { DecodedFrame, StoredArray } from './decoded-frame.ts';
import type { DicomHeader } from './header.ts';
import { badInput, isLutItem, parseDicomBytes, tagLabel } from './parse.ts';

/** A Modality or VOI LUT from a LUT sequence item (PS3.3 C.11.1 / C.11.2). */
export interface Lut {
  /** Input value mapped to the first entry; inputs below/above clamp to the first/last entry. */
  firstMapped: number;
  /** Bits per entry (the output range is 0 .. 2^bits-1). */
  bits: number;
  data: Uint16Array;
  explanation?: string;
}

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface Window {
  center: number;
  width: number;
}

/** 8-bit single-channel image, row-major. */
export interface Gray8Image {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Reads the LUTs of a LUT sequence (0028,3000 Modality, 0028,3010 VOI). */
export function readLutSequence(bytes: Uint8Array, sequenceTag: string, signedInput: boolean): Lut[] {
  const { dataSet } = parseDicomBytes(bytes);
  const items = dataSet.elements[sequenceTag]?.items ?? [];
  const luts: Lut[] = [];
  for (const item of items) {
    // Items with neither descriptor nor data (seen in the wild) are ignored, as dcmtk does.
    if (!item.dataSet || !isLutItem(item.dataSet)) continue;
    luts.push(readLut(item.dataSet, sequenceTag, signedInput));
  }
  return luts;
}

function readLut(item: DataSet, sequenceTag: string, signedInput: boolean): Lut {
  const where = `${tagLabel(sequenceTag)} item`;
  const descriptor = item.elements['x00283002'];
  const lutData = item.elements['x00283006'];
  if (!descriptor || descriptor.length < 6)
    throw badInput(`${where}: ${tagLabel('x00283002')} is missing or short`);
  if (!lutData || lutData.length === 0) throw badInput(`${where}: ${tagLabel('x00283006')} is missing`);
  const entries = item.uint16('x00283002', 0) || 65536;
  const rawFirst = item.uint16('x00283002', 1)!;
  const first = (descriptor.vr === 'SS' || signedInput) && rawFirst >= 0x8000 ? rawFirst - 0x10000 : rawFirst;
  const bits = item.uint16('x00283002', 2)!;
  if (bits < 1 || bits > 16)
    throw badInput(`${where}: ${tagLabel('x00283002')} gives ${bits} bits per entry`);
  const data = readLutData(item, lutData, entries, where);
  const lut: Lut = { firstMapped: first, bits, data };
  const explanation = item.string('x00283003');
  if (explanation) lut.explanation = explanation;
  return lut;
}

function readLutData(item: DataSet, element: Element, entries: number, where: string): Uint16Array {
  const data = new Uint16Array(entries);
  if (element.length === entries) {
    // 8-bit entries packed one per byte (seen in older files).
    for (let i = 0; i < entries; i++) data[i] = item.byteArray[element.dataOffset + i]!;
    return data;
  }
  if (element.length < entries * 2) {
    throw badInput(`${where}: ${tagLabel('x00283006')} has ${element.length} bytes for ${entries} entries`);
  }
  for (let i = 0; i < entries; i++)
    data[i] = item.byteArrayParser.readUint16(item.byteArray, element.dataOffset + 2 * i);
  return data;
}

function applyLut(lut: Lut, x: number): number {
  const index = Math.round(x) - lut.firstMapped;
  const last = lut.data.length - 1;
  return lut.data[index < 0 ? 0 : Math.min(index, last)]!;
}

/** Stored -> modality values: Modality LUT Sequence when present, else Rescale Slope/Intercept. */
export function modalityTransform(bytes: Uint8Array, header: DicomHeader, stored: StoredArray): Float64Array {
  const out = new Float64Array(stored.length);
  const lut = header.hasModalityLutSequence
    ? readLutSequence(bytes, 'x00283000', header.pixelRepresentation === 1)[0]
    : undefined;
  if (lut) {
    for (let i = 0; i < stored.length; i++) out[i] = applyLut(lut, stored[i]!);
    return out;
  }
  const slope = header.rescaleSlope ?? 1;
  const intercept = header.rescaleIntercept ?? 0;
  for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * slope + intercept;
  return out;
}

/**
 * VOI windowing of one value to [0,1] per PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT, SIGMOID).
 */
export function windowValue(x: number, window: Window, fn: VoiFunction): number {
  const { center: c, width: w } = window;
  if (fn === 'SIGMOID') return 1 / (1 + Math.exp((-4 * (x - c)) / w));
  if (fn === 'LINEAR_EXACT') {
    if (x <= c - w / 2) return 0;
    if (x > c + w / 2) return 1;
    return (x - c) / w + 0.5;
  }
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 1;
  return (x - (c - 0.5)) / (w - 1) + 0.5;
}

export function minMax(values: ArrayLike<number>): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** The window spanning the frame's modality values (what viewers use when the file has none). */
export function minMaxWindow(values: ArrayLike<number>): Window {
  const { min, max } = minMax(values);
  return { center: (min + max + 1) / 2, width: Math.max(1, max - min + 1) };
}

export interface DisplayOptions {
  /** Explicit window (center/width, in modality units); overrides everything in the file. */
  window?: Window;
  /** Which of the file's Window Center/Width pairs to use (default 0). */
  windowIndex?: number;
  /** Which VOI LUT Sequence item to use when the file has no window (default 0). */
  voiLutIndex?: number;
  /** VOI LUT Function for the window (default: the file's (0028,1056), else LINEAR). */
  voiFunction?: VoiFunction;
}

/** The VOI actually applied, so callers (and `r2c render`) can say what they show. */
export type AppliedVoi =
  | {
      kind: 'window';
      center: number;
      width: number;
      function: VoiFunction;
      source: 'option' | 'file' | 'minmax';
    }
  | { kind: 'lut'; index: number; explanation?: string };

/** Maps modality values to [0,1] with the chosen VOI. */
export function applyVoi(
  bytes: Uint8Array,
  frame: DecodedFrame,
  header: DicomHeader,
  options: DisplayOptions = {},
): { values: Float32Array; voi: AppliedVoi } {
  const modality = frame.modality;
  if (!modality) throw badInput('VOI applies to monochrome frames only');
  const out = new Float32Array(modality.length);
  const fn = options.voiFunction ?? header.voiLutFunction;
  let window: Window | undefined;
  let source: 'option' | 'file' | 'minmax' = 'option';
  if (options.window) window = options.window;
  else if (header.windows.length > 0) {
    const index = options.windowIndex ?? 0;
    window = header.windows[index];
    if (!window) throw badInput(`window ${index} does not exist (the file has ${header.windows.length})`);
    source = 'file';
  } else if (header.hasVoiLutSequence) {
    const index = options.voiLutIndex ?? 0;
    const luts = readLutSequence(bytes, 'x00283010', true);
    const lut = luts[index];
    if (!lut) throw badInput(`VOI LUT ${index} does not exist (the file has ${luts.length})`);
    const scale = 1 / (2 ** lut.bits - 1);
    for (let i = 0; i < modality.length; i++) out[i] = applyLut(lut, modality[i]!) * scale;
    const voi: AppliedVoi = { kind: 'lut', index };
    if (lut.explanation) voi.explanation = lut.explanation;
    return { values: out, voi };
  } else {
    window = minMaxWindow(modality);
    source = 'minmax';
  }
  if (!(window.width > 0) || !Number.isFinite(window.center)) {
    throw badInput(`window center ${window.center} / width ${window.width} is invalid (width must be > 0)`);
  }
  const linearWidth = fn === 'LINEAR' ? Math.max(window.width, 1.0001) : window.width;
  const effective = { center: window.center, width: linearWidth };
  for (let i = 0; i < modality.length; i++) out[i] = windowValue(modality[i]!, effective, fn);
  return {
    values: out,
    voi: { kind: 'window', center: window.center, width: window.width, function: fn, source },
  };
}

/**
 * What a viewer shows, as 8-bit gray: Modality LUT (already in frame.modality), VOI (option window,
 * else the file's window, else its VOI LUT, else min/max), then MONOCHROME1 inverted. Colour frames
 * are shown as their luma (Rec. 601).
 */
export function renderDisplay(
  bytes: Uint8Array,
  frame: DecodedFrame,
  header: DicomHeader,
  options: DisplayOptions = {},
): Gray8Image & { voi?: AppliedVoi } {
  const count = frame.width * frame.height;
  const data = new Uint8Array(count);
  if (frame.samplesPerPixel === 3) {
    const luma = rgbLuma(frame);
    for (let i = 0; i < count; i++) data[i] = Math.floor(luma[i]! * 255 + 0.5);
    return { width: frame.width, height: frame.height, data };
  }
  const { values, voi } = applyVoi(bytes, frame, header, options);
  const invert = frame.photometricInterpretation === 'MONOCHROME1';
  // Truncation (not rounding) to 8 bits, as dcmtk's dcm2pnm does: our golden reference.
  for (let i = 0; i < count; i++) data[i] = Math.floor((invert ? 1 - values[i]! : values[i]!) * 255);
  return { width: frame.width, height: frame.height, data, voi };
}

/**
 * The model's input, gray in [0,1], full float precision (not quantised to 8 bits):
 * 1. monochrome: modality values (Modality LUT Sequence, else Rescale Slope/Intercept);
 * 2. VOI: the file's first Window Center/Width with its VOI LUT Function, else the first VOI LUT
 *    Sequence item, else the frame's min/max window;
 * 3. MONOCHROME1 is inverted, so bone is bright as in the MONOCHROME2 training images;
 * colour (RGB, or YBR converted to RGB): Rec. 601 luma of the stored samples, divided by the sample max.
 */
export function toModelInput(bytes: Uint8Array, frame: DecodedFrame, header: DicomHeader): GrayImage {
  const count = frame.width * frame.height;
  if (frame.samplesPerPixel === 3) return { width: frame.width, height: frame.height, data: rgbLuma(frame) };
  const { values } = applyVoi(bytes, frame, header, {});
  const data = new Float32Array(count);
  const invert = frame.photometricInterpretation === 'MONOCHROME1';
  for (let i = 0; i < count; i++) data[i] = invert ? 1 - values[i]! : values[i]!;
  return { width: frame.width, height: frame.height, data };
}

/** Rec. 601 luma of interleaved RGB, in [0,1]. */
function rgbLuma(frame: DecodedFrame): Float32Array {
  const count = frame.width * frame.height;
  const scale = 1 / (2 ** frame.bitsStored - 1);
  const s = frame.stored;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = (0.299 * s[3 * i]! + 0.587 * s[3 * i + 1]! + 0.114 * s[3 * i + 2]!) * scale;
  }
  return out;
}

/** An 8-bit image as a [0,1] GrayImage (exact round trip through writeGrayPng). */
export function gray8ToGrayImage(image: Gray8Image): GrayImage {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i]! / 255;
  return { width: image.width, height: image.height, data };
}
