import { krippendorffAlpha } from './krippendorff.ts';
import { orHillis, singleTreatmentFrom } from './mrmc.ts';
import { seededRandom } from './randomise.ts';
import {
  bootstrapInterval,
  cohenKappa,
  fleissKappa,
  icc21,
  icc21Interval,
  kooLiBand,
  landisKochBand,
  meanWithTInterval,
  wilsonInterval,
} from './stats.ts';
import { differenceSvg, preferenceSvg, scoreDistributionSvg } from './svg.ts';
import {
  type AlphaSummary,
  type ChoiceQuestionResult,
  iccCiMethod,
  type IccSummary,
  type KappaSummary,
  type PreferenceComparison,
  type PreferenceQuestionResult,
  type ScoreDifference,
  type ScoreQuestionResult,
  type StudyStatistics,
  type WeightedKappaSummary,
} from './results.ts';

export type {
  AlphaSummary,
  ChoiceQuestionResult,
  ReaderDifference,
  ScoreDifference,
  ChoiceVariantSummary,
  IccSummary,
  KappaSummary,
  PreferenceComparison,
  PreferenceQuestionResult,
  ScoreQuestionResult,
  ScoreVariantSummary,
  StudyStatistics,
  WeightedKappaSummary,
} from './results.ts';
export { iccCiMethod } from './results.ts';

/**
 * One rating in MRMC long format (see csv.ts for the file format). Forced-choice answers are two
 * rows per judgement: rating 1 for the chosen variant, 0 for the other.
 */
export interface RatingRow {
  reader: string;
  case: string;
  variant: string;
  truth: string;
  rating: string;
  question: string;
}

export type AnalysedQuestionKind = 'score' | 'forced-choice' | 'choice';

export interface AnalysisMeta {
  questions: {
    id: string;
    kind: AnalysedQuestionKind;
    prompt?: string;
    options?: string[];
    /** Score scale, so unused scale points still show (with count 0) in the distribution. */
    min?: number;
    max?: number;
  }[];
  variants: { id: string; label: string; kind?: 'original' | 'restored' }[];
}

export const wilsonMethod = 'Wilson score interval, 95%, no continuity correction';
export const tMethod = 'mean ± t(0.975, n−1)·SD/√n, each rating counted as independent';
export const orMethod =
  'Obuchowski-Rockette, readers and cases random, jackknife covariances, Hillis denominator df, 95%; per reader: cases random, normal approximation';
export const orShareMethod =
  'mean of per-reader shares; single-treatment Obuchowski-Rockette (readers and cases random, jackknife over cases, Hillis df), 95%';

/** Fewest items for a bootstrap interval of kappa (fewer give intervals that mean little). */
export const minBootstrapItems = 5;
export const kappaBootstrap = { resamples: 2000, seed: 20260101 } as const;
export const kappaCiMethod = `percentile bootstrap over items, ${kappaBootstrap.resamples} resamples, fixed seed, 95%`;

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

const itemKey = (row: RatingRow): string => `${row.case}\u0000${row.variant}`;

function kappaSummary(method: string, readers: string[], items: number, kappa: number | null): KappaSummary {
  return {
    method,
    readers,
    items,
    kappa,
    band: kappa === null ? null : landisKochBand(kappa),
    bandSource: 'Landis & Koch 1977',
  };
}

/** Ratings of items that every reader in `readers` rated, as one row of values per item. */
function completeItems(
  rows: readonly RatingRow[],
  readers: readonly string[],
  key: (row: RatingRow) => string,
  value: (row: RatingRow) => string | null,
): string[][] {
  const byItem = groupBy(rows, key);
  const matrix: string[][] = [];
  for (const itemRows of byItem.values()) {
    const byReader = new Map<string, string>();
    for (const row of itemRows) {
      const v = value(row);
      if (v !== null) byReader.set(row.reader, v);
    }
    if (readers.every((r) => byReader.has(r))) matrix.push(readers.map((r) => byReader.get(r)!));
  }
  return matrix;
}

