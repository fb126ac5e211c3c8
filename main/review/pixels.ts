// The pixels a reader sees: every variant of an image as full-resolution greyscale values in the
// ORIGINAL's units (modality LUT applied), so one window/level means the same on both images of a
// case. Blinded: a presentation's pixels carry the same metadata whichever variant it shows (data
// type, photometric, default window, units all come from the original), and nothing else (no UIDs,
// no model, no patient data). Reading kits carry the same values as 16-bit PNGs with a sidecar.
import sharp from 'sharp';
import { z } from 'zod';
import { AppError } from '../util/errors.ts';

export type PixelDataType = 'uint8' | 'uint16' | 'int16' | 'float32';

/** What is shown with the pixels: identical for every variant of one image. */
export interface PixelDisplay {
  dataType: PixelDataType;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** Default VOI in the original's units: the file's first window, else its VOI LUT's fit, else the full range. */
  window: { center: number; width: number };
  voiFunction: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  /** Units of the values, e.g. 'HU'; '' when unitless. */
  units: string;
}

export interface ReviewPixels extends PixelDisplay {
  width: number;
  height: number;
  /** The values as the bytes of a `dataType` array (little-endian). */
  pixels: Uint8Array<ArrayBuffer>;
}

/** How a 16-bit kit PNG holds the values: value = stored × slope + intercept (same for every variant). */
export interface KitEncoding {
  slope: number;
  intercept: number;
}

const bytesPer = { uint8: 1, uint16: 2, int16: 2, float32: 4 } as const;

const integerRange = {
  uint8: [0, 255],
  uint16: [0, 65535],
  int16: [-32768, 32767],
} as const;

/**
 * Values in `display.dataType`: integer types round and clamp (a restoration lands on the original's
 * value grid, so the data type cannot tell the variants apart).
 */
export function packPixels(
  values: ArrayLike<number>,
  width: number,
  height: number,
  display: PixelDisplay,
): ReviewPixels {
  if (values.length !== width * height)
    throw new AppError('bad_input', `expected ${width * height} pixel values, got ${values.length}`);
  let array:
    | Uint8Array<ArrayBuffer>
    | Uint16Array<ArrayBuffer>
    | Int16Array<ArrayBuffer>
    | Float32Array<ArrayBuffer>;
  switch (display.dataType) {
    case 'uint8':
      array = new Uint8Array(values.length);
      break;
    case 'uint16':
      array = new Uint16Array(values.length);
      break;
    case 'int16':
      array = new Int16Array(values.length);
      break;
    default:
      array = new Float32Array(values.length);
  }
  if (display.dataType === 'float32') for (let i = 0; i < values.length; i++) array[i] = values[i]!;
  else {
    const [low, high] = integerRange[display.dataType];
    for (let i = 0; i < values.length; i++) array[i] = Math.min(high, Math.max(low, Math.round(values[i]!)));
  }
  return {
    ...display,
    width,
    height,
    pixels: new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
  };
}

/** The values of packed pixels as numbers (a typed array over a copy of the bytes). */
export function pixelValues(image: ReviewPixels): Uint8Array | Uint16Array | Int16Array | Float32Array {
  const buffer = image.pixels.slice().buffer;
  switch (image.dataType) {
    case 'uint8':
      return new Uint8Array(buffer);
    case 'uint16':
      return new Uint16Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    default:
      return new Float32Array(buffer);
  }
}

/**
 * The 16-bit encoding of an image's values in a kit, from the ORIGINAL alone (so every variant gets
 * the same one): exact for 8/16-bit integers; float values over the original's range and its window.
 */
export function kitEncoding(
  dataType: PixelDataType,
  range: { min: number; max: number },
  display: PixelDisplay,
) {
  if (dataType === 'uint8' || dataType === 'uint16') return { slope: 1, intercept: 0 };
  if (dataType === 'int16') return { slope: 1, intercept: -32768 };
  const low = Math.min(range.min, display.window.center - display.window.width / 2);
  const high = Math.max(range.max, display.window.center + display.window.width / 2);
  return { slope: Math.max(high - low, 1e-6) / 65535, intercept: low };
}

