import { AppError } from '../util/errors.ts';
import { type CaseTemplate, planSession, seededRandom } from './randomise.ts';
import {
  type AnswerInput,
  answerInputSchema,
  type GoBackInput,
  goBackInputSchema,
  type Navigation,
  type StudyConfig,
} from './schema.ts';
import {
  type AnswerRow,
  type CaseRow,
  caseCount,
  frontierOf,
  loadSession,
  loadStudy,
  parseAnswerValue,
  parseInput,
  type SessionRow,
  type StoreContext,
  token,
} from './statements.ts';
import type { AnswerView, PresentedImage, ResolvedPresentation, SessionView } from './types.ts';
import { studyState } from './owner.ts';

function refuseIfClosed(ctx: StoreContext, studyId: string): void {
  if (studyState(ctx, studyId).closedAt !== null)
    throw new AppError('forbidden', 'the study owner has closed this study: no more answers');
}

/**
 * A reader's session: the randomised plan, the blinded view of the case on screen, answers, moving
 * on and going back, and the time spent per case. Each state change is one transaction. Blinding is
 * enforced here: views carry only opaque ids unless the study's blinding options say otherwise.
 */

function missingAnswers(config: StudyConfig, row: CaseRow, answers: AnswerRow[]): string[] {
  const has = (q: string, target: string) => answers.some((a) => a.question_id === q && a.target === target);
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
  const stored = parseAnswerValue(answer.value);
  const presentationOf = (side: string) => (side === 'left' ? row.left_presentation : row.right_presentation);
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

/** The reader's blinded view of their session and the case on screen. */
export function sessionView(ctx: StoreContext, studyId: string, readerId: string): SessionView {
  const { statements } = ctx;
  const { config, session } = loadSession(ctx, studyId, readerId);
  const total = caseCount(config);
  const completed = statements.completedCount.get(session.id)!.n;
  const frontier = frontierOf(ctx, session, total);
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
function accountTime(ctx: StoreContext, session: SessionRow): void {
  const t = ctx.now();
  const current = ctx.statements.caseAt.get(session.id, session.position);
  if (current) ctx.statements.addCaseTime.run(Math.max(0, t - session.last_event_ms), current.id);
  ctx.statements.touchSession.run(t, session.id);
}

function showCase(ctx: StoreContext, session: SessionRow, position: number): void {
  const row = ctx.statements.caseAt.get(session.id, position);
  if (row) ctx.statements.markShown.run(ctx.isoNow(), row.id);
}

/**
 * Inserts a reader's randomised session (inside the caller's transaction): the plan from the study
 * seed and the reader id, with fresh opaque case and presentation ids. Returns the plan.
 */
export function createSession(
  ctx: StoreContext,
  config: StudyConfig,
  studyId: string,
  readerId: string,
): ReturnType<typeof planSession> {
  const { db, now, isoNow } = ctx;
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
  return plan;
}

/** Creates the reader's randomised session on first call; afterwards returns where they left off. */
export function startOrResumeSession(ctx: StoreContext, studyId: string, readerId: string): SessionView {
  const { db, statements, audit, now } = ctx;
  const { config } = loadStudy(ctx, studyId);
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
    const plan = createSession(ctx, config, studyId, readerId);
    const session = statements.session.get(studyId, readerId)!;
    showCase(ctx, session, 1);
    audit(studyId, readerId, 'session_started', { cases: plan.length, seed: config.seed });
  })();
  return sessionView(ctx, studyId, readerId);
}

/** Saves one answer at once (one transaction). Answers may change until the case is finished; after that only if the study allows edits. */
export function answer(ctx: StoreContext, input: AnswerInput): SessionView {
  const { db, statements, audit, isoNow } = ctx;
  const parsed = parseInput(answerInputSchema, input, 'answer');
  const { studyId, readerId } = parsed;
  db.transaction(() => {
    const { config, session } = loadSession(ctx, studyId, readerId);
    refuseIfClosed(ctx, studyId);
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
    accountTime(ctx, session);
    statements.upsertAnswer.run(row.id, question.id, target, JSON.stringify(value), isoNow());
    const variant = target === 'left' ? row.left_variant : target === 'right' ? row.right_variant : null;
    audit(studyId, readerId, previous ? 'answer_changed' : 'answer_given', {
      caseId: row.id,
      position: row.position,
      imageId: row.image_id,
      questionId: question.id,
      variant,
      value,
      ...(previous ? { previousValue: parseAnswerValue(previous.value) } : {}),
      caseFinished: row.completed_at !== null,
    });
  })();
  return sessionView(ctx, studyId, readerId);
}

