import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from '../library/index.ts';

/**
 * Where the models shipped with the app live: `$R2C_MODELS_DIR`, else `models/shipped` of the
 * installation this code runs from (source checkout or compiled `out/`).
 */
export function shippedModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['R2C_MODELS_DIR'];
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'models', 'shipped');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'shipped');
}

/** Models fine-tuned on this workstation live in the per-user data folder. */
export function localModelsDir(dataDir: string = defaultDataDir()): string {
  return join(dataDir, 'models');
}
