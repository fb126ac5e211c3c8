// DICOM header summary + validation of the Image Pixel Module against the data actually present.
import type { DataSet } from 'dicom-parser';
import { firstFragment, nativeFrameBytes, peekCodestream, pixelDataElement } from './frames.ts';
import { badInput, isLutItem, parseDicomBytes, tagLabel } from './parse.ts';
import { decodeText } from './text.ts';
import { lookupTransferSyntax } from './transfer-syntax.ts';

export type Decodability = { ok: true } | { ok: false; reason: string };

export interface DicomHeader {
  /** Empty string when the file lacks it (some test files do); never undefined. */
  sopInstanceUid: string;
  sopClassUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientId?: string;
  patientName?: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyTime?: string;
  studyDescription?: string;
  accessionNumber?: string;
  studyId?: string;
  referringPhysicianName?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  modality?: string;
  instanceNumber?: number;
  bodyPartExamined?: string;
  viewPosition?: string;
  laterality?: string;
  /** 0 when the object has no image (e.g. an RT plan). */
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  photometricInterpretation: string;
  samplesPerPixel: number;
  /** 0 colour-by-pixel (RGBRGB…), 1 colour-by-plane (RR…GG…BB…). */
  planarConfiguration: number;
  numberOfFrames: number;
  transferSyntaxUid: string;
  transferSyntaxName: string;
  /** True when the transfer syntax is lossy (the pixels on file are already an approximation). */
  lossyTransferSyntax: boolean;
  /** False for raw data sets without preamble / File Meta Information (transfer syntax guessed). */
  hasFileMeta: boolean;
  hasPixelData: boolean;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  rescaleType?: string;
  hasModalityLutSequence: boolean;
  /** Window Center/Width pairs as stored (several pairs allowed); empty when absent. */
  windows: { center: number; width: number; explanation?: string }[];
  voiLutFunction: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  hasVoiLutSequence: boolean;
  decodable: Decodability;
}

/**
 * Samples per frame above this (2^26, e.g. 8192 x 8192 gray) are refused before anything is
 * allocated: decoding one frame needs a few bytes per sample (12-bit JPEG keeps 4-byte coefficients).
 */
export const MAX_FRAME_SAMPLES = 2 ** 26;

/**
 * Reads and validates the header. Throws AppError('bad_input') naming the element and the problem
 * when the file is not DICOM, is truncated, or its image attributes contradict its Pixel Data.
 * A valid file we cannot decode returns `decodable: { ok: false, reason }` instead.
 */
