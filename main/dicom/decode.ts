// Pixel decoding: one frame -> stored values (+ modality values for monochrome).
import { AppError } from '../util/errors.ts';
import { type CodecOutput, decodeJpegLossless, decodeWithWasm } from './codecs.ts';
import { encapsulatedFrame, nativeFrameBytes, peekCodestream, pixelDataElement } from './frames.ts';
import type { DecodedFrame, StoredArray } from './decoded-frame.ts';
import type { DicomHeader } from './header.ts';
import { decodeJpeg12 } from './jpeg12.ts';
import { parseDicomBytes } from './parse.ts';
import { modalityTransform } from './pixel.ts';
import { decodeRle } from './rle.ts';
import { lookupTransferSyntax } from './transfer-syntax.ts';

export type { DecodedFrame, StoredArray } from './decoded-frame.ts';

/**
 * Decodes frame `frameIndex` (0-based) of the file. `header` must come from readDicomHeader(bytes).
 * Throws AppError: 'unsupported' when header.decodable is false, 'bad_input' for corrupt pixel data.
 */
export async function decodeFrame(
  bytes: Uint8Array,
  header: DicomHeader,
  frameIndex = 0,
): Promise<DecodedFrame> {
  if (!header.decodable.ok) throw new AppError('unsupported', header.decodable.reason);
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= header.numberOfFrames) {
    throw new AppError(
      'bad_input',
      `frame ${frameIndex} does not exist (the image has ${header.numberOfFrames})`,
    );
  }
  const { dataSet } = parseDicomBytes(bytes);
  const ts = lookupTransferSyntax(header.transferSyntaxUid)!;
  const { rows, columns, samplesPerPixel } = header;
  const bytesPerSample = header.bitsAllocated === 16 ? 2 : 1;

  let samples: Uint8Array; // interleaved, little-endian words when 16-bit
  let converted = false; // the codec already produced RGB from YCbCr
  if (ts.encoding === 'native') {
    samples = nativeSamples(
      dataSet.byteArray,
      pixelDataElement(dataSet)!,
      header,
      frameIndex,
      ts.bigEndian === true,
    );
  } else {
    const encoded = encapsulatedFrame(dataSet, frameIndex, header.numberOfFrames);
    if (ts.encoding !== 'rle') checkCompressedFrameSize(ts.name, header, peekCodestream(encoded));
    if (ts.encoding === 'rle') {
      samples = decodeRle(encoded, rows, columns, samplesPerPixel, bytesPerSample);
    } else {
      const output = await decodeCompressed(ts.encoding, encoded, bytesPerSample);
      checkGeometry(output, header, bytesPerSample);
      samples = output.data;
      // libjpeg-turbo and OpenJPEG/OpenJPH apply the inverse colour transform themselves.
      converted = samplesPerPixel === 3 && ts.encoding !== 'jpeg-ls' && ts.encoding !== 'jpeg-lossless';
    }
  }

  const stored = toStoredValues(samples, header, bytesPerSample);
  const source = header.photometricInterpretation;
  if (samplesPerPixel === 3) {
    if (!converted && source.startsWith('YBR_FULL'))
      ybrFullToRgb(stored as Uint8Array | Uint16Array, header.bitsStored);
    return {
      frameIndex,
      width: columns,
      height: rows,
      samplesPerPixel: 3,
      photometricInterpretation: 'RGB',
      sourcePhotometricInterpretation: source,
      bitsStored: header.bitsStored,
      signed: header.pixelRepresentation === 1,
      stored,
    };
  }
  return {
    frameIndex,
    width: columns,
    height: rows,
    samplesPerPixel: 1,
    photometricInterpretation: source === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2',
    sourcePhotometricInterpretation: source,
    bitsStored: header.bitsStored,
    signed: header.pixelRepresentation === 1,
    stored,
    modality: modalityTransform(bytes, header, stored),
  };
}

/**
 * Compressed frames above this many samples (2^25: e.g. 5792 x 5792, or 4096 x 8192) are refused
 * before a codec runs. The wasm codecs decode into their own heap, which grows and never shrinks,
 * then we copy out: a frame past this costs several hundred MB per decode, and a codestream that
 * merely claims such a size made CharLS fail with a bare "wasm exception" pointer. Chest X-rays
 * (up to ~4300 x 4300) and mammograms (4096 x 5625) are well under it.
 */
export const MAX_COMPRESSED_FRAME_SAMPLES = 2 ** 25;

function checkCompressedFrameSize(
  syntax: string,
  header: DicomHeader,
  codestream: ReturnType<typeof peekCodestream>,
): void {
  const claims = [
    { width: header.columns, height: header.rows, components: header.samplesPerPixel, where: 'the header' },
  ];
  if (codestream) claims.push({ ...codestream, where: 'the codestream' });
  for (const claim of claims) {
    const samples = claim.width * claim.height * claim.components;
    if (samples > MAX_COMPRESSED_FRAME_SAMPLES) {
      throw new AppError(
        'unsupported',
        `image too large to decode: ${syntax} frame of ${claim.width} x ${claim.height} x ${claim.components} ` +
          `samples (as ${claim.where} says) is over the limit of ${MAX_COMPRESSED_FRAME_SAMPLES} samples for ` +
          'compressed frames',
      );
    }
  }
}