function categoricalAgreement(matrix: string[][], readers: string[]): KappaSummary | null {
  if (readers.length < 2) return null;
  if (readers.length === 2) {
    const pairs = matrix.map((row) => [row[0]!, row[1]!] as const);
    return kappaSummary("Cohen's kappa (unweighted)", readers, matrix.length, cohenKappa(pairs, 'none'));
  }
  const categories = [...new Set(matrix.flat())];
  const counts = matrix.map((row) => categories.map((c) => row.filter((v) => v === c).length));
  return kappaSummary("Fleiss' kappa", readers, matrix.length, fleissKappa(counts));
}

function analyseScores(
  question: AnalysisMeta['questions'][number],
  rows: RatingRow[],
  meta: AnalysisMeta,
): ScoreQuestionResult {
  const readers = [...new Set(rows.map((r) => r.reader))].sort();
  const byVariant = groupBy(rows, (r) => r.variant);
  const perVariant = orderedVariants(meta, [...byVariant.keys()]).map(({ id, label }) => {
    const values = (byVariant.get(id) ?? []).map((r) => Number(r.rating));
    const summary = meanWithTInterval(values);
    const counts = new Map<number, number>();
    if (question.min !== undefined && question.max !== undefined)
      for (let v = question.min; v <= question.max; v++) counts.set(v, 0);
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const distribution = [...counts.entries()]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => a.value - b.value);
    return { variant: id, label, ...summary, distribution };
  });
  const matrix = completeItems(rows, readers, itemKey, (r) => r.rating).map((row) => row.map(Number));
  let weightedKappa: ScoreQuestionResult['agreement']['weightedKappa'] = null;
  if (readers.length === 2) {
    const pairs = matrix.map((row) => [row[0]!, row[1]!] as const);
    const weighted = (weights: 'linear' | 'quadratic'): WeightedKappaSummary => {
      const kappa = cohenKappa(pairs, weights);
      const ci95 =
        kappa !== null && pairs.length >= minBootstrapItems
          ? bootstrapInterval(
              pairs,
              (sample) => cohenKappa(sample, weights),
              seededRandom(kappaBootstrap.seed, `${question.id}:${weights}`),
              kappaBootstrap.resamples,
            )
          : null;
      return {
        ...kappaSummary(`Cohen's weighted kappa, ${weights} weights`, readers, pairs.length, kappa),
        ci95,
        ciMethod: kappaCiMethod,
      };
    };
    weightedKappa = { linear: weighted('linear'), quadratic: weighted('quadratic') };
  }
  let icc: IccSummary | null = null;
  if (readers.length >= 2) {
    const result = icc21(matrix);
    icc = {
      method: 'ICC(2,1) two-way random, absolute agreement, single rater (Shrout & Fleiss 1979)',
      readers,
      items: matrix.length,
      icc: result?.icc ?? null,
      band: result ? kooLiBand(result.icc) : null,
      bandSource: 'Koo & Li 2016',
      ci95: result ? icc21Interval(result, matrix.length, readers.length) : null,
      ciMethod: iccCiMethod,
    };
  }
  const alpha: AlphaSummary | null =
    readers.length >= 2
      ? alphaSummary(
          "Krippendorff's alpha, ordinal",
          readers,
          rows,
          itemKey,
          (r) => Number(r.rating),
          'ordinal',
        )
      : null;
  const { differences, note } = scoreDifferences(rows, readers, meta);
  const result: Omit<ScoreQuestionResult, 'svg' | 'differenceSvg'> = {
    questionId: question.id,
    prompt: question.prompt ?? question.id,
    ciMethod: tMethod,
    perVariant,
    differences,
    differencesNote: note,
    agreement: { weightedKappa, icc, alpha },
  };
  return { ...result, svg: scoreDistributionSvg(result), differenceSvg: differenceSvg(result) };
}

