import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { defaultModel, listModels } from '../inference/model-store.ts';
import { createJobRunner, type JobRunner, type TransportFactory } from '../jobs/runner.ts';
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
  jobs: JobRunner;
  /** The default model, loading it in the job worker on first call (so the provider is known). */
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
  const jobs = createJobRunner(config.workerTransport, config.maxWorkers ?? 1);
  const localDir = localModelsDir(config.dataDir);
  let loading: Promise<{ provider: string } | null> | undefined;
  return {
    config,
    identity: readIdentity(),
    jobs,
    async activeModel() {
      const model = defaultModel((await listModels(config.modelsDir, localDir)).models);
      if (!model) return null;
      loading ??= jobs
        .run('prepareModel', { shippedDir: config.modelsDir, localDir, modelId: model.card.id })
        .catch(() => null);
      const loaded = await loading;
      return { id: model.card.id, version: model.card.version, provider: loaded?.provider ?? null };
    },
    close: () => jobs.close(),
  };
}
