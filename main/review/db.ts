import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../util/errors.ts';
import { migrate, userVersion } from '../util/sqlite-migrations.ts';

/** Versioned schema, applied by util/sqlite-migrations.ts; PRAGMA user_version records the version. */
const migrations: string[] = [
  `
  CREATE TABLE studies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    config TEXT NOT NULL
  );
  CREATE TABLE readers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE study_readers (
    study_id TEXT NOT NULL REFERENCES studies(id),
    reader_id TEXT NOT NULL REFERENCES readers(id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (study_id, reader_id)
  );
  CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    study_id TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    position INTEGER NOT NULL,
    last_event_ms INTEGER NOT NULL,
    UNIQUE (study_id, reader_id),
    FOREIGN KEY (study_id, reader_id) REFERENCES study_readers(study_id, reader_id)
  );
  CREATE TABLE session_cases (
    id TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    position INTEGER NOT NULL,
    image_id TEXT NOT NULL,
    comparison INTEGER NOT NULL,
    left_variant TEXT NOT NULL,
    right_variant TEXT NOT NULL,
    left_presentation TEXT NOT NULL UNIQUE,
    right_presentation TEXT NOT NULL UNIQUE,
    first_shown_at TEXT,
    completed_at TEXT,
    time_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (session_id, position)
  );
  CREATE TABLE answers (
    case_id TEXT NOT NULL REFERENCES session_cases(id),
    question_id TEXT NOT NULL,
    target TEXT NOT NULL CHECK (target IN ('left', 'right', 'case')),
    value TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (case_id, question_id, target)
  );
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    study_id TEXT NOT NULL REFERENCES studies(id),
    reader_id TEXT REFERENCES readers(id),
    action TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE INDEX audit_by_study ON audit(study_id, seq);
  CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
  CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
  `,
  // Roles and reading kits: an owner passphrase (scrypt hash) per study, the study's close, kits
  // imported on a reader's workstation, and the answer files an owner has merged.
  `
  ALTER TABLE studies ADD COLUMN closed_at TEXT;
  ALTER TABLE studies ADD COLUMN origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'kit'));
  CREATE TABLE study_owners (
    study_id TEXT PRIMARY KEY REFERENCES studies(id),
    passphrase_hash TEXT NOT NULL,
    kit_secret TEXT NOT NULL,
    signing_private_key TEXT NOT NULL,
    signing_public_key TEXT NOT NULL
  );
  CREATE TABLE kit_studies (
    study_id TEXT PRIMARY KEY REFERENCES studies(id),
    kit_id TEXT NOT NULL,
    image_dir TEXT NOT NULL,
    reader_keys TEXT NOT NULL,
    signing_public_key TEXT,
    imported_at TEXT NOT NULL
  );
  CREATE TABLE merged_answer_files (
    sha256 TEXT PRIMARY KEY,
    study_id TEXT NOT NULL REFERENCES studies(id),
    reader_id TEXT NOT NULL REFERENCES readers(id),
    merged_at TEXT NOT NULL,
    cases INTEGER NOT NULL
  );
  `,
  // Per-reader secrets: an scrypt hash per reader and study (owner.ts). Null: a reader added before
  // secrets existed, or in a study without an owner, reads without one. answer_key_wrapped: the
  // reader's answers key for reading kits, wrapped with their secret when it was set (kit.ts).
  `
  ALTER TABLE study_readers ADD COLUMN secret_hash TEXT;
  ALTER TABLE study_readers ADD COLUMN answer_key_wrapped TEXT;
  `,
];

export const schemaVersion = migrations.length;
export const databaseFileName = 'reader-studies.sqlite';

export function openDatabase(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, databaseFileName));
  try {
    db.pragma('journal_mode = WAL');
    // FULL: a committed answer survives power loss too, not only a killed process. Answers are rare.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const current = migrate(db, migrations, userVersion);
    if (current > migrations.length)
      throw new AppError(
        'unsupported',
        `the reader-study database has schema version ${current}, newer than this app supports (${migrations.length})`,
      );
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
