import { randomBytes, randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { z } from 'zod';
import { AppError } from '../util/errors.ts';
import { type AnalysisMeta, analyseRatings, type RatingRow, type StudyStatistics } from './analysis.ts';
import { formatRatingsCsv } from './csv.ts';
import { openDatabase, schemaVersion } from './db.ts';
import { type CaseTemplate, planSession, seededRandom } from './randomise.ts';
import {
  type AnswerInput,
  answerInputSchema,
  defaultQuestions,
  type GoBackInput,
  goBackInputSchema,
  type Navigation,
  type Question,
  type ReaderInput,
  questionSchema,
  readerInputSchema,
  type StudyConfig,
  type StudyInput,
  studyInputSchema,
} from './schema.ts';

// ---------------------------------------------------------------------------------------------
// Public shapes (plain JSON: they cross IPC).

export interface ReviewStoreOptions {
  /** Folder for the study database (created if missing). */
  dataDir: string;
  /** Clock in ms since the epoch; tests inject one to check time per case. */
  now?: () => number;
}

export interface ReaderSummary {
  id: string;
  name: string;
}

export interface ReaderProgress extends ReaderSummary {
  total: number;
  completed: number;
  started: boolean;
  finished: boolean;
}

export interface StudySummary {
  id: string;
  name: string;
  createdAt: string;
  images: number;
  variants: number;
  cases: number;
  readers: number;
}

export interface StudyDetails extends StudySummary {
  config: StudyConfig;
  readerProgress: ReaderProgress[];
}

/** A question as the reader sees it. */
export type QuestionView = Question;

export interface PresentedImage {
  side: 'left' | 'right';
  /** Opaque, unique to this case and side; the main-process image loader resolves it (resolvePresentation). */
  presentationId: string;
  /** Only when the study does not hide method names. */
  label?: string;
  /** The library instance id; only when the study does not hide patient identifiers. */
  imageRef?: string;
}

export interface AnswerView {
  questionId: string;
  /** The image answered about, for questions asked of each image. */
  presentationId?: string;
  /** Score, option or comment; for a forced choice the presentation id of the chosen image. */
  value: number | string;
  answeredAt: string;
}

export interface DisplayRules {
  lockWindowLevel: boolean;
  lockZoom: boolean;
  showAiOutput: boolean;
  showPatientIdentifiers: boolean;
  showMethodNames: boolean;
}

export interface CaseView {
  caseId: string;
  position: number;
  images: PresentedImage[];
  questions: QuestionView[];
  answers: AnswerView[];
  /** Required questions still unanswered, as "questionId" or "questionId@presentationId". */
  missing: string[];
  complete: boolean;
  /** A finished case revisited in a study that forbids edits. */
  readOnly: boolean;
  canGoBack: boolean;
  timeSpentMs: number;
  display: DisplayRules;
}

export interface SessionView {
  studyId: string;
  readerId: string;
  total: number;
  completed: number;
  finished: boolean;
  /** 1-based position of the case shown; null when the session is finished. */
  position: number | null;
  navigation: Navigation;
  case: CaseView | null;
}

export interface StudyResults extends StudyStatistics {
  studyId: string;
  studyName: string;
  generatedAt: string;
  timing: {
    readerId: string;
    reader: string;
    completedCases: number;
    medianMsPerCase: number | null;
    totalMs: number;
  }[];
}

export interface AuditEntry {
  seq: number;
  at: string;
  readerId: string | null;
  reader: string | null;
  action: string;
  details: Record<string, unknown>;
}

export interface StudyExport {
  format: 'r2c-reader-study';
  formatVersion: 1;
  schemaVersion: number;
  exportedAt: string;
  study: { id: string; name: string; createdAt: string; config: StudyConfig };
  readers: ReaderSummary[];
  sessions: {
    readerId: string;
    reader: string;
    startedAt: string;
    finishedAt: string | null;
    cases: {
      position: number;
      caseId: string;
      case: string;
      imageId: string;
      comparison: number;
      left: string;
      right: string;
      firstShownAt: string | null;
      completedAt: string | null;
      timeMs: number;
      answers: {
        questionId: string;
        target: string;
        variant: string | null;
        value: number | string;
        answeredAt: string;
      }[];
    }[];
  }[];
  audit: AuditEntry[];
}

export interface ResolvedPresentation {
  studyId: string;
  imageId: string;
  variant: StudyConfig['variants'][number];
}

// ---------------------------------------------------------------------------------------------
// Rows.

interface StudyRow {
  id: string;
  name: string;
  created_at: string;
  config: string;
}
interface SessionRow {
  id: number;
  study_id: string;
  reader_id: string;
  started_at: string;
  finished_at: string | null;
  position: number;
  last_event_ms: number;
}
interface CaseRow {
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
interface AnswerRow {
  case_id: string;
  question_id: string;
  target: 'left' | 'right' | 'case';
  value: string;
  answered_at: string;
}

function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
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

const token = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;

function resolveConfig(input: StudyInput): StudyConfig {
  const parsed = parseInput(studyInputSchema, input, 'study');
  const problems: string[] = [];
  const variantIds = parsed.variants.map((v) => v.id);
  if (new Set(variantIds).size !== variantIds.length) problems.push('variant ids must be unique');
  const imageIds = parsed.images.map((i) => i.id);
  if (new Set(imageIds).size !== imageIds.length) problems.push('image ids must be unique');
  const questions = parsed.questions ?? defaultQuestions.map((q) => questionSchema.parse(q));
  if (new Set(questions.map((q) => q.id)).size !== questions.length)
    problems.push('question ids must be unique');
  let comparisons = parsed.comparisons;
  if (!comparisons) {
    const originals = parsed.variants.filter((v) => v.kind === 'original');
    const [onlyOriginal] = originals;
    comparisons =
      originals.length === 1 && onlyOriginal
        ? parsed.variants
            .filter((v) => v !== onlyOriginal)
            .map((v) => [v.id, onlyOriginal.id] as [string, string])
        : variantIds.flatMap((a, i) => variantIds.slice(i + 1).map((b) => [a, b] as [string, string]));
  }
  const pairKeys = new Set<string>();
  for (const [a, b] of comparisons) {
    if (!variantIds.includes(a) || !variantIds.includes(b))
      problems.push(`comparison ${a} vs ${b} names an unknown variant`);
    if (a === b) problems.push(`comparison ${a} vs ${b} compares a variant with itself`);
    const key = [a, b].sort().join('\u0000');
    if (pairKeys.has(key)) problems.push(`comparison ${a} vs ${b} is listed twice`);
    pairKeys.add(key);
  }
  if (problems.length > 0) throw new AppError('bad_input', `invalid study: ${problems.join('; ')}`);
  return {
    name: parsed.name,
    ...(parsed.description !== undefined ? { description: parsed.description } : {}),
    images: parsed.images,
    variants: parsed.variants,
    comparisons,
    questions,
    blinding: parsed.blinding,
    navigation: parsed.navigation,
    seed: parsed.seed ?? randomInt(0, 0xffffffff),
  };
}

/** The case name used in exports: the image id, plus the comparison number when there are several. */
function caseLabel(config: StudyConfig, imageId: string, comparison: number): string {
  return config.comparisons.length > 1 ? `${imageId}#${comparison + 1}` : imageId;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------

export type ReviewStore = ReturnType<typeof openReviewStore>;

/**
 * The reader-study service. Every call is synchronous and each state change is one SQLite
 * transaction, so a crash or kill loses nothing that a call has returned. Blinding is enforced
 * here: session views carry only opaque ids unless the study's blinding options say otherwise.
 */
export function openReviewStore(options: ReviewStoreOptions) {
  const db: Database.Database = openDatabase(options.dataDir);
  const now = options.now ?? Date.now;
  const isoNow = () => new Date(now()).toISOString();

  const statements = {
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
    auditOfStudy: db.prepare<
      [string],
      {
        seq: number;
        at: string;
        reader_id: string | null;
        name: string | null;
        action: string;
        details: string;
      }
    >(
      'SELECT a.seq, a.at, a.reader_id, r.name, a.action, a.details FROM audit a LEFT JOIN readers r ON r.id = a.reader_id WHERE a.study_id = ? ORDER BY a.seq',
    ),
    presentation: db.prepare<[string, string], CaseRow & { study_id: string }>(
      `SELECT c.*, s.study_id FROM session_cases c JOIN sessions s ON s.id = c.session_id
       WHERE c.left_presentation = ? OR c.right_presentation = ?`,
    ),
  };

  const audit = (
    studyId: string,
    readerId: string | null,
    action: string,
    details: Record<string, unknown>,
  ) => statements.audit.run(isoNow(), studyId, readerId, action, JSON.stringify(details));

  function loadStudy(studyId: string): { row: StudyRow; config: StudyConfig } {
    const row = statements.study.get(studyId);
    if (!row) throw new AppError('not_found', `no reader study with id ${studyId}`);
    return { row, config: JSON.parse(row.config) as StudyConfig };
  }

  function loadSession(studyId: string, readerId: string): { config: StudyConfig; session: SessionRow } {
    const { config } = loadStudy(studyId);
    const session = statements.session.get(studyId, readerId);
    if (!session)
      throw new AppError(
        'not_found',
        `reader ${readerId} has no session in study ${studyId}; start it first`,
      );
    return { config, session };
  }

  function summary(row: StudyRow, config: StudyConfig): StudySummary {
    return {
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      images: config.images.length,
      variants: config.variants.length,
      cases: config.images.length * config.comparisons.length,
      readers: statements.studyReaders.all(row.id).length,
    };
  }

  function frontierOf(session: SessionRow, total: number): number {
    return statements.frontier.get(session.id)?.p ?? total + 1;
  }

  function missingAnswers(config: StudyConfig, row: CaseRow, answers: AnswerRow[]): string[] {
    const has = (q: string, target: string) =>
      answers.some((a) => a.question_id === q && a.target === target);
    const missing: string[] = [];
    for (const q of config.questions) {
      if (!q.required) continue;
      if (q.scope === 'each') {
        if (!has(q.id, 'left')) missing.push(`${q.id}@${row.left_presentation}`);
        if (!has(q.id, 'right')) missing.push(`${q.id}@${row.right_presentation}`);
      } else if (!has(q.id, 'case')) missing.push(q.id);
    }
    return missing;
  }

  function answerView(config: StudyConfig, row: CaseRow, answer: AnswerRow): AnswerView {
    const question = config.questions.find((q) => q.id === answer.question_id);
    const stored = JSON.parse(answer.value) as number | string;
    const presentationOf = (side: string) =>
      side === 'left' ? row.left_presentation : row.right_presentation;
    let value = stored;
    // Forced choices are stored as the chosen variant; the reader sees the presentation id.
    if (question?.kind === 'forced-choice')
      value = stored === row.left_variant ? row.left_presentation : row.right_presentation;
    return {
      questionId: answer.question_id,
      ...(answer.target !== 'case' ? { presentationId: presentationOf(answer.target) } : {}),
      value,
      answeredAt: answer.answered_at,
    };
  }

  function canGoBackFrom(navigation: Navigation, position: number, frontier: number): boolean {
    if (navigation.goBack === 'none') return false;
    if (navigation.goBack === 'previous') return position === frontier && frontier > 1;
    return position > 1;
  }

  function sessionView(studyId: string, readerId: string): SessionView {
    const { config, session } = loadSession(studyId, readerId);
    const total = config.images.length * config.comparisons.length;
    const completed = statements.completedCount.get(session.id)!.n;
    const frontier = frontierOf(session, total);
    const base = { studyId, readerId, total, completed, navigation: config.navigation };
    const row = statements.caseAt.get(session.id, session.position);
    if (!row) return { ...base, finished: true, position: null, case: null };
    const answers = statements.answersOfCase.all(row.id);
    const { blinding } = config;
    const image = (side: 'left' | 'right'): PresentedImage => {
      const variantId = side === 'left' ? row.left_variant : row.right_variant;
      const variant = config.variants.find((v) => v.id === variantId)!;
      return {
        side,
        presentationId: side === 'left' ? row.left_presentation : row.right_presentation,
        ...(blinding.hideMethodNames ? {} : { label: variant.label }),
        ...(blinding.hidePatientIdentifiers ? {} : { imageRef: row.image_id }),
      };
    };
    const missing = missingAnswers(config, row, answers);
    return {
      ...base,
      finished: session.finished_at !== null,
      position: row.position,
      case: {
        caseId: row.id,
        position: row.position,
        images: [image('left'), image('right')],
        questions: config.questions,
        answers: answers.map((a) => answerView(config, row, a)),
        missing,
        complete: missing.length === 0,
        readOnly: row.completed_at !== null && !config.navigation.allowEdits,
        canGoBack: canGoBackFrom(config.navigation, row.position, frontier),
        timeSpentMs: row.time_ms,
        display: {
          lockWindowLevel: blinding.lockWindowLevel,
          lockZoom: blinding.lockZoom,
          showAiOutput: !blinding.hideAiOutput,
          showPatientIdentifiers: !blinding.hidePatientIdentifiers,
          showMethodNames: !blinding.hideMethodNames,
        },
      },
    };
  }

  /** Adds the time since the last event to the case on screen (inside the caller's transaction). */
  function accountTime(session: SessionRow): void {
    const t = now();
    const current = statements.caseAt.get(session.id, session.position);
    if (current) statements.addCaseTime.run(Math.max(0, t - session.last_event_ms), current.id);
    statements.touchSession.run(t, session.id);
  }

  function showCase(session: SessionRow, position: number): void {
    const row = statements.caseAt.get(session.id, position);
    if (row) statements.markShown.run(isoNow(), row.id);
  }

  function ratingRows(studyId: string, config: StudyConfig): RatingRow[] {
    const rows: RatingRow[] = [];
    const truthOf = new Map(config.images.map((i) => [i.id, i.truth ?? '']));
    const readerNames = new Map(statements.studyReaders.all(studyId).map((r) => [r.id, r.name]));
    for (const session of statements.sessionsOfStudy.all(studyId)) {
      const reader = readerNames.get(session.reader_id) ?? session.reader_id;
      const cases = new Map(statements.cases.all(session.id).map((c) => [c.id, c]));
      const answers = new Map<string, AnswerRow[]>();
      for (const a of statements.answersOfSession.all(session.id)) {
        const key = `${a.case_id}\u0000${a.question_id}`;
        answers.set(key, [...(answers.get(key) ?? []), a]);
      }
      for (const question of config.questions) {
        if (question.kind === 'comment') continue;
        for (const c of cases.values()) {
          const label = caseLabel(config, c.image_id, c.comparison);
          const truth = truthOf.get(c.image_id) ?? '';
          const mine = (answers.get(`${c.id}\u0000${question.id}`) ?? []).sort((x, y) =>
            x.target < y.target ? -1 : 1,
          );
          for (const a of mine) {
            const value = JSON.parse(a.value) as number | string;
            const base = { reader, case: label, truth, question: question.id };
            if (question.kind === 'forced-choice') {
              for (const variant of [c.left_variant, c.right_variant])
                rows.push({ ...base, variant, rating: variant === value ? '1' : '0' });
            } else {
              const variant =
                a.target === 'left' ? c.left_variant : a.target === 'right' ? c.right_variant : '';
              rows.push({ ...base, variant, rating: String(value) });
            }
          }
        }
      }
    }
    return rows;
  }

  function analysisMeta(config: StudyConfig): AnalysisMeta {
    return {
      questions: config.questions.flatMap((q) =>
        q.kind === 'comment'
          ? []
          : [
              {
                id: q.id,
                kind: q.kind,
                prompt: q.prompt,
                ...(q.kind === 'choice' ? { options: q.options } : {}),
                ...(q.kind === 'score' ? { min: q.min, max: q.max } : {}),
              },
            ],
      ),
      variants: config.variants.map((v) => ({ id: v.id, label: v.label, kind: v.kind })),
    };
  }

  function enrol(studyId: string, input: ReaderInput): ReaderSummary {
    const parsed = parseInput(readerInputSchema, input, 'reader');
    let reader = statements.readerByName.get(parsed.name);
    if (reader && parsed.id !== undefined && parsed.id !== reader.id)
      throw new AppError('bad_input', `a reader with this name already exists with id ${reader.id}`);
    if (!reader) {
      const id = parsed.id ?? token('rd-');
      if (statements.readerById.get(id)) throw new AppError('bad_input', `reader id ${id} is already taken`);
      db.prepare('INSERT INTO readers (id, name, created_at) VALUES (?, ?, ?)').run(
        id,
        parsed.name,
        isoNow(),
      );
      reader = { id, name: parsed.name };
    }
    const added = db
      .prepare('INSERT OR IGNORE INTO study_readers (study_id, reader_id, added_at) VALUES (?, ?, ?)')
      .run(studyId, reader.id, isoNow());
    if (added.changes > 0) audit(studyId, reader.id, 'reader_added', { name: reader.name });
    return { id: reader.id, name: reader.name };
  }

  function getStudy(studyId: string): StudyDetails {
    const { row, config } = loadStudy(studyId);
    const total = config.images.length * config.comparisons.length;
    const readerProgress = statements.studyReaders.all(studyId).map((reader) => {
      const session = statements.session.get(studyId, reader.id);
      const completed = session ? statements.completedCount.get(session.id)!.n : 0;
      return {
        ...reader,
        total,
        completed,
        started: session !== undefined,
        finished: session?.finished_at != null,
      };
    });
    return { ...summary(row, config), config, readerProgress };
  }

  /** Who did what and when, oldest first (the table rejects updates and deletes). */
  function auditTrail(studyId: string): AuditEntry[] {
    loadStudy(studyId);
    return statements.auditOfStudy.all(studyId).map((a) => ({
      seq: a.seq,
      at: a.at,
      readerId: a.reader_id,
      reader: a.name,
      action: a.action,
      details: JSON.parse(a.details) as Record<string, unknown>,
    }));
  }

  return {
    createStudy(input: StudyInput): StudyDetails {
      const config = resolveConfig(input);
      const id = token('st-');
      db.transaction(() => {
        db.prepare('INSERT INTO studies (id, name, created_at, config) VALUES (?, ?, ?, ?)').run(
          id,
          config.name,
          isoNow(),
          JSON.stringify(config),
        );
        audit(id, null, 'study_created', { config });
        for (const name of input.readers ?? []) enrol(id, { name });
      })();
      return getStudy(id);
    },

    listStudies(): StudySummary[] {
      return statements.studies.all().map((row) => summary(row, JSON.parse(row.config) as StudyConfig));
    },

    getStudy,

    addReader(studyId: string, reader: ReaderInput): ReaderSummary {
      loadStudy(studyId);
      return db.transaction(() => enrol(studyId, reader))();
    },

    /** Creates the reader's randomised session on first call; afterwards returns where they left off. */
    startOrResumeSession(studyId: string, readerId: string): SessionView {
      const { config } = loadStudy(studyId);
      if (!statements.enrolment.get(studyId, readerId))
        throw new AppError('not_found', `reader ${readerId} is not enrolled in study ${studyId}`);
      db.transaction(() => {
        const existing = statements.session.get(studyId, readerId);
        if (existing) {
          // Time away (app closed, crash) is not reading time.
          statements.touchSession.run(now(), existing.id);
          audit(studyId, readerId, 'session_resumed', { position: existing.position });
          return;
        }
        const templates: CaseTemplate[] = config.images.flatMap((image) =>
          config.comparisons.map((pair, comparison) => ({ imageId: image.id, comparison, variants: pair })),
        );
        const plan = planSession(templates, seededRandom(config.seed, readerId));
        const sessionId = Number(
          db
            .prepare(
              'INSERT INTO sessions (study_id, reader_id, started_at, position, last_event_ms) VALUES (?, ?, ?, 1, ?)',
            )
            .run(studyId, readerId, isoNow(), now()).lastInsertRowid,
        );
        const insertCase = db.prepare(
          `INSERT INTO session_cases (id, session_id, position, image_id, comparison, left_variant, right_variant,
             left_presentation, right_presentation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const [i, c] of plan.entries()) {
          const ids = [token('c-'), token('p-'), token('p-')] as const;
          insertCase.run(ids[0], sessionId, i + 1, c.imageId, c.comparison, c.left, c.right, ids[1], ids[2]);
        }
        const session = statements.session.get(studyId, readerId)!;
        showCase(session, 1);
        audit(studyId, readerId, 'session_started', { cases: plan.length, seed: config.seed });
      })();
      return sessionView(studyId, readerId);
    },

    /** Saves one answer at once (one transaction). Answers may change until the case is finished; after that only if the study allows edits. */
    answer(input: AnswerInput): SessionView {
      const parsed = parseInput(answerInputSchema, input, 'answer');
      const { studyId, readerId } = parsed;
      db.transaction(() => {
        const { config, session } = loadSession(studyId, readerId);
        const row = statements.caseAt.get(session.id, session.position);
        if (!row) throw new AppError('forbidden', 'the session is finished; there is no case to answer');
        if (row.id !== parsed.caseId)
          throw new AppError('forbidden', `case ${parsed.caseId} is not the case on screen in this session`);
        if (row.completed_at !== null && !config.navigation.allowEdits)
          throw new AppError('forbidden', 'this study does not allow changing answers of a finished case');
        const question = config.questions.find((q) => q.id === parsed.questionId);
        if (!question) throw new AppError('bad_input', `the study has no question ${parsed.questionId}`);
        let target: 'left' | 'right' | 'case' = 'case';
        if (question.scope === 'each') {
          if (parsed.presentationId === row.left_presentation) target = 'left';
          else if (parsed.presentationId === row.right_presentation) target = 'right';
          else
            throw new AppError(
              'bad_input',
              `question ${question.id} is asked of each image: presentationId must name one of this case's images`,
            );
        } else if (parsed.presentationId !== undefined) {
          throw new AppError(
            'bad_input',
            `question ${question.id} is asked once per case: leave out presentationId`,
          );
        }
        let value: number | string;
        const raw = parsed.value;
        switch (question.kind) {
          case 'score':
            if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < question.min || raw > question.max)
              throw new AppError(
                'bad_input',
                `question ${question.id} needs a whole number from ${question.min} to ${question.max}`,
              );
            value = raw;
            break;
          case 'forced-choice':
            if (raw === row.left_presentation) value = row.left_variant;
            else if (raw === row.right_presentation) value = row.right_variant;
            else
              throw new AppError(
                'bad_input',
                `question ${question.id} needs the presentationId of the chosen image as its value`,
              );
            break;
          case 'choice':
            if (typeof raw !== 'string' || !question.options.includes(raw))
              throw new AppError(
                'bad_input',
                `question ${question.id} needs one of: ${question.options.join(', ')}`,
              );
            value = raw;
            break;
          case 'comment':
            if (typeof raw !== 'string' || raw.length > question.maxLength)
              throw new AppError(
                'bad_input',
                `question ${question.id} needs text of at most ${question.maxLength} characters`,
              );
            value = raw;
            break;
        }
        const previous = statements.answer.get(row.id, question.id, target);
        accountTime(session);
        statements.upsertAnswer.run(row.id, question.id, target, JSON.stringify(value), isoNow());
        const variant = target === 'left' ? row.left_variant : target === 'right' ? row.right_variant : null;
        audit(studyId, readerId, previous ? 'answer_changed' : 'answer_given', {
          caseId: row.id,
          position: row.position,
          imageId: row.image_id,
          questionId: question.id,
          variant,
          value,
          ...(previous ? { previousValue: JSON.parse(previous.value) as unknown } : {}),
          caseFinished: row.completed_at !== null,
        });
      })();
      return sessionView(studyId, readerId);
    },

    /** Finishes the case on screen (all required questions answered) and shows the next one. */
    next(studyId: string, readerId: string): SessionView {
      db.transaction(() => {
        const { config, session } = loadSession(studyId, readerId);
        const row = statements.caseAt.get(session.id, session.position);
        if (!row) throw new AppError('forbidden', 'the session is finished; there is no next case');
        const missing = missingAnswers(config, row, statements.answersOfCase.all(row.id));
        if (missing.length > 0)
          throw new AppError(
            'bad_input',
            `answer every required question first (missing: ${missing.join(', ')})`,
          );
        accountTime(session);
        if (statements.markCompleted.run(isoNow(), row.id).changes > 0) {
          const timeMs = db
            .prepare<[string], { time_ms: number }>('SELECT time_ms FROM session_cases WHERE id = ?')
            .get(row.id)!.time_ms;
          audit(studyId, readerId, 'case_finished', { caseId: row.id, position: row.position, timeMs });
        }
        const total = config.images.length * config.comparisons.length;
        const nextPosition = row.position + 1;
        statements.setPosition.run(nextPosition, now(), session.id);
        showCase(session, nextPosition);
        if (nextPosition > total && frontierOf(session, total) > total) {
          if (statements.finishSession.run(isoNow(), session.id).changes > 0)
            audit(studyId, readerId, 'session_finished', { cases: total });
        }
      })();
      return sessionView(studyId, readerId);
    },

    /** Goes back to an earlier finished case, as far as the study's going-back rule allows. */
    goBack(input: GoBackInput): SessionView {
      const parsed = parseInput(goBackInputSchema, input, 'go-back request');
      const { studyId, readerId } = parsed;
      db.transaction(() => {
        const { config, session } = loadSession(studyId, readerId);
        const rule = config.navigation.goBack;
        if (rule === 'none') throw new AppError('forbidden', 'this study does not allow going back');
        const total = config.images.length * config.comparisons.length;
        const frontier = frontierOf(session, total);
        const target = parsed.toPosition ?? session.position - 1;
        if (target < 1 || target >= session.position)
          throw new AppError('bad_input', `cannot go back to case ${target} from case ${session.position}`);
        if (rule === 'previous' && !(session.position === frontier && target === frontier - 1))
          throw new AppError('forbidden', 'this study allows going back to the previous case only');
        if (target >= frontier) throw new AppError('forbidden', `case ${target} is not finished yet`);
        accountTime(session);
        statements.setPosition.run(target, now(), session.id);
        audit(studyId, readerId, 'went_back', { from: session.position, to: target });
      })();
      return sessionView(studyId, readerId);
    },

    /** Statistics over every saved answer (unblinded: for the study owner, not for readers). */
    results(studyId: string): StudyResults {
      const { row, config } = loadStudy(studyId);
      const statistics = analyseRatings(ratingRows(studyId, config), analysisMeta(config));
      const timing = statements.studyReaders.all(studyId).map((reader) => {
        const session = statements.session.get(studyId, reader.id);
        const done = session ? statements.cases.all(session.id).filter((c) => c.completed_at !== null) : [];
        return {
          readerId: reader.id,
          reader: reader.name,
          completedCases: done.length,
          medianMsPerCase: median(done.map((c) => c.time_ms)),
          totalMs: done.reduce((s, c) => s + c.time_ms, 0),
        };
      });
      return { studyId, studyName: row.name, generatedAt: isoNow(), ...statistics, timing };
    },

    /** Every rating in MRMC long format (see csv.ts). */
    exportCsv(studyId: string): string {
      const { config } = loadStudy(studyId);
      return formatRatingsCsv(ratingRows(studyId, config));
    },

    exportJson(studyId: string): StudyExport {
      const { row, config } = loadStudy(studyId);
      const readers = statements.studyReaders.all(studyId);
      const names = new Map(readers.map((r) => [r.id, r.name]));
      const sessions = statements.sessionsOfStudy.all(studyId).map((session) => {
        const answersByCase = new Map<string, AnswerRow[]>();
        for (const a of statements.answersOfSession.all(session.id))
          answersByCase.set(a.case_id, [...(answersByCase.get(a.case_id) ?? []), a]);
        return {
          readerId: session.reader_id,
          reader: names.get(session.reader_id) ?? session.reader_id,
          startedAt: session.started_at,
          finishedAt: session.finished_at,
          cases: statements.cases.all(session.id).map((c) => ({
            position: c.position,
            caseId: c.id,
            case: caseLabel(config, c.image_id, c.comparison),
            imageId: c.image_id,
            comparison: c.comparison,
            left: c.left_variant,
            right: c.right_variant,
            firstShownAt: c.first_shown_at,
            completedAt: c.completed_at,
            timeMs: c.time_ms,
            answers: (answersByCase.get(c.id) ?? []).map((a) => ({
              questionId: a.question_id,
              target: a.target,
              variant: a.target === 'left' ? c.left_variant : a.target === 'right' ? c.right_variant : null,
              value: JSON.parse(a.value) as number | string,
              answeredAt: a.answered_at,
            })),
          })),
        };
      });
      return {
        format: 'r2c-reader-study',
        formatVersion: 1,
        schemaVersion,
        exportedAt: isoNow(),
        study: { id: row.id, name: row.name, createdAt: row.created_at, config },
        readers,
        sessions,
        audit: auditTrail(studyId),
      };
    },

    auditTrail,

    /**
     * What a presentation id shows. For the main-process image loader only: never expose it to
     * the renderer over IPC, or the blinding is gone.
     */
    resolvePresentation(presentationId: string): ResolvedPresentation {
      const row = statements.presentation.get(presentationId, presentationId);
      if (!row) throw new AppError('not_found', `no image is presented under id ${presentationId}`);
      const { config } = loadStudy(row.study_id);
      const variantId = row.left_presentation === presentationId ? row.left_variant : row.right_variant;
      return {
        studyId: row.study_id,
        imageId: row.image_id,
        variant: config.variants.find((v) => v.id === variantId)!,
      };
    },

    close(): void {
      if (db.open) db.close();
    },
  };
}
