// Job handlers for main/jobs (heavy decoding off the main thread). Register with one line in
// main/jobs/registry.ts, e.g. `loadDicomFrame,`. Input and output are structured-cloneable.
import { readFile } from 'node:fs/promises';
import { cancelledError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import type { JobHandler } from '../jobs/types.ts';
import { decodeFrame } from './decode.ts';
import { type DicomHeader, readDicomHeader } from './header.ts';
import { type AppliedVoi, type Gray8Image, renderDisplay, toModelInput, type Window } from './pixel.ts';

export interface LoadDicomFrameInput {
  path: string;
  /** 0-based frame (default 0). */
  frameIndex?: number;
  /** Display window override (modality units). */
  window?: Window;
}

export interface LoadDicomFrameOutput {
  header: DicomHeader;
  /** What a viewer shows (8-bit gray). */
  display: Gray8Image & { voi?: AppliedVoi };
  /** The model input (see toModelInput): gray in [0,1]. */
  modelInput: GrayImage;
}

/** Reads a DICOM file and returns its header, displayed frame and model input. */
export const loadDicomFrame: JobHandler<LoadDicomFrameInput, LoadDicomFrameOutput> = async (
  input,
  context,
) => {
  const step = (done: number, message: string) => {
    if (context.signal.aborted) throw cancelledError('DICOM decoding');
    context.progress({ done, total: 3, message });
  };
  step(0, 'reading');
  const bytes = await readFile(input.path);
  const header = readDicomHeader(bytes);
  step(1, 'decoding');
  const frame = await decodeFrame(bytes, header, input.frameIndex ?? 0);
  step(2, 'rendering');
  const display = renderDisplay(bytes, frame, header, input.window ? { window: input.window } : {});
  const modelInput = toModelInput(bytes, frame, header);
  step(3, 'done');
  return { header, display, modelInput };
};
