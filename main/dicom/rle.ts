// DICOM RLE Lossless (PS3.5 Annex G). Written here rather than pulled in as a dependency: it is a
// 64-byte header plus PackBits per byte plane (~40 lines), and no maintained npm package decodes it
// standalone (the viewer's loader bundles its own copy). Every offset/length is checked against the
// buffer so corrupt input fails with a message instead of reading garbage or looping.
import { badInput } from './parse.ts';

/**
 * Decodes one RLE frame to interleaved samples (colour-by-pixel), `bytesPerSample` bytes each,
 * little-endian.
 */
export function decodeRle(
  encoded: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  bytesPerSample: 1 | 2,
): Uint8Array {
  if (encoded.length < 64)
    throw badInput(`RLE frame is ${encoded.length} bytes, shorter than its 64-byte header`);
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  const expectedSegments = samplesPerPixel * bytesPerSample;
  if (segments !== expectedSegments) {
    throw badInput(`RLE header lists ${segments} segments; ${expectedSegments} expected for this image`);
  }
  const pixels = rows * columns;
  const out = new Uint8Array(pixels * expectedSegments);
  const stride = expectedSegments;
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : encoded.length;
    if (start < 64 || start > end || end > encoded.length) {
      throw badInput(
        `RLE segment ${s + 1} offsets ${start}..${end} lie outside the ${encoded.length}-byte frame`,
      );
    }
    // Segment order is sample-major, most significant byte first; output is little-endian.
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const offset = sample * bytesPerSample + byteInSample;
    unpackBits(encoded, start, end, out, offset, stride, pixels, s + 1);
  }
  return out;
}

function unpackBits(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  offset: number,
  stride: number,
  count: number,
  segment: number,
): void {
  let i = start;
  let n = 0;
  while (n < count && i < end) {
    const header = src[i++]!;
    if (header < 128) {
      const run = Math.min(header + 1, count - n, end - i);
      for (let k = 0; k < run; k++) out[offset + stride * n++] = src[i++]!;
      if (run < header + 1 && n < count) break;
    } else if (header > 128) {
      if (i >= end) break;
      const value = src[i++]!;
      const run = Math.min(257 - header, count - n);
      for (let k = 0; k < run; k++) out[offset + stride * n++] = value;
    }
    // 128 is a no-op
  }
  if (n < count) throw badInput(`RLE segment ${segment} decodes to ${n} bytes; ${count} expected`);
}
