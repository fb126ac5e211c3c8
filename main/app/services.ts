import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { createModelCatalog, defaultModel, listModels, type ModelCatalog } from '../inference/index.ts';
import { createJobRunner, type TransportFactory } from '../jobs/runner.ts';
import { type Library, openLibrary, type RetentionSummary } from '../library/index.ts';
import { AppError } from '../util/errors.ts';
import { createModelRegistry, type ModelRegistry } from '../registry/index.ts';
import { createPacsService, type PacsService, type SecretCipher } from '../pacs/index.ts';
import { openReviewStore, type ReviewStore } from '../review/index.ts';
import {
  type ActivityLog,
  loadPolicy,
  openActivityLog,
  openSettings,
  type SettingsStore,
  type Workstation,
} from '../settings/index.ts';
import { createViewerService, type ViewerService } from '../viewer/service.ts';
import { libraryDerivedFiles } from './derived-files.ts';
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
  /** The policy and how dataDir was chosen (the shell and the CLI pass resolveWorkstation()); else the policy is read here. */
  workstation?: Workstation;
  /** Who writes the activity log ('app' by default). */
  logSource?: 'app' | 'cli' | 'test';
  /** Encrypts PACS passwords/tokens: Electron's safeStorage in the shell; absent, a 0600 file (pacs/secrets.ts). */
  pacsCipher?: SecretCipher;
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
  /** Model versions, the active model and its history, thresholds, comparisons, packages (<dataDir>/model-registry.sqlite). */
  registry: ModelRegistry;
  /** Effective settings (policy, environment, the user's own) and changing the user's own. */
  settings: SettingsStore;
  /** The activity log in <dataDir>/logs (no patient data). */
  log: ActivityLog;
  /** PACS connections, search, retrieve into the library, sending results, watch (<dataDir>/pacs). */
  pacs: PacsService;
  /** Retention with the effective period (bad_input when retention is off). */
  applyRetention(options?: { dryRun?: boolean; now?: Date }): RetentionSummary & { days: number };
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
  // Images of a reader study still open (no reader yet, or one still reading) are never deleted.
  const protectedInstances = () => openStudyImages(review);
  const log = openActivityLog({ dataDir: config.dataDir, source: config.logSource ?? 'app' });
  const library = openLibrary({
    dataDir: config.dataDir,
    jobs,
    protectedInstances,
    log,
    derivedFiles: libraryDerivedFiles(config.dataDir),
  });
  const review = openReviewStore({ dataDir: config.dataDir });
  const workstation = config.workstation ?? {
    policy: loadPolicy(),
    dataDir: { value: config.dataDir, source: 'default' as const },
  };
  const localDir = localModelsDir(config.dataDir);
  const viewer = createViewerService({
    dataDir: config.dataDir,
    shippedDir: config.modelsDir,
    localDir,
    library,
    jobs,
  });
  const policy = workstation.policy.policy;
  const registry = createModelRegistry({
    dataDir: config.dataDir,
    shippedDir: config.modelsDir,
    localDir,
    ...(policy.requireSignedPackages !== undefined
      ? { requireSignedPackages: policy.requireSignedPackages }
      : {}),
    ...(policy.trustedPublicKeys ? { trustedPublicKeys: policy.trustedPublicKeys } : {}),
    ...(policy.activeModel ? { pinnedActiveModel: policy.activeModel } : {}),
    ...(policy.fineTuningAllowed !== undefined ? { fineTuningAllowed: policy.fineTuningAllowed } : {}),
  });
  let provider: string | null = null;
  let loading: Promise<void> | undefined;
  let loadedKey: string | null = null;
  return {
    config,
    identity: readIdentity(),
    jobs,
    library,
    review,
    viewer,
    models: createModelCatalog({ shippedDir: config.modelsDir, localDir }),
    registry,
    settings: openSettings({ ...workstation, dataDir: { ...workstation.dataDir, value: library.dataDir } }),
    log,
    pacs: createPacsService({
      dataDir: config.dataDir,
      library,
      ...(config.pacsCipher ? { cipher: config.pacsCipher } : {}),
    }),
    applyRetention(options = {}) {
      const days = this.settings.get().retentionDays.value;
      if (days === null) throw new AppError('bad_input', 'retention is off: no retention period is set');
      return { days, ...library.applyRetention({ days, ...options }) };
    },
    async defaultModelId() {
      return defaultModel((await listModels(config.modelsDir, localDir)).models)?.card.id ?? null;
    },
    async activeModel() {
      const model = defaultModel((await listModels(config.modelsDir, localDir)).models);
      if (!model) return null;
      // The active model changed (activation, rollback in the registry): load the new one.
      const key = `${model.card.id}:${model.card.sha256}`;
      if (key !== loadedKey) {
        loadedKey = key;
        loading = undefined;
        provider = null;
      }
      if (loading === undefined) {
        loading = jobs
          .run('prepareModel', { shippedDir: config.modelsDir, localDir, modelId: model.card.id })
          .then(
            (loaded) => {
              if (loadedKey === key) provider = loaded.provider;
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
      viewer.close();
      registry.close();
      await jobs.close();
    },
  };
}

/** Library instance id → why it is kept: the images of reader studies that are still open. */
export function openStudyImages(review: ReviewStore): Map<number, string> {
  const kept = new Map<number, string>();
  for (const summary of review.listStudies()) {
    if (summary.origin === 'kit') continue; // a kit's images are its own files, not library images
    const study = review.getStudy(summary.id);
    // Open until its owner closes it (review's closed_at); a store without that notion: until every
    // enrolled reader has finished.
    const closed = (study as { closed?: boolean }).closed;
    const open =
      closed !== undefined
        ? !closed
        : study.readerProgress.length === 0 || study.readerProgress.some((r) => !r.finished);
    if (!open) continue;
    for (const image of study.config.images)
      kept.set(Number(image.id), `it is shown by the open reader study '${study.name}'`);
  }
  return kept;
}