/** Krippendorff's alpha over every item (missing ratings allowed), null with no pairable item. */
function alphaSummary(
  method: string,
  readers: string[],
  rows: readonly RatingRow[],
  key: (row: RatingRow) => string,
  value: (row: RatingRow) => number | string | null,
  metric: 'nominal' | 'ordinal',
  order?: readonly (number | string)[],
): AlphaSummary {
  const units = [...groupBy(rows, key).values()].map((itemRows) => {
    const byReader = new Map<string, number | string>();
    for (const row of itemRows) {
      const v = value(row);
      if (v !== null) byReader.set(row.reader, v);
    }
    return readers.map((r) => byReader.get(r) ?? null);
  });
  const pairable = units.filter((u) => u.filter((v) => v !== null).length >= 2).length;
  return { method, readers, items: pairable, alpha: krippendorffAlpha(units, metric, order) };
}

/**
 * OR-MRMC difference in mean score for every pair of variants rated on the same case, over the cases
 * every reader rated under both (a complete design is what the method needs).
 */
function scoreDifferences(
  rows: readonly RatingRow[],
  readers: string[],
  meta: AnalysisMeta,
): { differences: ScoreDifference[]; note: string | null } {
  if (readers.length === 0) return { differences: [], note: null };
  const labelOf = (id: string) => meta.variants.find((v) => v.id === id)?.label ?? id;
  const kindOf = (id: string) => meta.variants.find((v) => v.id === id)?.kind;
  const order = (id: string) => {
    const i = meta.variants.findIndex((v) => v.id === id);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  // rating[case][variant][reader]
  const byCase = new Map<string, Map<string, Map<string, number>>>();
  for (const row of rows) {
    if (row.variant === '') continue;
    const c = byCase.get(row.case) ?? new Map<string, Map<string, number>>();
    byCase.set(row.case, c);
    const v = c.get(row.variant) ?? new Map<string, number>();
    c.set(row.variant, v);
    v.set(row.reader, Number(row.rating));
  }
  const pairs = new Map<string, [string, string]>();
  for (const variants of byCase.values()) {
    const ids = [...variants.keys()].sort((x, y) => order(x) - order(y) || (x < y ? -1 : 1));
    for (let a = 0; a < ids.length; a++)
      for (let b = a + 1; b < ids.length; b++) {
        let [x, y] = [ids[a]!, ids[b]!];
        // Report "restored minus original" the way round the question is asked.
        if (kindOf(x) === 'original' && kindOf(y) === 'restored') [x, y] = [y, x];
        pairs.set(`${x}\u0000${y}`, [x, y]);
      }
  }
  const differences: ScoreDifference[] = [];
  const skipped: string[] = [];
  for (const [a, b] of pairs.values()) {
    const complete = [...byCase.values()].filter((variants) =>
      readers.every((r) => variants.get(a)?.has(r) && variants.get(b)?.has(r)),
    );
    if (complete.length === 0) {
      skipped.push(`${labelOf(a)} vs ${labelOf(b)}`);
      continue;
    }
    const value = (i: number, j: number, k: number) => complete[k]!.get(i === 0 ? a : b)!.get(readers[j]!)!;
    const result = orHillis(
      (i, j, cases) => cases.reduce((s, k) => s + value(i, j, k), 0) / cases.length,
      2,
      readers.length,
      complete.length,
    );
    differences.push({
      variantA: a,
      variantB: b,
      labelA: labelOf(a),
      labelB: labelOf(b),
      method: orMethod,
      readers: readers.length,
      cases: complete.length,
      meanA: result.treatmentMeans[0]!,
      meanB: result.treatmentMeans[1]!,
      estimate: result.difference.estimate,
      stdErr: result.difference.stdErr,
      df: result.difference.df,
      ci95: result.difference.ci95,
      p: result.difference.p,
      f: result.f,
      unavailable: result.unavailable,
      perReader: result.perReader.map((r) => ({
        reader: readers[r.reader]!,
        estimate: r.estimate,
        stdErr: r.stdErr,
        p: r.p,
        ci95: r.ci95,
      })),
    });
  }
  const note =
    skipped.length > 0 ? `no case rated by every reader under both variants: ${skipped.join(', ')}` : null;
  return { differences, note };
}

function orderedVariants(meta: AnalysisMeta, present: string[]): { id: string; label: string }[] {
  const known = meta.variants.filter((v) => present.includes(v.id));
  const extra = present.filter((id) => !meta.variants.some((v) => v.id === id)).sort();
  return [...known, ...extra.map((id) => ({ id, label: id }))];
}

/** The share preferring A with readers and cases random (see PreferenceComparison.mrmc). */
function preferenceShare(
  rows: readonly RatingRow[],
  readers: string[],
  a: string,
  b: string,
): PreferenceComparison['mrmc'] {
  // chose[case][reader] = 1 when the reader chose A on a case showing A and B.
  const chose = new Map<string, Map<string, number>>();
  for (const judgement of groupBy(rows, (r) => `${r.reader}\u0000${r.case}`).values()) {
    if (judgement.length !== 2) continue;
    const variants = judgement.map((r) => r.variant);
    if (!variants.includes(a) || !variants.includes(b)) continue;
    const { reader, case: c } = judgement[0]!;
    const m = chose.get(c) ?? new Map<string, number>();
    chose.set(c, m);
    m.set(reader, judgement.find((r) => r.variant === a)?.rating === '1' ? 1 : 0);
  }
  const complete = [...chose.values()].filter((m) => readers.every((r) => m.has(r)));
  if (complete.length < 2) return null;
  const est = singleTreatmentFrom(
    (j, cases) => cases.reduce((s, k) => s + complete[k]!.get(readers[j]!)!, 0) / cases.length,
    readers.length,
    complete.length,
  );
  return {
    readers: readers.length,
    cases: complete.length,
    estimate: est.estimate,
    stdErr: est.stdErr,
    df: est.df,
    ci95: [Math.max(0, est.ci95[0]), Math.min(1, est.ci95[1])],
    method:
      readers.length >= 2
        ? orShareMethod
        : 'one reader: jackknife over cases (cases random), t with K−1 df, 95%; no reader variance',
  };
}

function analysePreference(
  question: AnalysisMeta['questions'][number],
  rows: RatingRow[],
  meta: AnalysisMeta,
): PreferenceQuestionResult {
  const readers = [...new Set(rows.map((r) => r.reader))].sort();
  const kindOf = (id: string) => meta.variants.find((v) => v.id === id)?.kind;
  const labelOf = (id: string) => meta.variants.find((v) => v.id === id)?.label ?? id;
  const variantOrder = (id: string) => {
    const i = meta.variants.findIndex((v) => v.id === id);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  // One judgement = the rows of one (reader, case); the pair is the two variants shown.
  const judgements = [...groupBy(rows, (r) => `${r.reader}\u0000${r.case}`).values()];
  const tallies = new Map<string, PreferenceComparison>();
  for (const judgement of judgements) {
    const [first, second] = judgement;
    if (!first || !second || judgement.length !== 2) continue;
    let [a, b] = [first.variant, second.variant].sort(
      (x, y) => variantOrder(x) - variantOrder(y) || (x < y ? -1 : 1),
    );
    // Report "restored over original" the way round the question is asked.
    if (kindOf(a!) === 'original' && kindOf(b!) === 'restored') [a, b] = [b, a];
    const key = `${a}\u0000${b}`;
    let tally = tallies.get(key);
    if (!tally) {
      tally = {
        variantA: a!,
        variantB: b!,
        labelA: labelOf(a!),
        labelB: labelOf(b!),
        restoredVsOriginal: kindOf(a!) === 'restored' && kindOf(b!) === 'original',
        n: 0,
        chosenA: 0,
        rateA: null,
        ci95: null,
        mrmc: null,
      };
      tallies.set(key, tally);
    }
    tally.n += 1;
    if (judgement.find((r) => r.variant === a)?.rating === '1') tally.chosenA += 1;
  }
  const comparisons = [...tallies.values()].map((t) => ({
    ...t,
    rateA: t.n > 0 ? t.chosenA / t.n : null,
    ci95: wilsonInterval(t.chosenA, t.n),
    mrmc: preferenceShare(rows, readers, t.variantA, t.variantB),
  }));
  const matrix = completeItems(
    rows,
    readers,
    (r) => r.case,
    (r) => (r.rating === '1' ? r.variant : null),
  );
  const result: Omit<PreferenceQuestionResult, 'svg'> = {
    questionId: question.id,
    prompt: question.prompt ?? question.id,
    ciMethod: wilsonMethod,
    comparisons,
    agreement: categoricalAgreement(matrix, readers),
    alpha:
      readers.length >= 3
        ? alphaSummary(
            "Krippendorff's alpha, nominal (variant chosen)",
            readers,
            rows,
            (r) => r.case,
            (r) => (r.rating === '1' ? r.variant : null),
            'nominal',
          )
        : null,
  };
  return { ...result, svg: preferenceSvg(result) };
}

function analyseChoice(
  question: AnalysisMeta['questions'][number],
  rows: RatingRow[],
  meta: AnalysisMeta,
): ChoiceQuestionResult {
  const readers = [...new Set(rows.map((r) => r.reader))].sort();
  const options = question.options ?? [...new Set(rows.map((r) => r.rating))].sort();
  const firstOption = options.includes('yes') ? 'yes' : options[0]!;
  const perCase = rows.every((r) => r.variant === '');
  const groups = perCase
    ? [{ id: null, label: null, rows }]
    : orderedVariants(meta, [...new Set(rows.map((r) => r.variant))]).map((v) => ({
        ...v,
        rows: rows.filter((r) => r.variant === v.id),
      }));
  const perVariant = groups.map((g) => {
    const counts: Record<string, number> = Object.fromEntries(options.map((o) => [o, 0]));
    for (const row of g.rows) counts[row.rating] = (counts[row.rating] ?? 0) + 1;
    const n = g.rows.length;
    const hits = counts[firstOption] ?? 0;
    return {
      variant: g.id,
      label: g.label,
      n,
      counts,
      firstOptionRate: n > 0 ? hits / n : null,
      ci95: wilsonInterval(hits, n),
    };
  });
  const matrix = completeItems(rows, readers, itemKey, (r) => r.rating);
  return {
    questionId: question.id,
    prompt: question.prompt ?? question.id,
    options,
    firstOption,
    ciMethod: wilsonMethod,
    perVariant,
    agreement: categoricalAgreement(matrix, readers),
    alpha:
      readers.length >= 3
        ? alphaSummary(
            `Krippendorff's alpha, ordinal (${options.join(' < ')})`,
            readers,
            rows,
            itemKey,
            (r) => (options.includes(r.rating) ? r.rating : null),
            'ordinal',
            options,
          )
        : null,
  };
}

/** The study's statistics from its ratings; the app's results() and `r2c study stats` both use this. */
export function analyseRatings(rows: readonly RatingRow[], meta: AnalysisMeta): StudyStatistics {
  const byQuestion = groupBy(rows, (r) => r.question);
  const result: StudyStatistics = {
    readers: [...new Set(rows.map((r) => r.reader))].sort(),
    cases: new Set(rows.map((r) => r.case)).size,
    ratings: rows.length,
    scores: [],
    preferences: [],
    choices: [],
  };
  for (const question of meta.questions) {
    const questionRows = byQuestion.get(question.id) ?? [];
    if (question.kind === 'score') result.scores.push(analyseScores(question, questionRows, meta));
    else if (question.kind === 'forced-choice')
      result.preferences.push(analysePreference(question, questionRows, meta));
    else result.choices.push(analyseChoice(question, questionRows, meta));
  }
  return result;
}
