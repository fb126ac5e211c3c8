import { prepareForTest } from '../data/index.ts';
import type { DatasetItem, Label } from '../data/index.ts';
import { readDicomAsModelInput } from '../inference/index.ts';
import { loadItemImage } from '../data/index.ts';
import type { ArtifactType, DegradationOptions, SampledArtifact } from '../data/index.ts';
import { artifactTypes, degrade } from '../data/index.ts';
import { Rng } from '../data/index.ts';
import { AppError, cancelledError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import type { BaselineName } from './baselines.ts';
import { baselineNames, baselines as baselineFilters } from './baselines.ts';
import type { ClassificationReport } from './classification.ts';
import { classificationReport } from './classification.ts';
import { barChartSvg, rocCurveSvg } from './plots.ts';
import { gridRatio, nyquistPeak, psnr, ssim } from './restoration.ts';
import { bestF1Threshold, type CrossFitted, crossFittedThreshold, type OperatingPoint } from './threshold.ts';

/** Per-image PSNR is capped here before averaging, so one identical pair cannot make the mean infinite. */
export const psnrCapDb = 100;

export type ClassifyFn = (image: GrayImage, signal?: AbortSignal) => Promise<{ covid: number }>;
export type RestoreFn = (image: GrayImage, signal?: AbortSignal) => Promise<GrayImage>;

export interface EvaluateOptions {
  items: readonly DatasetItem[];
  /** COVID-19 probability of a [0,1] image of size x size. */
  classify: ClassifyFn;
  /** Restores a [0,1] image of size x size; output of the same size, clipped to [0,1] here. */
  restore: RestoreFn;
  /** Each image's degradation derives from this seed and the image id, so it does not depend on order. */
  degradationSeed: number | string;
  degradation?: DegradationOptions;
  /** Test images are resized to size x size (the reference's test transform). Default 256. */
  size?: number;
  /** COVID-19 when the probability is above this. Default 0.5. */
  threshold?: number;
  /** Classical baselines to run on the degraded images. Default: all. */
  baselines?: readonly BaselineName[];
  loadImage?: (item: DatasetItem) => Promise<GrayImage>;
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number; message?: string }) => void;
}

export type Condition = 'clean' | 'degraded' | 'restored' | BaselineName;

export interface ImageRecord {
  id: string;
  label: Label;
  /** The data source (manifest column), when known: within-source metrics group by it. */
  source?: string;
  artifacts: SampledArtifact[];
  /** COVID-19 probability per condition. */
  scores: Partial<Record<Condition, number>>;
  /** Against the clean image, per condition except clean. */
  psnr: Partial<Record<Condition, number>>;
  ssim: Partial<Record<Condition, number>>;
  /** Grid texture against the clean image (gridRatio), per condition except clean. */
  grid: Partial<Record<Condition, number>>;
  /** Spectral peak at the Nyquist frequencies (nyquistPeak), per condition including clean. */
  nyquist: Partial<Record<Condition, number>>;
  /** The model run on the clean image itself: texture it adds where nothing needs restoring. */
  identity: { grid: number; psnr: number };
}

export interface RestorationStats {
  count: number;
  /** Mean PSNR (dB, per-image values capped at psnrCapDb) and mean SSIM against the clean image. */
  psnr: number;
  ssim: number;
  /** Mean per-image gain over the degraded input (0 for the degraded condition itself). */
  psnrGain: number;
  ssimGain: number;
  /** Mean grid ratio against the clean image (1.0 = no added pixel-period texture). */
  gridRatio: number;
  /** Mean Nyquist spectral peak of the images (compare with the clean images' value). */
  nyquistPeak: number;
}

/** F1 (at the report's threshold) and ROC AUC of one subset in one condition. */
export interface SubsetScores {
  f1: number;
  auc: number;
}

/** Classification within one data source holding both classes: there the source is no shortcut. */
export interface SourceClassification {
  source: string;
  count: number;
  covid: number;
  normal: number;
  clean: SubsetScores;
  degraded: SubsetScores;
  restored: SubsetScores;
}

export interface RestorationSummary {
  overall: RestorationStats;
  /** Images whose degradation includes that artifact type (an image counts for each of its types). */
  byType: Partial<Record<ArtifactType, RestorationStats>>;
  /** Images by number of artifacts ("1", "2", "3"). */
  byArtifactCount: Record<string, RestorationStats>;
}

