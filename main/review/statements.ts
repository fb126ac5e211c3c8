import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { z } from 'zod';
import { AppError } from '../util/errors.ts';
import { type StudyConfig, studyConfigSchema } from './schema.ts';
import { answerValueSchema, auditDetailsSchema, type ReaderSummary } from './types.ts';

/**
 * The review database as the store uses it: row types (as the tables in db.ts declare them), the
 * prepared statements, the audit writer, input and stored-JSON parsing, and loading a study or a
 * reader's session. Shared by store.ts (studies and readers), navigation.ts and export.ts.
 */

export interface StudyRow {
  id: string;
  name: string;
  created_at: string;
  config: string;
}
export interface SessionRow {
  id: number;
  study_id: string;
  reader_id: string;
  started_at: string;
  finished_at: string | null;
  position: number;
  last_event_ms: number;
}
export interface CaseRow {
  id: string;
  session_id: number;
  position: number;
  image_id: string;
  comparison: number;
  left_variant: string;
  right_variant: string;
  left_presentation: string;
  right_presentation: string;
  first_shown_at: string | null;
  completed_at: string | null;
  time_ms: number;
}
export interface AnswerRow {
  case_id: string;
  question_id: string;
  target: 'left' | 'right' | 'case';
  value: string;
  answered_at: string;
}
interface AuditRow {
  seq: number;
  at: string;
  reader_id: string | null;
  name: string | null;
  action: string;
  details: string;
}

