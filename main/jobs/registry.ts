import { renderReviewImage } from '../app/review-images.ts';
import { renderThumbnail } from '../app/thumbnail.ts';
import { hashFiles } from './hash-files.ts';
import { prepareModel, processImages } from '../inference/batch.ts';
import { evaluateInstalledModel } from '../evaluation/evaluate-job.ts';
import { importIntoLibrary } from '../library/importer.ts';
import { fineTuneModel } from '../training/fine-tune.ts';
import { analyseForViewer, loadViewerImage } from '../viewer/jobs.ts';
import type { JobHandler } from './types.ts';

/**
 * Every kind of heavy work that runs off the main thread. The worker imports this table; callers
 * get types from it. Add import, inference and training jobs here.
 */
export const jobHandlers = {
  hashFiles,
  importPaths: importIntoLibrary,
  processImages,
  prepareModel,
  renderThumbnail,
  renderReviewImage,
  loadViewerImage,
  analyseForViewer,
  fineTuneModel,
  evaluateInstalledModel,
} satisfies Record<string, JobHandler<never, unknown>>;

export type JobKind = keyof typeof jobHandlers;
export type JobInput<K extends JobKind> = Parameters<(typeof jobHandlers)[K]>[0];
export type JobOutput<K extends JobKind> = Awaited<ReturnType<(typeof jobHandlers)[K]>>;
