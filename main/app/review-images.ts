// Review image job (runs in a job worker): one presentation of a reader study as a PNG. The original
// goes through the thumbnail renderer (the viewer's display pipeline); a restored variant goes
// through the worker's cached inference service (and model session), not a second one.
import { restoreFile } from '../inference/index.ts';
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

/** What rendering a study's image at full resolution needs from the app's services. */
export interface FullResolutionContext {
  library: {
    imageSource(id: number): { path: string; sha256: string; label: string };
    getInstance(id: number): { rows: number; columns: number };
  };
  jobs: {
    run(
      kind: 'renderReviewImage',
      input: RenderReviewImageInput,
      options?: { signal?: AbortSignal },
    ): Promise<RenderThumbnailOutput>;
  };
  shippedDir: string;
  localDir: string;
}

/** Longest side a review image is rendered at: what was asked for, never above the image's own size. */
export function reviewImageSize(instance: { rows: number; columns: number }, requested: number): number {
  return Math.max(1, Math.min(requested, Math.max(instance.rows, instance.columns)));
}

/**
 * One image of a reader study in one variant, as a PNG at the image's full resolution (reading kits
 * and the reading view): the original through the display pipeline, a restoration by its model.
 */
export async function renderFullResolution(
  context: FullResolutionContext,
  imageId: string,
  variant: RenderReviewImageInput['variant'],
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const instanceId = Number(imageId);
  const instance = context.library.getInstance(instanceId);
  const rendered = await context.jobs.run(
    'renderReviewImage',
    {
      ...context.library.imageSource(instanceId),
      size: Math.max(instance.rows, instance.columns),
      variant,
      shippedDir: context.shippedDir,
      localDir: context.localDir,
    },
    signal ? { signal } : {},
  );
  return Buffer.from(rendered.pngBase64, 'base64');
}
