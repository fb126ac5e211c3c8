// The shapes of a reader study's statistics, apart from the analysis so the charts (svg.ts) can
// take them without importing the analysis that draws them.
import type { IccBand, Interval, KappaBand } from './stats.ts';

export interface KappaSummary {
  method: string;
  readers: string[];
  items: number;
  kappa: number | null;
  band: KappaBand | null;
  bandSource: 'Landis & Koch 1977';
}

export interface WeightedKappaSummary extends KappaSummary {
  /** Percentile bootstrap over items (fixed seed: the same data give the same interval); null with too few items. */
  ci95: Interval | null;
  ciMethod: string;
}

export interface IccSummary {
  method: 'ICC(2,1) two-way random, absolute agreement, single rater (Shrout & Fleiss 1979)';
  readers: string[];
  items: number;
  icc: number | null;
  band: IccBand | null;
  bandSource: 'Koo & Li 2016';
  ci95: Interval | null;
  ciMethod: typeof iccCiMethod;
}

export const iccCiMethod = 'McGraw & Wong (1996) case 2A, F-based with Satterthwaite df, 95%';

export interface ScoreVariantSummary {
  variant: string;
  label: string;
  n: number;
  mean: number | null;
  sd: number | null;
  ci95: Interval | null;
  distribution: { value: number; count: number }[];
}

export interface AlphaSummary {
  method: string;
  readers: string[];
  items: number;
  alpha: number | null;
}

/**
 * One reader's difference (cases random, the reader fixed): normal-theory CI from the jackknife.
 * stdErr is null with one case; p and ci95 are null when the standard error is 0 or unknown.
 */
export interface ReaderDifference {
  reader: string;
  estimate: number;
  stdErr: number | null;
  p: number | null;
  ci95: Interval | null;
}

/**
 * Difference in mean score, variant A minus variant B, by Obuchowski-Rockette with Hillis ddf
 * (readers and cases random), over the cases every reader rated under both variants. When the data
 * cannot give a test (fewer than 2 readers or cases, or every reader's difference the same) the
 * estimate is still given, stdErr/df/ci95/p/f are null and `unavailable` says why in plain words.
 */
export interface ScoreDifference {
  variantA: string;
  variantB: string;
  labelA: string;
  labelB: string;
  method: string;
  readers: number;
  cases: number;
  meanA: number;
  meanB: number;
  estimate: number;
  stdErr: number | null;
  df: number | null;
  ci95: Interval | null;
  p: number | null;
  f: number | null;
  unavailable: string | null;
  perReader: ReaderDifference[];
}

export interface ScoreQuestionResult {
  questionId: string;
  prompt: string;
  ciMethod: string;
  perVariant: ScoreVariantSummary[];
  /** OR-MRMC differences between variants shown together on a case every reader rated under both. */
  differences: ScoreDifference[];
  /** Pairs of variants left out because no case was rated by every reader under both. */
  differencesNote: string | null;
  agreement: {
    weightedKappa: { linear: WeightedKappaSummary; quadratic: WeightedKappaSummary } | null;
    icc: IccSummary | null;
    /** Krippendorff's alpha, ordinal metric, two or more readers (missing ratings allowed). */
    alpha: AlphaSummary | null;
  };
  svg: string;
  /** Forest plot of the OR-MRMC differences (overall and per reader); empty string when none. */
  differenceSvg: string;
}

export interface PreferenceComparison {
  variantA: string;
  variantB: string;
  labelA: string;
  labelB: string;
  /** True when A is a restored variant and B the original: rateA is "restored preferred over original". */
  restoredVsOriginal: boolean;
  n: number;
  chosenA: number;
  rateA: number | null;
  /** Wilson interval, every judgement counted as independent. */
  ci95: Interval | null;
  /**
   * Share preferring A with readers and cases random: the mean over readers of each reader's share,
   * single-treatment Obuchowski-Rockette (jackknife over cases, Hillis df), over the cases every
   * reader judged. Null with fewer than 2 such cases.
   */
  mrmc: {
    readers: number;
    cases: number;
    estimate: number;
    stdErr: number;
    df: number;
    ci95: Interval;
    method: string;
  } | null;
}

export interface PreferenceQuestionResult {
  questionId: string;
  prompt: string;
  ciMethod: string;
  comparisons: PreferenceComparison[];
  agreement: KappaSummary | null;
  /** Krippendorff's alpha (nominal) over the variant chosen, three or more readers. */
  alpha: AlphaSummary | null;
  svg: string;
}

export interface ChoiceVariantSummary {
  /** null for a question asked once per case rather than of each image. */
  variant: string | null;
  label: string | null;
  n: number;
  counts: Record<string, number>;
  /** Share of answers equal to the first option ("yes" for "are the findings preserved?"); unsure counts as not yes. */
  firstOptionRate: number | null;
  ci95: Interval | null;
}

export interface ChoiceQuestionResult {
  questionId: string;
  prompt: string;
  options: string[];
  firstOption: string;
  ciMethod: string;
  perVariant: ChoiceVariantSummary[];
  agreement: KappaSummary | null;
  /** Krippendorff's alpha, ordinal in the order of the options, three or more readers. */
  alpha: AlphaSummary | null;
}

export interface StudyStatistics {
  readers: string[];
  cases: number;
  ratings: number;
  scores: ScoreQuestionResult[];
  preferences: PreferenceQuestionResult[];
  choices: ChoiceQuestionResult[];
}
