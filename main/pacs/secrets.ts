// Credentials of PACS connections (passwords, bearer tokens), kept apart from the connection settings
// and never logged. The shell injects a cipher backed by Electron's safeStorage (OS keychain / DPAPI /
// libsecret); under plain Node (CLI, tests) there is no OS key store we can reach without Electron, so
// the secrets file is only protected by its 0600 permissions: anyone who can read the user's files
// (or root) can read it. `r2c pacs` says so when it stores a secret.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../util/errors.ts';

export interface SecretStore {
  /** 'os-keychain' when a cipher (Electron safeStorage) protects the file, 'file-permissions' otherwise. */
  readonly protection: 'os-keychain' | 'file-permissions' | 'memory';
  get(key: string): string | undefined;
  set(key: string, secret: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What Electron's safeStorage offers (encryptString / decryptString), injected by the shell. */
export interface SecretCipher {
  encrypt(plain: string): Buffer;
  decrypt(encrypted: Buffer): string;
}

async function writePrivateFile(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** A JSON file of secrets (mode 0600); with a cipher each value is stored encrypted (base64). */
export function fileSecretStore(path: string, cipher?: SecretCipher): SecretStore {
  // Read on first use, so a damaged file fails the PACS call that needs it, not the app's start.
  let loaded: Record<string, string> | undefined;
  const load = (): Record<string, string> => {
    if (loaded) return loaded;
    if (!existsSync(path)) {
      loaded = {};
      return loaded;
    }
    try {
      loaded = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    } catch {
      throw new AppError(
        'integrity',
        `the PACS secrets file ${path} is damaged; delete it and enter the passwords again`,
      );
    }
    return loaded as Record<string, string>;
  };
  const save = () => writePrivateFile(path, `${JSON.stringify(load())}\n`);
  return {
    protection: cipher ? 'os-keychain' : 'file-permissions',
    get(key) {
      const stored = load()[key];
      if (stored === undefined) return undefined;
      if (!cipher) return stored;
      try {
        return cipher.decrypt(Buffer.from(stored, 'base64'));
      } catch {
        throw new AppError(
          'integrity',
          `the stored secret of PACS connection '${key}' cannot be decrypted; enter it again`,
        );
      }
    },
    async set(key, secret) {
      load()[key] = cipher ? cipher.encrypt(secret).toString('base64') : secret;
      await save();
    },
    async delete(key) {
      const values = load();
      if (!(key in values)) return;
      delete values[key];
      await save();
    },
  };
}

/** Secrets held in memory only (tests, a one-off CLI run with the password from the environment). */
export function memorySecretStore(initial: Record<string, string> = {}): SecretStore {
  const values = { ...initial };
  return {
    protection: 'memory',
    get: (key) => values[key],
    async set(key, secret) {
      values[key] = secret;
    },
    async delete(key) {
      delete values[key];
    },
  };
}
