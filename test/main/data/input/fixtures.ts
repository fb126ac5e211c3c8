// Small generated inputs for the input module's tests (shared data is read in place, never copied
// into the repository).
import sharp from 'sharp';
import { createSecondaryCapture } from '../../../../main/dicom/index.ts';
import { createGray, type GrayImage } from '../../../../main/util/image.ts';

/** A smooth 48x40 gray test picture. */
export function testPicture(width = 48, height = 40): GrayImage {
  const image = createGray(width, height, 0);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) image.data[y * width + x] = (x + 2 * y) / (width + 2 * height);
  return image;
}

function gray8(image: GrayImage): Buffer {
  return Buffer.from(image.data.map((v) => Math.round(v * 255)));
}

export async function pngBytes(image = testPicture()): Promise<Buffer> {
  return sharp(gray8(image), { raw: { width: image.width, height: image.height, channels: 1 } })
    .png()
    .toBuffer();
}

export async function jpegBytes(image = testPicture()): Promise<Buffer> {
  return sharp(gray8(image), { raw: { width: image.width, height: image.height, channels: 1 } })
    .jpeg()
    .toBuffer();
}

/** A TIFF, from raw gray or from an image file/buffer sharp reads. */
export async function tiffBytes(source: GrayImage | string | Buffer = testPicture()): Promise<Buffer> {
  if (typeof source === 'string' || Buffer.isBuffer(source))
    return sharp(source).greyscale().tiff().toBuffer();
  return sharp(gray8(source), { raw: { width: source.width, height: source.height, channels: 1 } })
    .tiff()
    .toBuffer();
}

/** A Part 10 DICOM (Secondary Capture, explicit VR little endian) of the picture. */
export async function part10Bytes(image: GrayImage | Uint8Array = testPicture()): Promise<Uint8Array> {
  return (await createSecondaryCapture({ image })).bytes;
}

/**
 * The same data set without the 128-byte preamble, 'DICM' and File Meta Information: what old
 * ACR-NEMA-style files (e.g. fo-dicom's CR-MONO1-10-chest) look like.
 */
export function withoutFileMeta(part10: Uint8Array): Uint8Array {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  // (0002,0000) UL: explicit VR, 2-byte length, value at 140.
  if (view.getUint16(132, true) !== 0x0002 || view.getUint16(134, true) !== 0x0000)
    throw new Error('no File Meta Information Group Length');
  const metaEnd = 144 + view.getUint32(140, true);
  return part10.slice(metaEnd);
}

function explicitElement(group: number, element: number, vr: string, value: Uint8Array): Uint8Array {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, element, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.length, true);
  else view.setUint16(6, value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

function uidValue(uid: string): Uint8Array {
  const text = uid.length % 2 === 1 ? `${uid}\0` : uid;
  return new TextEncoder().encode(text);
}

/** Preamble, 'DICM' and a File Meta group naming `mediaStorageSopClass` (the rest of a file omitted). */
export function fileMetaHeader(mediaStorageSopClass: string): Uint8Array {
  const elements = [
    explicitElement(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    explicitElement(0x0002, 0x0002, 'UI', uidValue(mediaStorageSopClass)),
    explicitElement(0x0002, 0x0003, 'UI', uidValue('1.2.3.4')),
    explicitElement(0x0002, 0x0010, 'UI', uidValue('1.2.840.10008.1.2.1')),
  ];
  const groupBytes = elements.reduce((n, e) => n + e.length, 0);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, groupBytes, true);
  const parts = [
    new Uint8Array(128),
    new TextEncoder().encode('DICM'),
    explicitElement(2, 0, 'UL', length),
    ...elements,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
