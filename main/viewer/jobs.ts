// Viewer job handlers (run in a job worker): the original image in its own units, and the model's
// restoration + classification of it, written to the results folder for reuse.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dicomFrameToModelInput } from '../data/input/index.ts';
import { decodeFrame, readDicomHeader } from '../dicom/index.ts';
import { gateAttributes, inferWithWorkerService } from '../inference/index.ts';
import { IntendedUseRefusal, type IntendedUseOverride } from '../inference/index.ts';
import type { JobHandler } from '../jobs/types.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AppError, cancelledError, serializeError } from '../util/errors.ts';
import { readVerifiedFile } from '../util/verified-read.ts';
import { buildViewerImage, mappingOf, type ModelInputMapping, type ViewerImage } from './frame.ts';

export interface ViewerFileInput {
  path: string;
  /** The file must still have this SHA-256 (a referenced original may have changed since import). */
  sha256: string;
  /** Names the item in error messages (never a patient name). */
  label: string;
}

export const loadViewerImage: JobHandler<ViewerFileInput & { frame?: number }, ViewerImage> = async (
  input,
  context,
) => {
  const bytes = await readVerifiedFile(input.path, input.label, input.sha256);
  if (context.signal.aborted) throw cancelledError('image loading');
  const header = readDicomHeader(bytes);
  const index = input.frame ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= header.numberOfFrames)
    throw new AppError(
      'not_found',
      `${input.label} has ${header.numberOfFrames} frame${header.numberOfFrames === 1 ? '' : 's'}; frame ${index + 1} does not exist`,
    );
  const frame = await decodeFrame(bytes, header, index);
  return buildViewerImage(bytes, header, frame);
};

/** What an analysis leaves behind (record.json in its folder and the library's results row). */
export interface AnalysisRecord {
  model: { id: string; version: string; sha256: string };
  provider: string;
  threshold: number;
  probabilities: { normal: number; covid: number };
  label: 'covid' | 'normal';
  passes: number;
  workingLongSide: number;
  /** Size of the restored images and the heat map. */
  working: { width: number; height: number };
  /** How model-domain values map back to the original's units. */
  mapping: ModelInputMapping;
  /** Positive / negative / indeterminate with the band and validation figures (absent on older records). */
  certainty?: Awaited<ReturnType<typeof inferWithWorkerService>>['certainty'];
  /** What the input gate found, and the user's override when it refused. */
  intendedUse?: Awaited<ReturnType<typeof inferWithWorkerService>>['intendedUse'];
  /** The heat map's fixed model-wide scale, or 'per-image' (absent on older records: per image). */
  heatmapScale?: Awaited<ReturnType<typeof inferWithWorkerService>>['heatmapScale'];
  /** The original's metadata (its pixels excluded), for building restored ViewerImages. */
  original: Omit<ViewerImage, 'pixels'>;
  instanceSha256: string;
  createdAt: string;
  timings: Record<string, number>;
}

export interface AnalyseInput extends ViewerFileInput {
  shippedDir: string;
  localDir?: string;
  modelId: string;
  modelSha256: string;
  passes: number;
  workingLongSide: number;
  /** Folder the restored passes, heat map and record go to (created). */
  outDir: string;
  /** The user classifies an image the input gate refuses (recorded in the record). */
  overrideIntendedUse?: IntendedUseOverride;
}

export const restoredFile = (pass: number) => `restored-pass${pass}.f32`;
export const HEATMAP_FILE = 'heatmap.u8';
export const RECORD_FILE = 'record.json';

export const analyseForViewer: JobHandler<AnalyseInput, AnalysisRecord> = async (input, context) => {
  const total = input.passes + 3;
  const step = (done: number, message: string) => {
    if (context.signal.aborted) throw cancelledError('restoration');
    context.progress({ done, total, message });
  };
  step(0, 'reading the image');
  const bytes = await readVerifiedFile(input.path, input.label, input.sha256);
  const header = readDicomHeader(bytes);
  const frame = await decodeFrame(bytes, header, 0);
  const viewerImage = buildViewerImage(bytes, header, frame);
  // The model input is the windowed frame (the input module's conversion, as for every command);
  // its VOI is kept to map results back.
  const { image, voi } = dicomFrameToModelInput(bytes, frame, header);
  step(1, `restoring (${input.passes} pass${input.passes > 1 ? 'es' : ''}) and classifying`);
  let result: Awaited<ReturnType<typeof inferWithWorkerService>>;
  try {
    result = await inferWithWorkerService(input, image, context.signal, input.label, {
      attributes: gateAttributes({ bytes, header }),
      override: input.overrideIntendedUse,
    });
  } catch (error) {
    if (context.signal.aborted) throw cancelledError('restoration');
    if (error instanceof IntendedUseRefusal) throw error;
    const { code, message } = serializeError(error);
    throw new AppError(code, `${input.label} could not be restored: ${message}`);
  }
  step(1 + input.passes, 'saving the results');
  await mkdir(input.outDir, { recursive: true });
  for (const [index, restored] of result.restored.entries()) {
    await writeFileAtomic(join(input.outDir, restoredFile(index + 1)), new Uint8Array(restored.data.buffer));
  }
  const heat = new Uint8Array(result.heatmap.data.length);
  for (let i = 0; i < heat.length; i++)
    heat[i] = Math.round(Math.min(1, Math.max(0, result.heatmap.data[i]!)) * 255);
  await writeFileAtomic(join(input.outDir, HEATMAP_FILE), heat);
  // The record keeps no patient data: restored images are shown without the overlay.
  const { pixels: _pixels, overlay: _overlay, ...metadata } = viewerImage;
  const original = { ...metadata, overlay: null };
  const last = result.restored.at(-1) ?? result.heatmap;
  const record: AnalysisRecord = {
    model: { ...result.model, sha256: input.modelSha256 },
    provider: result.provider,
    threshold: result.threshold,
    probabilities: result.probabilities,
    label: result.label,
    certainty: result.certainty,
    ...(result.intendedUse ? { intendedUse: result.intendedUse } : {}),
    heatmapScale: result.heatmapScale,
    passes: result.restored.length,
    workingLongSide: input.workingLongSide,
    working: { width: last.width, height: last.height },
    mapping: mappingOf(voi, viewerImage),
    original,
    instanceSha256: input.sha256,
    createdAt: new Date().toISOString(),
    timings: result.timings,
  };
  // The record goes last: a folder without one is an unfinished analysis and is redone.
  await writeFileAtomic(join(input.outDir, RECORD_FILE), JSON.stringify(record));
  step(total, 'done');
  return record;
};
