// Reading an input file only once its first bytes say it is worth reading: a junk, zip or
// oversized file is refused after HEADER_BYTES, so a 1 GB file of junk costs one small read.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../../util/errors.ts';
import { readDicomHeader } from '../../dicom/index.ts';
import {
  detectKind,
  HEADER_BYTES,
  type ImageKind,
  type InputKind,
  isImageKind,
  readHeader,
  unsupportedReason,
} from './detect.ts';
import { errorText } from './walk.ts';

/** Largest single input file read into memory (a DICOM or image, not a video): 2 GiB - 1. */
export const MAX_INPUT_BYTES = 2 ** 31 - 1;

export interface SniffedFile {
  /** What the first bytes (or, where they say nothing, the name) make the file. */
  kind: InputKind;
  /** True when the bytes themselves matched a format (not just the file's extension). */
  byContent: boolean;
  size: number;
}

/** The file's kind from its first bytes, and its size. Throws AppError('not_found') when it cannot be opened. */
export async function sniffFile(path: string): Promise<SniffedFile> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new AppError('not_found', `cannot open: ${errorText(error)}`);
  }
  try {
    const { size } = await handle.stat();
    const header = new Uint8Array(Math.min(HEADER_BYTES, size));
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    const bytes = header.subarray(0, bytesRead);
    const byBytes = detectKind(bytes);
    return { kind: detectKind(bytes, path), byContent: byBytes !== 'unknown', size };
  } catch (error) {
    throw new AppError('not_found', `cannot read: ${errorText(error)}`);
  } finally {
    await handle.close();
  }
}

/**
 * A file named .dcm/.png/... whose first bytes match no format. For DICOM the reader's own words
 * come from those first bytes (e.g. the implausible first tag); when they are not enough to tell,
 * the whole file goes to the reader. A raster named so is refused outright.
 */
async function refuseUnlessDicomSaysOtherwise(path: string, kind: ImageKind): Promise<void> {
  if (kind !== 'dicom') {
    throw new AppError(
      'bad_input',
      `named like a ${kind.toUpperCase()} file (${basename(path)}) but its first bytes are not one: ${unsupportedReason('unknown')}`,
    );
  }
  try {
    readDicomHeader(await readHeader(path));
  } catch (error) {
    if (error instanceof AppError && error.message.startsWith('not a DICOM file')) throw error;
  }
}

/**
 * Reads an image input (DICOM, PNG, JPEG, TIFF) whole, after its first bytes said it is one.
 * Anything else is refused from those bytes alone: 'unsupported' for another kind (zip, DICOMDIR,
 * unknown) or a file over `maxBytes`, 'bad_input' for a file whose extension claims a format its
 * bytes do not start like. Messages do not repeat the path (callers name the file).
 */
export async function readImageFile(
  path: string,
  options: { maxBytes?: number; accept?: readonly ImageKind[] } = {},
): Promise<{ kind: ImageKind; bytes: Uint8Array }> {
  const sniffed = await sniffFile(path);
  const accept = options.accept ?? ['dicom', 'png', 'jpeg', 'tiff'];
  if (!isImageKind(sniffed.kind)) throw new AppError('unsupported', unsupportedReason(sniffed.kind));
  if (!sniffed.byContent) await refuseUnlessDicomSaysOtherwise(path, sniffed.kind);
  if (!accept.includes(sniffed.kind))
    throw new AppError('unsupported', `a ${sniffed.kind.toUpperCase()} image, not ${accept.join(' or ')}`);
  const maxBytes = options.maxBytes ?? MAX_INPUT_BYTES;
  if (sniffed.size > maxBytes)
    throw new AppError('unsupported', `file is too large (${sniffed.size} bytes; the limit is ${maxBytes})`);
  const handle = await open(path, 'r');
  try {
    // Read what stat said, not to EOF: a file that grows meanwhile cannot push us past the limit.
    const bytes = new Uint8Array(sniffed.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { kind: sniffed.kind, bytes: bytes.subarray(0, done) };
  } finally {
    await handle.close();
  }
}
