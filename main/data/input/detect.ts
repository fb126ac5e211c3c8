// What a file is, decided once for every command (import, restore, classify, train, eval, viewer)
// from its first bytes, with its name used only where the bytes say nothing.
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';

/**
 * - dicom: a Part 10 file ('DICM' at byte 128) or a raw data set without the 128-byte preamble and
 *   File Meta Information (old ACR-NEMA style, e.g. fo-dicom's CR-MONO1-10-chest);
 * - dicomdir: a DICOM media index (Media Storage SOP Class 1.2.840.10008.1.3.10, or named DICOMDIR):
 *   it lists images, it is not one;
 * - png, jpeg, tiff: raster images;
 * - zip: an archive (the library imports its entries);
 * - unknown: none of these.
 */
export type InputKind = 'dicom' | 'dicomdir' | 'png' | 'jpeg' | 'tiff' | 'zip' | 'unknown';

/** The kinds that are one image each. */
export type ImageKind = 'dicom' | 'png' | 'jpeg' | 'tiff';
export type RasterKind = 'png' | 'jpeg' | 'tiff';

/** How many leading bytes the detector reads: the preamble, 'DICM' and the File Meta group. */
export const HEADER_BYTES = 1024;

export function isImageKind(kind: InputKind): kind is ImageKind {
  return kind === 'dicom' || kind === 'png' || kind === 'jpeg' || kind === 'tiff';
}

export function isRasterKind(kind: InputKind): kind is RasterKind {
  return kind === 'png' || kind === 'jpeg' || kind === 'tiff';
}

/** The one wording every command uses for an input it does not take (callers add the file name). */
export function unsupportedReason(kind: InputKind): string {
  if (kind === 'zip') return 'a zip archive, not an image: import it into the library, or unpack it first';
  if (kind === 'dicomdir')
    return 'a DICOMDIR (an index of DICOM files), not an image: give the DICOMDIR itself or its folder';
  return "not a PNG, JPEG, TIFF or DICOM file (no 'DICM' marker at byte 128 and no DICOM data set at byte 0)";
}

const pngMagic = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const jpegMagic = [0xff, 0xd8, 0xff];
const zipMagic = [0x50, 0x4b, 0x03, 0x04];
// Classic TIFF (42) and BigTIFF (43), little- and big-endian.
const tiffMagics = [
  [0x49, 0x49, 0x2a, 0x00],
  [0x4d, 0x4d, 0x00, 0x2a],
  [0x49, 0x49, 0x2b, 0x00],
  [0x4d, 0x4d, 0x00, 0x2b],
];
const MEDIA_DIRECTORY_STORAGE = '1.2.840.10008.1.3.10';

const startsWith = (bytes: Uint8Array, magic: number[], at = 0) =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);

/** What the extension claims, for files whose bytes match nothing (the decoder then says what is wrong). */
const claimedByExtension: Record<string, ImageKind> = {
  '.dcm': 'dicom',
  '.dicom': 'dicom',
  '.dic': 'dicom',
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

export function isDicomDirName(name: string): boolean {
  return basename(name).toUpperCase() === 'DICOMDIR';
}

/**
 * What `header` (the file's first bytes, HEADER_BYTES are enough) is. 'DICM' at byte 128 wins over
 * everything else (a DICOM preamble may hold a TIFF header). When the bytes match nothing and `name`
 * is given, its extension decides (.dcm/.dicom/.dic, .png, .jpg/.jpeg, .tif/.tiff), so that a damaged
 * file is handed to its decoder, which names the problem, instead of being called unknown. A file
 * named DICOMDIR is a DICOMDIR.
 */
export function detectKind(header: Uint8Array, name?: string): InputKind {
  const dicomDirByName = name !== undefined && isDicomDirName(name);
  if (startsWith(header, [0x44, 0x49, 0x43, 0x4d], 128)) {
    return dicomDirByName || isMediaDirectory(header) ? 'dicomdir' : 'dicom';
  }
  if (startsWith(header, pngMagic)) return 'png';
  if (startsWith(header, jpegMagic)) return 'jpeg';
  if (tiffMagics.some((magic) => startsWith(header, magic))) return 'tiff';
  if (startsWith(header, zipMagic)) return 'zip';
  if (looksLikeRawDataSet(header)) return dicomDirByName ? 'dicomdir' : 'dicom';
  if (dicomDirByName) return 'dicomdir';
  return (name !== undefined && claimedByExtension[extname(name).toLowerCase()]) || 'unknown';
}

/** The first HEADER_BYTES (fewer for a short file) of a file. Throws the file system's error. */
export async function readHeader(path: string, length = HEADER_BYTES): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads a file's first bytes and detects its kind (see detectKind). Throws the file system's error. */
export async function detectFile(path: string): Promise<InputKind> {
  return detectKind(await readHeader(path), path);
}

/**
 * Detects many files, a few at a time (one open file each). A file that cannot be read gets
 * `undefined` (the caller reports it as missing or unreadable).
 */
export async function detectFiles(
  paths: readonly string[],
  concurrency = 16,
): Promise<(InputKind | undefined)[]> {
  const kinds: (InputKind | undefined)[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const index = next++;
      kinds[index] = await detectFile(paths[index]!).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return kinds;
}

/** Is the Media Storage SOP Class (0002,0002) in the File Meta group the Media Directory's (a DICOMDIR)? */
function isMediaDirectory(header: Uint8Array): boolean {
  // The File Meta group is always explicit VR little endian and follows 'DICM'.
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  let at = 132;
  while (at + 8 <= header.length && view.getUint16(at, true) === 0x0002) {
    const element = view.getUint16(at + 2, true);
    const vr = String.fromCharCode(header[at + 4]!, header[at + 5]!);
    const long = longVrs.has(vr);
    if (long && at + 12 > header.length) return false;
    const length = long ? view.getUint32(at + 8, true) : view.getUint16(at + 6, true);
    const value = at + (long ? 12 : 8);
    if (element === 0x0002) {
      if (value + length > header.length) return false;
      const uid = Buffer.from(header.buffer, header.byteOffset + value, length).toString('latin1');
      return uid.replace(/[\0 ]+$/, '') === MEDIA_DIRECTORY_STORAGE;
    }
    at = value + length;
  }
  return false;
}

const longVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const validVrs = new Set(
  'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(
    ' ',
  ),
);

/**
 * A data set without preamble or File Meta Information starts with a data element of a low, even
 * group (0002 to 0028: meta, identifying, patient, acquisition, relationship or image attributes).
 * Explicit VR: bytes 4-5 spell a VR. Implicit VR: bytes 4-7 are the element's length, which for
 * such a first element is short (or undefined, 0xFFFFFFFF, for a sequence).
 */
function looksLikeRawDataSet(header: Uint8Array): boolean {
  if (header.length < 8) return false;
  const group = header[0]! | (header[1]! << 8);
  if (group < 0x0002 || group > 0x0028 || group % 2 !== 0) return false;
  const vr = String.fromCharCode(header[4]!, header[5]!);
  if (validVrs.has(vr)) return true;
  const length = (header[4]! | (header[5]! << 8) | (header[6]! << 16) | (header[7]! << 24)) >>> 0;
  return length === 0xffffffff || length <= 1024;
}
