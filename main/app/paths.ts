import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveWorkstation } from '../settings/index.ts';

/**
 * Where the models shipped with the app live: `$R2C_MODELS_DIR`, else the installed app's
 * resources/models (the CLI run by the packaged app: `r2c` / `--cli`), else `models/shipped` of
 * the installation this code runs from (source checkout or compiled `out/`).
 */
export function shippedModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['R2C_MODELS_DIR'];
  if (override) return override;
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  if (process.versions['electron'] && resources && existsSync(join(resources, 'models')))
    return join(resources, 'models');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'models', 'shipped');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'shipped');
}

/**
 * THE data folder of the app and the CLI (policy, else $R2C_DATA_DIR, else the platform's per-user
 * folder): Electron's shell passes it to createServices, the CLI commands use it as their default.
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolveWorkstation({ env }).dataDir.value;
}

/** Models fine-tuned on this workstation live in the data folder. */
export function localModelsDir(folder: string = dataDir()): string {
  return join(folder, 'models');
}
