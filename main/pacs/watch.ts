// Department-scale processing without a coordinator: each node polls the same PACS query, keeps the
// studies of its share (a hash of the Study Instance UID, node k of n), and for each one retrieves,
// restores + classifies, imports into its library and sends the derived SC + SR back. The queue on
// disk (queue.ts) makes a restart go on where it stopped; sending is idempotent by SOP Instance UID.
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readDicomHeader } from '../dicom/index.ts';
import type { Library } from '../library/index.ts';
import { AppError, serializeError } from '../util/errors.ts';
import { readFileSync } from 'node:fs';
import type { PacsClient } from './client.ts';
import { parseStudyQuery, type StudyQuery } from './query.ts';
import type { WatchQueue } from './queue.ts';
import { importStaged, stageStudy } from './retrieve.ts';
import { isDerivedResultClass, sendFile } from './send.ts';

export interface NodeShare {
  /** 1-based. */
  index: number;
  count: number;
}

/** Which node (1..count) owns a study: the first 4 bytes of SHA-256(Study Instance UID), mod count. */
export function shareOf(studyInstanceUid: string, count: number): number {
  const hash = createHash('sha256').update(studyInstanceUid).digest();
  return (hash.readUInt32BE(0) % count) + 1;
}

export function parseNodeShare(text: string): NodeShare {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || index < 1 || count < 1 || index > count || count > 1024)
    throw new AppError('bad_input', `a node share is k/n with 1 <= k <= n (e.g. 1/2), got '${text}'`);
  return { index, count };
}

/** One processed image: the derived image (SC) and the classification (SR). */
export interface ProcessedImage {
  file: string;
  output?: string;
  report?: string;
  error?: { code: string; message: string };
}
/** Restore + classify files into outDir (the CLI and the app run inference's processImages job). */
export type ProcessImages = (
  files: string[],
  outDir: string,
  signal: AbortSignal,
) => Promise<ProcessedImage[]>;

export interface WatchOptions {
  client: PacsClient;
  library: Library;
  queue: WatchQueue;
  /** <dataDir>/pacs/staging and <dataDir>/pacs/results */
  stagingRoot: string;
  resultsRoot: string;
  process: ProcessImages;
  query: StudyQuery;
  node: NodeShare;
  /** First cursor (YYYYMMDD) when the queue has none. */
  since?: string;
  pollIntervalMs?: number;
  /** Poll once, work the queue empty, return (tests, cron). */
  once?: boolean;
  maxAttempts?: number;
  signal: AbortSignal;
  log?: (line: string) => void;
  /** Called after each study is done (benchmarks, the app's progress). */
  onStudyDone?: (studyKey: string) => void;
}

export interface WatchSummary {
  polled: number;
  queued: number;
  processed: number;
  sent: number;
  failed: number;
}

