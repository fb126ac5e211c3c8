import { basename, extname, join } from 'node:path';
import { readModelInput, readModelInputImage } from '../data/input/index.ts';
import {
  AI_RESTORED_MARKING,
  type ClassificationAssessment,
  saveDicom,
  writeClassificationReport,
  writeDerivedImage,
} from '../dicom/index.ts';
import { onWorkerShutdown } from '../jobs/lifecycle.ts';
import type { JobContext } from '../jobs/types.ts';
import { AppError, serializeError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { writeGrayPng } from '../util/image-io.ts';
import { transferCorrection } from './full-resolution.ts';
import {
  describeReasons,
  type IntendedUseAttributes,
  type IntendedUseOverride,
  type IntendedUseReason,
  type IntendedUseResult,
  IntendedUseRefusal,
  readPatientAge,
} from './intended-use.ts';
import { createInferenceService, type InferenceService, type InferResult } from './service.ts';
import { DECISION_SUPPORT_STATEMENT, DECISION_TEXT, type ResultCertainty } from './uncertainty.ts';

export interface BatchInput {
  files: string[];
  shippedDir: string;
  localDir?: string;
  modelId?: string;
  passes?: number;
  workingLongSide?: number;
  /** Restore: where restored images go. Absent: classify only. */
  outDir?: string;
  /** Restored image format; default: dicom for DICOM inputs, png for raster inputs. */
  format?: 'dicom' | 'png';
  threads?: number;
  /** Tiling threshold (padded working pixels); default 1024x1024. */
  tilePixelBudget?: number;
  /** Classify images the input gate refuses (recorded in every result of this batch). */
  overrideIntendedUse?: IntendedUseOverride;
  /** Restored output at the working size instead of the original's (default false: full resolution). */
  workingSizeOutput?: boolean;
}

export type BatchItem =
  | {
      file: string;
      /** The exact model: id, version and ONNX SHA-256. */
      model: { id: string; version: string; sha256: string };
      provider: string;
      probabilities: { normal: number; covid: number };
      /** By the threshold alone; `decision` is what to show (positive / negative / indeterminate). */
      label: 'covid' | 'normal';
      decision: ResultCertainty['decision'];
      /** e.g. "Indeterminate", "COVID-19 pattern suggested". */
      decisionText: string;
      threshold: number;
      indeterminate?: { low: number; high: number };
      validation?: ResultCertainty['validation'];
      /** What the input gate found; `override` when it refused and the user classified anyway. */
      intendedUse: IntendedUseResult & { override?: IntendedUseOverride };
      heatmapScale: InferResult['heatmapScale'];
      statement: string;
      output?: string;
      /** Size of the restored output (the original's, unless working-size output was asked for). */
      outputSize?: { width: number; height: number };
      /** DICOM inputs restored to DICOM: the classification as a Comprehensive SR. */
      report?: string;
      tiles?: number;
      timings: Record<string, number>;
    }
  | {
      file: string;
      error: { code: string; message: string };
      /** Refused by the input gate: why (each attribute, or the image's appearance). */
      refused?: IntendedUseReason[];
    };

/** The DICOM attributes the input gate reads, from a decoded header and the file's bytes. */
export function gateAttributes(dicom: {
  bytes: Uint8Array;
  header: IntendedUseAttributes;
}): IntendedUseAttributes {
  const age = readPatientAge(dicom.bytes);
  return { ...dicom.header, ...(age ? { patientAge: age } : {}) };
}

/** How a result is to be read, for the SR (the same fields the JSON line carries). */
export function assessmentOf(result: InferResult): ClassificationAssessment {
  const { certainty, intendedUse } = result;
  return {
    decision: certainty.decision,
    decisionText: DECISION_TEXT[certainty.decision],
    probabilityOf: 'COVID-19',
    threshold: certainty.threshold,
    ...(certainty.indeterminate ? { indeterminate: certainty.indeterminate } : {}),
    ...(certainty.validation ? { validation: certainty.validation } : {}),
    statement: DECISION_SUPPORT_STATEMENT,
    ...(intendedUse?.override
      ? {
          override: {
            by: intendedUse.override.by,
            ...(intendedUse.override.reason ? { reason: intendedUse.override.reason } : {}),
            refusedFor: describeReasons(intendedUse.reasons),
          },
        }
      : {}),
  };
}

/**
 * DICOM training and evaluation images go through exactly the decoding inference inputs get (first
 * frame, modality LUT, VOI, MONOCHROME1, 256 levels), so a model is trained on what it will be shown.
 * (The input module's reader; kept here for the training and evaluation callers.)
 */
export const readDicomAsModelInput: (path: string) => Promise<GrayImage> = readModelInputImage;

/** Any input file as the model sees it (the input module's readModelInput). */
export const readInput = readModelInput;

/** `<name>_<suffix>.<ext>` in `dir`, numbered when an earlier input of this batch took the name. */
function outputPath(dir: string, file: string, suffix: string, ext: string, taken: Set<string>): string {
  const stem = basename(file, extname(file));
  let path = join(dir, `${stem}_${suffix}${ext}`);
  for (let i = 2; taken.has(path); i++) path = join(dir, `${stem}_${suffix}-${i}${ext}`);
  taken.add(path);
  return path;
}

// One service per worker, so model sessions are reused across jobs.
let cached: { key: string; service: InferenceService } | undefined;
onWorkerShutdown(async () => {
  await cached?.service.close();
  cached = undefined;
});
function serviceFor(input: BatchInput): InferenceService {
  const key = `${input.shippedDir}|${input.localDir ?? ''}|${input.threads ?? 2}|${input.tilePixelBudget ?? ''}`;
  if (cached?.key !== key) {
    void cached?.service.close();
    cached = {
      key,
      service: createInferenceService({
        shippedDir: input.shippedDir,
        localDir: input.localDir,
        threads: input.threads,
        tilePixelBudget: input.tilePixelBudget,
      }),
    };
  }
  return cached.service;
}

/** Restores and/or classifies files one by one; a failing file is reported and the rest go on. */
export async function processImages(input: BatchInput, context: JobContext): Promise<{ items: BatchItem[] }> {
  const service = serviceFor(input);
  const items: BatchItem[] = [];
  const taken = new Set<string>();
  for (const [index, file] of input.files.entries()) {
    if (context.signal.aborted) break;
    context.progress({ done: index, total: input.files.length, message: basename(file) });
    const started = performance.now();
    try {
      const { image, dicom } = await readModelInput(file);
      const format = input.format ?? (dicom ? 'dicom' : 'png');
      if (input.outDir && format === 'dicom' && !dicom) {
        throw new AppError(
          'unsupported',
          `${basename(file)}: --format dicom needs a DICOM input (a derived image references its source); use --format png`,
        );
      }
      const decodeMs = performance.now() - started;
      const result = await service.infer(image, {
        modelId: input.modelId,
        passes: input.passes,
        workingLongSide: input.workingLongSide,
        signal: context.signal,
        what: basename(file),
        gate: {
          attributes: dicom ? gateAttributes(dicom) : undefined,
          override: input.overrideIntendedUse,
        },
      });
      let output: string | undefined;
      let report: string | undefined;
      const writeStart = performance.now();
      const working = result.restored.at(-1);
      const restored = working && !input.workingSizeOutput ? transferCorrection(image, working) : working;
      if (input.outDir && restored) {
        if (format === 'dicom' && dicom) {
          const card = (await service.resolve(input.modelId)).card;
          const modelName = `${card.name} (${card.id})`;
          const derived = await writeDerivedImage({
            source: dicom.bytes,
            image: restored,
            model: { name: modelName, version: card.version, sha256: card.sha256 },
            seriesDescription: `AI restored by ${card.id} ${card.version}`.slice(0, 64),
            frameIndex: 0,
            marking: AI_RESTORED_MARKING,
          });
          const sr = writeClassificationReport(dicom.bytes, {
            probabilities: { normal: result.probabilities.normal, 'COVID-19': result.probabilities.covid },
            model: { name: modelName, version: card.version, sha256: card.sha256 },
            frameIndex: 0,
            assessment: assessmentOf(result),
          });
          output = outputPath(input.outDir, file, 'restored', '.dcm', taken);
          report = outputPath(input.outDir, file, 'classification', '.dcm', taken);
          await saveDicom(output, derived);
          await saveDicom(report, sr);
        } else {
          output = outputPath(input.outDir, file, 'restored', '.png', taken);
          await writeGrayPng(output, restored);
        }
      }
      const { certainty } = result;
      items.push({
        file,
        model: result.model,
        provider: result.provider,
        probabilities: result.probabilities,
        label: result.label,
        decision: certainty.decision,
        decisionText: DECISION_TEXT[certainty.decision],
        threshold: result.threshold,
        ...(certainty.indeterminate ? { indeterminate: certainty.indeterminate } : {}),
        ...(certainty.validation ? { validation: certainty.validation } : {}),
        intendedUse: result.intendedUse!,
        heatmapScale: result.heatmapScale,
        statement: DECISION_SUPPORT_STATEMENT,
        ...(output ? { output } : {}),
        ...(output && restored ? { outputSize: { width: restored.width, height: restored.height } } : {}),
        ...(report ? { report } : {}),
        tiles: result.tiles,
        timings: {
          decodeMs,
          ...result.timings,
          writeMs: performance.now() - writeStart,
          totalMs: performance.now() - started,
        },
      });
    } catch (error) {
      if (context.signal.aborted) break;
      const { code, message } = serializeError(error);
      const refused = error instanceof IntendedUseRefusal ? error.reasons : undefined;
      items.push({ file, error: { code, message }, ...(refused ? { refused } : {}) });
    }
  }
  context.progress({ done: items.length, total: input.files.length });
  return { items };
}

/** Loads a model in this worker (so later jobs reuse the session) and reports its provider. */
export async function prepareModel(input: {
  shippedDir: string;
  localDir?: string;
  modelId?: string;
}): Promise<{
  id: string;
  version: string;
  provider: string;
  failedProviders: { provider: string; error: string }[];
}> {
  const prepared = await serviceFor({ files: [], ...input }).prepare(input.modelId);
  return {
    id: prepared.model.id,
    version: prepared.model.version,
    provider: prepared.provider,
    failedProviders: prepared.failedProviders,
  };
}

/**
 * Runs the model on an already-read input with this worker's cached service (sessions reused).
 * The input gate always runs: pass the DICOM attributes (gateAttributes) and the user's override
 * when there is one; without attributes only the image's appearance is checked.
 */
export function inferWithWorkerService(
  input: Pick<BatchInput, 'shippedDir' | 'localDir' | 'modelId' | 'passes' | 'workingLongSide'>,
  image: GrayImage,
  signal: AbortSignal,
  what: string,
  gate: { attributes?: IntendedUseAttributes | undefined; override?: IntendedUseOverride | undefined } = {},
) {
  return serviceFor({ files: [], ...input }).infer(image, {
    modelId: input.modelId,
    passes: input.passes,
    workingLongSide: input.workingLongSide,
    signal,
    what,
    gate,
  });
}

/** Restores one file with this worker's cached service (e.g. a reader study's restored variant). */
export async function restoreFile(
  input: Pick<BatchInput, 'shippedDir' | 'localDir' | 'modelId' | 'passes' | 'workingLongSide'> & {
    file: string;
  },
  signal: AbortSignal,
): Promise<GrayImage> {
  const { image } = await readModelInput(input.file);
  const result = await serviceFor({ files: [], ...input }).infer(image, {
    modelId: input.modelId,
    passes: input.passes,
    workingLongSide: input.workingLongSide,
    signal,
    what: basename(input.file),
  });
  return result.restored.at(-1)!;
}
