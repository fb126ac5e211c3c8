// What the registry keeps of an evaluation (`r2c eval`'s evaluation.json): every metric as a flat
// table (the comparison shows them side by side), each image's scores (thresholds and ROC curves are
// computed from them) and a fingerprint of the labelled set (comparisons need the same images).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EvaluationResult } from '../evaluation/index.ts';
import { AppError } from '../util/errors.ts';

export const scoreRecord = z.object({
  id: z.string(),
  covid: z.boolean(),
  clean: z.number().nullable(),
  degraded: z.number().nullable(),
  restored: z.number().nullable(),
});
export type ScoreRecord = z.infer<typeof scoreRecord>;

export interface EvaluationSummary {
  dataLabel: string;
  fingerprint: string;
  count: number;
  /** "classification.degraded.f1" → value; null where undefined (NaN). */
  metrics: Record<string, number | null>;
  scores: ScoreRecord[];
  evaluatedAt: string | null;
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The labelled set's identity: its images' ids and labels, sorted (not their pixels, not their paths). */
export function labelledSetFingerprint(items: readonly { id: string; covid: boolean }[]): string {
  const lines = items.map((s) => `${s.id}\t${s.covid ? 'covid' : 'normal'}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

// Only the fields read here are checked: evaluation.json is written by this app, and older files lack some.
const evaluationFile = z.object({
  data: z.string(),
  count: z.number().int().positive(),
  report: z.object({
    classification: z.record(z.string(), z.unknown()),
    restoration: z.record(z.string(), z.unknown()),
    images: z.array(
      z.object({
        id: z.string(),
        label: z.enum(['covid', 'normal']),
        scores: z.record(z.string(), z.number()),
      }),
    ),
  }),
});

/** Flattens the report's classification and restoration results: every number `r2c eval` reports. */
export function flattenMetrics(report: EvaluationResult['report']): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const classification = report.classification as unknown as Record<string, unknown>;
  const addClassification = (name: string, r: unknown) => {
    const c = r as { metrics?: Record<string, number>; auc?: number; count?: number } | undefined;
    if (!c?.metrics) return;
    for (const [k, v] of Object.entries(c.metrics)) out[`classification.${name}.${k}`] = finite(v);
    out[`classification.${name}.auc`] = finite(c.auc);
  };
  for (const condition of ['clean', 'degraded', 'restored'])
    addClassification(condition, classification[condition]);
  for (const [name, r] of Object.entries((classification['baselines'] ?? {}) as Record<string, unknown>))
    addClassification(`baseline ${name}`, r);
  const restoration = report.restoration as unknown as Record<string, unknown>;
  const addRestoration = (name: string, r: unknown) => {
    const overall = (r as { overall?: Record<string, number> } | undefined)?.overall;
    if (!overall) return;
    for (const [k, v] of Object.entries(overall))
      if (k !== 'count') out[`restoration.${name}.${k}`] = finite(v);
  };
  for (const condition of ['degraded', 'restored']) addRestoration(condition, restoration[condition]);
  for (const [name, r] of Object.entries((restoration['baselines'] ?? {}) as Record<string, unknown>))
    addRestoration(`baseline ${name}`, r);
  return out;
}

/** Reads what the registry keeps from a parsed evaluation.json. */
export function summariseEvaluation(raw: unknown, where: string): EvaluationSummary {
  const parsed = evaluationFile.safeParse(raw);
  if (!parsed.success)
    throw new AppError(
      'bad_input',
      `${where} is not an evaluation written by r2c eval: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const { data, count, report } = parsed.data;
  const scores = report.images.map((r) => ({
    id: r.id,
    covid: r.label === 'covid',
    clean: r.scores['clean'] ?? null,
    degraded: r.scores['degraded'] ?? null,
    restored: r.scores['restored'] ?? null,
  }));
  const label = data.split(/[\\/]/).filter(Boolean).pop() ?? data;
  return {
    dataLabel: label,
    fingerprint: labelledSetFingerprint(scores),
    count,
    metrics: flattenMetrics(report as unknown as EvaluationResult['report']),
    scores,
    evaluatedAt: null,
  };
}

/** The scores and labels of one condition, or clean and degraded pooled (as thresholds are chosen). */
export function scoresOf(
  records: readonly ScoreRecord[],
  condition: 'pooled' | 'clean' | 'degraded' | 'restored',
) {
  const scores: number[] = [];
  const actual: boolean[] = [];
  const conditions = condition === 'pooled' ? (['clean', 'degraded'] as const) : ([condition] as const);
  for (const r of records)
    for (const c of conditions) {
      const s = r[c];
      if (s === null) continue;
      scores.push(s);
      actual.push(r.covid);
    }
  return { scores, actual };
}
