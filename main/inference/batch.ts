import type { DicomReader } from '../training/data/dataset.ts';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import {
  type DecodedFrame,
  type DicomHeader,
  decodeFrame,
  readDicomHeader,
  saveDicom,
  toModelInput,
  writeClassificationReport,
  writeDerivedImage,
} from '../dicom/index.ts';
import { AppError, serializeError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { readGrayImage, writeGrayPng } from '../util/image-io.ts';
import { onWorkerShutdown } from '../jobs/lifecycle.ts';
import type { JobContext } from '../jobs/types.ts';
import { createInferenceService, type InferenceService } from './service.ts';

const RASTER = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff']);
const DICOM_EXTENSIONS = new Set(['.dcm', '.dicom', '.dic']);

/** A Part 10 file: 'DICM' at offset 128 (what makes an extension-less file DICOM). */
async function hasDicomMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return false;
  try {
    const buffer = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buffer, 0, 4, 128);
    return bytesRead === 4 && buffer.toString('latin1') === 'DICM';
  } finally {
    await handle.close();
  }
}

async function acceptedInFolder(path: string, name: string): Promise<boolean> {
  const ext = extname(name).toLowerCase();
  if (RASTER.has(ext) || DICOM_EXTENSIONS.has(ext)) return true;
  // A DICOMDIR is an index, not an image.
  return ext === '' && name.toUpperCase() !== 'DICOMDIR' && (await hasDicomMagic(path));
}

/** Expands folders (recursively) into the image files the batch commands accept. */
export async function collectInputs(paths: string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info) missing.push(path);
    else if (info.isDirectory()) {
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      for (const entry of entries) {
        const full = join(entry.parentPath, entry.name);
        if (entry.isFile() && (await acceptedInFolder(full, entry.name))) files.push(full);
      }
    } else files.push(path);
  }
  files.sort();
  return { files, missing };
}

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
}

export type BatchItem =
  | {
      file: string;
      model: { id: string; version: string };
      provider: string;
      probabilities: { normal: number; covid: number };
      label: 'covid' | 'normal';
      threshold: number;
      output?: string;
      /** DICOM inputs restored to DICOM: the classification as a Comprehensive SR. */
      report?: string;
      tiles?: number;
      timings: Record<string, number>;
    }
  | { file: string; error: { code: string; message: string } };

/**
 * The models were trained on 8-bit PNGs (level / 255); a DICOM frame after VOI is continuous in
 * [0,1], so it is rounded to the same 256 levels to give the model exactly the inputs it was trained on.
 */
export function toTrainingLevels(image: GrayImage): GrayImage {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.round(Math.min(1, Math.max(0, image.data[i]!)) * 255) / 255;
  return { width: image.width, height: image.height, data };
}

interface DicomSource {
  bytes: Uint8Array;
  header: DicomHeader;
  /** The decoded first frame the model input was made from. */
  frame: DecodedFrame;
}

/** Decodes a raster image or the first frame of a DICOM file to [0,1] gray (bone bright). */
export async function readInput(file: string): Promise<{ image: GrayImage; dicom?: DicomSource }> {
  const ext = extname(file).toLowerCase();
  if (RASTER.has(ext)) return { image: await readGrayImage(file) };
  if (DICOM_EXTENSIONS.has(ext) || (await hasDicomMagic(file))) {
    const buffer = await readFile(file);
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    try {
      const header = readDicomHeader(bytes);
      // Multi-frame: the first frame (modality LUT, VOI and MONOCHROME1 handled by toModelInput).
      const frame = await decodeFrame(bytes, header, 0);
      return { image: toTrainingLevels(toModelInput(bytes, frame, header)), dicom: { bytes, header, frame } };
    } catch (error) {
      if (error instanceof AppError) throw new AppError(error.code, `${basename(file)}: ${error.message}`);
      throw new AppError('bad_input', `${basename(file)}: cannot read DICOM (${(error as Error).message})`);
    }
  }
  throw new AppError(
    'unsupported',
    `${basename(file)}: not a PNG, JPEG, TIFF or DICOM file (no 'DICM' marker at byte 128)`,
  );
}

/**
 * DICOM training and evaluation images go through exactly the decoding inference inputs get (first
 * frame, modality LUT, VOI, MONOCHROME1, 256 levels), so a model is trained on what it will be shown.
 */
export const readDicomAsModelInput: DicomReader = async (file) => (await readInput(file)).image;

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
      const { image, dicom } = await readInput(file);
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
      });
      let output: string | undefined;
      let report: string | undefined;
      const writeStart = performance.now();
      const restored = result.restored.at(-1);
      if (input.outDir && restored) {
        if (format === 'dicom' && dicom) {
          const card = (await service.resolve(input.modelId)).card;
          const modelName = `${card.name} (${card.id})`;
          const derived = await writeDerivedImage({
            source: dicom.bytes,
            image: restored,
            model: { name: modelName, version: card.version },
            seriesDescription: `Restored by ${card.id} ${card.version}`.slice(0, 64),
            frameIndex: 0,
          });
          const sr = writeClassificationReport(dicom.bytes, {
            probabilities: { normal: result.probabilities.normal, 'COVID-19': result.probabilities.covid },
            model: { name: modelName, version: card.version, sha256: card.sha256 },
            frameIndex: 0,
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
      items.push({
        file,
        model: result.model,
        provider: result.provider,
        probabilities: result.probabilities,
        label: result.label,
        threshold: result.threshold,
        ...(output ? { output } : {}),
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
      items.push({ file, error: { code, message } });
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

/** Runs the model on an already-read input with this worker's cached service (sessions reused). */
export function inferWithWorkerService(
  input: Pick<BatchInput, 'shippedDir' | 'localDir' | 'modelId' | 'passes' | 'workingLongSide'>,
  image: GrayImage,
  signal: AbortSignal,
  what: string,
) {
  return serviceFor({ files: [], ...input }).infer(image, {
    modelId: input.modelId,
    passes: input.passes,
    workingLongSide: input.workingLongSide,
    signal,
    what,
  });
}

/** Restores one file with this worker's cached service (e.g. a reader study's restored variant). */
export async function restoreFile(
  input: Pick<BatchInput, 'shippedDir' | 'localDir' | 'modelId' | 'passes' | 'workingLongSide'> & {
    file: string;
  },
  signal: AbortSignal,
): Promise<GrayImage> {
  const { image } = await readInput(input.file);
  const result = await serviceFor({ files: [], ...input }).infer(image, {
    modelId: input.modelId,
    passes: input.passes,
    workingLongSide: input.workingLongSide,
    signal,
    what: basename(input.file),
  });
  return result.restored.at(-1)!;
}
