import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Db } from './database.ts';
import { libraryLayout } from './paths.ts';

const hashPattern = /^[0-9a-f]{64}$/;

/** Where a managed file lives, relative to the data folder: store/ab/abcdef….ext */
export function storeRelativePath(sha256: string, extension: string): string {
  return ['store', sha256.slice(0, 2), `${sha256}.${extension}`].join('/');
}

/**
 * Writes bytes to a temp file in the store and fsyncs it. Its name carries our pid so cleanup
 * can tell a crashed importer's leftovers from a live one's.
 */
export function writeStoreTemp(dataDir: string, bytes: Uint8Array): string {
  const dir = libraryLayout(dataDir).storeTemp;
  ensureDirectory(dir);
  const path = join(dir, `${process.pid}-${randomBytes(8).toString('hex')}.part`);
  const fd = openSync(path, 'wx');
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Moves a fsynced temp file to its final store path and makes the rename durable. */
export function commitStoreTemp(dataDir: string, tempPath: string, relativePath: string): void {
  const finalPath = join(dataDir, ...relativePath.split('/'));
  const dir = join(finalPath, '..');
  ensureDirectory(dir);
  renameSync(tempPath, finalPath);
  fsyncDirectory(dir);
}

function ensureDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

export function discardStoreTemp(tempPath: string): void {
  rmSync(tempPath, { force: true });
}

function fsyncDirectory(dir: string): void {
  // Windows cannot open a directory for fsync; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what a crashed import left behind: temp files of dead processes, and store files that no
 * instance row points to (written, but the process died before its row was committed). Runs in an
 * IMMEDIATE transaction: importers also move files into the store only while holding the write
 * lock, so a live importer's file is never mistaken for an orphan.
 */
export function cleanStore(db: Db, dataDir: string): { tempFiles: number; orphans: number } {
  const { store, storeTemp } = libraryLayout(dataDir);
  let tempFiles = 0;
  let orphans = 0;
  for (const name of safeReaddir(storeTemp)) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && processIsAlive(pid)) continue;
    rmSync(join(storeTemp, name), { force: true });
    tempFiles += 1;
  }
  db.transaction(() => {
    const known = new Set(
      db.prepare("SELECT file_path FROM instances WHERE storage = 'managed'").pluck().all() as string[],
    );
    for (const prefix of safeReaddir(store)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const dir = join(store, prefix);
      for (const name of safeReaddir(dir)) {
        const path = join(dir, name);
        if (!hashPattern.test(name.split('.')[0] ?? '') || !statSync(path).isFile()) continue;
        const relativePath = relative(dataDir, path).split(sep).join('/');
        if (known.has(relativePath)) continue;
        rmSync(path, { force: true });
        orphans += 1;
      }
    }
  }).immediate();
  return { tempFiles, orphans };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
