/**
 * Multi-reader multi-case (MRMC) analysis with readers and cases both random: the Obuchowski-Rockette
 * (OR) model with Hillis's denominator degrees of freedom (Hillis 2007, Stat Med 26:596; Hillis et al.
 * 2008, Acad Radiol 15:647), the method RJafroc (`method = "OR"`) and MRMCaov implement. Error
 * covariances are estimated by the jackknife over cases. Our own code because no JavaScript package
 * implements it; checked in the tests against the Van Dyke example's published results.
 *
 * The figure of merit (FOM) is any statistic of one reader's ratings of the cases under one
 * treatment (here: variant): the mean score, the share of judgements preferring a variant, or the
 * Wilcoxon AUC used by the published example.
 */
import { fCdf, type Interval, studentTCdf, studentTQuantile } from './stats.ts';

/** FOM of one reader under one treatment from the ratings of the cases kept (indices into 0..K-1). */
export type FigureOfMerit = (treatment: number, reader: number, cases: readonly number[]) => number;

export interface OrVarianceComponents {
  /** Mean jackknife variance of a FOM (OR's σ²_ε + ... "Var"). */
  varError: number;
  /** Same reader, different treatments. */
  cov1: number;
  /** Same treatment, different readers. */
  cov2: number;
  /** Different treatment and reader. */
  cov3: number;
  msT: number;
  msR: number;
  msTR: number;
}

/**
 * The readers-and-cases-random test needs variance to estimate: with fewer than 2 readers or cases,
 * or readers whose differences are all the same, only the point estimate is given (the rest null).
 */
export interface OrDifference {
  /** FOM of treatment A minus treatment B, averaged over readers. */
  estimate: number;
  stdErr: number | null;
  df: number | null;
  t: number | null;
  p: number | null;
  ci95: Interval | null;
}

export interface OrReaderDifference {
  reader: number;
  estimate: number;
  /** Null with fewer than 2 cases (nothing to jackknife). */
  stdErr: number | null;
  /**
   * Normal-theory test and interval (cases random, this reader fixed), as RJafroc's per-reader FRRC;
   * null when the standard error is 0 or unknown (the reader's difference is the same on every case).
   */
  z: number | null;
  p: number | null;
  ci95: Interval | null;
}

export interface OrTreatmentEstimate {
  estimate: number;
  stdErr: number;
  df: number;
  ci95: Interval;
}

