import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  openDatabase as openLibraryDatabase,
  schemaVersion as librarySchemaVersion,
} from '../../../main/library/database.ts';
import {
  databaseFileName,
  openDatabase as openReviewDatabase,
  schemaVersion as reviewSchemaVersion,
} from '../../../main/review/db.ts';
import { AppError } from '../../../main/util/errors.ts';
import {
  migrate,
  type SchemaVersioning,
  userVersion,
  versionTable,
} from '../../../main/util/sqlite-migrations.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-migrations-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => join(root, `db-${++n}`);
const tables = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();

const v1 = 'CREATE TABLE a (x INTEGER);';
const v2 = 'CREATE TABLE b (y TEXT); INSERT INTO a (x) VALUES (1);';

for (const [name, versioning] of [
  ['PRAGMA user_version', userVersion],
  ['schema_version table', versionTable],
] as [string, SchemaVersioning][]) {
  describe(`migrate with ${name}`, () => {
    test('applies each migration once, in order, and only the new ones later', () => {
      const db = new Database(':memory:');
      assert.equal(migrate(db, [v1], versioning), 0);
      assert.equal(versioning.read(db), 1);
      assert.equal(migrate(db, [v1], versioning), 1, 'nothing to do the second time');
      assert.equal(migrate(db, [v1, v2], versioning), 1);
      assert.equal(versioning.read(db), 2);
      assert.equal(db.prepare('SELECT COUNT(*) FROM a').pluck().get(), 1);
      db.close();
    });

    test('a failing migration leaves the version before it', () => {
      const db = new Database(':memory:');
      assert.throws(() =>
        migrate(db, [v1, 'CREATE TABLE b (y TEXT); SELECT no_such_function();'], versioning),
      );
      assert.equal(versioning.read(db), 1);
      assert.ok(!tables(db).includes('b'), 'the failed migration is rolled back');
      db.close();
    });

    test('a newer database is left as it is', () => {
      const db = new Database(':memory:');
      migrate(db, [v1, v2], versioning);
      assert.equal(migrate(db, [v1], versioning), 2);
      assert.equal(versioning.read(db), 2);
      db.close();
    });
  });
}

describe('databases already on disk keep opening', () => {
  test('library: the version stays in schema_version (user_version untouched)', () => {
    const dir = newDir();
    const path = `${dir}.sqlite`;
    // As the earlier code left a library: migration 1 recorded in schema_version.
    const old = new Database(path);
    old.exec(
      'CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL); CREATE TABLE patients (id INTEGER PRIMARY KEY);',
    );
    old
      .prepare('INSERT INTO schema_version (version, applied_at) VALUES (1, ?)')
      .run('2026-11-01T00:00:00.000Z');
    old.close();
    // Migration 1 (CREATE TABLE patients …) is not run again: it would fail on the existing table;
    // the later ones are applied.
    const db = openLibraryDatabase(path, { migrate: true });
    assert.equal(versionTable.read(db), librarySchemaVersion);
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    db.close();

    const fresh = openLibraryDatabase(`${newDir()}.sqlite`, { migrate: true });
    assert.equal(fresh.prepare('SELECT COUNT(*) FROM schema_version').pluck().get(), librarySchemaVersion);
    assert.equal(fresh.pragma('user_version', { simple: true }), 0);
    fresh.close();
  });

  test('reader studies: the version stays in PRAGMA user_version (no schema_version table)', () => {
    const dir = newDir();
    const fresh = openReviewDatabase(dir);
    assert.equal(fresh.pragma('user_version', { simple: true }), reviewSchemaVersion);
    assert.ok(!tables(fresh).includes('schema_version'));
    fresh.close();

    // As the earlier code left a study database: user_version 1. Migration 1 (CREATE TABLE studies
    // …) is not run again: it would fail on the existing table.
    const earlierDir = newDir();
    mkdirSync(earlierDir);
    const earlier = new Database(join(earlierDir, databaseFileName));
    // The tables later migrations alter (studies: 2, study_readers: 3), as version 1 left them in part.
    earlier.exec(
      'CREATE TABLE studies (id TEXT PRIMARY KEY); CREATE TABLE study_readers (study_id TEXT, reader_id TEXT);',
    );
    earlier.pragma('user_version = 1');
    earlier.close();
    openReviewDatabase(earlierDir).close();

    const oldDir = newDir();
    const first = openReviewDatabase(oldDir);
    first.prepare("INSERT INTO readers (id, name, created_at) VALUES ('r1', 'Dr Old', '2026-11-01')").run();
    first.close();
    const reopened = openReviewDatabase(oldDir);
    assert.equal(reopened.prepare('SELECT name FROM readers').pluck().get(), 'Dr Old');
    assert.equal(reopened.pragma('user_version', { simple: true }), reviewSchemaVersion);
    reopened.close();
  });

  test('a newer database is refused by both, unchanged', () => {
    const path = `${newDir()}.sqlite`;
    const lib = new Database(path);
    versionTable.prepare?.(lib);
    versionTable.write(lib, 99);
    lib.close();
    assert.throws(
      () => openLibraryDatabase(path, { migrate: true }),
      (e: unknown) => e instanceof AppError && e.code === 'unsupported',
    );

    const dir = newDir();
    openReviewDatabase(dir).close();
    const raw = new Database(join(dir, databaseFileName));
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(
      () => openReviewDatabase(dir),
      (e: unknown) => e instanceof AppError && e.code === 'unsupported' && /version 99/.test(e.message),
    );
  });
});
