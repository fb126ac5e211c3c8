import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { createJobRunner, type JobRunner, type TransportFactory } from '../jobs/runner.ts';

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
export interface Services {
  config: AppConfig;
  identity: AppIdentity;
  jobs: JobRunner;
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
  return {
    config,
    identity: readIdentity(),
    jobs,
    close: () => jobs.close(),
  };
}
