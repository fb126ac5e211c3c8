import { homedir } from 'node:os';
import { join } from 'node:path';
import { resolveDataDir } from '../settings/index.ts';

/**
 * The data folder that holds the library (database + managed store), the same for the app and the
 * CLI: the admin policy's dataDir, else `$R2C_DATA_DIR`, else the platform's usual place for
 * application data (settings/settings.ts).
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  return resolveDataDir({ env, platform, home }).value;
}

/** Files and folders inside a library's data folder. */
export function libraryLayout(dataDir: string) {
  return {
    database: join(dataDir, 'library.sqlite'),
    store: join(dataDir, 'store'),
    /** Temp files of the managed store; always on the same volume as the store so rename is atomic. */
    storeTemp: join(dataDir, 'store', 'tmp'),
  };
}
