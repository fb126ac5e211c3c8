// Review pixels job (runs in a job worker): one variant of a reader study's image as full-resolution
// greyscale values in the original's units, for true window/level in the reading view and in kits.
// The original is the viewer's image (stored pixels through the modality LUT); a restoration is the
// model's correction at its working size carried to full resolution (transferCorrection) and mapped
// back into the original's units through the window the model input went through (restoredToModality).
import { dicomFrameToModelInput } from '../data/input/index.ts';
import { decodeFrame, readDicomHeader } from '../dicom/index.ts';
import { restoreFile, transferCorrection } from '../inference/index.ts';
import type { JobHandler } from '../jobs/types.ts';
import {
  encodeKitImage,
  type KitEncoding,
  kitEncoding,
  type PixelDisplay,
  packPixels,
  type ReviewPixels,
} from '../review/index.ts';
import { AppError, cancelledError, serializeError } from '../util/errors.ts';
import { readVerifiedFile } from '../util/verified-read.ts';
import { buildViewerImage, mappingOf, restoredToModality, type ViewerImage } from '../viewer/frame.ts';

export interface LoadReviewPixelsInput {
  path: string;
  sha256: string;
  /** Names the item in error messages (never a patient name). */
  label: string;
  variant: { kind: 'original' } | { kind: 'restored'; modelId: string; passes: number };
  shippedDir: string;
  localDir?: string;
}

export interface LoadedReviewPixels {
  pixels: ReviewPixels;
  /** How a kit stores these values in 16 bits: from the original alone, the same for every variant. */
  kitEncoding: KitEncoding;
}

/** The display every variant of this image is shown with: the original's data type, photometric, first window. */
function displayOf(original: ViewerImage): PixelDisplay {
  if (original.components === 3)
    return {
      dataType: 'uint8',
      photometric: 'MONOCHROME2',
      window: { center: 127.5, width: 256 },
      voiFunction: 'LINEAR',
      units: '',
    };
  const first = original.windows[0]!;
  return {
    dataType: original.dataType,
    photometric: original.photometric === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2',
    window: { center: first.center, width: first.width },
    voiFunction: original.voiFunction,
    units: original.units,
  };
}

/** The original's values: modality units for grey images, luma (0-255) for colour ones. */
function originalValues(original: ViewerImage, modality: ArrayLike<number> | undefined): ArrayLike<number> {
  if (original.components === 1 && modality) return modality;
  const rgb = original.pixels;
  const luma = new Uint8Array(original.width * original.height);
  for (let i = 0; i < luma.length; i++)
    luma[i] = Math.round(0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!);
  return luma;
}

export const loadReviewPixels: JobHandler<LoadReviewPixelsInput, LoadedReviewPixels> = async (
  input,
  context,
) => {
  const bytes = await readVerifiedFile(input.path, input.label, input.sha256);
  const header = readDicomHeader(bytes);
  const frame = await decodeFrame(bytes, header, 0);
  const original = buildViewerImage(bytes, header, frame);
  const display = displayOf(original);
  const encoding = kitEncoding(display.dataType, original, display);
  const { width, height } = original;
  if (input.variant.kind === 'original')
    return {
      pixels: packPixels(originalValues(original, frame.modality), width, height, display),
      kitEncoding: encoding,
    };
  if (context.signal.aborted) throw cancelledError('review image');
  let working: Awaited<ReturnType<typeof restoreFile>>;
  try {
    // The model's own working size (its card); the correction is carried to full resolution below.
    working = await restoreFile(
      {
        file: input.path,
        shippedDir: input.shippedDir,
        localDir: input.localDir,
        modelId: input.variant.modelId,
        passes: input.variant.passes,
      },
      context.signal,
    );
  } catch (error) {
    if (context.signal.aborted) throw cancelledError('review image');
    const { code, message } = serializeError(error);
    throw new AppError(code, `${input.label} could not be restored: ${message}`);
  }
  const { image, voi } = dicomFrameToModelInput(bytes, frame, header);
  const full = transferCorrection(image, working);
  const inUnits = restoredToModality(full, mappingOf(voi, original), original);
  const values = new Float32Array(inUnits.pixels.buffer, inUnits.pixels.byteOffset, width * height);
  return { pixels: packPixels(values, width, height, display), kitEncoding: encoding };
};

/** What rendering a study's image for a kit needs from the app's services (app, CLI). */
export interface KitImageContext {
  library: { imageSource(id: number): { path: string; sha256: string; label: string } };
  jobs: {
    run(
      kind: 'loadReviewPixels',
      input: LoadReviewPixelsInput,
      options?: { signal?: AbortSignal },
    ): Promise<LoadedReviewPixels>;
  };
  shippedDir: string;
  localDir: string;
}

/** One image of a study in one variant for a reading kit: a 16-bit PNG of its values and the sidecar. */
export async function renderKitImage(
  context: KitImageContext,
  imageId: string,
  variant: LoadReviewPixelsInput['variant'],
  signal?: AbortSignal,
) {
  const loaded = await context.jobs.run(
    'loadReviewPixels',
    {
      ...context.library.imageSource(Number(imageId)),
      variant,
      shippedDir: context.shippedDir,
      localDir: context.localDir,
    },
    signal ? { signal } : {},
  );
  return encodeKitImage(loaded.pixels, loaded.kitEncoding);
}
