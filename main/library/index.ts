// The study library: imports DICOM (files, folders, DICOMDIR, zip) and PNG/JPEG/TIFF into a per-user data
// folder and indexes Patient / Study / Series / Instance in SQLite. Everything returned is plain JSON.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createJobRunner, type JobRunner, workerEntry, workerThreadTransport } from '../jobs/runner.ts';
import type { JobProgress } from '../jobs/types.ts';
import { type ActivityLog, openActivityLog } from '../settings/index.ts';
import { AppError } from '../util/errors.ts';
import { type Db, openDatabase } from './database.ts';
import {
  type DeleteSummary,
  type DeleteTarget,
  type DerivedFiles,
  deleteFromLibrary,
  type ProtectedInstances,
  sweepOrphanDerived,
  sweepOrphanResults,
} from './delete.ts';
import type { ImportMode, ImportSummary, importIntoLibrary } from './importer.ts';
import { libraryLayout } from './paths.ts';
import * as queries from './queries.ts';
import { applyRetention, type RetentionSummary } from './retention.ts';
import { cleanStore } from './store.ts';

export type {
  ImportDuplicate,
  ImportFailure,
  ImportJobInput,
  ImportMode,
  ImportSummary,
} from './importer.ts';
export type {
  DeleteSummary,
  DeleteTarget,
  DerivedFiles,
  LibraryLevel,
  ProtectedInstances,
} from './delete.ts';
export { libraryLevels } from './delete.ts';
export { importIntoLibrary } from './importer.ts';
export type { RetentionSummary } from './retention.ts';
export { defaultDataDir } from './paths.ts';
export type {
  InstanceDetail,
  InstanceSummary,
  LibraryQuery,
  PatientSummary,
  ProcessingStatus,
  SeriesSummary,
  StoredResult,
  StudySummary,
} from './queries.ts';

/** The job kinds the library runs: a runner given in OpenLibraryOptions.jobs must serve them. */
export type LibraryJobs = { importPaths: typeof importIntoLibrary };

/** A displayable instance's file, for the jobs that render it (thumbnails, viewer and review images). */
export interface ImageSource {
  path: string;
  sha256: string;
  /** Names the image in messages: `instance <id>`. */
  label: string;
}

export interface OpenLibraryOptions {
  /** Folder for library.sqlite and the managed store; created if missing. */
  dataDir: string;
  /**
   * Runs imports off this thread; by default a worker-thread runner owned (and closed) by the library,
   * whose worker (import-worker.ts) serves only the import.
   */
  jobs?: JobRunner<LibraryJobs>;
  /** Instances that must not be deleted (by hand or by retention), with why: e.g. an open reader study's images. */
  protectedInstances?: () => ProtectedInstances;
  /** Where imports, deletions and retention runs are recorded (default: the data folder's activity log). */
  log?: ActivityLog;
  /** Other services' files derived from library images (the PACS's outgoing pairs): deleted with them. */
  derivedFiles?: readonly DerivedFiles[];
}

export interface ImportOptions {
  /** 'copy' (default) keeps a copy in the managed store; 'reference' records the original's path. */
  mode?: ImportMode;
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
}

export interface Library {
  readonly dataDir: string;
  /** Imports files, folders (recursive), DICOMDIRs and zip archives; never modifies the originals. */
  importPaths(paths: string[], options?: ImportOptions): Promise<ImportSummary>;
  listPatients(query?: queries.LibraryQuery): queries.PatientSummary[];
  /** `patientRef` is a PatientSummary.id. */
  listStudies(query?: queries.LibraryQuery & { patientRef?: number }): queries.StudySummary[];
  listSeries(query: {
    studyId: number;
    modality?: string;
    limit?: number;
    offset?: number;
  }): queries.SeriesSummary[];
  listInstances(query: {
    seriesId?: number;
    studyId?: number;
    processingStatus?: queries.ProcessingStatus;
    limit?: number;
    offset?: number;
  }): queries.InstanceSummary[];
  /** Throws AppError('not_found') for an unknown id. */
  getInstance(id: number): queries.InstanceDetail;
  /** getInstance, and AppError('unsupported') for an instance without a displayable image. */
  getDecodableInstance(id: number): queries.InstanceDetail;
  /**
   * What a renderer job needs of a displayable instance: its file, the SHA-256 the file must still have
   * and a label for messages (never patient data); getDecodableInstance's errors otherwise.
   */
  imageSource(id: number): ImageSource;
  setProcessingStatus(id: number, status: queries.ProcessingStatus): void;
  /** Stores a model's output for an instance (replacing an earlier one of the same model). */
  putResult(instanceId: number, modelId: string, output: unknown): void;
  listResults(instanceId: number): queries.StoredResult[];
  /**
   * Deletes patients, studies, series or instances with their results, managed copies and analyses
   * (referenced originals stay); forbidden if a protected instance is among them.
   */
  delete(targets: DeleteTarget[]): DeleteSummary;
  /** Removes instances imported more than `days` ago (protected ones stay); `dryRun` only counts. */
  applyRetention(options: { days: number; now?: Date; dryRun?: boolean }): RetentionSummary;
  close(): Promise<void>;
}

