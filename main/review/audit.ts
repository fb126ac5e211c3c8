import type { StudyConfig } from './schema.ts';
import type { AuditEntry } from './types.ts';

/**
 * One audit-trail line as the study owner sees it in the UI: who (reader name), when, what, at which
 * case position. Image ids, case ids and the study configuration's image list are left out, so the
 * view names no image (the JSON export keeps the full trail).
 */
export interface AuditRow {
  seq: number;
  at: string;
  reader: string | null;
  action: string;
  position: number | null;
  questionId: string | null;
  variant: string | null;
  value: number | string | null;
  previousValue: number | string | null;
  summary: string;
}

const scalar = (value: unknown): number | string | null =>
  typeof value === 'number' || typeof value === 'string' ? value : null;
const count = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;

/** Variant labels by id, and which questions take a variant id as their answer (forced choices). */
interface Names {
  label: (variantId: string) => string;
  forced: Set<string>;
}

const shown = (names: Names, row: Omit<AuditRow, 'summary'>, value: number | string | null) =>
  typeof value === 'string' && row.questionId !== null && names.forced.has(row.questionId)
    ? names.label(value)
    : String(value);

function summarise(entry: AuditEntry, row: Omit<AuditRow, 'summary'>, names: Names): string {
  const d = entry.details;
  const at = row.position === null ? '' : `case ${row.position}: `;
  const about = row.variant === null ? '' : ` (${names.label(row.variant)})`;
  switch (entry.action) {
    case 'study_created': {
      const config = (d['config'] ?? {}) as {
        images?: unknown[];
        variants?: { id?: unknown }[];
        questions?: { id?: unknown }[];
      };
      const ids = (list: { id?: unknown }[] | undefined) => (list ?? []).map((item) => String(item.id));
      const variants = ids(config.variants).map(names.label).join(' / ');
      return `study created: ${config.images?.length ?? 0} images; variants ${variants}; questions ${ids(config.questions).join(', ')}`;
    }
    case 'reader_added':
      return 'reader added';
    case 'session_started':
      return `session started: ${count(d['cases']) ?? '?'} cases`;
    case 'session_resumed':
      return `session resumed at case ${count(d['position']) ?? '?'}`;
    case 'answer_given':
      return `${at}${row.questionId} = ${shown(names, row, row.value)}${about}`;
    case 'answer_changed':
      return `${at}${row.questionId} changed from ${shown(names, row, row.previousValue)} to ${shown(names, row, row.value)}${about}`;
    case 'case_finished': {
      const ms = count(d['timeMs']);
      return `${at}finished${ms === null ? '' : ` after ${(ms / 1000).toFixed(1)} s`}`;
    }
    case 'went_back':
      return `went back from case ${count(d['from']) ?? '?'} to case ${count(d['to']) ?? '?'}`;
    case 'session_finished':
      return `session finished: ${count(d['cases']) ?? '?'} cases`;
    default:
      // Owner actions (closing, kits, merges, refused passphrases) say who did them.
      return `${entry.action.replaceAll('_', ' ')}${d['actor'] === 'owner' ? ' (by the study owner)' : ''}`;
  }
}

/**
 * The audit trail for display: one row per entry, oldest first, without image or case ids. With the
 * study's config, summaries name variants by their labels (the fields keep the ids).
 */
export function auditRows(
  entries: readonly AuditEntry[],
  config?: Pick<StudyConfig, 'variants' | 'questions'>,
): AuditRow[] {
  const labels = new Map((config?.variants ?? []).map((v) => [v.id, v.label]));
  const names: Names = {
    label: (id) => labels.get(id) ?? id,
    forced: new Set((config?.questions ?? []).filter((q) => q.kind === 'forced-choice').map((q) => q.id)),
  };
  return entries.map((entry) => {
    const d = entry.details;
    const position = entry.action === 'went_back' ? null : count(d['position']);
    const row = {
      seq: entry.seq,
      at: entry.at,
      reader: entry.reader,
      action: entry.action,
      position: position === 0 ? null : position,
      questionId: typeof d['questionId'] === 'string' ? d['questionId'] : null,
      variant: typeof d['variant'] === 'string' ? d['variant'] : null,
      value: scalar(d['value']),
      previousValue: scalar(d['previousValue']),
    };
    return { ...row, summary: summarise(entry, row, names) };
  });
}
