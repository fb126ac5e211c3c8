import { resolve } from 'node:path';
import { unzipSync } from 'fflate';
import {
  detectKind,
  errorText,
  expandPaths,
  HEADER_BYTES,
  isDicomDirName,
  isIgnoredName,
} from '../data/input/index.ts';
import { AppError } from '../util/errors.ts';

/** One thing to import: a file on disk, or one entry of a zip archive. */
export type ImportSource =
  | { kind: 'file'; path: string }
  | { kind: 'archiveEntry'; path: string; archive: string; entry: string; size: number };

export interface SourceFailure {
  path: string;
  reason: string;
}

/** Largest single file or archive entry we read into memory (a DICOM or image, not a video). */
export const maxItemBytes = 2 ** 31 - 1;

/**
 * Expands the user's paths into files with the input module's walker (the one every command uses):
 * folders recursively (hidden files and DICOMDIR index files skipped, since the files a DICOMDIR
 * lists are in the tree anyway), a DICOMDIR given by name or content into the files it references.
 * Zip archives are expanded later, when read (see expandArchive). The same file reached twice is
 * listed once.
 */
export async function collectSources(
  paths: string[],
  signal: AbortSignal,
): Promise<{ sources: ImportSource[]; failed: SourceFailure[] }> {
  const { inputs, failed } = await expandPaths(
    paths.map((p) => resolve(p)),
    { signal, what: 'import' },
  );
  return { sources: inputs.map(({ path }) => ({ kind: 'file', path })), failed };
}

export function isZip(bytes: Uint8Array): boolean {
  return detectKind(bytes.subarray(0, HEADER_BYTES)) === 'zip';
}

/** Lists the file entries of a zip archive held in memory, without decompressing them. */
export function expandArchive(archivePath: string, bytes: Uint8Array): ImportSource[] {
  const entries: ImportSource[] = [];
  try {
    unzipSync(bytes, {
      filter(file) {
        const name = file.name;
        const leaf = name.split('/').pop() ?? '';
        const skip =
          name.endsWith('/') ||
          name.split('/').some((part) => isIgnoredName(part)) ||
          isDicomDirName(leaf) ||
          leaf.length === 0;
        if (!skip)
          entries.push({
            kind: 'archiveEntry',
            path: `${archivePath}!/${name}`,
            archive: archivePath,
            entry: name,
            size: file.originalSize,
          });
        return false;
      },
    });
  } catch (error) {
    throw new AppError('bad_input', `cannot read zip archive: ${errorText(error)}`);
  }
  return entries;
}

/** Decompresses one entry of a zip archive held in memory. */
export function readArchiveEntry(bytes: Uint8Array, source: { entry: string; size: number }): Uint8Array {
  if (source.size > maxItemBytes)
    throw new AppError('unsupported', `zip entry is too large (${source.size} bytes uncompressed)`);
  let data: Uint8Array | undefined;
  try {
    data = unzipSync(bytes, { filter: (file) => file.name === source.entry })[source.entry];
  } catch (error) {
    throw new AppError('bad_input', `cannot decompress zip entry: ${errorText(error)}`);
  }
  if (!data) throw new AppError('bad_input', 'zip entry disappeared while reading');
  return data;
}

/** File errors in words (the input module's), for the importer's failure reasons. */
export { errorText };
