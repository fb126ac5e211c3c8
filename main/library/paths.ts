import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';

const appFolderName = 'R2C Workstation';

/**
 * The per-user data folder that holds the library (database + managed store): `$R2C_DATA_DIR` when
 * set, else the platform's usual place for application data.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const override = env['R2C_DATA_DIR'];
  if (override) return override;
  if (platform === 'win32')
    return win32.join(env['APPDATA'] || win32.join(home, 'AppData', 'Roaming'), appFolderName);
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', appFolderName);
  // Linux and other Unixes: XDG base directory spec.
  return posix.join(env['XDG_DATA_HOME'] || posix.join(home, '.local', 'share'), 'r2c-workstation');
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
