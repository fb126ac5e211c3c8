// Locating one frame's bytes inside Pixel Data, native or encapsulated.
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { badInput, tagLabel } from './parse.ts';

const PIXEL_DATA = 'x7fe00010';

export function pixelDataElement(dataSet: DataSet): Element | undefined {
  return dataSet.elements[PIXEL_DATA];
}

/** Bytes one native (uncompressed) frame takes; 1-bit data is packed. */
export function nativeFrameBytes(
  rows: number,
  columns: number,
  samples: number,
  bitsAllocated: number,
): number {
  const bits = rows * columns * samples * bitsAllocated;
  return Math.ceil(bits / 8);
}

/**
 * The compressed bytestream of one frame of encapsulated Pixel Data (PS3.5 A.4): one frame per
 * fragment when the counts match, otherwise via the Basic Offset Table, or — for a single frame —
 * all fragments concatenated.
 */
export function encapsulatedFrame(dataSet: DataSet, frameIndex: number, numberOfFrames: number): Uint8Array {
  const element = pixelDataElement(dataSet);
  if (!element?.encapsulatedPixelData || !element.fragments) {
    throw badInput(`${tagLabel(PIXEL_DATA)} is not encapsulated although the transfer syntax says it is`);
  }
  const fragments = element.fragments;
  if (fragments.length === 0) throw badInput(`${tagLabel(PIXEL_DATA)} has no fragments`);
  try {
    if (numberOfFrames === 1) {
      return fragments.length === 1
        ? fragmentBytes(dataSet, element, 0)
        : dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
    }
    if (fragments.length === numberOfFrames) return fragmentBytes(dataSet, element, frameIndex);
    const table = element.basicOffsetTable?.length
      ? element.basicOffsetTable
      : dicomParser.createJPEGBasicOffsetTable(dataSet, element);
    if (table.length !== numberOfFrames) {
      throw badInput(
        `${tagLabel(PIXEL_DATA)}: cannot locate ${numberOfFrames} frames in ${fragments.length} fragments`,
      );
    }
    return dicomParser.readEncapsulatedImageFrame(dataSet, element, frameIndex, table);
  } catch (error) {
    if (error instanceof Error && error.name === 'AppError') throw error;
    throw badInput(`${tagLabel(PIXEL_DATA)}: cannot read frame ${frameIndex + 1}: ${String(error)}`);
  }
}

/**
 * The first fragment: frame 1 always starts there, so its codestream header can be read without
 * concatenating fragments (cheap enough for header-only reads of large files).
 */
export function firstFragment(dataSet: DataSet): Uint8Array | undefined {
  const element = pixelDataElement(dataSet);
  if (!element?.fragments?.length) return undefined;
  return fragmentBytes(dataSet, element, 0);
}

function fragmentBytes(dataSet: DataSet, element: Element, index: number): Uint8Array {
  const fragment = element.fragments![index]!;
  return dataSet.byteArray.subarray(fragment.position, fragment.position + fragment.length);
}

export interface CodestreamInfo {
  width: number;
  height: number;
  /** Sample precision in bits. */
  precision: number;
  components: number;
  /** JPEG SOF marker (0xC0..0xCF) or undefined for non-JPEG. */
  sofMarker?: number;
}

/** Reads the frame header of a JPEG (SOFn) or JPEG 2000 / HTJ2K (SIZ) codestream without decoding. */
export function peekCodestream(frame: Uint8Array): CodestreamInfo | undefined {
  if (frame.length < 4 || frame[0] !== 0xff) return undefined;
  if (frame[1] === 0xd8) return peekJpeg(frame);
  if (frame[1] === 0x4f && frame[2] === 0xff && frame[3] === 0x51) return peekJ2k(frame);
  return undefined;
}

function peekJpeg(frame: Uint8Array): CodestreamInfo | undefined {
  let at = 2;
  while (at + 4 <= frame.length) {
    if (frame[at] !== 0xff) return undefined;
    const marker = frame[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    const length = (frame[at + 2]! << 8) | frame[at + 3]!;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof || marker === 0xf7) {
      if (at + 10 > frame.length) return undefined;
      return {
        precision: frame[at + 4]!,
        height: (frame[at + 5]! << 8) | frame[at + 6]!,
        width: (frame[at + 7]! << 8) | frame[at + 8]!,
        components: frame[at + 9]!,
        sofMarker: marker,
      };
    }
    if (marker === 0xda) return undefined;
    at += 2 + length;
  }
  return undefined;
}

function peekJ2k(frame: Uint8Array): CodestreamInfo | undefined {
  // SIZ: FF51 Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz (Ssiz XRsiz YRsiz)*
  if (frame.length < 4 + 38 + 3) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const xsiz = view.getUint32(8);
  const ysiz = view.getUint32(12);
  const xo = view.getUint32(16);
  const yo = view.getUint32(20);
  const components = view.getUint16(40);
  const ssiz = frame[42]!;
  return { width: xsiz - xo, height: ysiz - yo, components, precision: (ssiz & 0x7f) + 1 };
}
