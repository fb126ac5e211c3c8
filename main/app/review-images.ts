// Review image job (runs in a job worker): one presentation of a reader study as a PNG. The original
// goes through the thumbnail renderer (the viewer's display pipeline); a restored variant goes
// through the worker's cached inference service (and model session), not a second one.
import { restoreFile } from '../inference/batch.ts';
import type { JobHandler } from '../jobs/types.ts';
import { AppError, cancelledError, serializeError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { encodeGrayPng } from '../util/image-io.ts';
import { type RenderThumbnailOutput, renderThumbnail } from './thumbnail.ts';

export interface RenderReviewImageInput {
  path: string;
  /** Longest side of the image in pixels (also the restoration working size). */
  size: number;
  sha256?: string;
  /** Names the item in error messages (never a patient name). */
  label: string;
  variant: { kind: 'original' } | { kind: 'restored'; modelId: string; passes: number };
  shippedDir: string;
  localDir?: string;
}

export const renderReviewImage: JobHandler<RenderReviewImageInput, RenderThumbnailOutput> = async (
  input,
  context,
) => {
  if (input.variant.kind === 'original') return renderThumbnail(input, context);
  let restored: GrayImage;
  try {
    restored = await restoreFile(
      {
        file: input.path,
        shippedDir: input.shippedDir,
        localDir: input.localDir,
        modelId: input.variant.modelId,
        passes: input.variant.passes,
        workingLongSide: input.size,
      },
      context.signal,
    );
  } catch (error) {
    if (context.signal.aborted) throw cancelledError('review image rendering');
    const { code, message } = serializeError(error);
    throw new AppError(code, `${input.label} could not be restored: ${message}`);
  }
  const png = await encodeGrayPng(restored);
  return { pngBase64: png.toString('base64'), width: restored.width, height: restored.height };
};
