// Department-scale processing without a coordinator: each node polls the same PACS query, keeps the
// studies of its share (a hash of the Study Instance UID, node k of n), and for each one retrieves,
// restores + classifies, imports into its library and sends the derived SC + SR back. The queue on
// disk (queue.ts) makes a restart go on where it stopped; sending is idempotent by SOP Instance UID.
// Late arrivals: each poll asks again from a look-back window behind the cursor (a study stored late
// with an older date), and a done study whose instance count grew is queued again for its new
// instances only (the queue remembers every instance it has seen, by SOP Instance UID).
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
  /** First cursor (YYYYMMDD) when the queue has none; no poll asks before it. */
  since?: string;
  /**
   * Days before the cursor each poll asks again (default 3): a study that reaches the PACS late with
   * an older Study Date is still found. 0: only from the cursor's day.
   */
  lookBackDays?: number;
  pollIntervalMs?: number;
  /** Poll once, work the queue empty, return (tests, cron). */
  once?: boolean;
  maxAttempts?: number;
  signal: AbortSignal;
  log?: (line: string) => void;
  /** Called after each study is done (benchmarks, the app's progress). */
  onStudyDone?: (studyKey: string) => void;
  /** Called after each poll, failed ones too (the app's "last poll"). */
  onPoll?: (poll: WatchPoll) => void;
}

/** One poll's outcome (counts only: no patient data). */
export interface WatchPoll {
  /** When the poll ended (ISO). */
  at: string;
  ok: boolean;
  /** The study date (YYYYMMDD) it asked from; null: from the beginning. */
  from: string | null;
  /** Studies the PACS listed. */
  found: number;
  /** Of them, this node's share. */
  mine: number;
  /** Queued by this poll: new studies plus `requeued`. */
  queued: number;
  /** Done studies queued again because instances arrived after they were processed. */
  requeued: number;
  /** Why it failed (ok false). */
  error?: string;
}

export interface WatchSummary {
  polled: number;
  /** Studies queued, new ones and done ones queued again for instances that arrived later. */
  queued: number;
  /** Of `queued`: done studies queued again because instances arrived after they were processed. */
  requeued: number;
  processed: number;
  sent: number;
  failed: number;
}

/** A short, non-identifying name for a study in logs. */
export const studyKey = (uid: string) => createHash('sha256').update(uid).digest('hex').slice(0, 10);

export const DEFAULT_LOOK_BACK_DAYS = 3;

/** YYYYMMDD `days` before `date` (calendar days, no time zone involved). */
export function daysBefore(date: string, days: number): string {
  const d = new Date(
    Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8))),
  );
  d.setUTCDate(d.getUTCDate() - days);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** Today as YYYYMMDD on this workstation's clock (study dates are local dates). */
function today(now = new Date()): string {
  return `${now.getFullYear()}${String(now.getMonth() + 1).padStart(2, '0')}${String(now.getDate()).padStart(2, '0')}`;
}

