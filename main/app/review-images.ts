// Review image job (runs in a job worker): one presentation of a reader study as a PNG. The original
// goes through the thumbnail renderer (the viewer's display pipeline); a restored variant goes
// through the batch inference path, so the worker's cached inference service (and model session)
// is reused rather than a second one being loaded.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { processImages } from '../inference/batch.ts';
import type { JobHandler } from '../jobs/types.ts';
import { AppError, cancelledError, type ErrorCode } from '../util/errors.ts';
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
  const outDir = await mkdtemp(join(tmpdir(), 'r2c-review-'));
  try {
    const { items } = await processImages(
      {
        files: [input.path],
        shippedDir: input.shippedDir,
        localDir: input.localDir,
        modelId: input.variant.modelId,
        passes: input.variant.passes,
        workingLongSide: input.size,
        outDir,
        format: 'png',
      },
      { ...context, progress: () => {} },
    );
    if (context.signal.aborted) throw cancelledError('review image rendering');
    const item = items[0];
    if (!item) throw new AppError('internal', `no restored image was produced for ${input.label}`);
    if ('error' in item)
      throw new AppError(
        item.error.code as ErrorCode,
        `${input.label} could not be restored: ${item.error.message}`,
      );
    if (!item.output) throw new AppError('internal', `no restored image was written for ${input.label}`);
    const { data, info } = await sharp(await readFile(item.output))
      .resize({ width: input.size, height: input.size, fit: 'inside' })
      .toColourspace('b-w')
      .png()
      .toBuffer({ resolveWithObject: true });
    return { pngBase64: data.toString('base64'), width: info.width, height: info.height };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
};
