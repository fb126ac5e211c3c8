import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { AppError, serializeError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { readGrayImage, writeGrayPng } from '../util/image-io.ts';
import type { JobContext } from '../jobs/types.ts';
import { createInferenceService, type InferenceService } from './service.ts';

const RASTER = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff']);

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
        if (entry.isFile() && RASTER.has(extname(entry.name).toLowerCase()))
          files.push(join(entry.parentPath, entry.name));
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
  threads?: number;
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
      timings: Record<string, number>;
    }
  | { file: string; error: { code: string; message: string } };

async function readInput(file: string): Promise<GrayImage> {
  if (RASTER.has(extname(file).toLowerCase())) return readGrayImage(file);
  throw new AppError('unsupported', `${basename(file)}: only PNG, JPEG and TIFF images are supported so far`);
}

// One service per worker, so model sessions are reused across jobs.
let cached: { key: string; service: InferenceService } | undefined;
function serviceFor(input: BatchInput): InferenceService {
  const key = `${input.shippedDir}|${input.localDir ?? ''}|${input.threads ?? 2}`;
  if (cached?.key !== key) {
    void cached?.service.close();
    cached = {
      key,
      service: createInferenceService({
        shippedDir: input.shippedDir,
        localDir: input.localDir,
        threads: input.threads,
      }),
    };
  }
  return cached.service;
}

/** Restores and/or classifies files one by one; a failing file is reported and the rest go on. */
export async function processImages(input: BatchInput, context: JobContext): Promise<{ items: BatchItem[] }> {
  const service = serviceFor(input);
  const items: BatchItem[] = [];
  for (const [index, file] of input.files.entries()) {
    if (context.signal.aborted) break;
    context.progress({ done: index, total: input.files.length, message: basename(file) });
    const started = performance.now();
    try {
      const image = await readInput(file);
      const decodeMs = performance.now() - started;
      const result = await service.infer(image, {
        modelId: input.modelId,
        passes: input.passes,
        workingLongSide: input.workingLongSide,
        signal: context.signal,
        what: basename(file),
      });
      let output: string | undefined;
      const writeStart = performance.now();
      if (input.outDir) {
        output = join(input.outDir, `${basename(file, extname(file))}_restored.png`);
        await writeGrayPng(output, result.restored.at(-1)!);
      }
      items.push({
        file,
        model: result.model,
        provider: result.provider,
        probabilities: result.probabilities,
        label: result.label,
        threshold: result.threshold,
        ...(output ? { output } : {}),
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