/**
 * Opens (creating or upgrading as needed) the library in `dataDir`, and removes what a crashed
 * import left behind in its store.
 */
export function openLibrary(options: OpenLibraryOptions): Library {
  const dataDir = resolve(options.dataDir);
  mkdirSync(libraryLayout(dataDir).store, { recursive: true });
  const db: Db = openDatabase(libraryLayout(dataDir).database, { migrate: true });
  try {
    cleanStore(db, dataDir);
    sweepOrphanResults(db, dataDir);
    sweepOrphanDerived(db, options.derivedFiles ?? []);
  } catch (error) {
    db.close();
    throw error;
  }
  const log =
    options.log ?? openActivityLog({ dataDir, source: process.versions['electron'] ? 'app' : 'cli' });
  let ownJobs: JobRunner<LibraryJobs> | undefined;
  let closed = false;
  const jobs = () => {
    if (options.jobs) return options.jobs;
    ownJobs ??= createJobRunner<LibraryJobs>(() =>
      workerThreadTransport(workerEntry(import.meta.url, 'import-worker')),
    );
    return ownJobs;
  };
  const open = () => {
    if (closed) throw new AppError('internal', 'the library is closed');
    return db;
  };

  const getDecodableInstance = (id: number) => {
    const instance = queries.getInstance(open(), dataDir, id);
    if (!instance.decodable)
      throw new AppError(
        'unsupported',
        `instance ${id} has no displayable image: ${instance.undecodableReason}`,
      );
    return instance;
  };

  return {
    dataDir,
    async importPaths(paths, importOptions = {}) {
      open();
      const mode = importOptions.mode ?? 'copy';
      if (mode !== 'copy' && mode !== 'reference')
        throw new AppError('bad_input', `import mode must be 'copy' or 'reference'`);
      const input = { dataDir, paths: paths.map((p) => resolve(p)), mode };
      try {
        const summary = await jobs().run('importPaths', input, {
          signal: importOptions.signal,
          onProgress: importOptions.onProgress,
        });
        log.info('import', {
          mode,
          total: summary.total,
          added: summary.added,
          duplicates: summary.duplicates,
          failed: summary.failed.length,
          cancelled: summary.cancelled === true,
        });
        return summary;
      } catch (error) {
        // Cancelled while still queued: nothing was imported.
        if (error instanceof AppError && error.code === 'cancelled') {
          log.info('import', { mode, total: 0, added: 0, cancelled: true });
          return { total: 0, added: 0, duplicates: 0, failed: [], duplicateItems: [], cancelled: true };
        }
        log.error('import', error, { mode });
        throw error;
      }
    },
    listPatients: (query) => queries.listPatients(open(), query),
    listStudies: (query) => queries.listStudies(open(), query),
    listSeries: (query) => queries.listSeries(open(), query),
    listInstances: (query) => queries.listInstances(open(), query),
    getInstance: (id) => queries.getInstance(open(), dataDir, id),
    getDecodableInstance,
    imageSource(id) {
      const instance = getDecodableInstance(id);
      return { path: instance.filePath, sha256: instance.sha256, label: `instance ${id}` };
    },
    setProcessingStatus: (id, status) => queries.setProcessingStatus(open(), id, status),
    putResult: (instanceId, modelId, output) => queries.putResult(open(), instanceId, modelId, output),
    listResults: (instanceId) => queries.listResults(open(), instanceId),
    delete(targets) {
      const what = targets.map((t) => ({ level: String(t.level), id: log.hash(t.id) }));
      try {
        const removed = deleteFromLibrary(
          open(),
          dataDir,
          targets,
          options.protectedInstances?.(),
          options.derivedFiles,
        );
        log.info('library.delete', { targets: what, ...removed });
        return removed;
      } catch (error) {
        log.error('library.delete', error, { targets: what });
        throw error;
      }
    },
    applyRetention(retention) {
      const summary = applyRetention(open(), dataDir, {
        ...retention,
        protectedInstances: options.protectedInstances?.(),
        ...(options.derivedFiles ? { derived: options.derivedFiles } : {}),
      });
      log.info('library.retention', {
        days: retention.days,
        cutoff: summary.cutoff,
        dryRun: summary.dryRun,
        due: summary.due,
        kept: summary.kept,
        ...summary.removed,
      });
      return summary;
    },
    async close() {
      if (closed) return;
      closed = true;
      await ownJobs?.close();
      db.close();
    },
  };
}
