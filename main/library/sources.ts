import { resolve } from 'node:path';
import {
  errorText,
  expandPaths,
  isDicomDirName,
  isIgnoredName,
  MAX_INPUT_BYTES,
  readImageFile,
  sniffFile,
} from '../data/input/index.ts';
import { AppError } from '../util/errors.ts';
import {
  openZip,
  readZipDirectory,
  readZipEntry,
  unsafeEntryName,
  type ZipEntry,
  type ZipFile,
} from './zip.ts';

/** One thing to import: a file on disk, or one entry of a zip archive. */
export type ImportSource =
  | { kind: 'file'; path: string }
  | { kind: 'archiveEntry'; path: string; archive: string; entry: string; size: number; zipEntry: ZipEntry };

export interface SourceFailure {
  path: string;
  reason: string;
}

/**
 * Expands the user's paths into files with the input module's walker (the one every command uses):
 * folders recursively (hidden files and DICOMDIR index files skipped, since the files a DICOMDIR
 * lists are in the tree anyway), a DICOMDIR given by name or content into the files it references.
 * Zip archives are expanded later, when reached (see expandArchive). The same file reached twice is
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

/** Largest single file or archive entry we read into memory (a DICOM or image, not a video). */
export { MAX_INPUT_BYTES as maxItemBytes };

/** An entry of a zip archive, located by its central directory record (not by its name). */
export type ArchiveEntrySource = Extract<ImportSource, { kind: 'archiveEntry' }>;

/**
 * Lists the file entries of a zip archive from its central directory, without reading or
 * inflating them. Folders, hidden/system entries (__MACOSX) and DICOMDIRs are skipped; entries
 * whose path would leave the archive ('..', absolute) are refused items. Entries that share a name
 * stay separate items (their paths say which one).
 */
export function expandArchive(archivePath: string): {
  entries: ArchiveEntrySource[];
  refused: SourceFailure[];
} {
  let directory: ZipEntry[];
  const zip = openArchive(archivePath);
  try {
    directory = readZipDirectory(zip);
  } finally {
    zip.close();
  }
  const seen = new Map<string, number>();
  for (const file of directory) seen.set(file.name, (seen.get(file.name) ?? 0) + 1);
  const entries: ArchiveEntrySource[] = [];
  const refused: SourceFailure[] = [];
  const occurrence = new Map<string, number>();
  for (const file of directory) {
    const name = file.name;
    const nth = (occurrence.get(name) ?? 0) + 1;
    occurrence.set(name, nth);
    const path = `${archivePath}!/${name}${(seen.get(name) ?? 0) > 1 ? ` (entry ${file.index + 1}, copy ${nth} of that name)` : ''}`;
    const unsafe = unsafeEntryName(name);
    if (unsafe) {
      refused.push({ path, reason: unsafe });
      continue;
    }
    const leaf = name.split('/').pop() ?? '';
    const skip =
      name.endsWith('/') ||
      name.split('/').some((part) => isIgnoredName(part)) ||
      isDicomDirName(leaf) ||
      leaf.length === 0;
    if (!skip)
      entries.push({
        kind: 'archiveEntry',
        path,
        archive: archivePath,
        entry: name,
        size: file.uncompressedSize,
        zipEntry: file,
      });
  }
  return { entries, refused };
}

function openArchive(archivePath: string): ZipFile {
  try {
    return openZip(archivePath);
  } catch (error) {
    throw new AppError('not_found', `cannot open zip archive: ${errorText(error)}`);
  }
}

/** The open archive the importer reads entries from, opened once per archive. */
export interface ArchiveReader {
  read(source: ArchiveEntrySource): Uint8Array;
  close(): void;
}

export function archiveReader(): ArchiveReader {
  let current: { path: string; zip: ZipFile } | undefined;
  return {
    read(source) {
      if (current?.path !== source.archive) {
        current?.zip.close();
        current = undefined;
        current = { path: source.archive, zip: openArchive(source.archive) };
      }
      return readZipEntry(current.zip, source.zipEntry);
    },
    close() {
      current?.zip.close();
      current = undefined;
    },
  };
}

/**
 * A file to import: a zip archive (listed, not read), or an image read whole once its first bytes
 * say it is one (junk, a DICOMDIR or an oversized file is refused after a small read).
 */
export async function readFileSource(
  path: string,
): Promise<{ kind: 'zip' } | { kind: 'item'; bytes: Uint8Array }> {
  const sniffed = await sniffFile(path);
  if (sniffed.kind === 'zip') return { kind: 'zip' };
  const { bytes } = await readImageFile(path);
  return { kind: 'item', bytes };
}

/** File errors in words (the input module's), for the importer's failure reasons. */
export { errorText };