export interface EvaluationReport {
  config: {
    count: number;
    size: number;
    threshold: number;
    degradationSeed: number | string;
    degradation: DegradationOptions;
    baselines: BaselineName[];
  };
  classification: {
    clean: ClassificationReport;
    degraded: ClassificationReport;
    restored: ClassificationReport;
    baselines: Partial<Record<BaselineName, ClassificationReport>>;
    /** Per data source that holds both classes (sources are known from a manifest's source column). */
    withinSource: SourceClassification[];
  };
  restoration: {
    degraded: RestorationSummary;
    restored: RestorationSummary;
    baselines: Partial<Record<BaselineName, RestorationSummary>>;
    /** The model on clean inputs: mean grid ratio and PSNR against the input; clean Nyquist peak. */
    identity: { gridRatio: number; psnr: number; cleanNyquistPeak: number };
  };
  /**
   * What a tuned threshold would give: the F1-optimal threshold on these images (optimistic: chosen
   * and scored on the same images) and its cross-fitted estimate (2 folds by patient). Null when the
   * set is too small or has one class only.
   */
  operatingPoints: Record<
    'clean' | 'degraded' | 'restored',
    { bestF1: OperatingPoint; crossFitted: CrossFitted } | null
  >;
  images: ImageRecord[];
}

function clip01(image: GrayImage): GrayImage {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, image.data[i]!));
  return { width: image.width, height: image.height, data };
}

/** Callbacks get their own copy, so one that writes into its input cannot change later measurements. */
function copyOf(image: GrayImage): GrayImage {
  return { width: image.width, height: image.height, data: image.data.slice() };
}

async function scoreOf(classify: ClassifyFn, image: GrayImage, signal?: AbortSignal): Promise<number> {
  const result = await classify(copyOf(image), signal);
  const p = result?.covid;
  if (typeof p !== 'number' || !Number.isFinite(p)) {
    throw new AppError(
      'bad_input',
      `classify returned ${String(p)} instead of a finite COVID-19 probability`,
    );
  }
  return p;
}