function prepareStatements(db: Database.Database) {
  return {
    study: db.prepare<[string], StudyRow>('SELECT * FROM studies WHERE id = ?'),
    studies: db.prepare<[], StudyRow>('SELECT * FROM studies ORDER BY created_at, id'),
    readerById: db.prepare<[string], ReaderSummary>('SELECT id, name FROM readers WHERE id = ?'),
    readerByName: db.prepare<[string], ReaderSummary>('SELECT id, name FROM readers WHERE name = ?'),
    studyReaders: db.prepare<[string], ReaderSummary>(
      'SELECT r.id, r.name FROM study_readers sr JOIN readers r ON r.id = sr.reader_id WHERE sr.study_id = ? ORDER BY sr.added_at, r.name',
    ),
    enrolment: db.prepare<[string, string], { reader_id: string }>(
      'SELECT reader_id FROM study_readers WHERE study_id = ? AND reader_id = ?',
    ),
    session: db.prepare<[string, string], SessionRow>(
      'SELECT * FROM sessions WHERE study_id = ? AND reader_id = ?',
    ),
    sessionsOfStudy: db.prepare<[string], SessionRow>(
      'SELECT * FROM sessions WHERE study_id = ? ORDER BY id',
    ),
    cases: db.prepare<[number], CaseRow>(
      'SELECT * FROM session_cases WHERE session_id = ? ORDER BY position',
    ),
    caseAt: db.prepare<[number, number], CaseRow>(
      'SELECT * FROM session_cases WHERE session_id = ? AND position = ?',
    ),
    completedCount: db.prepare<[number], { n: number }>(
      'SELECT count(*) AS n FROM session_cases WHERE session_id = ? AND completed_at IS NOT NULL',
    ),
    frontier: db.prepare<[number], { p: number | null }>(
      'SELECT min(position) AS p FROM session_cases WHERE session_id = ? AND completed_at IS NULL',
    ),
    answersOfCase: db.prepare<[string], AnswerRow>('SELECT * FROM answers WHERE case_id = ?'),
    answersOfSession: db.prepare<[number], AnswerRow>(
      'SELECT a.* FROM answers a JOIN session_cases c ON c.id = a.case_id WHERE c.session_id = ?',
    ),
    answer: db.prepare<[string, string, string], AnswerRow>(
      'SELECT * FROM answers WHERE case_id = ? AND question_id = ? AND target = ?',
    ),
    upsertAnswer: db.prepare(
      `INSERT INTO answers (case_id, question_id, target, value, answered_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (case_id, question_id, target) DO UPDATE SET value = excluded.value, answered_at = excluded.answered_at`,
    ),
    addCaseTime: db.prepare('UPDATE session_cases SET time_ms = time_ms + ? WHERE id = ?'),
    markShown: db.prepare(
      'UPDATE session_cases SET first_shown_at = ? WHERE id = ? AND first_shown_at IS NULL',
    ),
    markCompleted: db.prepare(
      'UPDATE session_cases SET completed_at = ? WHERE id = ? AND completed_at IS NULL',
    ),
    setPosition: db.prepare('UPDATE sessions SET position = ?, last_event_ms = ? WHERE id = ?'),
    touchSession: db.prepare('UPDATE sessions SET last_event_ms = ? WHERE id = ?'),
    finishSession: db.prepare('UPDATE sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL'),
    audit: db.prepare('INSERT INTO audit (at, study_id, reader_id, action, details) VALUES (?, ?, ?, ?, ?)'),
    auditOfStudy: db.prepare<[string], AuditRow>(
      'SELECT a.seq, a.at, a.reader_id, r.name, a.action, a.details FROM audit a LEFT JOIN readers r ON r.id = a.reader_id WHERE a.study_id = ? ORDER BY a.seq',
    ),
    presentation: db.prepare<[string, string], CaseRow & { study_id: string }>(
      `SELECT c.*, s.study_id FROM session_cases c JOIN sessions s ON s.id = c.session_id
       WHERE c.left_presentation = ? OR c.right_presentation = ?`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

/** What the store's parts share: the database, its statements and the clock. */
export interface StoreContext {
  db: Database.Database;
  statements: Statements;
  now: () => number;
  isoNow: () => string;
  /** Appends to the audit trail (inside the caller's transaction, if any). */
  audit: (studyId: string, readerId: string | null, action: string, details: Record<string, unknown>) => void;
}

export function createContext(db: Database.Database, now: () => number): StoreContext {
  const statements = prepareStatements(db);
  const isoNow = () => new Date(now()).toISOString();
  return {
    db,
    statements,
    now,
    isoNow,
    audit: (studyId, readerId, action, details) => {
      statements.audit.run(isoNow(), studyId, readerId, action, JSON.stringify(details));
    },
  };
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.length > 0 ? issue.path.join('.') : '(input)',
      message: issue.message,
    }));
    throw new AppError(
      'bad_input',
      `invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return parsed.data;
}

/** JSON read back from the database, checked against the schema it was written with. */
function parseStored<S extends z.ZodType>(schema: S, json: string, what: string): z.output<S> {
  const parsed = schema.safeParse(JSON.parse(json));
  if (!parsed.success)
    throw new AppError('internal', `the stored ${what} does not match its schema: ${parsed.error.message}`);
  return parsed.data;
}

export const parseConfig = (json: string): StudyConfig =>
  parseStored(studyConfigSchema, json, 'study configuration');
export const parseAnswerValue = (json: string): number | string =>
  parseStored(answerValueSchema, json, 'answer');
export const parseAuditDetails = (json: string): Record<string, unknown> =>
  parseStored(auditDetailsSchema, json, 'audit details');

export const token = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;

/** Cases in every reader's session: image × comparison. */
export const caseCount = (config: StudyConfig): number => config.images.length * config.comparisons.length;

export function loadStudy(ctx: StoreContext, studyId: string): { row: StudyRow; config: StudyConfig } {
  const row = ctx.statements.study.get(studyId);
  if (!row) throw new AppError('not_found', `no reader study with id ${studyId}`);
  return { row, config: parseConfig(row.config) };
}

export function loadSession(
  ctx: StoreContext,
  studyId: string,
  readerId: string,
): { config: StudyConfig; session: SessionRow } {
  const { config } = loadStudy(ctx, studyId);
  const session = ctx.statements.session.get(studyId, readerId);
  if (!session)
    throw new AppError('not_found', `reader ${readerId} has no session in study ${studyId}; start it first`);
  return { config, session };
}

/** 1-based position of the first unfinished case (total + 1 when every case is finished). */
export function frontierOf(ctx: StoreContext, session: SessionRow, total: number): number {
  return ctx.statements.frontier.get(session.id)?.p ?? total + 1;
}
