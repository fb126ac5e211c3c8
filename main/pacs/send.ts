// Sending results back: only derived objects (Secondary Capture, Structured Reports) — an original
// image is refused, never re-sent. Idempotent by SOP Instance UID: an instance the PACS already holds
// is reported 'already-stored' and not sent again. Per-item status; network failures are retried.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { readDicomHeader } from '../dicom/index.ts';
import { AppError, serializeError } from '../util/errors.ts';
import type { PacsClient } from './client.ts';

/** SOP classes we produce: Secondary Capture (all kinds) and Structured Reports. */
export function isDerivedResultClass(sopClassUid: string): boolean {
  return (
    sopClassUid.startsWith('1.2.840.10008.5.1.4.1.1.7') ||
    sopClassUid.startsWith('1.2.840.10008.5.1.4.1.1.88.')
  );
}

export type SendStatus = 'sent' | 'already-stored' | 'refused' | 'failed';
export interface SendItem {
  /** The file's name (not its folder: no patient data in folder names is assumed either way). */
  file: string;
  path: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  status: SendStatus;
  attempts: number;
  error?: { code: string; message: string };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Sends one file; retries a dropped or failing connection (not refused credentials). */
export async function sendFile(
  client: PacsClient,
  path: string,
  options: { retries?: number; retryDelayMs?: number; signal?: AbortSignal } = {},
): Promise<SendItem> {
  const bytes = new Uint8Array(await readFile(path));
  const file = basename(path);
  let header: ReturnType<typeof readDicomHeader>;
  try {
    header = readDicomHeader(bytes);
  } catch (error) {
    return {
      file,
      path,
      sopInstanceUid: '',
      studyInstanceUid: '',
      status: 'refused',
      attempts: 0,
      error: serializeError(error),
    };
  }
  const base = {
    file,
    path,
    sopInstanceUid: header.sopInstanceUid,
    studyInstanceUid: header.studyInstanceUid,
  };
  if (!isDerivedResultClass(header.sopClassUid))
    return {
      ...base,
      status: 'refused',
      attempts: 0,
      error: {
        code: 'bad_input',
        message: `${file} is not a derived result (SOP class ${header.sopClassUid}); originals are never sent`,
      },
    };
  const retries = options.retries ?? 2;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      if (await client.hasInstance(header.studyInstanceUid, header.sopInstanceUid, options.signal))
        return { ...base, status: attempts === 1 ? 'already-stored' : 'sent', attempts };
      if (client.dicomweb) await client.dicomweb.store(bytes, header.studyInstanceUid, options.signal);
      else if (client.dimse) await client.dimse.store(path, options.signal);
      return { ...base, status: 'sent', attempts };
    } catch (error) {
      const retryable =
        error instanceof AppError && (error.code === 'unavailable' || error.code === 'internal');
      if (!retryable || attempts > retries || options.signal?.aborted)
        return { ...base, status: 'failed', attempts, error: serializeError(error) };
      await sleep((options.retryDelayMs ?? 1000) * 2 ** (attempts - 1), options.signal);
    }
  }
}

export async function sendFiles(
  client: PacsClient,
  paths: string[],
  options: {
    retries?: number;
    retryDelayMs?: number;
    signal?: AbortSignal;
    onItem?: (item: SendItem, index: number) => void;
  } = {},
): Promise<SendItem[]> {
  const items: SendItem[] = [];
  for (const [index, path] of paths.entries()) {
    if (options.signal?.aborted) break;
    const item = await sendFile(client, path, options);
    items.push(item);
    options.onItem?.(item, index);
  }
  return items;
}
