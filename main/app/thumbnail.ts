// Thumbnail job (runs in a job worker): the first frame of a DICOM file as a viewer shows it,
// scaled to fit a square, encoded as PNG.
import sharp from 'sharp';
import { decodeFrame, readDicomHeader, renderDisplay } from '../dicom/index.ts';
import type { JobHandler } from '../jobs/types.ts';
import { cancelledError } from '../util/errors.ts';
import { readVerifiedFile } from '../util/verified-read.ts';

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
  const bytes = await readVerifiedFile(input.path, input.label, input.sha256);
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
