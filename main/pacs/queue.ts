// The watch loop's on-disk queue (SQLite, WAL): studies of this node's share and the results to send,
// so a restart (or a crash) goes on where it stopped. A study's results are recorded, with their SOP
// Instance UIDs, in the same transaction that marks it processed: after a crash it is either processed
// again from scratch (nothing of it was recorded, so nothing was sent) or its recorded results are sent.
// Every instance a study listed when it was processed is recorded as seen (same transaction), so an
// instance that arrives later is processed alone, once: a done study whose PACS instance count
// exceeds what we have seen and sent is queued again.
import Database from 'better-sqlite3';
import { migrate, versionTable } from '../util/sqlite-migrations.ts';
import { AppError } from '../util/errors.ts';

type Db = Database.Database;

const migrations = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE studies (
     study_uid TEXT PRIMARY KEY,
     study_date TEXT NOT NULL DEFAULT '',
     state TEXT NOT NULL CHECK (state IN ('queued', 'processed', 'done', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     queued_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX studies_state ON studies (state, queued_at);
   CREATE TABLE outbox (
     sop_instance_uid TEXT PRIMARY KEY,
     study_uid TEXT NOT NULL REFERENCES studies (study_uid),
     path TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('sc', 'sr')),
     state TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     sent_at TEXT
   );
   CREATE INDEX outbox_study ON outbox (study_uid, state);`,
  // Instances (originals and anything else) a study listed when it was processed: late arrivals.
  `CREATE TABLE seen_instances (
     sop_instance_uid TEXT PRIMARY KEY,
     study_uid TEXT NOT NULL REFERENCES studies (study_uid)
   );
   CREATE INDEX seen_study ON seen_instances (study_uid);`,
];

export type StudyState = 'queued' | 'processed' | 'done' | 'failed';
export interface QueuedStudy {
  studyUid: string;
  studyDate: string;
  state: StudyState;
  attempts: number;
  error: string | null;
}
export interface OutboxItem {
  sopInstanceUid: string;
  studyUid: string;
  path: string;
  kind: 'sc' | 'sr';
  state: 'pending' | 'sent';
  attempts: number;
  error: string | null;
}

export interface WatchQueue {
  readonly path: string;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Adds studies not seen before; returns how many were new. */
  enqueue(studies: { studyUid: string; studyDate: string }[]): number;
  /** Studies in a state with fewer than maxAttempts failed tries, oldest first. */
  list(state: 'queued' | 'processed', maxAttempts: number): QueuedStudy[];
  study(studyUid: string): QueuedStudy | undefined;
  /**
   * Records a study's results and marks it processed, in one transaction; `seen`: the SOP Instance
   * UIDs the study listed when it was processed (they are never processed again).
   */
  recordResults(
    studyUid: string,
    results: { sopInstanceUid: string; path: string; kind: 'sc' | 'sr' }[],
    seen?: string[],
  ): void;
  /** SOP Instance UIDs seen in a study (listed when processed) and results recorded for it. */
  known(studyUid: string): Set<string>;
  /** Records instances as seen without processing them (nothing new to process, or a queue of an older version). */
  markSeen(studyUid: string, sopInstanceUids: string[]): void;
  /** A done study with instances not seen before goes back to the queue (its attempts start again). */
  requeue(studyUid: string): void;
  outbox(studyUid: string): OutboxItem[];
  markSent(sopInstanceUid: string): void;
  markSendFailed(sopInstanceUid: string, error: string): void;
  markDone(studyUid: string): void;
  markFailed(studyUid: string, error: string, final: boolean): void;
  counts(): Record<StudyState, number> & { pendingResults: number; sentResults: number };
  close(): void;
}

export function openWatchQueue(path: string): WatchQueue {
  let db: Db;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    const version = migrate(db, migrations, versionTable);
    if (version > migrations.length)
      throw new AppError('unsupported', `watch queue ${path} was written by a newer version of R2C`);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('integrity', `cannot open the watch queue ${path}: ${(error as Error).message}`);
  }
  const now = () => new Date().toISOString();
  const row = (r: Record<string, unknown> | undefined): QueuedStudy | undefined =>
    r && {
      studyUid: r.study_uid as string,
      studyDate: r.study_date as string,
      state: r.state as StudyState,
      attempts: r.attempts as number,
      error: (r.error as string | null) ?? null,
    };
  const insertStudy = db.prepare(
    `INSERT OR IGNORE INTO studies (study_uid, study_date, state, queued_at, updated_at) VALUES (?, ?, 'queued', ?, ?)`,
  );
  const insertResult = db.prepare(
    `INSERT INTO outbox (sop_instance_uid, study_uid, path, kind, state) VALUES (?, ?, ?, ?, 'pending')`,
  );
  const insertSeen = db.prepare(
    'INSERT OR IGNORE INTO seen_instances (sop_instance_uid, study_uid) VALUES (?, ?)',
  );
  const markSeen = db.transaction((studyUid: string, sops: string[]) => {
    for (const sop of sops) insertSeen.run(sop, studyUid);
  });
  return {
    path,
    getMeta: (key) =>
      (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value,
    setMeta: (key, value) => {
      db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ).run(key, value);
    },
    enqueue: db.transaction((studies: { studyUid: string; studyDate: string }[]) => {
      let added = 0;
      for (const s of studies) added += insertStudy.run(s.studyUid, s.studyDate, now(), now()).changes;
      return added;
    }),
    list: (state, maxAttempts) =>
      (
        db
          .prepare('SELECT * FROM studies WHERE state = ? AND attempts < ? ORDER BY queued_at, study_uid')
          .all(state, maxAttempts) as Record<string, unknown>[]
      ).map((r) => row(r)!),
    study: (uid) =>
      row(
        db.prepare('SELECT * FROM studies WHERE study_uid = ?').get(uid) as
          | Record<string, unknown>
          | undefined,
      ),
    recordResults: db.transaction(
      (
        studyUid: string,
        results: { sopInstanceUid: string; path: string; kind: 'sc' | 'sr' }[],
        seen: string[] = [],
      ) => {
        for (const r of results) insertResult.run(r.sopInstanceUid, studyUid, r.path, r.kind);
        for (const sop of seen) insertSeen.run(sop, studyUid);
        db.prepare(
          `UPDATE studies SET state = 'processed', attempts = 0, error = NULL, updated_at = ? WHERE study_uid = ?`,
        ).run(now(), studyUid);
      },
    ),
    known: (studyUid) =>
      new Set(
        (
          db
            .prepare(
              'SELECT sop_instance_uid AS sop FROM seen_instances WHERE study_uid = ? UNION SELECT sop_instance_uid FROM outbox WHERE study_uid = ?',
            )
            .all(studyUid, studyUid) as { sop: string }[]
        ).map((r) => r.sop),
      ),
    markSeen: (studyUid, sops) => markSeen(studyUid, sops),
    requeue: (uid) => {
      db.prepare(
        `UPDATE studies SET state = 'queued', attempts = 0, error = NULL, updated_at = ? WHERE study_uid = ? AND state = 'done'`,
      ).run(now(), uid);
    },
    outbox: (studyUid) =>
      (
        db
          .prepare('SELECT * FROM outbox WHERE study_uid = ? ORDER BY kind, sop_instance_uid')
          .all(studyUid) as Record<string, unknown>[]
      ).map((r) => ({
        sopInstanceUid: r.sop_instance_uid as string,
        studyUid: r.study_uid as string,
        path: r.path as string,
        kind: r.kind as 'sc' | 'sr',
        state: r.state as 'pending' | 'sent',
        attempts: r.attempts as number,
        error: (r.error as string | null) ?? null,
      })),
    markSent: (uid) => {
      db.prepare(
        `UPDATE outbox SET state = 'sent', attempts = attempts + 1, error = NULL, sent_at = ? WHERE sop_instance_uid = ?`,
      ).run(now(), uid);
    },
    markSendFailed: (uid, error) => {
      db.prepare('UPDATE outbox SET attempts = attempts + 1, error = ? WHERE sop_instance_uid = ?').run(
        error,
        uid,
      );
    },
    markDone: (uid) => {
      db.prepare(`UPDATE studies SET state = 'done', error = NULL, updated_at = ? WHERE study_uid = ?`).run(
        now(),
        uid,
      );
    },
    markFailed: (uid, error, final) => {
      db.prepare(
        `UPDATE studies SET attempts = attempts + 1, error = ?, state = CASE WHEN ? THEN 'failed' ELSE state END, updated_at = ? WHERE study_uid = ?`,
      ).run(error, final ? 1 : 0, now(), uid);
    },
    counts() {
      const counts = { queued: 0, processed: 0, done: 0, failed: 0, pendingResults: 0, sentResults: 0 };
      for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM studies GROUP BY state').all() as {
        state: StudyState;
        n: number;
      }[])
        counts[r.state] = r.n;
      for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all() as {
        state: string;
        n: number;
      }[])
        if (r.state === 'pending') counts.pendingResults = r.n;
        else counts.sentResults = r.n;
      return counts;
    },
    close: () => db.close(),
  };
}
