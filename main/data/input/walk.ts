// The one walk from what the user gave (files, folders, DICOMDIRs) to the files each command reads.
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import dicomParser from 'dicom-parser';
import { AppError, cancelledError } from '../../util/errors.ts';
import { detectFile, detectFiles, isDicomDirName, isImageKind } from './detect.ts';

const ignoredNames = new Set(['thumbs.db', 'desktop.ini', '__macosx']);

/** Hidden files and folders (macOS '._' files included) and system clutter are never inputs. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || ignoredNames.has(name.toLowerCase());
}

export interface InputFailure {
  path: string;
  reason: string;
}

export interface WalkOptions {
  signal?: AbortSignal;
  /** Names the work in the error thrown on cancel (default 'folder scan'). */
  what?: string;
  /** A folder that cannot be listed; default: throw. */
  onUnreadable?: (failure: InputFailure) => void;
}

/**
 * The files under `dir`, recursively, depth-first, each folder's entries sorted by name. Hidden and
 * system files are skipped, and so are DICOMDIR index files (the files they list are in the tree
 * anyway). Links to files are followed; links to folders are not (they could loop).
 */
export async function walkFolder(dir: string, options: WalkOptions = {}): Promise<string[]> {
  const files: string[] = [];
  async function walk(folder: string): Promise<void> {
    if (options.signal?.aborted) throw cancelledError(options.what ?? 'folder scan');
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      const failure = { path: folder, reason: `cannot read folder: ${errorText(error)}` };
      if (!options.onUnreadable) throw new AppError('not_found', `${failure.path}: ${failure.reason}`);
      options.onUnreadable(failure);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isIgnoredName(entry.name) || isDicomDirName(entry.name)) continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
      else if (entry.isSymbolicLink()) {
        const target = await stat(full).catch((error: unknown) => error as NodeJS.ErrnoException);
        if (target instanceof Error) {
          // A link into itself is the user's mistake to hear about; a dangling link stays skipped.
          if (target.code === 'ELOOP') {
            const failure = { path: full, reason: `cannot open: ${errorText(target)}` };
            if (options.onUnreadable) options.onUnreadable(failure);
          }
        } else if (target.isFile()) files.push(full);
      }
    }
  }
  await walk(dir);
  return files;
}

export interface ExpandedInput {
  path: string;
  /** Found by walking a folder or listed by a DICOMDIR, rather than named by the user. */
  found: boolean;
}

/**
 * Expands the user's paths: folders recursively (walkFolder), a DICOMDIR (by name or content) into
 * the files it references, other files as they are. Paths are kept as given (not resolved). The same
 * file reached twice is listed once. What cannot be opened is a failure with its reason.
 */
export async function expandPaths(
  paths: readonly string[],
  options: WalkOptions = {},
): Promise<{ inputs: ExpandedInput[]; failed: InputFailure[] }> {
  const inputs: ExpandedInput[] = [];
  const failed: InputFailure[] = [];
  const seen = new Set<string>();
  const add = (path: string, found: boolean) => {
    if (seen.has(path)) return;
    seen.add(path);
    inputs.push({ path, found });
  };
  const onUnreadable = options.onUnreadable ?? ((failure: InputFailure) => failed.push(failure));
  for (const path of paths) {
    if (options.signal?.aborted) throw cancelledError(options.what ?? 'folder scan');
    const info = await stat(path).catch((error: unknown) => error as Error);
    if (info instanceof Error) {
      failed.push({ path, reason: `cannot open: ${errorText(info)}` });
    } else if (info.isDirectory()) {
      for (const file of await walkFolder(path, { ...options, onUnreadable })) add(file, true);
    } else if (!info.isFile()) {
      failed.push({ path, reason: 'not a regular file or folder' });
    } else if (isDicomDirName(path) || (await detectFile(path).catch(() => undefined)) === 'dicomdir') {
      try {
        for (const file of await dicomDirReferences(path)) {
          const referenced = await stat(file).catch(() => undefined);
          if (referenced?.isFile()) add(file, true);
          else failed.push({ path: file, reason: `file listed in DICOMDIR ${path} does not exist` });
        }
      } catch (error) {
        failed.push({ path, reason: errorText(error) });
      }
    } else add(path, false);
  }
  return { inputs, failed };
}

/**
 * The image inputs of restore, classify and evaluation-style commands: every file the user named
 * (an unsupported one is then reported by readModelInput, with the reason every command gives), and
 * of the files found in folders only the images (DICOM with or without preamble, PNG, JPEG, TIFF).
 * Sorted by path.
 */
export async function collectImageInputs(
  paths: readonly string[],
  options: WalkOptions = {},
): Promise<{ files: string[]; failed: InputFailure[] }> {
  const { inputs, failed } = await expandPaths(paths, options);
  const kinds = await detectFiles(inputs.map((i) => i.path));
  const files = inputs
    .filter((input, i) => !input.found || isImageKind(kinds[i] ?? 'unknown'))
    .map((input) => input.path)
    .sort();
  return { files, failed };
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

/** A file system (or other) error in words, without the path (callers name the file). */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file or folder';
    if (code === 'ELOOP') return 'symbolic link loop (the link leads back to itself through other links)';
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