/** Finishes the case on screen (all required questions answered) and shows the next one. */
export function next(ctx: StoreContext, studyId: string, readerId: string): SessionView {
  const { db, statements, audit, now, isoNow } = ctx;
  db.transaction(() => {
    const { config, session } = loadSession(ctx, studyId, readerId);
    refuseIfClosed(ctx, studyId);
    const row = statements.caseAt.get(session.id, session.position);
    if (!row) throw new AppError('forbidden', 'the session is finished; there is no next case');
    const missing = missingAnswers(config, row, statements.answersOfCase.all(row.id));
    if (missing.length > 0)
      throw new AppError(
        'bad_input',
        `answer every required question first (missing: ${missing.join(', ')})`,
      );
    accountTime(ctx, session);
    if (statements.markCompleted.run(isoNow(), row.id).changes > 0) {
      const timeMs = db
        .prepare<[string], { time_ms: number }>('SELECT time_ms FROM session_cases WHERE id = ?')
        .get(row.id)!.time_ms;
      audit(studyId, readerId, 'case_finished', { caseId: row.id, position: row.position, timeMs });
    }
    const total = caseCount(config);
    const nextPosition = row.position + 1;
    statements.setPosition.run(nextPosition, now(), session.id);
    showCase(ctx, session, nextPosition);
    if (nextPosition > total && frontierOf(ctx, session, total) > total) {
      if (statements.finishSession.run(isoNow(), session.id).changes > 0)
        audit(studyId, readerId, 'session_finished', { cases: total });
    }
  })();
  return sessionView(ctx, studyId, readerId);
}

/** Goes back to an earlier finished case, as far as the study's going-back rule allows. */
export function goBack(ctx: StoreContext, input: GoBackInput): SessionView {
  const { db, statements, audit, now } = ctx;
  const parsed = parseInput(goBackInputSchema, input, 'go-back request');
  const { studyId, readerId } = parsed;
  db.transaction(() => {
    const { config, session } = loadSession(ctx, studyId, readerId);
    const rule = config.navigation.goBack;
    if (rule === 'none') throw new AppError('forbidden', 'this study does not allow going back');
    const total = caseCount(config);
    const frontier = frontierOf(ctx, session, total);
    const target = parsed.toPosition ?? session.position - 1;
    if (target < 1 || target >= session.position)
      throw new AppError('bad_input', `cannot go back to case ${target} from case ${session.position}`);
    if (rule === 'previous' && !(session.position === frontier && target === frontier - 1))
      throw new AppError('forbidden', 'this study allows going back to the previous case only');
    if (target >= frontier) throw new AppError('forbidden', `case ${target} is not finished yet`);
    accountTime(ctx, session);
    statements.setPosition.run(target, now(), session.id);
    audit(studyId, readerId, 'went_back', { from: session.position, to: target });
  })();
  return sessionView(ctx, studyId, readerId);
}

/**
 * What a presentation id shows. For the main-process image loader only: never expose it to the
 * renderer over IPC, or the blinding is gone.
 */
export function resolvePresentation(ctx: StoreContext, presentationId: string): ResolvedPresentation {
  const row = ctx.statements.presentation.get(presentationId, presentationId);
  if (!row) throw new AppError('not_found', `no image is presented under id ${presentationId}`);
  const { config } = loadStudy(ctx, row.study_id);
  const variantId = row.left_presentation === presentationId ? row.left_variant : row.right_variant;
  return {
    studyId: row.study_id,
    imageId: row.image_id,
    variant: config.variants.find((v) => v.id === variantId)!,
  };
}
