// Hand-built DICOM bytes for the limit and safety tests: explicit VR little endian elements, a
// Part 10 wrapper, encapsulated Pixel Data, and the deflated transfer syntax — written byte by byte
// so a test can say exactly what is wrong with a file (a JPEG-LS header claiming 8192 x 8192, a
// deflate bomb, a file without Pixel Data).
import { deflateRawSync } from 'node:zlib';

const longVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >> 8) & 0xff]);
}
function u32(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One explicit VR little endian element; strings are padded to even length (UI with NUL). */
export function element(tag: number, vr: string, value: Uint8Array | string | number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'number') bytes = vr === 'UL' ? u32(value) : u16(value);
  else if (typeof value === 'string') {
    const padded = value.length % 2 ? value + (vr === 'UI' ? '\0' : ' ') : value;
    bytes = new TextEncoder().encode(padded);
  } else bytes = value;
  const head = [u16(tag >>> 16), u16(tag & 0xffff), new TextEncoder().encode(vr)];
  const length = longVrs.has(vr) ? [u16(0), u32(bytes.length)] : [u16(bytes.length)];
  return concat([...head, ...length, bytes]);
}

/** Pixel Data (7FE0,0010) encapsulated: empty Basic Offset Table, one item per fragment, delimiter. */
export function encapsulatedPixelData(fragments: Uint8Array[]): Uint8Array {
  const item = (data: Uint8Array) => concat([u16(0xfffe), u16(0xe000), u32(data.length), data]);
  return concat([
    u16(0x7fe0),
    u16(0x0010),
    new TextEncoder().encode('OB'),
    u16(0),
    u32(0xffffffff),
    item(new Uint8Array(0)),
    ...fragments.map(item),
    u16(0xfffe),
    u16(0xe0dd),
    u32(0),
  ]);
}

export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

/** Preamble, 'DICM' and File Meta Information around a data set already encoded for `transferSyntax`. */
export function part10(
  transferSyntax: string,
  dataSet: Uint8Array,
  sopClass = SECONDARY_CAPTURE,
): Uint8Array {
  const instance = '1.2.826.0.1.3680043.10.1078.1';
  const meta = concat([
    element(0x00020001, 'OB', new Uint8Array([0, 1])),
    element(0x00020002, 'UI', sopClass),
    element(0x00020003, 'UI', instance),
    element(0x00020010, 'UI', transferSyntax),
  ]);
  return concat([
    new Uint8Array(128),
    new TextEncoder().encode('DICM'),
    element(0x00020000, 'UL', meta.length),
    meta,
    dataSet,
  ]);
}

/** Image Pixel Module attributes of a monochrome image, in tag order, before Pixel Data. */
export function imageAttributes(rows: number, columns: number, bits: 8 | 16): Uint8Array {
  return concat([
    element(0x00080016, 'UI', SECONDARY_CAPTURE),
    element(0x00080018, 'UI', '1.2.826.0.1.3680043.10.1078.1'),
    element(0x00280002, 'US', 1),
    element(0x00280004, 'CS', 'MONOCHROME2'),
    element(0x00280010, 'US', rows),
    element(0x00280011, 'US', columns),
    element(0x00280100, 'US', bits),
    element(0x00280101, 'US', bits),
    element(0x00280102, 'US', bits - 1),
    element(0x00280103, 'US', 0),
  ]);
}

/** A JPEG-LS codestream header (SOI, SOF55, SOS) claiming `width` x `height`, followed by junk scan data. */
export function jpegLsHeader(width: number, height: number, precision = 16): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xf7,
    0x00,
    0x0b,
    precision,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x01,
    0x01,
    0x11,
    0x00,
    0xff,
    0xda,
    0x00,
    0x08,
    0x01,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    ...new Array(64).fill(0x55),
    0xff,
    0xd9,
  ]);
}

/**
 * A deflated-transfer-syntax DICOM whose data set holds `pixelBytes` of zeros as native Pixel Data
 * (a 16-bit image of `rows` x columns): a few kilobytes on disk, `pixelBytes` once inflated.
 */
export function deflatedDicom(rows: number, columns: number): Uint8Array {
  const pixelBytes = rows * columns * 2;
  const header = concat([
    imageAttributes(rows, columns, 16),
    u16(0x7fe0),
    u16(0x0010),
    new TextEncoder().encode('OW'),
    u16(0),
    u32(pixelBytes),
  ]);
  const stream = deflateRawSync(concat([header, new Uint8Array(pixelBytes)]), { level: 9 });
  return part10('1.2.840.10008.1.2.1.99', stream);
}

/** A DICOM object without any image: an SR-like document with only identifying attributes. */
export function noPixelDicom(): Uint8Array {
  const sr = '1.2.840.10008.5.1.4.1.1.88.11';
  const dataSet = concat([
    element(0x00080016, 'UI', sr),
    element(0x00080018, 'UI', '1.2.826.0.1.3680043.10.1078.2'),
    element(0x00080060, 'CS', 'SR'),
    element(0x0020000d, 'UI', '1.2.826.0.1.3680043.10.1078.3'),
    element(0x0020000e, 'UI', '1.2.826.0.1.3680043.10.1078.4'),
  ]);
  return part10('1.2.840.10008.1.2.1', dataSet, sr);
}

/** A JPEG-LS DICOM of `rows` x `columns` whose one fragment is `codestream`. */
export function jpegLsDicom(rows: number, columns: number, codestream: Uint8Array): Uint8Array {
  return part10(
    '1.2.840.10008.1.2.4.80',
    concat([imageAttributes(rows, columns, 16), encapsulatedPixelData([codestream])]),
  );
}
