import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JobContext } from '../jobs/types.ts';
import { detectKind, HEADER_BYTES } from '../data/input/index.ts';
import { AppError } from '../util/errors.ts';
import { type Db, openDatabase } from './database.ts';
import { decodeDicom, decodeImage, detectFormat, type InstanceHeader } from './formats.ts';
import { libraryLayout } from './paths.ts';
import {
  type ArchiveReader,
  archiveReader,
  collectSources,
  errorText,
  expandArchive,
  type ImportSource,
  readFileSource,
} from './sources.ts';
import { commitStoreTemp, discardStoreTemp, storeRelativePath, writeStoreTemp } from './store.ts';

export type ImportMode = 'copy' | 'reference';

export interface ImportJobInput {
  dataDir: string;
  paths: string[];
  mode: ImportMode;
}

export interface ImportFailure {
  path: string;
  reason: string;
}

export interface ImportDuplicate {
  path: string;
  /** What matched an instance already in the library. */
  match: 'content' | 'sopInstanceUid';
}

export interface ImportSummary {
  /** Items found (files and archive entries), including failed ones. */
  total: number;
  added: number;
  duplicates: number;
  failed: ImportFailure[];
  duplicateItems: ImportDuplicate[];
  /** True when the import stopped early on request; everything counted above is final. */
  cancelled: boolean;
}

/** What the library keeps per item, whether it came from DICOM or a plain image. */
interface PreparedItem {
  header: InstanceHeader;
  sourceFormat: 'dicom' | 'image';
  /** Bytes to keep in the managed store (the original, or a DICOM made from an image). */
  storedBytes: Uint8Array;
  storedSha256: string;
  extension: string;
  /** May the item be referenced in place, or must the library keep its own copy? */
  referenceable: boolean;
}

type Outcome = { kind: 'added' } | { kind: 'duplicate'; match: ImportDuplicate['match'] };

/**
 * Imports files, folders, DICOMDIRs and zip archives into the library in `dataDir`. Meant to run
 * in a job worker. Each item is committed on its own (store file first, then its rows, in one
 * transaction), so a crash or cancel keeps every item either complete or absent.
 */
export async function importIntoLibrary(input: ImportJobInput, context: JobContext): Promise<ImportSummary> {
  const { signal } = context;
  const summary: ImportSummary = {
    total: 0,
    added: 0,
    duplicates: 0,
    failed: [],
    duplicateItems: [],
    cancelled: false,
  };
  context.progress({ done: 0, total: 0, message: 'looking for files' });
  let queue: ImportSource[];
  try {
    const collected = await collectSources(input.paths, signal);
    queue = collected.sources;
    summary.failed.push(...collected.failed);
  } catch (error) {
    if (signal.aborted) return { ...summary, cancelled: true };
    throw error;
  }
  summary.total = queue.length + summary.failed.length;

  const db = openDatabase(libraryLayout(input.dataDir).database, { migrate: true });
  const writer = createWriter(db, input.dataDir);
  const archives = archiveReader();
  let done = summary.failed.length;
  try {
    for (let index = 0; index < queue.length; index++) {
      if (signal.aborted) {
        summary.cancelled = true;
        break;
      }
      const source = queue[index]!;
      try {
        const bytes = await readSource(source, archives);
        if (bytes === 'zip') {
          // The archive becomes its entries (refused ones are failed items, counted in the total).
          const { entries, refused } = expandArchive(source.path);
          queue.splice(index + 1, 0, ...entries);
          summary.failed.push(...refused);
          summary.total += entries.length + refused.length - 1;
          done += refused.length;
          continue;
        }
        const sha256 = sha256Hex(bytes);
        const outcome = await importItem(writer, source, bytes, sha256, input.mode);
        if (outcome.kind === 'added') summary.added += 1;
        else {
          summary.duplicates += 1;
          summary.duplicateItems.push({ path: source.path, match: outcome.match });
        }
      } catch (error) {
        summary.failed.push({ path: source.path, reason: errorText(error) });
      }
      // Close an archive once its entries are done.
      if (queue[index + 1]?.kind !== 'archiveEntry') archives.close();
      done += 1;
      context.progress({ done, total: summary.total, message: `${done} of ${summary.total} items` });
    }
  } finally {
    archives.close();
    db.close();
  }
  return summary;
}

