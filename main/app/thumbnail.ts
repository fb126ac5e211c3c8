// Thumbnail job (runs in a job worker): the first frame of a DICOM file as a viewer shows it,
// scaled to fit a square, encoded as PNG.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeFrame, readDicomHeader, renderDisplay } from '../dicom/index.ts';
import type { JobHandler } from '../jobs/types.ts';
import { AppError, cancelledError } from '../util/errors.ts';

export interface RenderThumbnailInput {
  path: string;
  /** Longest side of the thumbnail in pixels. */
  size: number;
  /** When given, the file must still have this SHA-256 (a referenced original may have changed). */
  sha256?: string;
  /** Names the item in error messages (never a patient name). */
  label: string;
}

export interface RenderThumbnailOutput {
  /** PNG, base64 (a string survives every worker transport unchanged). */
  pngBase64: string;
  width: number;
  height: number;
}

export const renderThumbnail: JobHandler<RenderThumbnailInput, RenderThumbnailOutput> = async (
  input,
  context,
) => {
  const check = () => {
    if (context.signal.aborted) throw cancelledError('thumbnail rendering');
  };
  let bytes: Buffer;
  try {
    bytes = await readFile(input.path);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read';
    throw new AppError('not_found', `the file of ${input.label} ${why}`);
  }
  if (input.sha256 && createHash('sha256').update(bytes).digest('hex') !== input.sha256)
    throw new AppError('integrity', `the file of ${input.label} changed since it was imported`);
  check();
  const header = readDicomHeader(bytes);
  const frame = await decodeFrame(bytes, header, 0);
  check();
  const display = renderDisplay(bytes, frame, header);
  const { data, info } = await sharp(display.data, {
    raw: { width: display.width, height: display.height, channels: 1 },
  })
    .resize({ width: input.size, height: input.size, fit: 'inside' })
    .toColourspace('b-w')
    .png()
    .toBuffer({ resolveWithObject: true });
  return { pngBase64: data.toString('base64'), width: info.width, height: info.height };
};
