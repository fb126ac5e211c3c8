// Viewer job handlers (run in a job worker): the original image in its own units, and the model's
// restoration + classification of it, written to the results folder for reuse.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyVoi, decodeFrame, readDicomHeader, toModelInput } from '../dicom/index.ts';
import { inferWithWorkerService, toTrainingLevels } from '../inference/batch.ts';
import type { JobHandler } from '../jobs/types.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AppError, cancelledError, serializeError } from '../util/errors.ts';
import { buildViewerImage, mappingOf, type ModelInputMapping, type ViewerImage } from './frame.ts';

export interface ViewerFileInput {
  path: string;
  /** The file must still have this SHA-256 (a referenced original may have changed since import). */
  sha256: string;
  /** Names the item in error messages (never a patient name). */
  label: string;
}

async function readChecked(input: ViewerFileInput): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(input.path);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read';
    throw new AppError('not_found', `the file of ${input.label} ${why}`);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== input.sha256)
    throw new AppError('integrity', `the file of ${input.label} changed since it was imported`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const loadViewerImage: JobHandler<ViewerFileInput, ViewerImage> = async (input, context) => {
  const bytes = await readChecked(input);
  if (context.signal.aborted) throw cancelledError('image loading');
  const header = readDicomHeader(bytes);
  const frame = await decodeFrame(bytes, header, 0);
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
  const bytes = await readChecked(input);
  const header = readDicomHeader(bytes);
  const frame = await decodeFrame(bytes, header, 0);
  const viewerImage = buildViewerImage(bytes, header, frame);
  const voi = viewerImage.components === 1 ? applyVoi(bytes, frame, header).voi : undefined;
  step(1, `restoring (${input.passes} pass${input.passes > 1 ? 'es' : ''}) and classifying`);
  const image = toTrainingLevels(toModelInput(bytes, frame, header));
  let result: Awaited<ReturnType<typeof inferWithWorkerService>>;
  try {
    result = await inferWithWorkerService(input, image, context.signal, input.label);
  } catch (error) {
    if (context.signal.aborted) throw cancelledError('restoration');
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
  const { pixels: _pixels, ...original } = viewerImage;
  const last = result.restored.at(-1) ?? result.heatmap;
  const record: AnalysisRecord = {
    model: { ...result.model, sha256: input.modelSha256 },
    provider: result.provider,
    threshold: result.threshold,
    probabilities: result.probabilities,
    label: result.label,
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
