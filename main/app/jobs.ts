import { evaluateInstalledModel } from '../evaluation/index.ts';
import { prepareModel, processImages } from '../inference/index.ts';
import { hashFiles } from '../jobs/hash-files.ts';
import { type JobRunner, workerEntry, workerThreadTransport } from '../jobs/runner.ts';
import type {
  JobTable,
  JobInput as TableInput,
  JobOutput as TableOutput,
  WorkerTransport,
} from '../jobs/types.ts';
import { importIntoLibrary } from '../library/index.ts';
import { fineTuneModel } from '../training/fine-tune.ts';
import { analyseForViewer, loadViewerImage } from '../viewer/jobs.ts';
import { loadReviewPixels } from './review-pixels.ts';
import { renderThumbnail } from './thumbnail.ts';

/**
 * Every kind of heavy work that runs off the main thread: the registration of job kinds, at the
 * composition root. The app's worker (worker.ts) serves this table; callers get types from it. Add
 * import, inference and training jobs here.
 */
export const jobHandlers = {
  hashFiles,
  importPaths: importIntoLibrary,
  processImages,
  prepareModel,
  renderThumbnail,
  loadReviewPixels,
  loadViewerImage,
  analyseForViewer,
  fineTuneModel,
  evaluateInstalledModel,
} satisfies JobTable;

export type AppJobs = typeof jobHandlers;
export type JobKind = keyof AppJobs;
export type JobInput<K extends JobKind> = TableInput<AppJobs, K>;
export type JobOutput<K extends JobKind> = TableOutput<AppJobs, K>;
/** The job runner of the app's services: it runs every kind in jobHandlers. */
export type AppJobRunner = JobRunner<AppJobs>;

/** Worker-thread transport to the app's job worker, for plain Node (CLI, tests, the browser-test harness). */
export function threadTransport(): WorkerTransport {
  return workerThreadTransport(workerEntry(import.meta.url, 'worker'));
}
