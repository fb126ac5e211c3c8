// The one conversion from an input file to what the models are given: gray in [0,1], bone bright,
// on the 256 levels of the 8-bit PNGs they were trained on (DICOM) or as the raster image stores it.
import { basename } from 'node:path';
import {
  type AppliedVoi,
  applyVoi,
  type DecodedFrame,
  type DicomHeader,
  decodeFrame,
  readDicomHeader,
  toModelInput,
} from '../../dicom/index.ts';
import { AppError } from '../../util/errors.ts';
import type { GrayImage } from '../../util/image.ts';
import { readGrayImage } from '../../util/image-io.ts';
import { detectKind, type ImageKind, isRasterKind, readHeader, unsupportedReason } from './detect.ts';
import { readImageFile } from './read.ts';
import { errorText } from './walk.ts';

/**
 * The models were trained on 8-bit PNGs (level / 255); a DICOM frame after VOI is continuous in
 * [0,1], so it is rounded to the same 256 levels to give the model exactly the inputs it was trained on.
 */
export function toTrainingLevels(image: GrayImage): GrayImage {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.round(Math.min(1, Math.max(0, image.data[i]!)) * 255) / 255;
  return { width: image.width, height: image.height, data };
}

/**
 * A decoded DICOM frame as model input: monochrome through the modality LUT and VOI (the file's
 * first window, else its VOI LUT, else min/max; returned so results can be mapped back to the
 * original's units), MONOCHROME1 inverted; colour as luma (see toModelInput); then 256 levels.
 */
export function dicomFrameToModelInput(
  bytes: Uint8Array,
  frame: DecodedFrame,
  header: DicomHeader,
): { image: GrayImage; voi?: AppliedVoi } {
  if (frame.samplesPerPixel === 3) return { image: toTrainingLevels(toModelInput(bytes, frame, header)) };
  const windowed = applyVoi(bytes, frame, header);
  const data =
    frame.photometricInterpretation === 'MONOCHROME1' ? windowed.values.map((v) => 1 - v) : windowed.values;
  return { image: toTrainingLevels({ width: frame.width, height: frame.height, data }), voi: windowed.voi };
}

export interface DicomSource {
  bytes: Uint8Array;
  header: DicomHeader;
  /** The decoded first frame the model input was made from. */
  frame: DecodedFrame;
}

export interface ModelInput {
  image: GrayImage;
  kind: ImageKind;
  /** DICOM inputs: the file and its first frame (e.g. to write a derived image that references it). */
  dicom?: DicomSource;
}

/**
 * Reads any input file as the model sees it: the kind comes from its first bytes (detectKind);
 * DICOM (with or without preamble) decodes its first frame (dicomFrameToModelInput), PNG, JPEG and
 * TIFF decode to gray (colour to luma). Errors are AppErrors that name the file; anything else is
 * 'unsupported' with the reason every command gives.
 */
export async function readModelInput(file: string): Promise<ModelInput> {
  const name = basename(file);
  let kind: ReturnType<typeof detectKind>;
  try {
    kind = detectKind(await readHeader(file), file);
  } catch (error) {
    throw new AppError('not_found', `${name}: cannot open: ${errorText(error)}`);
  }
  if (isRasterKind(kind)) return { image: await readGrayImage(file), kind };
  if (kind !== 'dicom') throw new AppError('unsupported', `${name}: ${unsupportedReason(kind)}`);
  try {
    // Bounded: a file only named like a DICOM gets the reader's verdict from its first bytes.
    const { bytes } = await readImageFile(file, { accept: ['dicom'] });
    const header = readDicomHeader(bytes);
    // Multi-frame: the first frame.
    const frame = await decodeFrame(bytes, header, 0);
    return {
      image: dicomFrameToModelInput(bytes, frame, header).image,
      kind,
      dicom: { bytes, header, frame },
    };
  } catch (error) {
    if (error instanceof AppError) throw new AppError(error.code, `${name}: ${error.message}`);
    throw new AppError('bad_input', `${name}: cannot read DICOM (${(error as Error).message})`);
  }
}

/** A file's model input image only (training and evaluation images: what inference would be given). */
export async function readModelInputImage(file: string): Promise<GrayImage> {
  return (await readModelInput(file)).image;
}
