// Deleting from the library: a patient, study, series or instance with everything derived from it
// (result rows, the managed store copy, the viewer's results folder). Referenced originals are
// never touched. Rows go first, in one transaction; files after it: a crash in between leaves only
// files no row points to, which sweepOrphans() removes when the library is next opened.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { AppError } from '../util/errors.ts';
import type { Db } from './database.ts';
import { libraryLayout } from './paths.ts';

export type LibraryLevel = 'patient' | 'study' | 'series' | 'instance';
export const libraryLevels: readonly LibraryLevel[] = ['patient', 'study', 'series', 'instance'];

export interface DeleteTarget {
  level: LibraryLevel;
  id: number;
}

export interface DeleteSummary {
  instances: number;
  series: number;
  studies: number;
  patients: number;
  /** Managed copies removed from the store. */
  storeFiles: number;
  /** Analysis folders (restored images, heat maps) and derived files of other services (DerivedFiles) removed. */
  resultFolders: number;
  /** Bytes of the removed store files. */
  bytes: number;
}

/** Instance id → why it must stay (e.g. the open reader study that shows it). */
export type ProtectedInstances = ReadonlyMap<number, string>;

/**
 * Files another service derives from a library image's bytes and keeps in the data folder (the PACS's
 * outgoing SC/SR pairs). The library cannot import that service, so the composition root passes them
 * in; they go when the last library image with those bytes goes, by hand or by retention.
 */
export interface DerivedFiles {
  /** Removes what derives from the image with this SHA-256; returns how many folders or files went. */
  removeFor(sha256: string): number;
  /**
   * Removes what derives from images no longer in the library (a crash between a deletion's commit
   * and its file removal). `inLibrary(prefix)`: some library image's SHA-256 starts with `prefix`.
   */
  sweep(inLibrary: (sha256Prefix: string) => boolean): number;
}

const emptySummary = (): DeleteSummary => ({
  instances: 0,
  series: 0,
  studies: 0,
  patients: 0,
  storeFiles: 0,
  resultFolders: 0,
  bytes: 0,
});

/** The viewer keeps analyses in <dataDir>/results/<instance sha256>/<model id>/. */
export function resultsRoot(dataDir: string): string {
  return join(dataDir, 'results');
}

const tableOf = { patient: 'patients', study: 'studies', series: 'series', instance: 'instances' } as const;

function instanceIdsOf(db: Db, target: DeleteTarget): number[] {
  const query = {
    patient: `SELECT i.id FROM instances i JOIN series se ON i.series_ref = se.id JOIN studies st ON se.study_ref = st.id WHERE st.patient_ref = ?`,
    study: `SELECT i.id FROM instances i JOIN series se ON i.series_ref = se.id WHERE se.study_ref = ?`,
    series: 'SELECT i.id FROM instances i WHERE i.series_ref = ?',
    instance: 'SELECT i.id FROM instances i WHERE i.id = ?',
  }[target.level];
  return db.prepare(query).pluck().all(target.id) as number[];
}

interface InstanceFiles {
  id: number;
  storage: 'managed' | 'reference';
  filePath: string;
  sha256: string;
  size: number;
  seriesRef: number;
}

/**
 * Deletes the targets and what derives from them. Refuses (forbidden) when an instance is protected,
 * naming why; not_found for an unknown target. Returns what was removed.
 */