/** A short, non-identifying name for a study in logs. */
export const studyKey = (uid: string) => createHash('sha256').update(uid).digest('hex').slice(0, 10);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export async function watch(options: WatchOptions): Promise<WatchSummary> {
  const { client, queue, signal } = options;
  const log = options.log ?? (() => {});
  const maxAttempts = options.maxAttempts ?? 3;
  const summary: WatchSummary = { polled: 0, queued: 0, processed: 0, sent: 0, failed: 0 };
  const base = parseStudyQuery({ ...options.query, limit: 1000 });

  const poll = async () => {
    const cursor = queue.getMeta('cursor') ?? options.since;
    const studies = await client.searchStudies({ ...base, ...(cursor ? { dateFrom: cursor } : {}) }, signal);
    summary.polled++;
    const mine = studies.filter(
      (s) => shareOf(s.studyInstanceUid, options.node.count) === options.node.index,
    );
    const added = queue.enqueue(mine.map((s) => ({ studyUid: s.studyInstanceUid, studyDate: s.studyDate })));
    summary.queued += added;
    // The cursor moves to the newest study date seen; the same day is asked again (dates have no time),
    // and the queue's primary key keeps a study from being taken twice.
    const newest = studies
      .map((s) => s.studyDate)
      .filter((d) => /^\d{8}$/.test(d))
      .sort()
      .at(-1);
    if (newest && (!cursor || newest > cursor)) queue.setMeta('cursor', newest);
    log(
      `poll: ${studies.length} studies, ${mine.length} of this node's share (${options.node.index}/${options.node.count}), ${added} new`,
    );
  };

  const processStudy = async (studyUid: string) => {
    const key = studyKey(studyUid);
    const staged = await stageStudy({
      client,
      stagingRoot: options.stagingRoot,
      target: { studyInstanceUid: studyUid },
      signal,
    });
    // Only originals are processed: our own results (SC/SR) of an earlier run may be in the study.
    const originals = staged.files.filter(
      (f) =>
        !isDerivedResultClass(
          f.ref.sopClassUid || readDicomHeader(new Uint8Array(readFileSync(f.path))).sopClassUid,
        ),
    );
    const outDir = join(options.resultsRoot, key);
    // Results of an attempt that crashed before being recorded are never sent: start clean.
    await rm(outDir, { recursive: true, force: true });
    await mkdir(outDir, { recursive: true });
    const processed = await options.process(
      originals.map((f) => f.path),
      outDir,
      signal,
    );
    if (signal.aborted) return;
    const results: { sopInstanceUid: string; path: string; kind: 'sc' | 'sr' }[] = [];
    for (const item of processed) {
      if (item.error) log(`study ${key}: an image was not processed: ${item.error.message}`);
      for (const [path, kind] of [
        [item.output, 'sc'],
        [item.report, 'sr'],
      ] as const) {
        if (!path) continue;
        const header = readDicomHeader(new Uint8Array(readFileSync(path)));
        results.push({ sopInstanceUid: header.sopInstanceUid, path, kind });
      }
    }
    if (results.length === 0)
      throw new AppError('unsupported', `study ${key}: no image of it could be processed`);
    const imported = await importStaged(options.library, staged, signal);
    if (imported.failed.length > 0)
      log(`study ${key}: ${imported.failed.length} instance(s) not imported into the library`);
    queue.recordResults(studyUid, results);
    summary.processed++;
    log(`study ${key}: processed, ${results.length} results to send`);
  };

  const sendStudy = async (studyUid: string) => {
    const key = studyKey(studyUid);
    let failed = 0;
    for (const item of queue.outbox(studyUid)) {
      if (item.state === 'sent') continue;
      if (signal.aborted) return;
      const sent = await sendFile(client, item.path, { signal, retries: 2 });
      if (sent.status === 'sent' || sent.status === 'already-stored') {
        queue.markSent(item.sopInstanceUid);
        if (sent.status === 'sent') summary.sent++;
      } else {
        failed++;
        queue.markSendFailed(item.sopInstanceUid, sent.error?.message ?? sent.status);
      }
    }
    if (failed === 0) {
      queue.markDone(studyUid);
      log(`study ${key}: results sent`);
      options.onStudyDone?.(key);
    } else {
      queue.markFailed(studyUid, `${failed} result(s) could not be sent`, false);
      log(`study ${key}: ${failed} result(s) could not be sent; will retry`);
    }
  };

  // Each study is tried at most once per round (a failing one waits for the next poll).
  const work = async () => {
    const sendTried = new Set<string>();
    const processTried = new Set<string>();
    for (;;) {
      if (signal.aborted) return;
      const toSend = queue.list('processed', maxAttempts * 10).find((s) => !sendTried.has(s.studyUid));
      if (toSend) {
        sendTried.add(toSend.studyUid);
        await sendStudy(toSend.studyUid);
        continue;
      }
      const next = queue.list('queued', maxAttempts).find((s) => !processTried.has(s.studyUid));
      if (!next) return;
      processTried.add(next.studyUid);
      try {
        await processStudy(next.studyUid);
      } catch (error) {
        if (signal.aborted) return;
        const { message } = serializeError(error);
        const final = next.attempts + 1 >= maxAttempts;
        queue.markFailed(next.studyUid, message, final);
        if (final) summary.failed++;
        log(`study ${studyKey(next.studyUid)}: ${final ? 'failed' : 'will retry'}: ${message}`);
      }
    }
  };

  for (;;) {
    if (signal.aborted) break;
    try {
      await poll();
    } catch (error) {
      if (signal.aborted) break;
      log(`poll failed: ${serializeError(error).message}`);
      if (options.once) throw error;
    }
    await work();
    if (options.once || signal.aborted) break;
    await sleep(options.pollIntervalMs ?? 60_000, signal);
  }
  return summary;
}