/** Where a poll starts: the look-back window behind the cursor, never before `since`. */
export function pollFrom(cursor: string | undefined, since: string | undefined, lookBackDays: number) {
  if (!cursor) return since;
  const from = lookBackDays > 0 ? daysBefore(cursor, lookBackDays) : cursor;
  return since && since > from ? since : from;
}

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
  const summary: WatchSummary = { polled: 0, queued: 0, requeued: 0, processed: 0, sent: 0, failed: 0 };
  const lookBackDays = options.lookBackDays ?? DEFAULT_LOOK_BACK_DAYS;
  if (!Number.isInteger(lookBackDays) || lookBackDays < 0 || lookBackDays > 3650)
    throw new AppError('bad_input', `the look-back is 0 to 3650 days, got ${lookBackDays}`);
  const pageSize = 1000;
  const base = parseStudyQuery({ ...options.query, limit: pageSize });

  const search = async (dateFrom: string | undefined) => {
    const studies: Awaited<ReturnType<PacsClient['searchStudies']>> = [];
    // Page until a short page: a busy window may hold more studies than one answer.
    for (let offset = 0; ; offset += pageSize) {
      const page = await client.searchStudies({ ...base, offset, ...(dateFrom ? { dateFrom } : {}) }, signal);
      studies.push(...page);
      if (page.length < pageSize || offset >= 100 * pageSize) return studies;
    }
  };

  const poll = async () => {
    const cursor = queue.getMeta('cursor');
    const from = pollFrom(cursor, options.since, lookBackDays);
    const studies = await search(from);
    summary.polled++;
    const mine = studies.filter(
      (s) => shareOf(s.studyInstanceUid, options.node.count) === options.node.index,
    );
    const added = queue.enqueue(mine.map((s) => ({ studyUid: s.studyInstanceUid, studyDate: s.studyDate })));
    summary.queued += added;
    // Done studies with more instances on the PACS than we have seen (and sent): queued again.
    let requeued = 0;
    for (const study of mine) {
      if (study.numberOfInstances === null || queue.study(study.studyInstanceUid)?.state !== 'done') continue;
      let known = queue.known(study.studyInstanceUid);
      if (known.size === queue.outbox(study.studyInstanceUid).length) {
        // Processed by an older queue version that did not record the instances it saw: adopt what
        // the PACS holds now, once, so its originals are not processed a second time.
        const listed = await client.listInstances(study.studyInstanceUid, undefined, signal);
        queue.markSeen(
          study.studyInstanceUid,
          listed.map((i) => i.sopInstanceUid),
        );
        known = queue.known(study.studyInstanceUid);
      }
      if (study.numberOfInstances > known.size) {
        queue.requeue(study.studyInstanceUid);
        requeued++;
        log(
          `study ${studyKey(study.studyInstanceUid)}: ${study.numberOfInstances - known.size} instance(s) arrived after it was processed; queued again`,
        );
      }
    }
    summary.queued += requeued;
    summary.requeued += requeued;
    // The cursor moves to the newest study date seen (never past today: a mistyped future date must
    // not hide today's studies); the look-back window and the queue's primary key do the rest.
    const newestSeen = studies
      .map((s) => s.studyDate)
      .filter((d) => /^\d{8}$/.test(d))
      .sort()
      .at(-1);
    const newest = newestSeen && [newestSeen, today()].sort()[0];
    if (newest && (!cursor || newest > cursor)) queue.setMeta('cursor', newest);
    log(
      `poll from ${from ?? 'the beginning'}: ${studies.length} studies, ${mine.length} of this node's share (${options.node.index}/${options.node.count}), ${added} new, ${requeued} with new instances`,
    );
    options.onPoll?.({
      at: new Date().toISOString(),
      ok: true,
      from: from ?? null,
      found: studies.length,
      mine: mine.length,
      queued: added + requeued,
      requeued,
    });
  };

  const processStudy = async (studyUid: string) => {
    const key = studyKey(studyUid);
    const known = queue.known(studyUid);
    let listed: string[] = [];
    const staged = await stageStudy({
      client,
      stagingRoot: options.stagingRoot,
      target: { studyInstanceUid: studyUid },
      signal,
      onListed: (refs) => {
        listed = refs.map((r) => r.sopInstanceUid);
      },
      // Only instances not seen before, and never our own results (SC/SR) of an earlier run.
      only: (ref) =>
        !known.has(ref.sopInstanceUid) && !(ref.sopClassUid && isDerivedResultClass(ref.sopClassUid)),
    });
    const originals = staged.files.filter(
      (f) =>
        !isDerivedResultClass(
          f.ref.sopClassUid || readDicomHeader(new Uint8Array(readFileSync(f.path))).sopClassUid,
        ),
    );
    if (originals.length === 0) {
      // Only derived objects (ours or another system's) arrived: nothing to process.
      await rm(staged.dir, { recursive: true, force: true });
      queue.markSeen(studyUid, listed);
      queue.markDone(studyUid);
      log(`study ${key}: no new original instance to process`);
      return;
    }
    // One results folder per round (by how many instances were known), so a later round for
    // instances that arrived late never touches the recorded results of an earlier one.
    const outDir = join(options.resultsRoot, key, known.size === 0 ? 'first' : `after-${known.size}`);
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
    queue.recordResults(studyUid, results, listed);
    summary.processed++;
    log(
      `study ${key}: processed${known.size > 0 ? ` (${originals.length} instance(s) that arrived later)` : ''}, ${results.length} results to send`,
    );
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
      // Every result is on the PACS now; the local copies hold patient data and are not needed again.
      await rm(join(options.resultsRoot, key), { recursive: true, force: true });
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
      const message = serializeError(error).message;
      log(`poll failed: ${message}`);
      options.onPoll?.({
        at: new Date().toISOString(),
        ok: false,
        from: null,
        found: 0,
        mine: 0,
        queued: 0,
        requeued: 0,
        error: message,
      });
      if (options.once) throw error;
    }
    await work();
    if (options.once || signal.aborted) break;
    await sleep(options.pollIntervalMs ?? 60_000, signal);
  }
  return summary;
}