export function deleteFromLibrary(
  db: Db,
  dataDir: string,
  targets: DeleteTarget[],
  protectedInstances: ProtectedInstances = new Map(),
  derived: readonly DerivedFiles[] = [],
): DeleteSummary {
  for (const target of targets) {
    if (!libraryLevels.includes(target.level))
      throw new AppError(
        'bad_input',
        `cannot delete a '${target.level}': use patient, study, series or instance`,
      );
    if (!Number.isInteger(target.id) || target.id < 1)
      throw new AppError('bad_input', `${target.level} id must be a positive integer`);
  }
  const removed: InstanceFiles[] = [];
  const summary = emptySummary();
  db.transaction(() => {
    const seriesIds = new Set<number>();
    const studyIds = new Set<number>();
    const patientIds = new Set<number>();
    const ids = new Set<number>();
    for (const target of targets) {
      const exists = db.prepare(`SELECT 1 FROM ${tableOf[target.level]} WHERE id = ?`).get(target.id);
      if (!exists) throw new AppError('not_found', `no ${target.level} with id ${target.id} in the library`);
      for (const id of instanceIdsOf(db, target)) ids.add(id);
      if (target.level === 'series') seriesIds.add(target.id);
      if (target.level === 'study') studyIds.add(target.id);
      if (target.level === 'patient') patientIds.add(target.id);
    }
    for (const id of ids) {
      const why = protectedInstances.get(id);
      if (why !== undefined) throw new AppError('forbidden', `instance ${id} cannot be deleted: ${why}`);
    }
    const row = db.prepare(
      `SELECT id, storage, file_path AS filePath, sha256, size, series_ref AS seriesRef FROM instances WHERE id = ?`,
    );
    const deleteInstance = db.prepare('DELETE FROM instances WHERE id = ?');
    for (const id of ids) {
      const files = row.get(id) as InstanceFiles;
      deleteInstance.run(id);
      removed.push(files);
      seriesIds.add(files.seriesRef);
    }
    summary.instances = ids.size;
    // Parents left empty go too; a study or patient asked for goes with all its children.
    for (const id of studyIds)
      for (const s of db.prepare('SELECT id FROM series WHERE study_ref = ?').pluck().all(id) as number[])
        seriesIds.add(s);
    for (const id of patientIds)
      for (const st of db
        .prepare('SELECT id FROM studies WHERE patient_ref = ?')
        .pluck()
        .all(id) as number[]) {
        studyIds.add(st);
        for (const s of db.prepare('SELECT id FROM series WHERE study_ref = ?').pluck().all(st) as number[])
          seriesIds.add(s);
      }
    for (const id of seriesIds) {
      const study = db.prepare('SELECT study_ref FROM series WHERE id = ?').pluck().get(id) as
        | number
        | undefined;
      if (study === undefined) continue;
      const left = db
        .prepare('SELECT COUNT(*) FROM instances WHERE series_ref = ?')
        .pluck()
        .get(id) as number;
      if (left > 0) continue;
      summary.series += db.prepare('DELETE FROM series WHERE id = ?').run(id).changes;
      studyIds.add(study);
    }
    for (const id of studyIds) {
      const patient = db.prepare('SELECT patient_ref FROM studies WHERE id = ?').pluck().get(id) as
        | number
        | undefined;
      if (patient === undefined) continue;
      const left = db.prepare('SELECT COUNT(*) FROM series WHERE study_ref = ?').pluck().get(id) as number;
      if (left > 0) continue;
      summary.studies += db.prepare('DELETE FROM studies WHERE id = ?').run(id).changes;
      patientIds.add(patient);
    }
    for (const id of patientIds) {
      const left = db.prepare('SELECT COUNT(*) FROM studies WHERE patient_ref = ?').pluck().get(id) as number;
      if (left > 0) continue;
      summary.patients += db.prepare('DELETE FROM patients WHERE id = ?').run(id).changes;
    }
  }).immediate();

  // What other rows still use (one scan for the whole batch: file_path and sha256 have no index).
  const still = db
    .prepare(
      `SELECT storage, file_path AS filePath, sha256 FROM instances
       WHERE sha256 IN (SELECT value FROM json_each(?)) OR file_path IN (SELECT value FROM json_each(?))`,
    )
    .all(JSON.stringify(removed.map((f) => f.sha256)), JSON.stringify(removed.map((f) => f.filePath))) as {
    storage: string;
    filePath: string;
    sha256: string;
  }[];
  const stillStored = new Set(still.filter((r) => r.storage === 'managed').map((r) => r.filePath));
  const stillAnalysed = new Set(still.map((r) => r.sha256));
  for (const files of removed) {
    if (files.storage === 'managed' && !stillStored.has(files.filePath)) {
      const path = join(dataDir, ...files.filePath.split('/'));
      if (removeFile(path)) {
        summary.storeFiles += 1;
        summary.bytes += files.size;
      }
    }
    if (!stillAnalysed.has(files.sha256)) {
      const dir = join(resultsRoot(dataDir), files.sha256);
      if (exists(dir)) {
        rmSync(dir, { recursive: true, force: true });
        summary.resultFolders += 1;
      }
      for (const other of derived) summary.resultFolders += other.removeFor(files.sha256);
      stillAnalysed.add(files.sha256); // removed once
    }
  }
  return summary;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeFile(path: string): boolean {
  if (!exists(path)) return false;
  rmSync(path, { force: true });
  return true;
}

/**
 * Removes results folders of instances no longer in the library (a crash after a deletion's
 * commit). Store files without a row are cleanStore()'s. Runs in an IMMEDIATE transaction so an
 * analysis that is writing its row is not mistaken for an orphan.
 */
export function sweepOrphanResults(db: Db, dataDir: string): number {
  const root = resultsRoot(dataDir);
  let swept = 0;
  db.transaction(() => {
    const known = db.prepare('SELECT 1 FROM instances WHERE sha256 = ?');
    for (const name of safeReaddir(root)) {
      if (!/^[0-9a-f]{64}$/.test(name) || known.get(name)) continue;
      rmSync(join(root, name), { recursive: true, force: true });
      swept += 1;
    }
  }).immediate();
  return swept;
}

/** Every file the library's rows point to inside the data folder (for checks that nothing is orphaned). */
export function managedFiles(db: Db, dataDir: string): string[] {
  const store = libraryLayout(dataDir).store;
  return (db.prepare("SELECT file_path FROM instances WHERE storage = 'managed'").pluck().all() as string[])
    .map((p) => join(dataDir, ...p.split('/')))
    .filter((p) => relative(store, p).split(sep)[0] !== '..');
}

/** DerivedFiles.sweep for each of `derived`, against the SHA-256s now in the library. */
export function sweepOrphanDerived(db: Db, derived: readonly DerivedFiles[]): number {
  let known: string[] | undefined;
  const inLibrary = (prefix: string) => {
    known ??= db.prepare('SELECT DISTINCT sha256 FROM instances').pluck().all() as string[];
    return known.some((sha) => sha.startsWith(prefix));
  };
  let swept = 0;
  for (const other of derived) swept += other.sweep(inLibrary);
  return swept;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
