import sharp from 'sharp';
import { writeFileAtomic } from './atomic-write.ts';
import { AppError } from './errors.ts';
import type { GrayImage } from './image.ts';

/** Decodes a PNG/JPEG/TIFF/WebP file or buffer to gray in [0,1] (colour converted to luma). */
export async function readGrayImage(input: string | Uint8Array): Promise<GrayImage> {
  try {
    const is16 = (await sharp(input).metadata()).depth === 'ushort';
    const { data, info } = await sharp(input)
      .greyscale()
      .raw(is16 ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
    const words = is16 ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : data;
    const scale = is16 ? 65535 : 255;
    const out = new Float32Array(info.width * info.height);
    for (let i = 0; i < out.length; i++) out[i] = words[i * info.channels]! / scale;
    return { width: info.width, height: info.height, data: out };
  } catch (error) {
    const what = typeof input === 'string' ? `image file ${input}` : 'image data';
    throw new AppError(
      'bad_input',
      `cannot decode ${what}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/** Encodes a [0,1] gray image (values clipped) as an 8-bit PNG. */
export async function encodeGrayPng(image: GrayImage): Promise<Buffer> {
  const { width, height, data } = image;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(Math.min(1, Math.max(0, data[i]!)) * 255);
  return sharp(pixels, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

export async function writeGrayPng(path: string, image: GrayImage): Promise<void> {
  await writeFileAtomic(path, await encodeGrayPng(image));
}

export { writeFileAtomic };