export interface OrResult {
  readers: number;
  cases: number;
  /** foms[treatment][reader]. */
  foms: number[][];
  treatmentMeans: number[];
  /** Null with fewer than 2 readers or cases. */
  components: OrVarianceComponents | null;
  /** Global test of equal treatments: F = MS(T) / (MS(TR) + J·max(Cov2 − Cov3, 0)); null when `unavailable`. */
  f: number | null;
  ndf: number;
  ddf: number | null;
  p: number | null;
  /** Why there is no test or interval with readers and cases random (plain words); null when there is. */
  unavailable: string | null;
  /** Treatment 0 minus treatment 1, random readers and cases. */
  difference: OrDifference;
  perReader: OrReaderDifference[];
  /** Each treatment on its own, random readers and cases; empty with fewer than 2 cases. */
  perTreatment: OrTreatmentEstimate[];
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const z975 = 1.959963984540054;

/** Standard normal CDF as the t CDF with very many degrees of freedom (accurate to ~1e-9). */
const normalCdf = (x: number): number => studentTCdf(x, 1e9);

/** Jackknife FOMs: jack[i][j][k] = FOM of treatment i, reader j with case k left out. */
function jackknife(fom: FigureOfMerit, treatments: number, readers: number, cases: number): number[][][] {
  const all = Array.from({ length: cases }, (_, k) => k);
  const out: number[][][] = [];
  for (let i = 0; i < treatments; i++) {
    const perReader: number[][] = [];
    for (let j = 0; j < readers; j++) {
      const values: number[] = [];
      for (let k = 0; k < cases; k++)
        values.push(
          fom(
            i,
            j,
            all.filter((c) => c !== k),
          ),
        );
      perReader.push(values);
    }
    out.push(perReader);
  }
  return out;
}

/** Jackknife covariance of two FOMs' leave-one-out values: (K−1)/K · Σ (a_k − ā)(b_k − b̄). */
function jackCov(a: readonly number[], b: readonly number[]): number {
  const k = a.length;
  const ma = mean(a);
  const mb = mean(b);
  let s = 0;
  for (let c = 0; c < k; c++) s += (a[c]! - ma) * (b[c]! - mb);
  return ((k - 1) / k) * s;
}

/** Interaction residuals this small (relative to the FOMs) count as zero: float noise, not variance. */
const zeroTolerance = 1e-12;

const fixed3 = (v: number): string => (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3);

/**
 * OR analysis of a fully crossed design: every reader rated every case under every treatment, at
 * least 2 treatments. The difference is treatment 0 minus treatment 1. With fewer than 2 readers or
 * cases, or readers whose differences are identical (MS(T×R) = 0: Hillis's denominator df is then
 * infinite or 0/0, and the reader-by-treatment variance is estimated as none at all), the result has
 * the point estimates and a reason in `unavailable` instead of a test and interval.
 */
export function orHillis(fom: FigureOfMerit, treatments: number, readers: number, cases: number): OrResult {
  if (treatments < 2 || readers < 1 || cases < 1)
    throw new RangeError('OR analysis needs at least 2 treatments, 1 reader and 1 case');
  const I = treatments;
  const J = readers;
  const all = Array.from({ length: cases }, (_, k) => k);
  const foms = Array.from({ length: I }, (_, i) => Array.from({ length: J }, (_, j) => fom(i, j, all)));
  const treatmentMeans = foms.map((row) => mean(row));
  const estimate = treatmentMeans[0]! - treatmentMeans[1]!;
  const pointOnly = (
    unavailable: string,
    components: OrVarianceComponents | null,
    perReader: OrReaderDifference[],
    perTreatment: OrTreatmentEstimate[],
  ): OrResult => ({
    readers: J,
    cases,
    foms,
    treatmentMeans,
    components,
    f: null,
    ndf: I - 1,
    ddf: null,
    p: null,
    unavailable,
    difference: { estimate, stdErr: null, df: null, t: null, p: null, ci95: null },
    perReader,
    perTreatment,
  });
  if (cases < 2)
    return pointOnly(
      `needs at least 2 readers and 2 cases (here ${J} ${J === 1 ? 'reader' : 'readers'} and 1 case)`,
      null,
      foms[0]!.map((a, j) => ({
        reader: j,
        estimate: a - foms[1]![j]!,
        stdErr: null,
        z: null,
        p: null,
        ci95: null,
      })),
      [],
    );

  const jack = jackknife(fom, I, J, cases);
  const perReader = Array.from({ length: J }, (_, j): OrReaderDifference => {
    const a = jack[0]![j]!;
    const b = jack[1]![j]!;
    const variance = jackCov(a, a) + jackCov(b, b) - 2 * jackCov(a, b);
    const est = foms[0]![j]! - foms[1]![j]!;
    const se = Math.sqrt(Math.max(variance, 0));
    if (!(se > zeroTolerance * Math.max(1, Math.abs(est))))
      return { reader: j, estimate: est, stdErr: se, z: null, p: null, ci95: null };
    const z = est / se;
    return {
      reader: j,
      estimate: est,
      stdErr: se,
      z,
      p: 2 * (1 - normalCdf(Math.abs(z))),
      ci95: [est - z975 * se, est + z975 * se],
    };
  });
  const perTreatment = Array.from({ length: I }, (_, i) => singleTreatment(foms[i]!, jack[i]!));
  if (J < 2)
    return pointOnly(
      `needs at least 2 readers and 2 cases (here 1 reader and ${cases} cases)`,
      null,
      perReader,
      perTreatment,
    );

  let varSum = 0;
  let varN = 0;
  let c1 = 0;
  let n1 = 0;
  let c2 = 0;
  let n2 = 0;
  let c3 = 0;
  let n3 = 0;
  for (let i = 0; i < I; i++)
    for (let j = 0; j < J; j++)
      for (let ip = 0; ip < I; ip++)
        for (let jp = 0; jp < J; jp++) {
          const c = jackCov(jack[i]![j]!, jack[ip]![jp]!);
          if (i === ip && j === jp) {
            varSum += c;
            varN++;
          } else if (i !== ip && j === jp) {
            c1 += c;
            n1++;
          } else if (i === ip && j !== jp) {
            c2 += c;
            n2++;
          } else {
            c3 += c;
            n3++;
          }
        }
  const components: OrVarianceComponents = {
    varError: varSum / varN,
    cov1: c1 / n1,
    cov2: c2 / n2,
    cov3: c3 / n3,
    msT: 0,
    msR: 0,
    msTR: 0,
  };

  const readerMeans = Array.from({ length: J }, (_, j) => mean(foms.map((row) => row[j]!)));
  const grand = mean(treatmentMeans);
  components.msT = (J / (I - 1)) * treatmentMeans.reduce((s, m) => s + (m - grand) ** 2, 0);
  components.msR = (I / (J - 1)) * readerMeans.reduce((s, m) => s + (m - grand) ** 2, 0);
  let tr = 0;
  let largestResidual = 0;
  for (let i = 0; i < I; i++)
    for (let j = 0; j < J; j++) {
      const residual = foms[i]![j]! - treatmentMeans[i]! - readerMeans[j]! + grand;
      tr += residual ** 2;
      largestResidual = Math.max(largestResidual, Math.abs(residual));
    }
  components.msTR = tr / ((I - 1) * (J - 1));

  const scale = Math.max(1, ...foms.flat().map(Math.abs));
  if (largestResidual <= zeroTolerance * scale)
    return pointOnly(
      I === 2
        ? `the readers' differences have no variance: every reader's difference is ${fixed3(estimate)}, so the reader-by-variant variance (and Hillis's degrees of freedom) cannot be estimated`
        : "the readers' differences have no variance: every reader's differences between the treatments are the same, so the reader-by-treatment variance (and Hillis's degrees of freedom) cannot be estimated",
      components,
      perReader,
      perTreatment,
    );

  const denominator = components.msTR + J * Math.max(components.cov2 - components.cov3, 0);
  const f = components.msT / denominator;
  const ndf = I - 1;
  const ddf = denominator ** 2 / (components.msTR ** 2 / ((I - 1) * (J - 1)));
  const stdErr = Math.sqrt((2 / J) * denominator);
  // MS(T×R) > 0 makes ddf ≥ (I−1)(J−1) and the SE positive; the guard keeps a failure plain.
  if (!(Number.isFinite(ddf) && ddf > 0 && stdErr > 0))
    return pointOnly('the variance components are zero or not finite', components, perReader, perTreatment);
  const p = 1 - fCdf(f, ndf, ddf);
  const t = estimate / stdErr;
  const tCrit = studentTQuantile(0.975, ddf);
  const difference: OrDifference = {
    estimate,
    stdErr,
    df: ddf,
    t,
    p: 2 * (1 - studentTCdf(Math.abs(t), ddf)),
    ci95: [estimate - tCrit * stdErr, estimate + tCrit * stdErr],
  };
  return {
    readers: J,
    cases,
    foms,
    treatmentMeans,
    components,
    f,
    ndf,
    ddf,
    p,
    unavailable: null,
    difference,
    perReader,
    perTreatment,
  };
}

/**
 * One treatment on its own, readers and cases random (Hillis 2007 single-treatment analysis):
 * SE = √(MS(R)/J + max(Cov2, 0)), df = (MS(R) + J·max(Cov2,0))² / (MS(R)²/(J−1)).
 * With one reader there is no reader variance to estimate: the jackknife variance over cases with
 * K−1 df is used instead (cases random, the reader fixed).
 */
export function singleTreatment(
  foms: readonly number[],
  jack: readonly (readonly number[])[],
): OrTreatmentEstimate {
  const J = foms.length;
  const estimate = mean(foms);
  if (J === 1) {
    const k = jack[0]!.length;
    const se = Math.sqrt(Math.max(jackCov(jack[0]!, jack[0]!), 0));
    const df = Math.max(k - 1, 1);
    const tc = studentTQuantile(0.975, df);
    return { estimate, stdErr: se, df, ci95: [estimate - tc * se, estimate + tc * se] };
  }
  const msR = foms.reduce((s, x) => s + (x - estimate) ** 2, 0) / (J - 1);
  let c2 = 0;
  let n2 = 0;
  for (let j = 0; j < J; j++)
    for (let jp = 0; jp < J; jp++)
      if (j !== jp) {
        c2 += jackCov(jack[j]!, jack[jp]!);
        n2++;
      }
  const cov2 = c2 / n2;
  const se = Math.sqrt(msR / J + Math.max(cov2, 0));
  const df = msR > 0 ? (msR + J * Math.max(cov2, 0)) ** 2 / (msR ** 2 / (J - 1)) : Number.POSITIVE_INFINITY;
  const tc = Number.isFinite(df) ? studentTQuantile(0.975, df) : z975;
  return { estimate, stdErr: se, df, ci95: [estimate - tc * se, estimate + tc * se] };
}

/** A single treatment's FOM per reader with its jackknife values, for singleTreatment(). */
export function singleTreatmentFrom(
  fom: (reader: number, cases: readonly number[]) => number,
  readers: number,
  cases: number,
): OrTreatmentEstimate {
  const jack = jackknife((_, j, c) => fom(j, c), 1, readers, cases)[0]!;
  const all = Array.from({ length: cases }, (_, k) => k);
  return singleTreatment(
    Array.from({ length: readers }, (_, j) => fom(j, all)),
    jack,
  );
}

/** Wilcoxon (Mann-Whitney) AUC: ratings of abnormal cases above normal ones, ties counting ½. */
export function wilcoxonAuc(normal: readonly number[], abnormal: readonly number[]): number {
  let s = 0;
  for (const a of abnormal) for (const n of normal) s += a > n ? 1 : a === n ? 0.5 : 0;
  return s / (normal.length * abnormal.length);
}
