import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { createModelCatalog, type ModelCatalog } from '../inference/model-catalog.ts';
import { defaultModel, listModels } from '../inference/model-store.ts';
import { createJobRunner, type TransportFactory } from '../jobs/runner.ts';
import { type Library, openLibrary } from '../library/index.ts';
import { openReviewStore, type ReviewStore } from '../review/index.ts';
import { createViewerService, type ViewerService } from '../viewer/service.ts';
import type { AppJobRunner, AppJobs } from './jobs.ts';
import { localModelsDir } from './paths.ts';

export interface AppConfig {
  /** Per-user folder for the library database, results and settings. */
  dataDir: string;
  /** Folder with the shipped model files and their model cards. */
  modelsDir: string;
  /** How job workers are started: worker threads under Node, utilityProcess under Electron. */
  workerTransport: TransportFactory;
  maxWorkers?: number;
}

export interface AppIdentity {
  name: string;
  version: string;
  platform: string;
  arch: string;
}

/** The main-process services, free of Electron so they run under plain Node (CLI, tests). */
export interface ActiveModel {
  id: string;
  version: string;
  /** Execution provider the model runs on, once it has been loaded. */
  provider: string | null;
}

export interface Services {
  config: AppConfig;
  identity: AppIdentity;
  jobs: AppJobRunner;
  /** The study library in config.dataDir; imports run on `jobs`. */
  library: Library;
  /** Reader studies (<dataDir>/reader-studies.sqlite). */
  review: ReviewStore;
  /** Viewer images, analyses (restore + classify, stored for reuse), restored images, heat maps. */
  viewer: ViewerService;
  /** Installed models with their cards, and a file check against a card. */
  models: ModelCatalog;
  /** Id of the default model, without loading it (null when none is installed). */
  defaultModelId(): Promise<string | null>;
  /**
   * The default model. The first call starts loading it in the job worker and returns at once;
   * `provider` is null until the model has loaded (the status bar asks again).
   */
  activeModel(): Promise<ActiveModel | null>;
  close(): Promise<void>;
}

export function readIdentity(): AppIdentity {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    productName: string;
    version: string;
  };
  return { name: pkg.productName, version: pkg.version, platform: platform(), arch: arch() };
}

export function createServices(config: AppConfig): Services {
  // Two workers, so a long import or inference does not hold up thumbnails or the model's start-up.
  const jobs = createJobRunner<AppJobs>(config.workerTransport, config.maxWorkers ?? 2);
  const library = openLibrary({ dataDir: config.dataDir, jobs });
  const review = openReviewStore({ dataDir: config.dataDir });
  const localDir = localModelsDir(config.dataDir);
  let provider: string | null = null;
  let loading: Promise<void> | undefined;
  return {
    config,
    identity: readIdentity(),
    jobs,
    library,
    review,
    viewer: createViewerService({
      dataDir: config.dataDir,
      shippedDir: config.modelsDir,
      localDir,
      library,
      jobs,
    }),
    models: createModelCatalog({ shippedDir: config.modelsDir, localDir }),
    async defaultModelId() {
      return defaultModel((await listModels(config.modelsDir, localDir)).models)?.card.id ?? null;
    },
    async activeModel() {
      const model = defaultModel((await listModels(config.modelsDir, localDir)).models);
      if (!model) return null;
      if (loading === undefined) {
        loading = jobs
          .run('prepareModel', { shippedDir: config.modelsDir, localDir, modelId: model.card.id })
          .then(
            (loaded) => {
              provider = loaded.provider;
            },
            () => {
              loading = undefined; // a later call tries again
            },
          );
      }
      return { id: model.card.id, version: model.card.version, provider };
    },
    async close() {
      // The library first: it stops using the job runner before the runner goes away.
      await library.close();
      review.close();
      await jobs.close();
    },
  };
}