async function decodeCompressed(
  encoding: string,
  encoded: Uint8Array,
  bytesPerSample: 1 | 2,
): Promise<CodecOutput> {
  const info = peekCodestream(encoded);
  try {
    if (encoding.startsWith('jpeg-') && encoding !== 'jpeg-ls') {
      const lossless = info?.sofMarker === 0xc3 || info?.sofMarker === 0xc7;
      if (lossless) return decodeJpegLossless(encoded, bytesPerSample);
      if (info?.precision === 12) {
        const out = decodeJpeg12(encoded);
        const data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
        return { width: out.width, height: out.height, components: 1, bytesPerSample: 2, data };
      }
      return await decodeWithWasm('jpeg', encoded);
    }
    if (encoding === 'jpeg-ls') return await decodeWithWasm('jpegls', encoded);
    if (encoding === 'jpeg2000') return await decodeWithWasm('j2k', encoded);
    return await decodeWithWasm('htj2k', encoded);
  } catch (error) {
    if (error instanceof AppError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError(
      'bad_input',
      `Pixel Data (7FE0,0010): the ${encoding} codestream cannot be decoded: ${reason}`,
    );
  }
}

function checkGeometry(output: CodecOutput, h: DicomHeader, bytesPerSample: number): void {
  if (output.width !== h.columns || output.height !== h.rows || output.components !== h.samplesPerPixel) {
    throw new AppError(
      'bad_input',
      `Pixel Data (7FE0,0010): decoded frame is ${output.width}x${output.height}x${output.components} but the ` +
        `header says ${h.columns}x${h.rows}x${h.samplesPerPixel}`,
    );
  }
  if (output.bytesPerSample !== bytesPerSample) {
    // e.g. an 8-bit codestream in a 16-bit-allocated image: widen.
    const count = output.width * output.height * output.components;
    const wide = new Uint8Array(count * bytesPerSample);
    if (bytesPerSample === 2) for (let i = 0; i < count; i++) wide[2 * i] = output.data[i]!;
    else for (let i = 0; i < count; i++) wide[i] = output.data[2 * i]!;
    output.data = wide;
    output.bytesPerSample = bytesPerSample as 1 | 2;
  }
}

function nativeSamples(
  byteArray: Uint8Array,
  element: { dataOffset: number; length: number; vr?: string },
  h: DicomHeader,
  frameIndex: number,
  bigEndian: boolean,
): Uint8Array {
  const frameBytes = nativeFrameBytes(h.rows, h.columns, h.samplesPerPixel, h.bitsAllocated);
  const start = element.dataOffset + frameBytes * frameIndex;
  const raw = byteArray.subarray(start, start + frameBytes);
  let samples: Uint8Array = raw;
  // Big endian: 16-bit words, and 8-bit data in an OW element, are byte-swapped in pairs.
  if (bigEndian && (h.bitsAllocated === 16 || element.vr === 'OW')) {
    samples = new Uint8Array(raw.length);
    for (let i = 0; i + 1 < raw.length; i += 2) {
      samples[i] = raw[i + 1]!;
      samples[i + 1] = raw[i]!;
    }
  }
  if (h.samplesPerPixel === 3 && h.planarConfiguration === 1) samples = interleavePlanes(samples, h);
  return samples;
}

function interleavePlanes(planar: Uint8Array, h: DicomHeader): Uint8Array {
  const bps = h.bitsAllocated / 8;
  const pixels = h.rows * h.columns;
  const out = new Uint8Array(planar.length);
  for (let s = 0; s < 3; s++) {
    for (let p = 0; p < pixels; p++) {
      for (let b = 0; b < bps; b++) out[(p * 3 + s) * bps + b] = planar[(s * pixels + p) * bps + b]!;
    }
  }
  return out;
}

/** Little-endian samples -> typed stored values: bits above High Bit dropped, sign extended. */
function toStoredValues(samples: Uint8Array, h: DicomHeader, bytesPerSample: 1 | 2): StoredArray {
  const count = h.rows * h.columns * h.samplesPerPixel;
  const signed = h.pixelRepresentation === 1;
  const shift = Math.max(0, h.highBit + 1 - h.bitsStored);
  const mask = 2 ** h.bitsStored - 1;
  const signBit = 2 ** (h.bitsStored - 1);
  const full = h.bitsStored === h.bitsAllocated && shift === 0;
  if (bytesPerSample === 1) {
    if (full && !signed) return new Uint8Array(samples.subarray(0, count)); // copy: never alias the file
    const out = signed ? new Int8Array(count) : new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const v = (samples[i]! >> shift) & mask;
      out[i] = signed && v & signBit ? v - 2 * signBit : v;
    }
    return out;
  }
  const words = new Uint16Array(count);
  for (let i = 0; i < count; i++) words[i] = samples[2 * i]! | (samples[2 * i + 1]! << 8);
  if (full) return signed ? new Int16Array(words.buffer) : words;
  const out = signed ? new Int16Array(count) : words;
  for (let i = 0; i < count; i++) {
    const v = (words[i]! >> shift) & mask;
    out[i] = signed && v & signBit ? v - 2 * signBit : v;
  }
  return out;
}

/** YBR_FULL -> RGB in place (PS3.3 C.7.6.3.1.2), rounded and clamped to the sample range. */
function ybrFullToRgb(data: Uint8Array | Uint16Array, bitsStored: number): void {
  const max = 2 ** bitsStored - 1;
  const half = 2 ** (bitsStored - 1);
  const clamp = (v: number) => (v < 0 ? 0 : v > max ? max : Math.round(v));
  for (let i = 0; i + 2 < data.length; i += 3) {
    const y = data[i]!;
    const cb = data[i + 1]! - half;
    const cr = data[i + 2]! - half;
    data[i] = clamp(y + 1.402 * cr);
    data[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp(y + 1.772 * cb);
  }
}