/** The sidecar of a kit PNG (images/<key>/<variant>.json): how to read its values back, and the display. */
export const kitPixelsSchema = z.strictObject({
  format: z.literal('r2c-kit-pixels'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  dataType: z.enum(['uint8', 'uint16', 'int16', 'float32']),
  photometric: z.enum(['MONOCHROME1', 'MONOCHROME2']),
  window: z.strictObject({ center: z.number(), width: z.number().positive() }),
  voiFunction: z.enum(['LINEAR', 'LINEAR_EXACT', 'SIGMOID']),
  units: z.string().max(32),
  encoding: z.strictObject({ slope: z.number().positive(), intercept: z.number() }),
});
export type KitPixels = z.infer<typeof kitPixelsSchema>;

/** One variant of one image for a kit: a 16-bit greyscale PNG (no text chunks) and its sidecar. */
export async function encodeKitImage(
  image: ReviewPixels,
  encoding: KitEncoding,
): Promise<{ png: Uint8Array; sidecar: KitPixels }> {
  const values = pixelValues(image);
  const stored = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++)
    stored[i] = Math.min(65535, Math.max(0, Math.round((values[i]! - encoding.intercept) / encoding.slope)));
  const png = await sharp(stored, { raw: { width: image.width, height: image.height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  const { pixels: _pixels, ...display } = image;
  return { png, sidecar: { format: 'r2c-kit-pixels', ...display, encoding } };
}

/**
 * A kit image back as pixels. A sidecar (kits of format version 2) gives the values and display; a
 * version-1 kit has an 8-bit rendering only: shown as its grey levels (window/level works on those).
 */
export async function decodeKitImage(png: Uint8Array, sidecar: KitPixels | null): Promise<ReviewPixels> {
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  let depth: string | undefined;
  try {
    depth = (await sharp(png).metadata()).depth;
    decoded = await sharp(png)
      .toColourspace(depth === 'ushort' ? 'grey16' : 'b-w')
      .raw(depth === 'ushort' ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new AppError('bad_input', `a kit image cannot be decoded: ${(error as Error).message}`);
  }
  const { width, height } = decoded.info;
  const { data } = decoded;
  if (!sidecar) {
    if (depth !== 'uchar')
      throw new AppError(
        'unsupported',
        'a kit image has 16-bit pixels but no description of them: the kit is damaged',
      );
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i++) grey[i] = data[i * decoded.info.channels]!;
    return packPixels(grey, width, height, {
      dataType: 'uint8',
      photometric: 'MONOCHROME2',
      window: { center: 127.5, width: 256 },
      voiFunction: 'LINEAR',
      units: '',
    });
  }
  if (depth !== 'ushort' || width !== sidecar.width || height !== sidecar.height)
    throw new AppError('integrity', 'a kit image does not match its description (size or bit depth)');
  const stored = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const values = new Float64Array(width * height);
  for (let i = 0; i < values.length; i++)
    values[i] = stored[i]! * sidecar.encoding.slope + sidecar.encoding.intercept;
  const { format: _format, encoding: _encoding, width: _w, height: _h, ...display } = sidecar;
  return packPixels(values, width, height, display);
}

/** Bytes held by cached pixels. */
export const pixelBytes = (image: { pixels: Uint8Array }) => image.pixels.byteLength;

/**
 * A least-recently-used cache of promises bounded by BYTES (full-resolution images differ 100-fold in
 * size, so a count bounds nothing). Concurrent requests share one computation; a failure is not kept;
 * a value larger than the whole limit is returned but not kept.
 */
export class ByteLimitedCache<K, V> {
  readonly #entries = new Map<K, { promise: Promise<V>; bytes: number; settled: boolean }>();
  #total = 0;

  constructor(
    readonly limitBytes: number,
    readonly sizeOf: (value: V) => number,
  ) {}

  get(key: K, make: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.promise;
    }
    const entry = { promise: make(), bytes: 0, settled: false };
    this.#entries.set(key, entry);
    entry.promise.then(
      (value) => {
        if (this.#entries.get(key) !== entry) return;
        entry.bytes = this.sizeOf(value);
        entry.settled = true;
        this.#total += entry.bytes;
        this.#evict(key);
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.promise;
  }

  #evict(newest: K): void {
    for (const [key, entry] of this.#entries) {
      if (this.#total <= this.limitBytes) return;
      // Pending entries free nothing; the newest goes only when it alone is over the limit.
      if (!entry.settled || (key === newest && this.#entries.size > 1)) continue;
      this.#entries.delete(key);
      this.#total -= entry.bytes;
    }
    const last = this.#entries.get(newest);
    if (this.#total > this.limitBytes && last) {
      this.#entries.delete(newest);
      this.#total -= last.bytes;
    }
  }

  /** Bytes of the values held now (pending computations count 0). */
  get bytes(): number {
    return this.#total;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#total = 0;
  }
}

export const dataTypeBytes = (dataType: PixelDataType) => bytesPer[dataType];
