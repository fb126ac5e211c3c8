// The watch queue as the app shows it: counts, the cursor, the last poll and the most recent studies
// with their results, read from the queue's SQLite file (read only), so the state is the same after a
// reload or a restart as while the watch runs. The last poll is kept in the queue's meta table.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AppError } from '../util/errors.ts';
import { openWatchQueue } from './queue.ts';
import type { WatchPoll } from './watch.ts';

/** pending: waiting (or waiting to be tried again); processing: results recorded, being sent. */
export type WatchStudyState = 'pending' | 'processing' | 'sent' | 'failed';

export interface WatchQueueStatus {
  queue: string;
  exists: boolean;
  counts: Record<WatchStudyState, number>;
  results: { pending: number; sent: number };
  /** The date (YYYYMMDD) the next poll asks from. */
  cursor: string | null;
  /** The last poll: its counts (null when recorded by an older version) and a one-line summary. */
  lastPoll: {
    at: string;
    ok: boolean;
    message: string;
    found: number | null;
    queued: number | null;
    requeued: number | null;
  } | null;
  recent: {
    studyInstanceUid: string;
    studyDate: string;
    state: WatchStudyState;
    attempts: number;
    error: string | null;
    updatedAt: string;
    results: { kind: 'sc' | 'sr'; state: 'pending' | 'sent'; error: string | null }[];
  }[];
}

const STATE: Record<string, WatchStudyState> = {
  queued: 'pending',
  processed: 'processing',
  done: 'sent',
  failed: 'failed',
};
const LAST_POLL = 'app.lastPoll';

/** Records a poll's outcome in the queue (the app's watch passes it as the loop's onPoll). */
export function recordWatchPoll(queuePath: string, poll: WatchPoll): void {
  const queue = openWatchQueue(queuePath);
  try {
    queue.setMeta(LAST_POLL, JSON.stringify(poll));
  } finally {
    queue.close();
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The stored last poll as the panel shows it; older versions stored only {at, ok, message}. */
function lastPollOf(text: string | undefined): WatchQueueStatus['lastPoll'] {
  if (!text) return null;
  let poll: Partial<WatchPoll> & { message?: string };
  try {
    poll = JSON.parse(text) as typeof poll;
  } catch {
    return null;
  }
  if (typeof poll.at !== 'string' || typeof poll.ok !== 'boolean') return null;
  const count = (n: unknown) => (typeof n === 'number' ? n : null);
  const found = count(poll.found);
  const queued = count(poll.queued);
  const requeued = count(poll.requeued);
  const message =
    !poll.ok && poll.error
      ? poll.error
      : found !== null && queued !== null
        ? `${plural(found, 'study', 'studies')} found, ${queued} queued` +
          (requeued ? ` (${requeued} again for new images)` : '')
        : (poll.message ?? '');
  return { at: poll.at, ok: poll.ok, message, found, queued, requeued };
}

export function readWatchStatus(queuePath: string, recentLimit = 20): WatchQueueStatus {
  const empty: WatchQueueStatus = {
    queue: queuePath,
    exists: false,
    counts: { pending: 0, processing: 0, sent: 0, failed: 0 },
    results: { pending: 0, sent: 0 },
    cursor: null,
    lastPoll: null,
    recent: [],
  };
  if (!existsSync(queuePath)) return empty;
  let db: Database.Database;
  try {
    db = new Database(queuePath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (error) {
    throw new AppError('integrity', `cannot read the watch queue ${queuePath}: ${(error as Error).message}`);
  }
  try {
    const hasTables = db
      .prepare(
        `SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'studies', 'outbox')`,
      )
      .get() as { n: number };
    if (hasTables.n < 3) return { ...empty, exists: true };
    const status: WatchQueueStatus = {
      ...empty,
      exists: true,
      counts: { ...empty.counts },
      results: { ...empty.results },
    };
    for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM studies GROUP BY state').all() as {
      state: string;
      n: number;
    }[]) {
      const state = STATE[r.state];
      if (state) status.counts[state] += r.n;
    }
    for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all() as {
      state: string;
      n: number;
    }[])
      if (r.state === 'pending' || r.state === 'sent') status.results[r.state] = r.n;
    const meta = (key: string) =>
      (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    status.cursor = meta('cursor') ?? null;
    status.lastPoll = lastPollOf(meta(LAST_POLL));
    const outbox = db.prepare('SELECT kind, state, error FROM outbox WHERE study_uid = ? ORDER BY kind');
    status.recent = (
      db
        .prepare('SELECT * FROM studies ORDER BY updated_at DESC, study_uid LIMIT ?')
        .all(recentLimit) as Record<string, unknown>[]
    ).map((r) => ({
      studyInstanceUid: String(r.study_uid),
      studyDate: String(r.study_date ?? ''),
      state: STATE[String(r.state)] ?? 'pending',
      attempts: Number(r.attempts ?? 0),
      error: (r.error as string | null) ?? null,
      updatedAt: String(r.updated_at ?? ''),
      results: (
        outbox.all(r.study_uid) as { kind: 'sc' | 'sr'; state: 'pending' | 'sent'; error: string | null }[]
      ).map((o) => ({ kind: o.kind, state: o.state, error: o.error ?? null })),
    }));
    return status;
  } finally {
    db.close();
  }
}
