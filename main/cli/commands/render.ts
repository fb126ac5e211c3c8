import { parseArgs } from 'node:util';
import { readImageFile } from '../../data/input/index.ts';
import {
  decodeFrame,
  gray8ToGrayImage,
  readDicomHeader,
  renderDisplay,
  type Window,
} from '../../dicom/index.ts';
import { AppError } from '../../util/errors.ts';
import { writeGrayPng } from '../../util/image-io.ts';
import { type CliCommand, UsageError } from '../command.ts';

export function parseWindow(text: string): Window {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!match) throw new UsageError(`--window must be "center,width" (numbers), got "${text}"`);
  const window = { center: Number(match[1]), width: Number(match[2]) };
  if (window.width <= 0) throw new UsageError('--window width must be greater than 0');
  return window;
}

export const renderCommand: CliCommand = {
  name: 'render',
  summary:
    'Render a DICOM frame as a viewer shows it (modality LUT, VOI window, MONOCHROME1) to an 8-bit PNG',
  usage: 'r2c render <file> --out <png> [--window center,width] [--frame N (1-based, default 1)]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string' }, window: { type: 'string' }, frame: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one DICOM file');
    if (!values.out) throw new UsageError('--out <png> is required');
    const window = values.window !== undefined ? parseWindow(values.window) : undefined;
    const frameNumber = values.frame !== undefined ? Number(values.frame) : 1;
    if (!Number.isInteger(frameNumber) || frameNumber < 1)
      throw new UsageError('--frame must be a positive integer');

    const path = positionals[0]!;
    const { bytes } = await readDicomInput(path);
    const header = readDicomHeader(bytes);
    // A data problem of the file (exit 1), not a mistake in the command line.
    if (!header.hasPixelData) {
      throw new AppError(
        'bad_input',
        `${path}: no Pixel Data (7FE0,0010): the file is a DICOM object without an image (SOP class ${header.sopClassUid || 'unknown'}), nothing to render`,
      );
    }
    if (frameNumber > header.numberOfFrames) {
      throw new UsageError(`--frame ${frameNumber}: the image has ${header.numberOfFrames} frame(s)`);
    }
    const frame = await decodeFrame(bytes, header, frameNumber - 1);
    const image = renderDisplay(bytes, frame, header, window ? { window } : {});
    await writeGrayPng(values.out, gray8ToGrayImage(image));
    const voi = image.voi;
    const how =
      voi === undefined
        ? 'colour shown as luma'
        : voi.kind === 'lut'
          ? `VOI LUT ${voi.index + 1}`
          : `window ${voi.center}/${voi.width} (${voi.source}, ${voi.function})`;
    io.out(
      `${values.out}: ${image.width}x${image.height}, frame ${frameNumber}/${header.numberOfFrames}, ${how}`,
    );
    return 0;
  },
};

/** A DICOM file read whole only after its first bytes said it is one; errors name the file. */
export async function readDicomInput(path: string): Promise<{ bytes: Uint8Array }> {
  try {
    return await readImageFile(path, { accept: ['dicom'] });
  } catch (error) {
    if (error instanceof AppError) throw new AppError(error.code, `${path}: ${error.message}`);
    throw error;
  }
}
