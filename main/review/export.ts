import { type AnalysisMeta, analyseRatings, type RatingRow } from './analysis.ts';
import { formatRatingsCsv } from './csv.ts';
import { schemaVersion } from './db.ts';
import type { StudyConfig } from './schema.ts';
import {
  type AnswerRow,
  loadStudy,
  parseAnswerValue,
  parseAuditDetails,
  type StoreContext,
} from './statements.ts';
import type { AuditEntry, StudyExport, StudyResults } from './types.ts';

/**
 * What leaves a study (unblinded: for the study owner, not for readers): statistics with time per
 * case, the MRMC long-format CSV, the whole-study JSON export and the audit trail.
 */

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

function ratingRows(ctx: StoreContext, studyId: string, config: StudyConfig): RatingRow[] {
  const { statements } = ctx;
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
          const value = parseAnswerValue(a.value);
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

/** Statistics over every saved answer (unblinded: for the study owner, not for readers). */
export function results(ctx: StoreContext, studyId: string): StudyResults {
  const { statements } = ctx;
  const { row, config } = loadStudy(ctx, studyId);
  const statistics = analyseRatings(ratingRows(ctx, studyId, config), analysisMeta(config));
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
  return { studyId, studyName: row.name, generatedAt: ctx.isoNow(), ...statistics, timing };
}

/** Every rating in MRMC long format (see csv.ts). */
export function exportCsv(ctx: StoreContext, studyId: string): string {
  const { config } = loadStudy(ctx, studyId);
  return formatRatingsCsv(ratingRows(ctx, studyId, config));
}

/** Who did what and when, oldest first (the table rejects updates and deletes). */
export function auditTrail(ctx: StoreContext, studyId: string): AuditEntry[] {
  loadStudy(ctx, studyId);
  return ctx.statements.auditOfStudy.all(studyId).map((a) => ({
    seq: a.seq,
    at: a.at,
    readerId: a.reader_id,
    reader: a.name,
    action: a.action,
    details: parseAuditDetails(a.details),
  }));
}

/** The whole study: configuration, readers, every session's cases with answers and timings, audit trail. */
export function exportJson(ctx: StoreContext, studyId: string): StudyExport {
  const { statements } = ctx;
  const { row, config } = loadStudy(ctx, studyId);
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
          value: parseAnswerValue(a.value),
          answeredAt: a.answered_at,
        })),
      })),
    };
  });
  return {
    format: 'r2c-reader-study',
    formatVersion: 1,
    schemaVersion,
    exportedAt: ctx.isoNow(),
    study: { id: row.id, name: row.name, createdAt: row.created_at, config },
    readers,
    sessions,
    audit: auditTrail(ctx, studyId),
  };
}