export function readDicomHeader(bytes: Uint8Array): DicomHeader {
  const parsed = parseDicomBytes(bytes);
  const ds = parsed.dataSet;
  const ts = lookupTransferSyntax(parsed.transferSyntaxUid);
  const charset = ds.string('x00080005');
  const text = (tag: string) => {
    const element = ds.elements[tag];
    if (!element || element.length === 0) return undefined;
    const value = decodeText(
      ds.byteArray.subarray(element.dataOffset, element.dataOffset + element.length),
      charset,
    )
      .replace(/[\0 ]+$/, '')
      .replace(/^ +/, '');
    return value === '' ? undefined : value;
  };
  const uid = (tag: string) => (ds.string(tag) ?? '').replace(/\0/g, '');
  const pixel = pixelDataElement(ds);
  const hasImageAttributes = ['x00280010', 'x00280011', 'x00280100'].some((t) => ds.elements[t]);
  const isImage = pixel !== undefined || hasImageAttributes;

  const header: DicomHeader = {
    sopInstanceUid: uid('x00080018') || uid('x00020003'),
    sopClassUid: uid('x00080016') || uid('x00020002'),
    studyInstanceUid: uid('x0020000d'),
    seriesInstanceUid: uid('x0020000e'),
    patientId: text('x00100020'),
    patientName: text('x00100010'),
    patientBirthDate: text('x00100030'),
    patientSex: text('x00100040'),
    studyDate: text('x00080020'),
    studyTime: text('x00080030'),
    studyDescription: text('x00081030'),
    accessionNumber: text('x00080050'),
    studyId: text('x00200010'),
    referringPhysicianName: text('x00080090'),
    seriesNumber: optionalInteger(ds, 'x00200011'),
    seriesDescription: text('x0008103e'),
    modality: text('x00080060'),
    instanceNumber: optionalInteger(ds, 'x00200013'),
    bodyPartExamined: text('x00180015'),
    viewPosition: text('x00185101'),
    laterality: text('x00200060') ?? text('x00200062'),
    rows: 0,
    columns: 0,
    bitsAllocated: 0,
    bitsStored: 0,
    highBit: 0,
    pixelRepresentation: 0,
    photometricInterpretation: '',
    samplesPerPixel: 0,
    planarConfiguration: 0,
    numberOfFrames: 0,
    transferSyntaxUid: parsed.transferSyntaxUid,
    transferSyntaxName: ts?.name ?? `unknown (${parsed.transferSyntaxUid})`,
    lossyTransferSyntax: ts?.lossy ?? false,
    hasFileMeta: parsed.hasFileMeta,
    hasPixelData: pixel !== undefined,
    hasModalityLutSequence: hasLutItems(ds, 'x00283000'),
    windows: [],
    voiLutFunction: 'LINEAR',
    hasVoiLutSequence: hasLutItems(ds, 'x00283010'),
    decodable: { ok: false, reason: 'no Pixel Data (7FE0,0010): not an image' },
  };
  if (!isImage) return header;

  header.rows = requiredUint16(ds, 'x00280010');
  header.columns = requiredUint16(ds, 'x00280011');
  header.bitsAllocated = requiredUint16(ds, 'x00280100');
  header.bitsStored = ds.uint16('x00280101') ?? header.bitsAllocated;
  header.highBit = ds.uint16('x00280102') ?? header.bitsStored - 1;
  header.pixelRepresentation = ds.uint16('x00280103') ?? 0;
  header.samplesPerPixel = ds.uint16('x00280002') ?? 1;
  header.planarConfiguration = ds.uint16('x00280006') ?? 0;
  header.photometricInterpretation =
    (ds.string('x00280004') ?? '').trim().toUpperCase() ||
    (header.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2');
  header.numberOfFrames = optionalInteger(ds, 'x00280008', true) ?? 1;
  header.rescaleSlope = optionalNumber(ds, 'x00281053');
  header.rescaleIntercept = optionalNumber(ds, 'x00281052');
  header.rescaleType = text('x00281054');
  header.windows = readWindows(ds, text('x00281055'));
  const fn = (ds.string('x00281056') ?? '').trim().toUpperCase();
  header.voiLutFunction = fn === 'SIGMOID' || fn === 'LINEAR_EXACT' ? fn : 'LINEAR';

  validateImage(header);
  if (pixel) validatePixelData(ds, header);
  checkTotalSize(header);
  if (!pixel) return header;
  header.decodable = decodability(ds, header);
  return header;
}

function validateImage(h: DicomHeader): void {
  if (h.rows === 0) throw badInput(`${tagLabel('x00280010')} is 0`);
  if (h.columns === 0) throw badInput(`${tagLabel('x00280011')} is 0`);
  if (![1, 8, 16, 32].includes(h.bitsAllocated)) {
    throw badInput(`${tagLabel('x00280100')} is ${h.bitsAllocated}; DICOM allows 1 or a multiple of 8`);
  }
  if (h.bitsStored < 1 || h.bitsStored > h.bitsAllocated) {
    throw badInput(
      `${tagLabel('x00280101')} is ${h.bitsStored} but ${tagLabel('x00280100')} is ${h.bitsAllocated}`,
    );
  }
  if (h.highBit >= h.bitsAllocated) {
    throw badInput(
      `${tagLabel('x00280102')} is ${h.highBit} but ${tagLabel('x00280100')} is ${h.bitsAllocated}`,
    );
  }
  if (h.pixelRepresentation > 1)
    throw badInput(`${tagLabel('x00280103')} is ${h.pixelRepresentation}; must be 0 or 1`);
  if (h.samplesPerPixel < 1 || h.samplesPerPixel > 4) {
    throw badInput(`${tagLabel('x00280002')} is ${h.samplesPerPixel}`);
  }
  if (h.numberOfFrames < 1)
    throw badInput(`${tagLabel('x00280008')} is ${h.numberOfFrames}; must be at least 1`);
}

function checkTotalSize(h: DicomHeader): void {
  // Native frames are also bounded by the file size (validatePixelData); this bounds compressed ones.
  const samples = h.rows * h.columns * h.samplesPerPixel;
  if (samples > MAX_FRAME_SAMPLES) {
    throw badInput(
      `image too large: ${tagLabel('x00280010')} ${h.rows} × ${tagLabel('x00280011')} ${h.columns} × ` +
        `${h.samplesPerPixel} samples per frame exceeds the limit of ${MAX_FRAME_SAMPLES} samples`,
    );
  }
}

function validatePixelData(ds: DataSet, h: DicomHeader): void {
  const pixel = pixelDataElement(ds)!;
  const ts = lookupTransferSyntax(h.transferSyntaxUid);
  if (pixel.encapsulatedPixelData) {
    checkTotalSize(h); // before touching a codestream that may claim a huge frame
    if (ts && ts.encoding === 'native') {
      throw badInput(`${tagLabel('x7fe00010')} is encapsulated but the transfer syntax (${ts.name}) is not`);
    }
    if (!pixel.fragments?.length) throw badInput(`${tagLabel('x7fe00010')} has no fragments`);
    const info = peekCodestream(firstFragment(ds)!);
    if (info && (info.width !== h.columns || info.height !== h.rows)) {
      throw badInput(
        `${tagLabel('x7fe00010')}: the compressed frame is ${info.width}x${info.height} pixels but ` +
          `${tagLabel('x00280011')} × ${tagLabel('x00280010')} is ${h.columns}x${h.rows}`,
      );
    }
    return;
  }
  if (ts && ts.encoding !== 'native') {
    throw badInput(
      `${tagLabel('x7fe00010')} is not encapsulated but the transfer syntax (${ts.name}) requires it`,
    );
  }
  const needed = nativeFrameBytes(h.rows, h.columns, h.samplesPerPixel, h.bitsAllocated) * h.numberOfFrames;
  if (pixel.length < needed) {
    throw badInput(
      `${tagLabel('x7fe00010')} holds ${pixel.length} bytes but ${tagLabel('x00280010')} ${h.rows} × ` +
        `${tagLabel('x00280011')} ${h.columns} × ${h.samplesPerPixel} samples × ${h.bitsAllocated} bits × ` +
        `${h.numberOfFrames} frames needs ${needed}`,
    );
  }
}

const supportedPhotometric: Record<number, string[]> = {
  1: ['MONOCHROME1', 'MONOCHROME2'],
  3: ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT'],
};

function decodability(ds: DataSet, h: DicomHeader): Decodability {
  const ts = lookupTransferSyntax(h.transferSyntaxUid);
  if (!ts) return { ok: false, reason: `transfer syntax ${h.transferSyntaxUid} is not supported` };
  if (h.bitsAllocated !== 8 && h.bitsAllocated !== 16) {
    return { ok: false, reason: `Bits Allocated ${h.bitsAllocated} is not supported (only 8 and 16)` };
  }
  if (!supportedPhotometric[h.samplesPerPixel]?.includes(h.photometricInterpretation)) {
    return {
      ok: false,
      reason: `Photometric Interpretation ${h.photometricInterpretation} with ${h.samplesPerPixel} samples per pixel is not supported`,
    };
  }
  if (ts.encoding === 'native' && h.photometricInterpretation === 'YBR_FULL_422') {
    return { ok: false, reason: 'uncompressed YBR_FULL_422 (chroma-subsampled) pixel data is not supported' };
  }
  if (ts.encoding.startsWith('jpeg-') && ts.encoding !== 'jpeg-ls') {
    const info = peekCodestream(firstFragment(ds) ?? new Uint8Array(0));
    if (!info?.sofMarker) return { ok: false, reason: 'JPEG frame header (SOF marker) not found' };
    const lossless = info.sofMarker === 0xc3 || info.sofMarker === 0xc7;
    const huffmanDct = info.sofMarker === 0xc0 || info.sofMarker === 0xc1 || info.sofMarker === 0xc2;
    if (!lossless && info.precision === 12 && !(huffmanDct && info.components === 1)) {
      return {
        ok: false,
        reason: `12-bit lossy JPEG (SOF${info.sofMarker - 0xc0}, ${info.components} component(s)) is not supported: only single-component 12-bit is decoded (libjpeg-turbo 8-bit cannot)`,
      };
    }
    if (!lossless && info.precision !== 8 && info.precision !== 12) {
      return { ok: false, reason: `${info.precision}-bit lossy JPEG is not supported` };
    }
    if (!lossless && info.sofMarker !== 0xc0 && info.sofMarker !== 0xc1 && info.sofMarker !== 0xc2) {
      return { ok: false, reason: `JPEG process SOF${info.sofMarker - 0xc0} is not supported` };
    }
  }
  return { ok: true };
}

function hasLutItems(ds: DataSet, tag: string): boolean {
  return (ds.elements[tag]?.items ?? []).some((item) => item.dataSet && isLutItem(item.dataSet));
}

function requiredUint16(ds: DataSet, tag: string): number {
  const element = ds.elements[tag];
  if (!element) throw badInput(`${tagLabel(tag)} is missing`);
  if (element.length < 2) throw badInput(`${tagLabel(tag)} is empty`);
  return ds.uint16(tag)!;
}

function optionalInteger(ds: DataSet, tag: string, strict = false): number | undefined {
  const raw = ds.string(tag);
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim();
  if (!/^[+-]?\d+$/.test(value)) {
    if (strict) throw badInput(`${tagLabel(tag)} value "${value.slice(0, 16)}" is not an integer`);
    return undefined;
  }
  return Number.parseInt(value, 10);
}

function optionalNumber(ds: DataSet, tag: string): number | undefined {
  const raw = ds.string(tag);
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.split('\\')[0]!.trim());
  if (!Number.isFinite(value)) throw badInput(`${tagLabel(tag)} value "${raw.slice(0, 16)}" is not a number`);
  return value;
}

function readWindows(ds: DataSet, explanation: string | undefined): DicomHeader['windows'] {
  const centers = (ds.string('x00281050') ?? '').split('\\');
  const widths = (ds.string('x00281051') ?? '').split('\\');
  const explanations = (explanation ?? '').split('\\');
  const windows: DicomHeader['windows'] = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    const center = Number(centers[i]!.trim());
    const width = Number(widths[i]!.trim());
    if (centers[i]!.trim() === '' || !Number.isFinite(center) || !Number.isFinite(width) || width < 1)
      continue;
    const window: DicomHeader['windows'][number] = { center, width };
    if (explanations[i]) window.explanation = explanations[i]!.trim();
    windows.push(window);
  }
  return windows;
}
