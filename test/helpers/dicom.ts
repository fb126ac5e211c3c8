// Synthetic DICOM files for every test folder, described as data (as dwv's synthetic test data is):
// a table of modalities, bit depths, signedness, photometric interpretations, transfer syntaxes and
// with or without the Part 10 preamble. Each file is written by dcmjs (an independent writer, not our
// reader) from known pixel values, so a test compares what our reader decodes with what was written.
import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export const transferSyntaxes = {
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-le': '1.2.840.10008.1.2.1',
  'explicit-be': '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
  rle: '1.2.840.10008.1.2.5',
} as const;
export type TransferSyntaxName = keyof typeof transferSyntaxes;

export type Photometric = 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';

/** Storage SOP classes by modality; anything else is Secondary Capture. */
const sopClasses: Record<string, string> = {
  CR: '1.2.840.10008.5.1.4.1.1.1',
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  US: '1.2.840.10008.5.1.4.1.1.6.1',
};
export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

export interface SyntheticDicomSpec {
  /** Default DX. */
  modality?: string;
  /** Default: the modality's storage class. */
  sopClassUid?: string;
  /** 8 or 16 (default 16). */
  bitsAllocated?: 8 | 16;
  /** Default: 12 for 16-bit, 8 for 8-bit. */
  bitsStored?: number;
  /** 1: signed (two's complement in Bits Stored). Default 0. */
  pixelRepresentation?: 0 | 1;
  /** Default MONOCHROME2. RGB is 8-bit, interleaved. */
  photometric?: Photometric;
  /** Default explicit-le. */
  transferSyntax?: TransferSyntaxName;
  /**
   * false: only the data set, without the 128-byte preamble, 'DICM' and file meta information, as
   * old files are (implicit VR little endian only). Default true.
   */
  preamble?: boolean;
  rows?: number;
  columns?: number;
  /** Varies the generated pixel values, so files with the same UIDs can differ in content. */
  seed?: number;
  /** Stored values (samples interleaved) instead of the generated ones. */
  pixels?: ArrayLike<number>;
  patientId?: string;
  patientName?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  studyDate?: string;
  studyDescription?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  /** More attributes by dcmjs keyword (e.g. WindowCenter); they override the generated ones. */
  extra?: Record<string, unknown>;
}

export interface SyntheticDicom {
  bytes: Uint8Array;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The stored values written (sign-extended; samples interleaved for RGB). */
  stored: Int32Array;
}

export function newUid(): string {
  return DicomMetaDictionary.uid();
}

/**
 * The generated stored values: a ramp over the whole stored range, offset by `seed`
 * (for 12-bit unsigned: (i * 7 + seed) & 0xfff).
 */
export function syntheticPixels(count: number, bitsStored: number, signed: boolean, seed = 0): Int32Array {
  const range = 2 ** bitsStored;
  const min = signed ? -(range / 2) : 0;
  return Int32Array.from({ length: count }, (_, i) => min + ((i * 7 + seed) % range));
}

