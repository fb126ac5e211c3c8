import Database from 'better-sqlite3';
import { AppError } from '../util/errors.ts';
import { migrate, versionTable } from '../util/sqlite-migrations.ts';

export type Db = Database.Database;

/** Versioned schema, applied by util/sqlite-migrations.ts; the version is kept in a schema_version table. */
const migrations: string[] = [
  `
  CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    patient_key TEXT NOT NULL UNIQUE,
    patient_id TEXT,
    patient_name TEXT,
    birth_date TEXT,
    sex TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    study_instance_uid TEXT NOT NULL UNIQUE,
    patient_ref INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    study_date TEXT,
    study_time TEXT,
    description TEXT,
    accession_number TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX studies_patient ON studies(patient_ref);
  CREATE INDEX studies_date ON studies(study_date);
  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    series_instance_uid TEXT NOT NULL UNIQUE,
    study_ref INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    modality TEXT,
    series_number INTEGER,
    description TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX series_study ON series(study_ref);
  CREATE INDEX series_modality ON series(modality);
  CREATE TABLE instances (
    id INTEGER PRIMARY KEY,
    sop_instance_uid TEXT NOT NULL UNIQUE,
    sop_class_uid TEXT NOT NULL,
    series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    instance_number INTEGER,
    rows INTEGER NOT NULL,
    columns INTEGER NOT NULL,
    bits_allocated INTEGER NOT NULL,
    bits_stored INTEGER NOT NULL,
    pixel_representation INTEGER NOT NULL,
    photometric_interpretation TEXT NOT NULL,
    samples_per_pixel INTEGER NOT NULL,
    number_of_frames INTEGER NOT NULL,
    transfer_syntax_uid TEXT NOT NULL,
    transfer_syntax_name TEXT NOT NULL,
    decodable INTEGER NOT NULL CHECK (decodable IN (0, 1)),
    undecodable_reason TEXT,
    source_format TEXT NOT NULL CHECK (source_format IN ('dicom', 'image')),
    -- sha256 is of the file at file_path; source_sha256 of the bytes the user imported (equal for
    -- DICOM; differs for an image kept as a DICOM made from it). Duplicates match source_sha256.
    sha256 TEXT NOT NULL,
    source_sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    storage TEXT NOT NULL CHECK (storage IN ('managed', 'reference')),
    file_path TEXT NOT NULL,
    source_path TEXT NOT NULL,
    processing_status TEXT NOT NULL DEFAULT 'not_processed'
      CHECK (processing_status IN ('not_processed', 'restored', 'classified')),
    imported_at TEXT NOT NULL
  );
  CREATE INDEX instances_series ON instances(series_ref);
  -- Model outputs per instance (restoration, classification), filled in by later features.
  CREATE TABLE results (
    instance_ref INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    output_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (instance_ref, model_id)
  );
  `,
  // Viewer measurements and annotations, per image frame, in image pixel coordinates (viewer/annotations.ts).
  `
  CREATE TABLE viewer_annotations (
    uid TEXT PRIMARY KEY,
    instance_ref INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    frame INTEGER NOT NULL CHECK (frame >= 0),
    tool TEXT NOT NULL,
    data_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX viewer_annotations_instance ON viewer_annotations(instance_ref, frame);
  `,
];

export const schemaVersion = migrations.length;

/**
 * Opens the library database with the settings every connection needs.
 *
 * synchronous=NORMAL (with WAL): a crash of the app or the OS never corrupts the database or tears a
 * transaction; only a power loss can roll back the last few commits. That is safe here because a
 * store file is always written and fsynced before its row, so a lost commit leaves an orphan store
 * file (cleaned on open) and the user simply re-imports; FULL would fsync the WAL on every per-file
 * commit and cost import throughput for no gain in consistency.
 */
export function openDatabase(path: string, options: { migrate: boolean }): Db {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Import workers and the UI share the file; wait for each other's short write transactions.
    db.pragma('busy_timeout = 10000');
    // SQLite's LIKE folds ASCII only; names and descriptions come in any script.
    db.function('fold', { deterministic: true }, (value: unknown) =>
      typeof value === 'string' ? foldCase(value) : null,
    );
    if (options.migrate) migrate(db, migrations, versionTable);
    const version = versionTable.read(db);
    if (version !== schemaVersion)
      throw new AppError(
        version > schemaVersion ? 'unsupported' : 'internal',
        `library database ${path} has schema version ${version}, this program expects ${schemaVersion}`,
      );
    return db;
  } catch (error) {
    db.close();
    if (error instanceof AppError) throw error;
    throw new AppError(
      'integrity',
      `cannot open library database ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

export function foldCase(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}
