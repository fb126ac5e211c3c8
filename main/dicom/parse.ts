// Low-level parsing: bytes -> dicom-parser DataSet, with the structural checks dicom-parser skips
// (element lengths past the end of the buffer, stray items, missing delimiters, wrong group lengths),
// so that every later step can trust offsets and lengths.
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { inflateRawBounded } from '../util/bounded-inflate.ts';
import { AppError } from '../util/errors.ts';

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_LE = '1.2.840.10008.1.2.1.99';

export interface ParsedDicom {
  dataSet: DataSet;
  transferSyntaxUid: string;
  /** False for raw data sets without the 128-byte preamble, "DICM" and File Meta Information. */
  hasFileMeta: boolean;
}

const names: Record<string, string> = {
  x00020000: 'File Meta Information Group Length',
  x00020010: 'Transfer Syntax UID',
  x00080016: 'SOP Class UID',
  x00080018: 'SOP Instance UID',
  x0020000d: 'Study Instance UID',
  x0020000e: 'Series Instance UID',
  x00280002: 'Samples per Pixel',
  x00280004: 'Photometric Interpretation',
  x00280006: 'Planar Configuration',
  x00280008: 'Number of Frames',
  x00280010: 'Rows',
  x00280011: 'Columns',
  x00280100: 'Bits Allocated',
  x00280101: 'Bits Stored',
  x00280102: 'High Bit',
  x00280103: 'Pixel Representation',
  x00281052: 'Rescale Intercept',
  x00281053: 'Rescale Slope',
  x00283000: 'Modality LUT Sequence',
  x00283002: 'LUT Descriptor',
  x00283006: 'LUT Data',
  x00283010: 'VOI LUT Sequence',
  x7fe00010: 'Pixel Data',
};

/** "Rows (0028,0010)" — for messages. Tags are never patient data. */
export function tagLabel(tag: string): string {
  const t = tag.replace(/^x/, '').toUpperCase();
  const code = `(${t.slice(0, 4)},${t.slice(4, 8)})`;
  const name = names[tag.toLowerCase()];
  return name ? `${name} ${code}` : code;
}

export function badInput(message: string): AppError {
  return new AppError('bad_input', message);
}

const parsedCache = new WeakMap<Uint8Array, ParsedDicom>();

/** Parses (once per byte array; cached) and checks the structure. Throws AppError('bad_input'). */
export function parseDicomBytes(bytes: Uint8Array): ParsedDicom {
  const cached = parsedCache.get(bytes);
  if (cached) return cached;
  const parsed = parseUncached(bytes);
  parsedCache.set(bytes, parsed);
  return parsed;
}

function parseUncached(bytes: Uint8Array): ParsedDicom {
  if (bytes.length < 8) throw badInput(`not a DICOM file: only ${bytes.length} bytes`);
  const hasFileMeta =
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d;
  const rawSyntax = hasFileMeta ? undefined : guessRawTransferSyntax(bytes);
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes, {
      ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {}),
      inflater: inflate,
    });
  } catch (error) {
    throw describeParseError(error);
  }
  const tsElement = dataSet.elements['x00020010'];
  const transferSyntaxUid = rawSyntax ?? (tsElement ? (dataSet.string('x00020010') ?? '') : '');
  if (!transferSyntaxUid) throw badInput(`${tagLabel('x00020010')} in the File Meta Information is empty`);
  if (transferSyntaxUid === DEFLATED_LE) dropPreambleElements(dataSet);
  if (hasFileMeta) checkMetaGroupLength(dataSet);
  checkElements(dataSet, dataSet.byteArray.length, 'data set');
  return { dataSet, transferSyntaxUid, hasFileMeta };
}

/**
 * Files without File Meta Information (old ACR-NEMA style) start directly with a data element.
 * We accept them only when the first tag is a plausible low group, and tell explicit from
 * implicit VR by whether bytes 4-5 spell a VR.
 */
function guessRawTransferSyntax(bytes: Uint8Array): string {
  const group = bytes[0]! | (bytes[1]! << 8);
  if (group === 0 || group > 0x0028 || group % 2 !== 0) {
    throw badInput(
      'not a DICOM file: no "DICM" prefix at byte 128, and the data does not start with a ' +
        `plausible data element (first tag group ${hex4(group)})`,
    );
  }
  const upper = (b: number | undefined) => b !== undefined && b >= 0x41 && b <= 0x5a;
  return upper(bytes[4]) && upper(bytes[5]) ? EXPLICIT_LE : IMPLICIT_LE;
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

// Deflate is a single raw-deflate stream after the meta header. It is inflated under the shared
// limits (relative to the compressed size, and absolute), counted while inflating, so a 1 MB
// crafted file is refused after ~100 MB instead of allocating gigabytes in every command.
function inflate(byteArray: Uint8Array, position: number): Uint8Array {
  const compressed = byteArray.subarray(position);
  return inflateRawBounded([compressed], {
    compressedBytes: compressed.length,
    prefix: byteArray.subarray(0, position),
    what: 'the deflated data set (Deflated Explicit VR Little Endian)',
  });
}

/**
 * dicom-parser parses an inflated data set from byte 0 of the (preamble + meta + inflated) buffer
 * our inflater returns, so the preamble and "DICM" show up as junk elements; drop them.
 */
function dropPreambleElements(dataSet: DataSet): void {
  let metaEnd = 132;
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    if (tag.startsWith('x0002')) metaEnd = Math.max(metaEnd, element.dataOffset + element.length);
  }
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    if (!tag.startsWith('x0002') && element.dataOffset < metaEnd) delete dataSet.elements[tag];
  }
}

