import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import {
  detectFiles,
  detectKind,
  type InputKind,
  isRasterKind,
  unsupportedReason,
  walkFolder,
} from './input/index.ts';
import { AppError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { readGrayImage } from '../util/image-io.ts';
import { parseCsvRecords } from './csv.ts';

export type Label = 'covid' | 'normal';
export const labels: readonly Label[] = ['normal', 'covid'];
/** Class index as the reference model outputs it: 0 = normal, 1 = COVID-19. */
export function classIndexOf(label: Label): 0 | 1 {
  return label === 'covid' ? 1 : 0;
}

export type ImageFormat = 'raster' | 'dicom';

export interface DatasetItem {
  /** Stable key: the path relative to the dataset root, '/'-separated. Seeds are derived from it. */
  id: string;
  /** Absolute file path. */
  path: string;
  label: Label;
  format: ImageFormat;
  /** Images sharing a patient id never go to different splits. */
  patientId?: string;
  /** Images sharing a split group (e.g. near-duplicates) never go to different splits. */
  splitGroup?: string;
  source?: string;
}

/** Training and evaluation take every image kind the other commands take; the rest is not an image. */
function formatOf(kind: InputKind | undefined): ImageFormat | undefined {
  if (kind === 'dicom') return 'dicom';
  if (kind !== undefined && isRasterKind(kind)) return 'raster';
  return undefined;
}

function parseLabel(value: string): Label | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'covid' || v === 'covid-19' || v === 'covid19') return 'covid';
  if (v === 'normal') return 'normal';
  return undefined;
}

function toId(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

export interface ScanOptions {
  /** List DICOM files too; loading them needs `readDicom` (see loadItemImage). Default false. */
  includeDicom?: boolean;
}

/**
 * Lists the images under `root` whose path has a folder named `covid` or `normal` (case-insensitive,
 * nearest folder wins), e.g. root/covid/a.png or root/train/normal/b.jpg. Folders are walked and
 * files recognised by the input module every command uses (DICOM with or without preamble, PNG, JPEG,
 * TIFF); other files are ignored. Items have no patient ids, so every image is its own split group.
 * Sorted by id.
 */
export async function scanLabelledFolder(root: string, options: ScanOptions = {}): Promise<DatasetItem[]> {
  const base = resolve(root);
  try {
    if (!(await stat(base)).isDirectory()) throw new AppError('bad_input', `${root} is not a folder`);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('not_found', `image folder ${root} does not exist or cannot be read`);
  }
  const labelled: { path: string; label: Label }[] = [];
  for (const path of await walkFolder(base)) {
    const folders = toId(base, dirname(path)).split('/');
    let label: Label | undefined;
    for (let i = folders.length - 1; i >= 0 && !label; i--) label = parseLabel(folders[i]!);
    if (label) labelled.push({ path, label });
  }
  const kinds = await detectFiles(labelled.map((l) => l.path));
  const items: DatasetItem[] = [];
  labelled.forEach(({ path, label }, i) => {
    const format = formatOf(kinds[i]);
    if (!format || (format === 'dicom' && !options.includeDicom)) return;
    items.push({ id: toId(base, path), path, label, format });
  });
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface ManifestOptions {
  /** Folder the manifest's `path` column is relative to. Default: the manifest's folder. */
  root?: string;
  /** Check that every listed file exists (one stat per row). Default true. */
  checkFiles?: boolean;
  includeDicom?: boolean;
}

/**
 * Reads a CSV manifest with at least the columns `path` and `label` (covid/normal; rows labelled `na`
 * or empty, e.g. DICOM samples, are skipped). Optional columns: `patient_id`, `split_group`,
 * `source_repo`. Errors name the row number, never the row's content.
 */
export async function loadManifest(csvPath: string, options: ManifestOptions = {}): Promise<DatasetItem[]> {
  let text: string;
  try {
    text = await readFile(csvPath, 'utf8');
  } catch {
    throw new AppError('not_found', `manifest ${csvPath} does not exist or cannot be read`);
  }
  const { columns, records } = parseCsvRecords(text, `manifest ${csvPath}`);
  for (const required of ['path', 'label']) {
    if (!columns.includes(required)) {
      throw new AppError('bad_input', `manifest ${csvPath} has no "${required}" column`);
    }
  }
  const root = resolve(options.root ?? dirname(csvPath));
  const checkFiles = options.checkFiles ?? true;
  const rows: { row: number; path: string; label: Label; record: Record<string, string> }[] = [];
  records.forEach((record, index) => {
    const row = index + 1;
    const rawLabel = record['label']!.trim().toLowerCase();
    if (rawLabel === '' || rawLabel === 'na') return;
    const label = parseLabel(rawLabel);
    if (!label) {
      throw new AppError(
        'bad_input',
        `manifest ${csvPath}: data row ${row} has an unknown label (use covid, normal or na)`,
      );
    }
    const relPath = record['path']!.trim();
    if (relPath === '')
      throw new AppError('bad_input', `manifest ${csvPath}: data row ${row} has an empty path`);
    rows.push({ row, path: isAbsolute(relPath) ? relPath : resolve(root, relPath), label, record });
  });
  // What each file is, by the input module's detector: from its first bytes when the files are
  // checked (a file that cannot be read is missing), else from its name alone.
  const kinds = checkFiles
    ? await detectFiles(rows.map((r) => r.path))
    : rows.map((r) => detectKind(new Uint8Array(0), r.path));
  const items: DatasetItem[] = [];
  const missing: number[] = [];
  const seen = new Set<string>();
  rows.forEach(({ row, path, label, record }, i) => {
    const kind = kinds[i] ?? detectKind(new Uint8Array(0), path);
    const format = formatOf(kind);
    if (!format) {
      throw new AppError('unsupported', `manifest ${csvPath}: data row ${row} is ${unsupportedReason(kind)}`);
    }
    if (format === 'dicom' && !options.includeDicom) return;
    const id = toId(root, path);
    if (seen.has(id))
      throw new AppError('bad_input', `manifest ${csvPath}: data row ${row} repeats an earlier path`);
    seen.add(id);
    if (kinds[i] === undefined) missing.push(items.length);
    const item: DatasetItem = { id, path, label, format };
    const patientId = record['patient_id']?.trim();
    const splitGroup = record['split_group']?.trim();
    const source = record['source_repo']?.trim();
    if (patientId) item.patientId = patientId;
    if (splitGroup) item.splitGroup = splitGroup;
    if (source) item.source = source;
    items.push(item);
  });
  if (missing.length > 0) {
    throw new AppError(
      'not_found',
      `manifest ${csvPath}: ${missing.length} listed file(s) are missing (first: labelled row ${missing[0]! + 1})`,
    );
  }
  return items;
}

/**
 * Decodes a DICOM file to a gray image in [0,1]. HOOK: main/dicom provides this once it exists; pass
 * it as `readDicom` so this module does not depend on the DICOM service.
 */
export type DicomReader = (path: string) => Promise<GrayImage>;

export interface LoadImageOptions {
  readDicom?: DicomReader;
}

/** Decodes an item to a gray image in [0,1] at its stored size. */
export async function loadItemImage(item: DatasetItem, options: LoadImageOptions = {}): Promise<GrayImage> {
  if (item.format === 'dicom') {
    if (!options.readDicom) {
      throw new AppError(
        'unsupported',
        'a dataset item is DICOM: pass readDicom (from main/dicom) to load DICOM training images',
      );
    }
    return options.readDicom(item.path);
  }
  return readGrayImage(item.path);
}