/**
 * Evaluates any classifier/restorer pair on a labelled set: every image is resized to the test size,
 * degraded reproducibly, restored by the callback and by the classical baselines, and classified in each
 * state. Works one image at a time (memory does not grow with the set) and checks the signal between steps.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvaluationReport> {
  const size = options.size ?? 256;
  const threshold = options.threshold ?? 0.5;
  const chosenBaselines = [...(options.baselines ?? baselineNames)];
  const load =
    options.loadImage ?? ((item: DatasetItem) => loadItemImage(item, { readDicom: readDicomAsModelInput }));
  const { signal } = options;
  const total = options.items.length;
  if (total === 0) throw new AppError('bad_input', 'evaluation needs at least one labelled image');
  const check = () => {
    if (signal?.aborted) throw cancelledError('evaluation');
  };
  const images: ImageRecord[] = [];
  options.onProgress?.({ done: 0, total });
  for (const item of options.items) {
    check();
    const clean = prepareForTest(await load(item), size);
    const { image: degraded, artifacts } = degrade(
      clean,
      new Rng(options.degradationSeed, 'evaluate', item.id),
      options.degradation,
    );
    check();
    const restoredRaw = await options.restore(copyOf(degraded), signal);
    if (restoredRaw.width !== size || restoredRaw.height !== size) {
      throw new AppError(
        'bad_input',
        `restore returned a ${restoredRaw.width}x${restoredRaw.height} image for a ${size}x${size} input`,
      );
    }
    const outputs: [Condition, GrayImage][] = [
      ['degraded', degraded],
      ['restored', clip01(restoredRaw)],
    ];
    for (const name of chosenBaselines) outputs.push([name, clip01(baselineFilters[name](degraded))]);
    check();
    const identityRaw = await options.restore(copyOf(clean), signal);
    const identity = clip01(identityRaw);
    const record: ImageRecord = {
      id: item.id,
      label: item.label,
      ...(item.source ? { source: item.source } : {}),
      artifacts,
      scores: {},
      psnr: {},
      ssim: {},
      grid: {},
      nyquist: { clean: nyquistPeak(clean) },
      identity: { grid: gridRatio(clean, identity), psnr: psnr(clean, identity) },
    };
    check();
    record.scores.clean = await scoreOf(options.classify, clean, signal);
    for (const [condition, image] of outputs) {
      check();
      record.scores[condition] = await scoreOf(options.classify, image, signal);
      record.psnr[condition] = psnr(clean, image);
      record.ssim[condition] = ssim(clean, image);
      record.grid[condition] = gridRatio(clean, image);
      record.nyquist[condition] = nyquistPeak(image);
    }
    images.push(record);
    options.onProgress?.({ done: images.length, total });
  }

  const groups = options.items.map((item) => item.patientId ?? item.splitGroup ?? item.id);
  const operatingPoint = (condition: Condition) => {
    const actual = images.map((r) => r.label === 'covid');
    const scores = images.map((r) => r.scores[condition]!);
    const classes = new Set(actual);
    if (classes.size < 2 || new Set(groups).size < 4) return null;
    return {
      bestF1: bestF1Threshold(scores, actual),
      crossFitted: crossFittedThreshold(scores, actual, groups, { folds: 2, seed: 'r2c-eval-threshold' }),
    };
  };
  const restorationBaselines: Partial<Record<BaselineName, RestorationSummary>> = {};
  for (const name of chosenBaselines) restorationBaselines[name] = summarize(images, name);
  return {
    config: {
      count: images.length,
      size,
      threshold,
      degradationSeed: options.degradationSeed,
      degradation: options.degradation ?? {},
      baselines: chosenBaselines,
    },
    classification: classificationAt(images, threshold, chosenBaselines),
    restoration: {
      degraded: summarize(images, 'degraded'),
      restored: summarize(images, 'restored'),
      baselines: restorationBaselines,
      identity: {
        gridRatio: meanOf(images.map((r) => r.identity.grid)),
        psnr: meanOf(images.map((r) => Math.min(psnrCapDb, r.identity.psnr))),
        cleanNyquistPeak: meanOf(images.map((r) => r.nyquist.clean!)),
      },
    },
    operatingPoints: {
      clean: operatingPoint('clean'),
      degraded: operatingPoint('degraded'),
      restored: operatingPoint('restored'),
    },
    images,
  };
}

/**
 * The decision threshold a model card ships with, chosen on a CALIBRATION split's evaluation (never
 * on the validation split the card reports): F1-optimal over the clean and degraded images together,
 * as the model meets both.
 */
export function thresholdFromCalibration(images: readonly ImageRecord[]): OperatingPoint {
  const scores: number[] = [];
  const actual: boolean[] = [];
  for (const r of images)
    for (const condition of ['clean', 'degraded'] as const) {
      const s = r.scores[condition];
      if (s === undefined) throw new AppError('bad_input', `image ${r.id} has no ${condition} score`);
      scores.push(s);
      actual.push(r.label === 'covid');
    }
  if (new Set(actual).size < 2)
    throw new AppError('bad_input', 'choosing a threshold needs calibration images of both classes');
  return bestF1Threshold(scores, actual);
}