/** A small, valid DICOM file as the spec says (by default 8×8, 16-bit, 12 stored, MONOCHROME2, DX). */
export function syntheticDicom(spec: SyntheticDicomSpec = {}): SyntheticDicom {
  const bitsAllocated = spec.bitsAllocated ?? 16;
  const photometric = spec.photometric ?? 'MONOCHROME2';
  const samples = photometric === 'RGB' ? 3 : 1;
  if (samples === 3 && bitsAllocated !== 8) throw new Error('synthetic RGB files are 8-bit');
  const bitsStored = spec.bitsStored ?? (bitsAllocated === 16 ? 12 : 8);
  const signed = spec.pixelRepresentation === 1;
  const rows = spec.rows ?? 8;
  const columns = spec.columns ?? 8;
  const transferSyntax = spec.transferSyntax ?? 'explicit-le';
  const preamble = spec.preamble ?? true;
  if (!preamble && transferSyntax !== 'implicit-le')
    throw new Error('a data set without file meta information is implicit VR little endian');
  const count = rows * columns * samples;
  const stored = spec.pixels
    ? Int32Array.from(spec.pixels)
    : syntheticPixels(count, bitsStored, signed, spec.seed ?? 0);
  if (stored.length !== count) throw new Error(`${count} stored values expected, got ${stored.length}`);

  const native = cells(stored, bitsAllocated, bitsStored);
  let pixelData: ArrayBuffer;
  if (transferSyntax === 'rle')
    pixelData = rleFrame(native, bitsAllocated / 8, samples).buffer as ArrayBuffer;
  else if (transferSyntax === 'explicit-be' && bitsAllocated === 16)
    pixelData = swap16(native).buffer as ArrayBuffer;
  else pixelData = native.buffer as ArrayBuffer;

  const modality = spec.modality ?? 'DX';
  const sopClassUid = spec.sopClassUid ?? sopClasses[modality] ?? SECONDARY_CAPTURE;
  const sopInstanceUid = spec.sopInstanceUid ?? newUid();
  const dataset: Record<string, unknown> = {
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: spec.studyInstanceUid ?? newUid(),
    SeriesInstanceUID: spec.seriesInstanceUid ?? newUid(),
    PatientID: spec.patientId ?? '',
    PatientName: spec.patientName ?? '',
    StudyDate: spec.studyDate ?? '',
    StudyDescription: spec.studyDescription ?? '',
    Modality: modality,
    SeriesNumber: spec.seriesNumber ?? 1,
    InstanceNumber: spec.instanceNumber ?? 1,
    Rows: rows,
    Columns: columns,
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: signed ? 1 : 0,
    SamplesPerPixel: samples,
    ...(samples === 3 ? { PlanarConfiguration: 0 } : {}),
    PhotometricInterpretation: photometric,
    PixelData: [pixelData],
    _vrMap: { PixelData: bitsAllocated === 8 ? 'OB' : 'OW' },
    ...spec.extra,
  };
  const transferSyntaxUid = transferSyntaxes[transferSyntax];
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    // dcmjs writes a deflated data set uncompressed: it is deflated below.
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: '1.2.826.0.1.3680043.10.1078.1',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const file = new Uint8Array(dict.write());

  const metaEnd = 132 + 12 + new DataView(file.buffer, file.byteOffset).getUint32(140, true);
  let bytes = file;
  if (!preamble) bytes = file.slice(metaEnd);
  else if (transferSyntax === 'deflated') {
    const body = deflateRawSync(file.subarray(metaEnd));
    bytes = new Uint8Array(metaEnd + body.length);
    bytes.set(file.subarray(0, metaEnd));
    bytes.set(body, metaEnd);
  }
  return { bytes, sopInstanceUid, transferSyntaxUid, stored };
}

/** Stored values as little-endian pixel cells (two's complement masked to Bits Stored). */
function cells(stored: Int32Array, bitsAllocated: 8 | 16, bitsStored: number): Uint8Array {
  const mask = 2 ** bitsStored - 1;
  if (bitsAllocated === 8) return Uint8Array.from(stored, (v) => v & mask);
  const words = Uint16Array.from(stored, (v) => v & mask);
  return new Uint8Array(words.buffer);
}

function swap16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  return out;
}

/**
 * One RLE Lossless frame (PS3.5 G): a 64-byte header, then one PackBits segment per sample and byte
 * (most significant byte first), each of even length.
 */
function rleFrame(cellBytes: Uint8Array, bytesPerSample: number, samples: number): Uint8Array {
  const pixels = cellBytes.length / (bytesPerSample * samples);
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samples; s++) {
    for (let b = bytesPerSample - 1; b >= 0; b--) {
      const plane = new Uint8Array(pixels);
      for (let p = 0; p < pixels; p++) plane[p] = cellBytes[(p * samples + s) * bytesPerSample + b]!;
      segments.push(packBits(plane));
    }
  }
  const total = 64 + segments.reduce((n, s) => n + s.length, 0);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((segment, i) => {
    view.setUint32(4 + 4 * i, offset, true);
    frame.set(segment, offset);
    offset += segment.length;
  });
  return frame;
}