/** An item's bytes, or 'zip' for an archive on disk (expanded into its entries, never read whole). */
async function readSource(source: ImportSource, archives: ArchiveReader): Promise<Uint8Array | 'zip'> {
  if (source.kind === 'archiveEntry') {
    const bytes = archives.read(source);
    if (detectKind(bytes.subarray(0, HEADER_BYTES)) === 'zip')
      throw new AppError('unsupported', 'zip archive inside a zip archive: unpack it first');
    return bytes;
  }
  const read = await readFileSource(source.path);
  return read.kind === 'zip' ? 'zip' : read.bytes;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function importItem(
  writer: Writer,
  source: ImportSource,
  bytes: Uint8Array,
  sha256: string,
  mode: ImportMode,
): Promise<Outcome> {
  // Cheap checks first: an identical file needs no parsing at all.
  const early = writer.findDuplicate(sha256, undefined);
  if (early) return { kind: 'duplicate', match: early };
  const prepared = await prepare(bytes, sha256, source.kind === 'archiveEntry' ? source.entry : source.path);
  const byUid = writer.findDuplicate(sha256, prepared.header.sopInstanceUid);
  if (byUid) return { kind: 'duplicate', match: byUid };

  const reference = mode === 'reference' && source.kind === 'file' && prepared.referenceable;
  const filePath = reference
    ? resolve(source.path)
    : storeRelativePath(prepared.storedSha256, prepared.extension);
  const tempPath = reference ? undefined : writeStoreTemp(writer.dataDir, prepared.storedBytes);
  let outcome: Outcome | undefined;
  try {
    outcome = writer.commit({
      prepared,
      sourceSha256: sha256,
      size: bytes.length,
      storage: reference ? 'reference' : 'managed',
      filePath,
      sourcePath: source.path,
      tempPath,
    });
    return outcome;
  } finally {
    // Once added, the temp file has been renamed into the store.
    if (tempPath && outcome?.kind !== 'added') discardStoreTemp(tempPath);
  }
}

async function prepare(bytes: Uint8Array, sha256: string, name: string): Promise<PreparedItem> {
  const format = detectFormat(bytes, name);
  if (format === 'dicom') {
    return {
      header: decodeDicom(bytes, sha256),
      sourceFormat: 'dicom',
      storedBytes: bytes,
      storedSha256: sha256,
      extension: 'dcm',
      referenceable: true,
    };
  }
  // The file name (an archive entry's last part) is the new study's description, so it can be found.
  const image = await decodeImage(bytes, format, name.split(/[\\/!]/).pop() ?? name);
  const storedSha256 = image.storedBytes === bytes ? sha256 : sha256Hex(image.storedBytes);
  return { ...image, sourceFormat: 'image', storedSha256 };
}

interface CommitRequest {
  prepared: PreparedItem;
  sourceSha256: string;
  size: number;
  storage: 'managed' | 'reference';
  filePath: string;
  sourcePath: string;
  tempPath: string | undefined;
}

type Writer = ReturnType<typeof createWriter>;

function createWriter(db: Db, dataDir: string) {
  const bySha = db.prepare('SELECT 1 FROM instances WHERE source_sha256 = ?').pluck();
  const byUid = db.prepare('SELECT 1 FROM instances WHERE sop_instance_uid = ?').pluck();
  const upsertPatient = db
    .prepare(
      `INSERT INTO patients (patient_key, patient_id, patient_name, birth_date, sex, created_at)
       VALUES (@key, @patientId, @patientName, @birthDate, @sex, @now)
       ON CONFLICT (patient_key) DO UPDATE SET
         patient_name = COALESCE(patients.patient_name, excluded.patient_name),
         birth_date = COALESCE(patients.birth_date, excluded.birth_date),
         sex = COALESCE(patients.sex, excluded.sex)
       RETURNING id`,
    )
    .pluck();
  const upsertStudy = db
    .prepare(
      `INSERT INTO studies (study_instance_uid, patient_ref, study_date, study_time, description,
         accession_number, created_at)
       VALUES (@uid, @patientRef, @date, @time, @description, @accession, @now)
       ON CONFLICT (study_instance_uid) DO UPDATE SET
         study_date = COALESCE(studies.study_date, excluded.study_date),
         study_time = COALESCE(studies.study_time, excluded.study_time),
         description = COALESCE(studies.description, excluded.description),
         accession_number = COALESCE(studies.accession_number, excluded.accession_number)
       RETURNING id`,
    )
    .pluck();
  const upsertSeries = db
    .prepare(
      `INSERT INTO series (series_instance_uid, study_ref, modality, series_number, description, created_at)
       VALUES (@uid, @studyRef, @modality, @number, @description, @now)
       ON CONFLICT (series_instance_uid) DO UPDATE SET
         modality = COALESCE(series.modality, excluded.modality),
         series_number = COALESCE(series.series_number, excluded.series_number),
         description = COALESCE(series.description, excluded.description)
       RETURNING id`,
    )
    .pluck();
  const insertInstance = db.prepare(
    `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_ref, instance_number, rows, columns,
       bits_allocated, bits_stored, pixel_representation, photometric_interpretation, samples_per_pixel,
       number_of_frames, transfer_syntax_uid, transfer_syntax_name, decodable, undecodable_reason,
       source_format, sha256,
       source_sha256, size, storage, file_path, source_path, imported_at)
     VALUES (@sopInstanceUid, @sopClassUid, @seriesRef, @instanceNumber, @rows, @columns, @bitsAllocated,
       @bitsStored, @pixelRepresentation, @photometricInterpretation, @samplesPerPixel, @numberOfFrames,
       @transferSyntaxUid, @transferSyntaxName, @decodable, @undecodableReason, @sourceFormat, @sha256, @sourceSha256, @size,
       @storage, @filePath, @sourcePath, @now)`,
  );

  function findDuplicate(
    sha256: string,
    sopInstanceUid: string | undefined,
  ): ImportDuplicate['match'] | null {
    if (bySha.get(sha256)) return 'content';
    if (sopInstanceUid !== undefined && byUid.get(sopInstanceUid)) return 'sopInstanceUid';
    return null;
  }

  // IMMEDIATE takes the write lock before the store file is moved into place, so store cleanup
  // (which takes the same lock) never sees a file whose row is about to be committed.
  const commitTransaction = db.transaction((request: CommitRequest): Outcome => {
    const { prepared } = request;
    const h = prepared.header;
    const duplicate = findDuplicate(request.sourceSha256, h.sopInstanceUid);
    if (duplicate) return { kind: 'duplicate', match: duplicate };
    if (request.tempPath) commitStoreTemp(dataDir, request.tempPath, request.filePath);
    const now = new Date().toISOString();
    const patientId = clean(h.patientId);
    const patientName = clean(h.patientName);
    const key = patientId ? `id:${patientId}` : patientName ? `name:${patientName}` : 'unknown';
    const patientRef = upsertPatient.get({
      key,
      patientId,
      patientName,
      birthDate: clean(h.patientBirthDate),
      sex: clean(h.patientSex),
      now,
    }) as number;
    const studyRef = upsertStudy.get({
      uid: h.studyInstanceUid,
      patientRef,
      date: clean(h.studyDate),
      time: clean(h.studyTime),
      description: clean(h.studyDescription),
      accession: clean(h.accessionNumber),
      now,
    }) as number;
    const seriesRef = upsertSeries.get({
      uid: h.seriesInstanceUid,
      studyRef,
      modality: clean(h.modality),
      number: h.seriesNumber ?? null,
      description: clean(h.seriesDescription),
      now,
    }) as number;
    insertInstance.run({
      sopInstanceUid: h.sopInstanceUid,
      sopClassUid: h.sopClassUid,
      seriesRef,
      instanceNumber: h.instanceNumber ?? null,
      rows: h.rows,
      columns: h.columns,
      bitsAllocated: h.bitsAllocated,
      bitsStored: h.bitsStored,
      pixelRepresentation: h.pixelRepresentation,
      photometricInterpretation: h.photometricInterpretation,
      samplesPerPixel: h.samplesPerPixel,
      numberOfFrames: h.numberOfFrames,
      transferSyntaxUid: h.transferSyntaxUid,
      transferSyntaxName: h.transferSyntaxName,
      decodable: h.decodable ? 1 : 0,
      undecodableReason: h.undecodableReason ?? null,
      sourceFormat: prepared.sourceFormat,
      sha256: prepared.storedSha256,
      sourceSha256: request.sourceSha256,
      size: request.storage === 'managed' ? prepared.storedBytes.length : request.size,
      storage: request.storage,
      filePath: request.filePath,
      sourcePath: request.sourcePath,
      now,
    });
    return { kind: 'added' };
  });

  function commit(request: CommitRequest): Outcome {
    try {
      return commitTransaction.immediate(request);
    } catch (error) {
      // The rows were rolled back; a store file already moved into place is now an orphan.
      if (request.tempPath && request.storage === 'managed') {
        rmSync(join(dataDir, ...request.filePath.split('/')), { force: true });
      }
      if (error instanceof AppError) throw error;
      throw new AppError('internal', `cannot record the item in the library: ${errorText(error)}`);
    }
  }

  return { dataDir, findDuplicate, commit };
}

function clean(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const trimmed = value.trim();
  return trimmed.length > 0 ? trimmed : null;
}
