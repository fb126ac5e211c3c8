// One evaluation of an installed model as the CLI (`r2c eval`) and the app's Models page run it:
// labelled items (optionally the held-out split of a seed), the report, its files (evaluation.json,
// ROC and PSNR-gain plots as SVG and PNG), and the summary a model card keeps.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { DatasetItem } from '../data/index.ts';
import { loadManifest, scanLabelledFolder } from '../data/index.ts';
import { splitThreeWay } from '../data/index.ts';
import { AppError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/image-io.ts';
import { type EvaluationReport, reportPlots } from './evaluate.ts';

export interface ItemSelection {
  /** Keep only the held-out part of this seed's split (grouped by patient). */
  validationSeed?: number;
  validationFraction?: number;
  /**
   * Which held-out part: 'validation' (default; the same images whatever the calibration fraction)
   * or 'calibration' (for choosing thresholds; `calibrationFraction` of all items, default 0.15).
   */
  split?: 'validation' | 'calibration';
  calibrationFraction?: number;
  limit?: number;
}

/** The calibration share `r2c train` recipes hold out, and `r2c eval --split calibration` reads. */
export const DEFAULT_CALIBRATION_FRACTION = 0.15;

/**
 * `limit` items spread evenly over the list, in order: data lists are grouped by class and source,
 * so the first N would often hold one class (no ROC, no threshold) and one source.
 */
export function evenlySpaced<T>(items: readonly T[], limit: number): T[] {
  if (!(Number.isInteger(limit) && limit > 0))
    throw new AppError('bad_input', `the image limit must be a whole number above 0, got ${limit}`);
  if (limit >= items.length) return [...items];
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)] as T);
}

/** Labelled images of a folder (covid/, normal/) or a manifest CSV: PNG, JPEG and DICOM. */
export async function loadEvaluationItems(
  data: string,
  selection: ItemSelection = {},
): Promise<DatasetItem[]> {
  let items = data.toLowerCase().endsWith('.csv')
    ? await loadManifest(data, { includeDicom: true })
    : await scanLabelledFolder(data, { includeDicom: true });
  if (selection.validationSeed !== undefined) {
    const fraction = selection.validationFraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1))
      throw new AppError('bad_input', `the validation fraction must be between 0 and 1, got ${fraction}`);
    const calibrationFraction = selection.calibrationFraction ?? DEFAULT_CALIBRATION_FRACTION;
    if (!(calibrationFraction > 0 && calibrationFraction + fraction < 1))
      throw new AppError(
        'bad_input',
        `the calibration fraction must be above 0 and leave training data with validation ${fraction}, got ${calibrationFraction}`,
      );
    const parts = splitThreeWay(items, {
      seed: selection.validationSeed,
      validationFraction: fraction,
      calibrationFraction,
    });
    items = selection.split === 'calibration' ? parts.calibration : parts.validation;
  }
  if (selection.limit !== undefined) items = evenlySpaced(items, selection.limit);
  if (items.length === 0) throw new AppError('bad_input', `no labelled images found in ${data}`);
  return items;
}

export interface EvaluationResult {
  model: { id: string; version: string };
  provider: string;
  data: string;
  count: number;
  report: EvaluationReport;
}

/** evaluation.json and the plots, each written atomically. */
export async function writeEvaluation(outDir: string, result: EvaluationResult): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, 'evaluation.json'), `${JSON.stringify(result, null, 1)}\n`);
  const plots = reportPlots(result.report);
  for (const [name, svg] of Object.entries({ roc: plots.roc, 'psnr-gain': plots.psnrGain })) {
    await writeFileAtomic(join(outDir, `${name}.svg`), svg);
    await writeFileAtomic(join(outDir, `${name}.png`), await sharp(Buffer.from(svg)).png().toBuffer());
  }
}

/** What a model card's `metrics` keeps from an evaluation (the Models page shows it). */
export function cardMetrics(result: EvaluationResult, evaluatedOn: string) {
  const c = result.report.classification;
  return {
    evaluatedOn,
    f1: { clean: c.clean.metrics.f1, degraded: c.degraded.metrics.f1, restored: c.restored.metrics.f1 },
    auc: { clean: c.clean.auc, degraded: c.degraded.auc, restored: c.restored.auc },
    psnrGainDb: result.report.restoration.restored.overall.psnrGain,
    ssimGain: result.report.restoration.restored.overall.ssimGain,
    gridRatio: {
      restored: result.report.restoration.restored.overall.gridRatio,
      cleanInput: result.report.restoration.identity.gridRatio,
    },
    withinSource: c.withinSource.map((s) => ({
      source: s.source,
      count: s.count,
      f1: { clean: s.clean.f1, degraded: s.degraded.f1, restored: s.restored.f1 },
      auc: { clean: s.clean.auc, degraded: s.degraded.auc, restored: s.restored.auc },
    })),
  };
}