function meanOf(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function stats(records: readonly ImageRecord[], condition: Condition): RestorationStats {
  let p = 0;
  let s = 0;
  let pg = 0;
  let sg = 0;
  for (const r of records) {
    const cp = Math.min(psnrCapDb, r.psnr[condition]!);
    p += cp;
    s += r.ssim[condition]!;
    pg += cp - Math.min(psnrCapDb, r.psnr.degraded!);
    sg += r.ssim[condition]! - r.ssim.degraded!;
  }
  const n = records.length;
  const gridRatio = meanOf(records.map((r) => r.grid[condition]!));
  const nyquistPeak = meanOf(records.map((r) => r.nyquist[condition]!));
  return n === 0
    ? {
        count: 0,
        psnr: Number.NaN,
        ssim: Number.NaN,
        psnrGain: Number.NaN,
        ssimGain: Number.NaN,
        gridRatio,
        nyquistPeak,
      }
    : { count: n, psnr: p / n, ssim: s / n, psnrGain: pg / n, ssimGain: sg / n, gridRatio, nyquistPeak };
}

/** The report's classification sections at `threshold`, from the per-image scores. */
function classificationAt(
  images: readonly ImageRecord[],
  threshold: number,
  baselineNames: readonly BaselineName[],
): EvaluationReport['classification'] {
  const actual = images.map((r) => r.label === 'covid');
  const classify = (condition: Condition) =>
    classificationReport(
      images.map((r) => r.scores[condition]!),
      actual,
      threshold,
    );
  const baselines: Partial<Record<BaselineName, ClassificationReport>> = {};
  for (const name of baselineNames) baselines[name] = classify(name);
  return {
    clean: classify('clean'),
    degraded: classify('degraded'),
    restored: classify('restored'),
    baselines,
    withinSource: withinSource(images, threshold),
  };
}

/**
 * The same evaluation at another decision threshold (e.g. one chosen on a calibration split): the
 * classification sections recomputed from the stored per-image scores; restoration is unchanged.
 */
export function reportAtThreshold(report: EvaluationReport, threshold: number): EvaluationReport {
  if (!(threshold >= 0 && threshold < 1))
    throw new RangeError(`threshold must be in [0, 1), got ${threshold}`);
  return {
    ...report,
    config: { ...report.config, threshold },
    classification: classificationAt(report.images, threshold, report.config.baselines),
  };
}

/** Within-source classification for every source with both classes. */
function withinSource(images: readonly ImageRecord[], threshold: number): SourceClassification[] {
  const sources = [...new Set(images.map((r) => r.source).filter((s): s is string => !!s))].sort();
  const out: SourceClassification[] = [];
  for (const source of sources) {
    const subset = images.filter((r) => r.source === source);
    const actual = subset.map((r) => r.label === 'covid');
    const covid = actual.filter(Boolean).length;
    if (covid === 0 || covid === subset.length) continue;
    const scores = (condition: Condition): SubsetScores => {
      const r = classificationReport(
        subset.map((x) => x.scores[condition]!),
        actual,
        threshold,
      );
      return { f1: r.metrics.f1, auc: r.auc };
    };
    out.push({
      source,
      count: subset.length,
      covid,
      normal: subset.length - covid,
      clean: scores('clean'),
      degraded: scores('degraded'),
      restored: scores('restored'),
    });
  }
  return out;
}

function summarize(records: readonly ImageRecord[], condition: Condition): RestorationSummary {
  const byType: Partial<Record<ArtifactType, RestorationStats>> = {};
  for (const type of artifactTypes) {
    const subset = records.filter((r) => r.artifacts.some((a) => a.type === type));
    if (subset.length > 0) byType[type] = stats(subset, condition);
  }
  const byArtifactCount: Record<string, RestorationStats> = {};
  const counts = [...new Set(records.map((r) => r.artifacts.length))].sort((a, b) => a - b);
  for (const count of counts) {
    byArtifactCount[String(count)] = stats(
      records.filter((r) => r.artifacts.length === count),
      condition,
    );
  }
  return { overall: stats(records, condition), byType, byArtifactCount };
}

/** The report's plots as standalone SVG: ROC curves per condition, PSNR gain per artifact type. */
export function reportPlots(report: EvaluationReport): { roc: string; psnrGain: string } {
  const rocSeries = [
    { name: 'clean', report: report.classification.clean },
    { name: 'degraded', report: report.classification.degraded },
    { name: 'restored', report: report.classification.restored },
    ...Object.entries(report.classification.baselines).map(([name, r]) => ({ name, report: r })),
  ].map(({ name, report: r }) => ({ name, points: r.roc, auc: r.auc }));
  const types = artifactTypes.filter((t) => report.restoration.degraded.byType[t]);
  const categories = ['all', ...types];
  const gains = (summary: RestorationSummary) => [
    summary.overall.psnrGain,
    ...types.map((t) => summary.byType[t]?.psnrGain ?? Number.NaN),
  ];
  const series = [
    { name: 'restored', values: gains(report.restoration.restored) },
    ...Object.entries(report.restoration.baselines).map(([name, summary]) => ({
      name,
      values: gains(summary),
    })),
  ];
  return {
    roc: rocCurveSvg(rocSeries, { title: 'COVID-19 classification ROC' }),
    psnrGain: barChartSvg({
      title: 'PSNR gain over the degraded input, per degradation type',
      yLabel: 'PSNR gain (dB)',
      categories,
      series,
    }),
  };
}
