import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import dicomParser from 'dicom-parser';
import { unzipSync } from 'fflate';
import { AppError, cancelledError } from '../util/errors.ts';

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

const ignoredNames = new Set(['thumbs.db', 'desktop.ini', '__macosx']);

function isDicomDirName(path: string): boolean {
  return basename(path).toUpperCase() === 'DICOMDIR';
}

function isIgnored(name: string): boolean {
  return name.startsWith('.') || ignoredNames.has(name.toLowerCase());
}

/**
 * Expands the user's paths into files: folders recursively (hidden files and DICOMDIR index files
 * skipped, since the files a DICOMDIR lists are in the tree anyway), a DICOMDIR given by name into
 * the files it references. Zip archives are expanded later, when read (see expandArchive).
 * The same file reached twice is listed once.
 */
export async function collectSources(
  paths: string[],
  signal: AbortSignal,
): Promise<{ sources: ImportSource[]; failed: SourceFailure[] }> {
  const sources: ImportSource[] = [];
  const failed: SourceFailure[] = [];
  const seen = new Set<string>();
  const addFile = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    sources.push({ kind: 'file', path });
  };

  async function walk(dir: string): Promise<void> {
    if (signal.aborted) throw cancelledError('import');
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      failed.push({ path: dir, reason: `cannot read folder: ${errorText(error)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isIgnored(entry.name) || isDicomDirName(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) addFile(full);
      else if (entry.isSymbolicLink()) {
        // Follow links to files only: a link to a folder could loop.
        const target = await stat(full).catch(() => undefined);
        if (target?.isFile()) addFile(full);
      }
    }
  }

  for (const given of paths) {
    if (signal.aborted) throw cancelledError('import');
    const path = resolve(given);
    const info = await stat(path).catch((error: unknown) => error as Error);
    if (info instanceof Error) {
      failed.push({ path, reason: `cannot open: ${errorText(info)}` });
    } else if (info.isDirectory()) {
      await walk(path);
    } else if (isDicomDirName(path)) {
      try {
        for (const file of await dicomDirReferences(path)) {
          const referenced = await stat(file).catch(() => undefined);
          if (referenced?.isFile()) addFile(file);
          else failed.push({ path: file, reason: `file listed in DICOMDIR ${path} does not exist` });
        }
      } catch (error) {
        failed.push({ path, reason: errorText(error) });
      }
    } else if (info.isFile()) {
      addFile(path);
    } else {
      failed.push({ path, reason: 'not a regular file or folder' });
    }
  }
  return { sources, failed };
}

/**
 * The files a DICOMDIR references (Referenced File ID, 0004,1500), resolved against its folder.
 * Media written on Windows or by old CD burners may differ in case from the IDs, so a missing
 * component is looked up case-insensitively.
 */
export async function dicomDirReferences(dicomDirPath: string): Promise<string[]> {
  const bytes = await readFile(dicomDirPath);
  let dataSet: dicomParser.DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes);
  } catch (error) {
    throw new AppError('bad_input', `cannot parse DICOMDIR ${dicomDirPath}: ${parserErrorText(error)}`);
  }
  const records = dataSet.elements['x00041220']?.items;
  if (!records) throw new AppError('bad_input', `DICOMDIR ${dicomDirPath} has no Directory Record Sequence`);
  const root = dirname(dicomDirPath);
  const files: string[] = [];
  for (const record of records) {
    const fileId = record.dataSet?.string('x00041500');
    if (!fileId) continue;
    const components = fileId
      .split('\\')
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    if (components.some((c) => c === '..' || c === '.' || c.includes('/'))) {
      throw new AppError('bad_input', `DICOMDIR ${dicomDirPath} has an invalid Referenced File ID`);
    }
    files.push(await resolveCaseInsensitive(root, components));
  }
  return files;
}

async function resolveCaseInsensitive(root: string, components: string[]): Promise<string> {
  let current = root;
  for (const component of components) {
    const exact = join(current, component);
    if (await stat(exact).catch(() => undefined)) {
      current = exact;
      continue;
    }
    const names = await readdir(current).catch(() => [] as string[]);
    const match = names.find((n) => n.toUpperCase() === component.toUpperCase());
    current = join(current, match ?? component);
  }
  return current;
}

const zipMagic = [0x50, 0x4b, 0x03, 0x04];

export function isZip(bytes: Uint8Array): boolean {
  return zipMagic.every((b, i) => bytes[i] === b);
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
          name.split('/').some((part) => isIgnored(part)) ||
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

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file or folder';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'EISDIR') return 'is a folder';
    return error.message;
  }
  return String(error);
}

// dicom-parser throws plain strings or objects with an `exception` field.
function parserErrorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'exception' in error) return String(error.exception);
  return errorText(error);
}
