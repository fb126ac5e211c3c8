// The model registry's database: <dataDir>/model-registry.sqlite, versioned by PRAGMA user_version
// (util/sqlite-migrations.ts). Append migrations; never edit a released one.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../util/errors.ts';
import { migrate, userVersion } from '../util/sqlite-migrations.ts';

export type Db = Database.Database;

export const registryMigrations: readonly string[] = [
  `
  CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('shipped', 'local')),
    name TEXT NOT NULL,
    -- the card as installed on disk (never an effective threshold): what a package carries
    card_json TEXT NOT NULL,
    lineage_json TEXT NOT NULL,
    source TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    present INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1)),
    retired_at TEXT,
    UNIQUE (model_id, version, sha256)
  );
  CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY,
    version_ref INTEGER NOT NULL REFERENCES model_versions(id),
    evaluated_at TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('validation', 'calibration', 'other')),
    origin TEXT NOT NULL CHECK (origin IN ('workstation', 'card', 'package')),
    data_label TEXT NOT NULL,
    data_fingerprint TEXT,
    image_count INTEGER NOT NULL,
    metrics_json TEXT NOT NULL,
    scores_json TEXT NOT NULL
  );
  CREATE INDEX evaluations_version ON evaluations(version_ref);
  CREATE TABLE thresholds (
    id INTEGER PRIMARY KEY,
    version_ref INTEGER NOT NULL REFERENCES model_versions(id),
    value REAL NOT NULL CHECK (value >= 0 AND value <= 1),
    method TEXT NOT NULL,
    evaluation_ref INTEGER REFERENCES evaluations(id),
    operating_point_json TEXT NOT NULL,
    chosen_at TEXT NOT NULL,
    chosen_by TEXT NOT NULL,
    reason TEXT NOT NULL
  );
  CREATE INDEX thresholds_version ON thresholds(version_ref);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN
      ('installed', 'activated', 'rolled back', 'retired', 'threshold', 'evaluated', 'imported', 'exported', 'removed')),
    version_ref INTEGER REFERENCES model_versions(id),
    previous_ref INTEGER REFERENCES model_versions(id),
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX events_action ON events(action);
  `,
];

/** Opens (creating) the registry database and brings its schema up to date. */
export function openRegistryDb(path: string): Db {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const found = migrate(db, registryMigrations, userVersion);
    if (found > registryMigrations.length)
      throw new AppError(
        'unsupported',
        `the model registry ${path} was written by a newer version of the app (schema ${found}); update the app`,
      );
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
