import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from './errors.ts';

/**
 * Reads a library item's file; with `sha256`, refuses it if it changed since import (a referenced
 * original may have). `label` names the item in errors (never patient data).
 */
export async function readVerifiedFile(path: string, label: string, sha256?: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read';
    throw new AppError('not_found', `the file of ${label} ${why}`);
  }
  if (sha256 && createHash('sha256').update(bytes).digest('hex') !== sha256)
    throw new AppError('integrity', `the file of ${label} changed since it was imported`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
