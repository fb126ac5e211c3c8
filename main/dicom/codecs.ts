// The compressed-pixel codecs: @cornerstonejs Emscripten/wasm builds (the same decoders the viewer
// uses, so main process and renderer agree) plus jpeg-lossless-decoder-js for JPEG process 14.
import { createRequire } from 'node:module';
import { Decoder as LosslessJpegDecoder } from 'jpeg-lossless-decoder-js';

const require = createRequire(import.meta.url);

export interface CodecOutput {
  width: number;
  height: number;
  components: number;
  /** Bytes per sample in `data` (1 or 2; 2 = little-endian 16-bit words). */
  bytesPerSample: 1 | 2;
  /** Interleaved samples (colour-by-pixel). */
  data: Uint8Array;
}

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete(): void;
}

type WasmModule = Record<string, new () => WasmDecoder>;
type Factory = (options: {
  print: (s: string) => void;
  printErr: (s: string) => void;
}) => Promise<WasmModule>;

const specifiers = {
  jpeg: { module: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', decoder: 'JPEGDecoder' },
  jpegls: { module: '@cornerstonejs/codec-charls/decodewasmjs', decoder: 'JpegLSDecoder' },
  j2k: { module: '@cornerstonejs/codec-openjpeg/decodewasmjs', decoder: 'J2KDecoder' },
  htj2k: { module: '@cornerstonejs/codec-openjph/wasmjs', decoder: 'HTJ2KDecoder' },
} as const;
export type WasmCodec = keyof typeof specifiers;

const instances = new Map<WasmCodec, Promise<WasmModule>>();

function loadCodec(codec: WasmCodec): Promise<WasmModule> {
  let instance = instances.get(codec);
  if (!instance) {
    const factory = require(specifiers[codec].module) as Factory;
    // Silence the codecs' informational stdout/stderr prints (OpenJPEG logs every header it reads).
    instance = factory({ print: () => {}, printErr: () => {} });
    instances.set(codec, instance);
  }
  return instance;
}

/**
 * Decodes one codestream with a wasm codec. After a wasm trap the Emscripten module may be in a bad
 * state, so a failed decode drops the instance and the next call starts a fresh one.
 */
export async function decodeWithWasm(codec: WasmCodec, encoded: Uint8Array): Promise<CodecOutput> {
  const module = await loadCodec(codec);
  let decoder: WasmDecoder | undefined;
  try {
    decoder = new module[specifiers[codec].decoder]!();
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const decoded = decoder.getDecodedBuffer();
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const expected = info.width * info.height * info.componentCount * bytesPerSample;
    if (decoded.length < expected)
      throw new Error(`decoder returned ${decoded.length} bytes, expected ${expected}`);
    return {
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bytesPerSample,
      data: new Uint8Array(decoded.subarray(0, expected)), // copy out of wasm memory
    };
  } catch (error) {
    instances.delete(codec);
    throw error instanceof Error ? error : new Error(describeWasmError(codec, error));
  } finally {
    try {
      decoder?.delete();
    } catch {
      // the module aborted; it is dropped above
    }
  }
}

const codecNames: Record<WasmCodec, string> = {
  jpeg: 'libjpeg-turbo',
  jpegls: 'CharLS (JPEG-LS)',
  j2k: 'OpenJPEG (JPEG 2000)',
  htj2k: 'OpenJPH (HTJ2K)',
};

/**
 * A C++ exception inside the wasm codec reaches JavaScript as a bare pointer (these builds carry no
 * exception-message helpers), so the number says nothing: name the decoder and the likely cause.
 */
function describeWasmError(codec: WasmCodec, error: unknown): string {
  if (typeof error === 'number')
    return `the ${codecNames[codec]} decoder rejected the codestream (damaged, cut short, or using a feature it does not support)`;
  return String(error);
}

/** JPEG lossless (process 14, any predictor) via jpeg-lossless-decoder-js. */
export function decodeJpegLossless(encoded: Uint8Array, bytesPerSample: 1 | 2): CodecOutput {
  const decoder = new LosslessJpegDecoder();
  const copy = new Uint8Array(encoded); // a real copy (Buffer#slice would be a view of the whole file)
  const result = decoder.decode(copy.buffer, 0, copy.byteLength, bytesPerSample) as Uint8Array | Uint16Array;
  const components = decoder.numComp || 1;
  const data = new Uint8Array(result.buffer, result.byteOffset, result.byteLength);
  return {
    width: decoder.xDim,
    height: decoder.yDim,
    components,
    bytesPerSample,
    data: bytesPerSample === 2 ? toLittleEndian16(data) : data,
  };
}

/** Uint16Array memory is platform-endian; all supported platforms are little-endian, but say so. */
function toLittleEndian16(data: Uint8Array): Uint8Array {
  const probe = new Uint16Array([1]);
  if (new Uint8Array(probe.buffer)[0] === 1) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i + 1 < data.length; i += 2) {
    out[i] = data[i + 1]!;
    out[i + 1] = data[i]!;
  }
  return out;
}
