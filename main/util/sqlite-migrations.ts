// The one way a SQLite database's schema is versioned and upgraded (the study library and the
// reader-study database). Each database keeps the version record it has always had, so databases
// already on disk open unchanged: the library a schema_version table, the reader studies
// PRAGMA user_version.
import type Database from 'better-sqlite3';

type Db = Database.Database;

/** Where a database records its schema version. */
export interface SchemaVersioning {
  /** The version recorded (0 for a new, empty database). */
  read(db: Db): number;
  /** Records `version`; runs inside the migration's transaction. */
  write(db: Db, version: number): void;
  /** Creates what `write` needs, before the first migration. */
  prepare?(db: Db): void;
}

/** PRAGMA user_version in the file header. */
export const userVersion: SchemaVersioning = {
  read: (db) => db.pragma('user_version', { simple: true }) as number,
  write: (db, version) => {
    db.pragma(`user_version = ${Math.trunc(version)}`);
  },
};

/** A schema_version table with one row (version, applied_at) per applied migration. */
export const versionTable: SchemaVersioning = {
  read(db) {
    const table = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
      .get();
    if (!table) return 0;
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as {
      version: number | null;
    };
    return row.version ?? 0;
  },
  write(db, version) {
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(
      version,
      new Date().toISOString(),
    );
  },
  prepare(db) {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
  },
};

/**
 * Upgrades `db` from its recorded version to `migrations.length`; migrations[i] upgrades version i
 * to i + 1. Each runs in its own IMMEDIATE transaction together with the version update, checked
 * again inside it: a crash mid-migration leaves the old version intact, and two processes opening a
 * database at once never both apply one. Never edit a released migration; append a new one.
 *
 * Returns the version found. A version above `migrations.length` (a newer program's database) is
 * left untouched: the caller refuses to open it.
 */
export function migrate(db: Db, migrations: readonly string[], versioning: SchemaVersioning): number {
  const from = versioning.read(db);
  if (from >= migrations.length) return from;
  versioning.prepare?.(db);
  const step = db.transaction((target: number) => {
    if (versioning.read(db) >= target) return;
    db.exec(migrations[target - 1]!);
    versioning.write(db, target);
  });
  for (let target = from + 1; target <= migrations.length; target++) step.immediate(target);
  return from;
}
