// Restored output at the original's full resolution. The model restores at its working size (512 px
// long side); upsampling that result would throw away the original's fine detail. Instead the
// model's correction at working size (restored − working input) is upsampled and added to the
// full-resolution original: what the model changed is kept, and the detail finer than the working
// size comes from the original.
import { AppError } from '../util/errors.ts';
import { createGray, type GrayImage } from '../util/image.ts';
import { resizeGray } from '../util/resize.ts';

/**
 * `restored` is the model output at working size for `original` (the same image the working input
 * was resized from). Returns an image of the original's size, values clamped to [0,1].
 */
export function transferCorrection(original: GrayImage, restored: GrayImage): GrayImage {
  if (restored.width > original.width || restored.height > original.height)
    throw new AppError(
      'bad_input',
      `restored image ${restored.width}x${restored.height} is larger than the original ${original.width}x${original.height}`,
    );
  if (restored.width === original.width && restored.height === original.height) return restored;
  const working = resizeGray(original, restored.width, restored.height);
  const correction = createGray(restored.width, restored.height);
  for (let i = 0; i < correction.data.length; i++) correction.data[i] = restored.data[i]! - working.data[i]!;
  const up = resizeGray(correction, original.width, original.height);
  const out = createGray(original.width, original.height);
  for (let i = 0; i < out.data.length; i++)
    out.data[i] = Math.min(1, Math.max(0, original.data[i]! + up.data[i]!));
  return out;
}

/** The plain alternative (for comparison): the working-size result upsampled to the original's size. */
export function upsampleRestored(original: GrayImage, restored: GrayImage): GrayImage {
  return resizeGray(restored, original.width, original.height);
}
