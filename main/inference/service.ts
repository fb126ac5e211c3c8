import { arch, platform } from 'node:os';
import { type InferenceRunner, loadInferenceModel } from '../../models/index.ts';
import { AppError, cancelledError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { PromiseCache } from '../util/promise-cache.ts';
import {
  defaultModel,
  findModel,
  type InstalledModel,
  listModels,
  readVerifiedModel,
} from './model-store.ts';
import {
  camToHeatmap,
  checkInput,
  fromModelTensor,
  toClassificationTensor,
  toWorkingTensor,
} from './preprocess.ts';
import {
  assessIntendedUse,
  CHEST_RADIOGRAPH_INPUT,
  type IntendedUseAttributes,
  type IntendedUseOverride,
  type IntendedUseResult,
  intendedUseError,
} from './intended-use.ts';
import { DEFAULT_TILE_PIXEL_BUDGET, loadTiledModel, type TiledRunner } from './tiling.ts';
import { certaintyOf, type ResultCertainty } from './uncertainty.ts';
import {
  cudaProviderInstalled,
  type ProviderAttempt,
  providerCandidates,
  withProviderFallback,
} from './providers.ts';

export interface InferenceConfig {
  shippedDir: string;
  localDir?: string;
  threads?: number;
  /** Overrides the platform's provider list (tests, or a user forcing CPU). */
  providers?: string[];
  /** Models given by path rather than installed (see adHocModel). */
  extraModels?: InstalledModel[];
  /** Working images (padded) above this many pixels are restored in tiles; default 1024x1024. */
  tilePixelBudget?: number;
  /**
   * Working images (padded) above this many pixels run on sessions without onnxruntime's CPU memory
   * arena (bounded peak memory, ~7% slower); default 512x512.
   */
  arenaPixelLimit?: number;
}

export interface InferOptions {
  modelId?: string;
  /** Restoration passes (the reference shows 1 to 3); 0 classifies only. */
  passes?: number;
  /** Long side of the restoration working size; default from the model card. */
  workingLongSide?: number;
  signal?: AbortSignal;
  /** Label for error messages (a file name, never patient data). */
  what?: string;
  /** Tiling overrides (tests, benchmarks): longest tile side incl. halo, halo in pixels. */
  tiling?: { tileSize?: number; halo?: number; force?: boolean };
  /**
   * Input gate (every user-facing path sets it; evaluation on labelled sets does not): the image is
   * refused ('unsupported', "outside the model's intended use", naming the attributes) when its DICOM
   * attributes contradict the card's intended input or it does not look like a chest radiograph,
   * unless `override` is given, which is then recorded in the result.
   */
  gate?: { attributes?: IntendedUseAttributes | undefined; override?: IntendedUseOverride | undefined };
}

export interface InferResult {
  /** The exact model: id, version and the SHA-256 of its ONNX file. */
  model: { id: string; version: string; sha256: string };
  provider: string;
  threshold: number;
  probabilities: { normal: number; covid: number };
  /** By the threshold alone (kept for callers that need two classes); see `certainty.decision`. */
  label: 'covid' | 'normal';
  /** Positive / negative / indeterminate, the band and the validation figures at the threshold. */
  certainty: ResultCertainty;
  /** Present when the input gate ran: what it found, and the user's override if it refused. */
  intendedUse?: IntendedUseResult & { override?: IntendedUseOverride };
  /** Heat value 1 is this class-activation value for every image of this model ('per-image': no fixed scale). */
  heatmapScale: { max: number; chosenOn: string } | 'per-image';
  /** Restored image after each pass, [0,1], at working size. */
  restored: GrayImage[];
  /** Where the classifier saw COVID-19 evidence, [0,1], at working size. */
  heatmap: GrayImage;
  /** Restoration ran in this many tiles (1: whole image). */
  tiles: number;
  timings: {
    loadMs: number;
    preprocessMs: number;
    classifyMs: number;
    restoreMs: number;
    /** Time inside onnxruntime (classification + restoration runs). */
    modelMs: number;
  };
}

interface LoadedModel {
  model: InstalledModel;
  runner: InferenceRunner;
  provider: string;
  failed: ProviderAttempt[];
}

/** Loads models on first use (verified against their cards), keeps their sessions, runs them. */
export function createInferenceService(config: InferenceConfig) {
  // Kept for the life of the service; a model that failed to load is tried again next time.
  const sessions = new PromiseCache<string, LoadedModel>(Number.POSITIVE_INFINITY);

  async function installed() {
    return [...(config.extraModels ?? []), ...(await listModels(config.shippedDir, config.localDir)).models];
  }

  async function resolve(modelId: string | undefined): Promise<InstalledModel> {
    const models = await installed();
    if (modelId) return findModel(models, modelId);
    const model = defaultModel(models);
    if (!model) throw new AppError('not_found', `no model is installed in ${config.shippedDir}`);
    return model;
  }

  async function load(model: InstalledModel, memArena: boolean): Promise<LoadedModel> {
    const bytes = await readVerifiedModel(model);
    const candidates = config.providers ?? providerCandidates(platform(), arch(), cudaProviderInstalled());
    const { session, provider, failed } = await withProviderFallback(candidates, (executionProvider) =>
      loadInferenceModel(
        bytes,
        { executionProvider, threads: config.threads ?? 2, memArena },
        `model file ${model.card.file}`,
      ),
    );
    return { model, runner: session, provider, failed };
  }

  // A job cancelled by shutdown may still be between passes: it must not load a session after close(),
  // which would outlive the worker's cleanup (see jobs/lifecycle.ts).
  let closed = false;
  const closedError = () => new AppError('cancelled', 'the inference service was closed');

  function session(model: InstalledModel, memArena = true): Promise<LoadedModel> {
    if (closed) return Promise.reject(closedError());
    const key = `${model.origin}:${model.card.id}:${model.card.sha256}:${memArena}`;
    return sessions.get(key, () => load(model, memArena));
  }

  // The tiling graph runs on the provider the full model loaded on, without the memory arena.
  const tiledSessions = new PromiseCache<string, TiledRunner>(Number.POSITIVE_INFINITY);
  function tiledSession(model: InstalledModel, provider: string): Promise<TiledRunner> {
    if (closed) return Promise.reject(closedError());
    const key = `${model.origin}:${model.card.id}:${model.card.sha256}:${provider}`;
    return tiledSessions.get(key, () =>
      readVerifiedModel(model).then((bytes) =>
        loadTiledModel(
          bytes,
          { executionProvider: provider, threads: config.threads ?? 2, memArena: false },
          `model file ${model.card.file}`,
          config.tilePixelBudget ?? DEFAULT_TILE_PIXEL_BUDGET,
        ),
      ),
    );
  }

  async function infer(image: GrayImage, options: InferOptions = {}): Promise<InferResult> {
    const what = options.what ?? 'image';
    const passes = options.passes ?? 1;
    if (!Number.isInteger(passes) || passes < 0 || passes > 3) {
      throw new AppError('bad_input', `passes must be 0 (classify only), 1, 2 or 3, got ${passes}`);
    }
    checkInput(image, what);
    const started = performance.now();
    const model = await resolve(options.modelId);
    const { runner, provider } = await session(model);
    const { card } = model;
    const loaded = performance.now();
    const stop = () => {
      if (options.signal?.aborted) throw cancelledError(`processing ${what}`);
    };
    stop();
    let intendedUse: InferResult['intendedUse'];
    if (options.gate) {
      const assessed = assessIntendedUse(
        image,
        options.gate.attributes,
        card.intendedInput ?? CHEST_RADIOGRAPH_INPUT,
      );
      if (!assessed.accepted && !options.gate.override) throw intendedUseError(what, assessed);
      intendedUse = {
        ...assessed,
        ...(!assessed.accepted && options.gate.override ? { override: options.gate.override } : {}),
      };
    }

    const size = card.input.classificationSize;
    const classifyInput = toClassificationTensor(image, size);
    const working = toWorkingTensor(
      image,
      options.workingLongSide ?? card.input.workingLongSide,
      runner.sizeMultiple,
    );
    const preprocessed = performance.now();

    let modelMs = 0;
    const timed = async <T>(run: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await run();
      } finally {
        modelMs += performance.now() - t0;
      }
    };
    const classification = await timed(() => runner.run(classifyInput, [1, 1, size, size]));
    const covid = classification.probabilities[1]!;
    const [, , camHeight, camWidth] = classification.camDims as [number, number, number, number];
    const heatmapScale = card.calibration?.heatmapScale;
    const heatmap = camToHeatmap(
      classification.cam,
      camWidth,
      camHeight,
      working.width,
      working.height,
      heatmapScale?.max,
    );
    const classified = performance.now();
    stop();

    const restored: GrayImage[] = [];
    // At the classification size the first pass is the classification run itself.
    const sameInput =
      working.paddedWidth === size &&
      working.paddedHeight === size &&
      working.width === size &&
      working.height === size;
    const pixels = working.paddedWidth * working.paddedHeight;
    const tiled =
      passes > 0 && (options.tiling?.force || pixels > (config.tilePixelBudget ?? DEFAULT_TILE_PIXEL_BUDGET));
    const large = pixels > (config.arenaPixelLimit ?? 512 * 512);
    const tiler = tiled ? await tiledSession(model, provider) : undefined;
    const restoreRunner = !tiled && large ? (await session(model, false)).runner : runner;
    let tiles = 1;
    let input = working.tensor;
    for (let pass = 0; pass < passes; pass++) {
      let output: Float32Array;
      if (tiler) {
        const result = await timed(() =>
          tiler.run(input, working.paddedWidth, working.paddedHeight, {
            tileSize: options.tiling?.tileSize,
            halo: options.tiling?.halo,
            signal: options.signal,
          }),
        );
        tiles = result.tiles;
        output = result.restored;
      } else if (pass === 0 && sameInput) output = classification.restored;
      else {
        const dims = [1, 1, working.paddedHeight, working.paddedWidth];
        output = (await timed(() => restoreRunner.run(input, dims))).restored;
      }
      restored.push(fromModelTensor(output, working.paddedWidth, working.width, working.height));
      input = output;
      stop();
    }
    const done = performance.now();
    return {
      model: { id: card.id, version: card.version, sha256: card.sha256 },
      provider,
      threshold: card.threshold,
      probabilities: { normal: classification.probabilities[0]!, covid },
      label: covid > card.threshold ? 'covid' : 'normal',
      certainty: certaintyOf(covid, card),
      ...(intendedUse ? { intendedUse } : {}),
      heatmapScale: heatmapScale ?? 'per-image',
      restored,
      heatmap,
      tiles,
      timings: {
        loadMs: loaded - started,
        preprocessMs: preprocessed - loaded,
        classifyMs: classified - preprocessed,
        restoreMs: done - classified,
        modelMs,
      },
    };
  }

  return {
    listModels: installed,
    resolve,
    /** Loads (or reuses) a model's session and reports the execution provider it runs on. */
    async prepare(modelId?: string) {
      const loaded = await session(await resolve(modelId));
      return { model: loaded.model.card, provider: loaded.provider, failedProviders: loaded.failed };
    },
    infer,
    async close() {
      closed = true;
      const all = sessions.clear();
      const tilers = tiledSessions.clear();
      await Promise.allSettled([
        ...all.map(async (s) => (await s).runner.release()),
        ...tilers.map(async (t) => (await t).release()),
      ]);
    },
  };
}

export type InferenceService = ReturnType<typeof createInferenceService>;