/** PackBits: runs of 3 to 128 equal bytes replicated, the rest as literals of up to 128 bytes. */
function packBits(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < data.length) {
    let run = 1;
    while (i + run < data.length && run < 128 && data[i + run] === data[i]) run++;
    if (run >= 3) {
      out.push(257 - run, data[i]!);
      i += run;
      continue;
    }
    const start = i;
    while (i < data.length && i - start < 128) {
      if (i + 2 < data.length && data[i] === data[i + 1] && data[i] === data[i + 2]) break;
      i++;
    }
    out.push(i - start - 1, ...data.subarray(start, i));
  }
  if (out.length % 2 === 1) out.push(0x80); // no-op byte pads to an even length
  return Uint8Array.from(out);
}

export interface SyntheticCase {
  name: string;
  spec: SyntheticDicomSpec;
}

type Row = [
  modality: string,
  bitsAllocated: 8 | 16,
  bitsStored: number,
  pixelRepresentation: 0 | 1,
  photometric: Photometric,
  transferSyntax: TransferSyntaxName,
  preamble: boolean,
];

/**
 * The formats the workstation meets, one row each: chest radiographs (CR/DX, 10–16 bits, both
 * monochromes), CT and MR (signed, rescaled), secondary captures and ultrasound in 8-bit gray and
 * RGB, in every native transfer syntax, deflated, RLE, and an old file without preamble.
 */
const rows: Row[] = [
  ['DX', 16, 12, 0, 'MONOCHROME2', 'explicit-le', true],
  ['DX', 16, 14, 0, 'MONOCHROME1', 'explicit-le', true],
  ['CR', 16, 10, 0, 'MONOCHROME1', 'implicit-le', true],
  ['CR', 16, 12, 0, 'MONOCHROME1', 'implicit-le', false],
  ['CR', 16, 16, 0, 'MONOCHROME2', 'explicit-be', true],
  ['DX', 16, 12, 0, 'MONOCHROME2', 'deflated', true],
  ['DX', 16, 12, 0, 'MONOCHROME2', 'rle', true],
  ['CT', 16, 16, 1, 'MONOCHROME2', 'explicit-le', true],
  ['CT', 16, 12, 1, 'MONOCHROME2', 'implicit-le', true],
  ['CT', 16, 16, 1, 'MONOCHROME2', 'rle', true],
  ['MR', 16, 12, 0, 'MONOCHROME2', 'explicit-be', true],
  ['OT', 8, 8, 0, 'MONOCHROME2', 'explicit-le', true],
  ['OT', 8, 8, 0, 'MONOCHROME2', 'explicit-be', true],
  ['US', 8, 8, 0, 'RGB', 'explicit-le', true],
  ['US', 8, 8, 0, 'RGB', 'rle', true],
  ['OT', 8, 8, 0, 'RGB', 'deflated', true],
];

export const syntheticCases: SyntheticCase[] = rows.map(
  ([modality, bitsAllocated, bitsStored, pixelRepresentation, photometric, transferSyntax, preamble]) => ({
    name: `${modality} ${bitsStored}/${bitsAllocated}-bit ${pixelRepresentation ? 'signed ' : ''}${photometric}, ${transferSyntax}${preamble ? '' : ', no preamble'}`,
    spec: {
      modality,
      bitsAllocated,
      bitsStored,
      pixelRepresentation,
      photometric,
      transferSyntax,
      preamble,
      rows: 6,
      columns: 10,
      ...(modality === 'CT' ? { extra: { RescaleSlope: 1, RescaleIntercept: -1024 } } : {}),
    },
  }),
);