function describeParseError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const wrapped = error as { exception?: unknown; dataSet?: DataSet } | undefined;
  const inner = wrapped && typeof wrapped === 'object' && 'exception' in wrapped ? wrapped.exception : error;
  if (inner instanceof AppError) return inner;
  const raw = inner instanceof Error ? inner.message : String(inner);
  const badVr = wrapped?.dataSet ? findInvalidVr(wrapped.dataSet) : undefined;
  if (badVr) {
    return badInput(
      `${tagLabel(badVr.tag)} has an invalid VR "${badVr.vr}"; the data after it cannot be parsed`,
    );
  }
  const last = wrapped?.dataSet ? lastTag(wrapped.dataSet) : undefined;
  const after = last ? ` (after element ${tagLabel(last)})` : '';
  if (raw.includes('DICM prefix not found'))
    return badInput('not a DICOM file: no "DICM" prefix at byte 128 and no raw data set detected');
  if (raw.includes('missing required meta header attribute 0002,0010'))
    return badInput(`${tagLabel('x00020010')} is missing from the File Meta Information`);
  if (raw.includes('buffer overrun') || raw.includes("invalid value for parameter 'maxPosition'"))
    return badInput(`file is truncated: an element's length runs past the end of the data${after}`);
  if (raw.includes('item tag (FFFE,E000) not found'))
    return badInput(`bad sequence encoding: ${raw.replace(/^dicomParser\.\w+: /, '')}${after}`);
  return badInput(`cannot parse DICOM data: ${raw.replace(/^dicomParser[.:]\w+: /, '')}${after}`);
}

const validVrs = new Set(
  'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(
    ' ',
  ),
);

/** Implicit-VR elements and item/delimiter tags carry no VR (undefined or ''). */
function isInvalidVr(tag: string, vr: string | undefined): vr is string {
  return vr !== undefined && vr !== '' && !tag.startsWith('xfffe') && !validVrs.has(vr);
}

function findInvalidVr(dataSet: DataSet): { tag: string; vr: string } | undefined {
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    if (isInvalidVr(tag, element.vr)) {
      return { tag, vr: element.vr.replace(/[^\x20-\x7e]/g, '?') };
    }
  }
  return undefined;
}

function lastTag(dataSet: DataSet): string | undefined {
  let last: string | undefined;
  for (const tag of Object.keys(dataSet.elements)) if (!tag.startsWith('x0002')) last = tag;
  return last;
}

function checkMetaGroupLength(dataSet: DataSet): void {
  const groupLength = dataSet.elements['x00020000'];
  if (groupLength?.length !== 4) return;
  const declared = dataSet.uint32('x00020000') ?? 0;
  const start = groupLength.dataOffset + 4;
  let end = start;
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    if (tag.startsWith('x0002') && tag !== 'x00020000')
      end = Math.max(end, element.dataOffset + element.length);
  }
  if (declared !== end - start) {
    throw badInput(`${tagLabel('x00020000')} is ${declared} but the meta elements take ${end - start} bytes`);
  }
}

const UNDEFINED_LENGTH = 0xffffffff;

function checkElements(dataSet: DataSet, limit: number, where: string): void {
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    // dicom-parser keeps an undefined-length item's delimiter inside the item; anything else is stray.
    if (tag.startsWith('xfffe') && !(tag === 'xfffee00d' && where !== 'data set')) {
      throw badInput(
        `bad sequence encoding: ${tagLabel(tag)} item tag found outside a sequence in the ${where}`,
      );
    }
    if (isInvalidVr(tag, element.vr)) {
      throw badInput(`${tagLabel(tag)} has an invalid VR "${element.vr.replace(/[^\x20-\x7e]/g, '?')}"`);
    }
    if (element.length === UNDEFINED_LENGTH) {
      const missingDelimiter = dataSet.warnings?.some((w) => w.includes(tag) && w.includes('delimit'));
      throw badInput(
        missingDelimiter || element.encapsulatedPixelData
          ? `${tagLabel(tag)}: encapsulated data lacks the Sequence Delimitation Item (FFFE,E0DD); file truncated?`
          : `${tagLabel(tag)}: undefined length without a delimiter`,
      );
    }
    if (element.dataOffset + element.length > limit) {
      throw badInput(
        `${tagLabel(tag)}: length ${element.length} at byte ${element.dataOffset} runs past the end of the data (${limit} bytes)`,
      );
    }
    if (element.fragments) checkFragments(tag, element, limit);
    if (element.items) {
      for (const item of element.items)
        if (item.dataSet) checkElements(item.dataSet, limit, `${tagLabel(tag)} item`);
    }
  }
}

function checkFragments(tag: string, element: Element, limit: number): void {
  for (const fragment of element.fragments ?? []) {
    if (fragment.position + fragment.length > limit) {
      throw badInput(
        `${tagLabel(tag)}: a fragment of ${fragment.length} bytes runs past the end of the data`,
      );
    }
  }
}

/** True for a LUT Sequence item that has a LUT Descriptor or LUT Data. */
export function isLutItem(item: DataSet): boolean {
  return (item.elements['x00283002']?.length ?? 0) > 0 || (item.elements['x00283006']?.length ?? 0) > 0;
}
