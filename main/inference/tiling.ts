// Tiled restoration with whole-image statistics, so memory stays bounded for large working sizes.
//
// Every InstanceNorm and the classifier's global max pool see the whole image, so plain tiles give
// different results. This follows the 'external-norm' design of models/inference.ts (norm statistics
// as inputs, per-piece sums as outputs), with one addition: a `core_mask` input, so the sums and the
// max pool count only each tile's core and never its overlap halo. models' external-norm variant sums
// over the whole piece, which would count halo pixels twice and include border-corrupted features
// (zero/reflect padding at the tile edge); with the mask the accumulated statistics are the
// whole-image statistics up to float rounding.
//
// Exactness: core bounds are multiples of every norm's downsampling factor, so the mask, strided to a
// norm's resolution, selects exactly the core's feature pixels. A tile's features are exact wherever
// they are at least the network's receptive-field radius from an interior tile edge; cores sit `halo`
// from those edges and the feathered seams reach only `halo / 2` into the halo, so every value that
// gets weight equals the whole-image value up to float rounding (test: max |diff| < 1e-5).
import * as ort from 'onnxruntime-node';
// initializerContext and the META_/MODEL_FORMAT names are not on models/index.ts (a known layering
// exception, .dependency-cruiser-known.json).
import {
  Graph,
  initializerContext,
  META_CONFIG,
  META_FORMAT,
  MODEL_FORMAT,
  type NetConfig,
  type Network,
  networkFromConfig,
  ortSessionOptions,
  readWeightsFromOnnx,
  type SessionOptions,
  sizeMultiple,
  type Value,
  type WeightMap,
} from '../../models/index.ts';
import { AppError, cancelledError } from '../util/errors.ts';

/** Working images above this many pixels (after padding) are restored in tiles. */
export const DEFAULT_TILE_PIXEL_BUDGET = 1024 * 1024;

/** Halo (working-resolution pixels) around each tile core: at least twice the receptive-field radius. */
export function defaultHalo(config: NetConfig): number {
  // Operational / compact: ~10 px radius (3x3 stride-2 encoder, two 3x3 convs at half resolution,
  // 3x3 stride-2 decoder). CNN: 7x7 stem + 9 residual blocks at quarter resolution, ~110 px.
  return config.kind === 'convolutional' ? 256 : 32;
}

export interface NormInfo {
  name: string;
  channels: number;
  /** Downsampling of the norm's input relative to the image (1, 2, 4). */
  factor: number;
}

export interface TiledModelGraph {
  /** The final pass: outputs restored, pooled_max, cam. */
  bytes: Uint8Array;
  /**
   * Per norm, the graph pruned to that norm's core sums: onnxruntime runs every node of a graph
   * whatever is fetched, so each statistics pass gets its own smaller graph.
   */
  statsBytes: Uint8Array[];
  config: NetConfig;
  /** Norms in evaluation order: norm k's input depends only on norms before it. */
  norms: NormInfo[];
  featureFactor: number;
  featureChannels: number;
  denseWeight: Float32Array;
  denseBias: Float32Array;
}

const BIG = 2 ** 30;

function strided(g: Graph, mask: Value, factor: number): Value {
  return factor === 1 ? mask : g.slice(mask, [0, 0], [BIG, BIG], [2, 3], [factor, factor]);
}

/** Records each norm's channels and resolution by building the network once at a static size. */
function probe(net: Network, weights: WeightMap, multiple: number) {
  const side = 16 * multiple;
  const g = new Graph('float32');
  const x = g.input('image', [1, net.config.channels, side, side]);
  const ctx = initializerContext(g, net, weights);
  const norms: NormInfo[] = [];
  ctx.norm = (name, v, scale, bias, eps) => {
    norms.push({ name, channels: v.shape[1] as number, factor: side / (v.shape[2] as number) });
    return g.instanceNorm(v, scale, bias, eps);
  };
  const features = net.forward(ctx, x).features as Value;
  return {
    norms,
    featureFactor: side / (features.shape[2] as number),
    featureChannels: features.shape[1] as number,
  };
}

/**
 * The tiling graph of a generator: inputs `image` [1,C,H,W], `core_mask` [1,1,H,W] (1 in the core)
 * and `<norm>.mean` / `<norm>.var` [1,C,1,1]; outputs `restored`, `cam` (unmasked), `pooled_max`
 * [1,C] (max over the core), and `<norm>.sum` / `<norm>.sumsq` [1,C] (sums over the core).
 */
export function buildTiledModel(fullModelBytes: Uint8Array, what = 'model file'): TiledModelGraph {
  const { config, weights } = readWeightsFromOnnx(fullModelBytes, what);
  if (config.role !== 'generator') throw new AppError('unsupported', `${what} is not a generator`);
  const net = networkFromConfig(config);
  const multiple = sizeMultiple(net);
  const info = probe(net, weights, multiple);
  const factors = new Map(info.norms.map((n) => [n.name, n.factor]));

  const g = new Graph('float32');
  const x = g.input('image', ['N', config.channels, 'H', 'W']);
  const mask = g.input('core_mask', ['N', 1, 'H', 'W']);
  const ctx = initializerContext(g, net, weights);
  const extra: Value[][] = [];
  ctx.norm = (name, v, scale, bias, eps) => {
    const c = v.shape[1] as number;
    const m = strided(g, mask, factors.get(name) as number);
    const mean = g.input(`${name}.mean`, ['N', c, 1, 1]);
    const variance = g.input(`${name}.var`, ['N', c, 1, 1]);
    extra.push([
      g.named(g.reduceSum(g.mul(v, m), [2, 3], false), `${name}.sum`),
      g.named(g.reduceSum(g.mul(g.mul(v, v), m), [2, 3], false), `${name}.sumsq`),
    ]);
    const xhat = g.div(g.sub(v, mean), g.sqrt(g.add(variance, g.scalar(eps, 4))));
    return g.add(g.mul(xhat, g.reshape(scale, [1, c, 1, 1])), g.reshape(bias, [1, c, 1, 1]));
  };
  const r = net.forward(ctx, x);
  const features = r.features as Value;
  const c = info.featureChannels;
  const fm = strided(g, mask, info.featureFactor);
  // Outside the core: -1e30, so the max is over the core only (exact inside: x*1 + 0).
  const masked = g.add(g.mul(features, fm), g.mul(g.sub(fm, g.scalar(1, 4)), g.scalar(1e30, 4)));
  const covidWeights = g.reshape(g.slice(ctx.param('classifier.weight'), [1], [2], [1]), [1, c, 1, 1]);
  const outs = [
    g.named(r.output, 'restored'),
    g.named(g.reduceMax(masked, [2, 3], false), 'pooled_max'),
    g.named(g.conv(features, covidWeights, undefined), 'cam'),
  ];
  const meta = {
    [META_FORMAT]: MODEL_FORMAT,
    [META_CONFIG]: JSON.stringify(config),
    'r2c.variant': 'tiled-core-mask',
  };
  return {
    bytes: g.toOnnx(outs, meta).bytes,
    statsBytes: extra.map((sums) => g.toOnnx(sums, meta).bytes),
    config,
    norms: info.norms,
    featureFactor: info.featureFactor,
    featureChannels: c,
    denseWeight: weights.get('classifier.weight') as Float32Array,
    denseBias: weights.get('classifier.bias') as Float32Array,
  };
}

export interface Tile {
  /** Tile extent [x0,x1) x [y0,y1) in the padded working image. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Core (each pixel is in exactly one core). */
  cx0: number;
  cx1: number;
  cy0: number;
  cy1: number;
}

function segments(length: number, maxCore: number, align: number): number[] {
  const n = Math.max(1, Math.ceil(length / maxCore));
  const bounds = [0];
  for (let i = 1; i < n; i++) bounds.push(Math.round((i * length) / n / align) * align);
  bounds.push(length);
  return bounds;
}

/**
 * Cores of at most `maxCore` pixels a side partition the image; each tile adds `halo` on interior
 * sides. Bounds are multiples of `align` (the model's size multiple and every norm's factor).
 */
export function planTiles(
  width: number,
  height: number,
  maxCore: number,
  halo: number,
  align: number,
): Tile[] {
  if (width % align !== 0 || height % align !== 0)
    throw new AppError(
      'internal',
      `tiling needs a size that is a multiple of ${align}, got ${width}x${height}`,
    );
  if (halo % align !== 0 || halo < 0)
    throw new AppError('bad_input', `tile halo must be a multiple of ${align}`);
  if (maxCore < 2 * align) throw new AppError('bad_input', `tile core must be at least ${2 * align} px`);
  const xs = segments(width, maxCore, align);
  const ys = segments(height, maxCore, align);
  const tiles: Tile[] = [];
  for (let j = 0; j + 1 < ys.length; j++) {
    for (let i = 0; i + 1 < xs.length; i++) {
      const cx0 = xs[i]!;
      const cx1 = xs[i + 1]!;
      const cy0 = ys[j]!;
      const cy1 = ys[j + 1]!;
      tiles.push({
        cx0,
        cx1,
        cy0,
        cy1,
        x0: Math.max(0, cx0 - halo),
        x1: Math.min(width, cx1 + halo),
        y0: Math.max(0, cy0 - halo),
        y1: Math.min(height, cy1 + halo),
      });
    }
  }
  return tiles;
}

/** Feathered seam weight along one axis: linear ramps of width 2*band centred on interior core edges. */
function ramp(p: number, c0: number, c1: number, lo: number, hi: number, band: number): number {
  const left = c0 === lo ? 1 : Math.min(1, Math.max(0, (p + 0.5 - (c0 - band)) / (2 * band)));
  const right = c1 === hi ? 1 : Math.min(1, Math.max(0, (c1 + band - (p + 0.5)) / (2 * band)));
  return Math.min(left, right);
}

export interface TiledRunOptions {
  /** Longest tile side including halos (default from the pixel budget). */
  tileSize?: number;
  halo?: number;
  signal?: AbortSignal;
  onTile?: (done: number, total: number) => void;
}

export interface TiledResult {
  restored: Float32Array;
  probabilities: Float32Array;
  /** COVID-19 CAM at feature resolution. */
  cam: Float32Array;
  camWidth: number;
  camHeight: number;
  tiles: number;
  /** Model runs (tiles x (norms + 1)). */
  runs: number;
}

export interface TiledRunner {
  readonly config: NetConfig;
  readonly sizeMultiple: number;
  readonly norms: readonly NormInfo[];
  readonly halo: number;
  /** `image`: [-1,1], `width` x `height` already multiples of sizeMultiple. */
  run(image: Float32Array, width: number, height: number, o?: TiledRunOptions): Promise<TiledResult>;
  release(): Promise<void>;
}

/** Loads the tiling graph of a full inference model (its bytes already verified by the caller). */
export async function loadTiledModel(
  fullModelBytes: Uint8Array,
  session: SessionOptions = {},
  what = 'model file',
  pixelBudget = DEFAULT_TILE_PIXEL_BUDGET,
): Promise<TiledRunner> {
  const built = buildTiledModel(fullModelBytes, what);
  const net = networkFromConfig(built.config);
  const multiple = sizeMultiple(net);
  const align = Math.max(multiple, built.featureFactor, ...built.norms.map((n) => n.factor));
  const create = async (bytes: Uint8Array) => {
    try {
      return await ort.InferenceSession.create(bytes, ortSessionOptions(session));
    } catch (e) {
      throw new AppError('integrity', `${what}: tiling graph could not be loaded (${(e as Error).message})`);
    }
  };
  const final = await create(built.bytes);
  const statSessions: ort.InferenceSession[] = [];
  for (const bytes of built.statsBytes) statSessions.push(await create(bytes));
  const all = [final, ...statSessions];
  const halo = defaultHalo(built.config);
  const C = built.config.channels;

  async function run(
    image: Float32Array,
    width: number,
    height: number,
    o: TiledRunOptions = {},
  ): Promise<TiledResult> {
    if (image.length !== width * height * C)
      throw new AppError('internal', `tiled input has ${image.length} values for ${width}x${height}`);
    const h = o.halo ?? halo;
    const tileSize = o.tileSize ?? Math.floor(Math.sqrt(pixelBudget) / align) * align;
    if (tileSize - 2 * h < 2 * align) {
      throw new AppError(
        'bad_input',
        `tiles of ${tileSize} px leave no core inside the ${h} px halo; raise the tile pixel budget`,
      );
    }
    const tiles = planTiles(width, height, tileSize - 2 * h, h, align);
    const band = Math.max(1, Math.floor(h / 2));
    const stop = () => {
      if (o.signal?.aborted) throw cancelledError('tiled restoration');
    };

    // Statistics: identity until known.
    const stats = new Map<string, { mean: Float32Array; variance: Float32Array }>();
    for (const n of built.norms)
      stats.set(n.name, {
        mean: new Float32Array(n.channels),
        variance: new Float32Array(n.channels).fill(1),
      });

    const cut = (t: Tile) => {
      const w = t.x1 - t.x0;
      const hh = t.y1 - t.y0;
      const data = new Float32Array(C * w * hh);
      for (let c = 0; c < C; c++)
        for (let y = 0; y < hh; y++) {
          const src = c * width * height + (t.y0 + y) * width + t.x0;
          data.set(image.subarray(src, src + w), c * w * hh + y * w);
        }
      const mask = new Float32Array(w * hh);
      for (let y = t.cy0; y < t.cy1; y++)
        mask.fill(1, (y - t.y0) * w + (t.cx0 - t.x0), (y - t.y0) * w + (t.cx1 - t.x0));
      return { w, hh, data, mask };
    };
    const feedsFor = (t: Tile, s: ort.InferenceSession) => {
      const { w, hh, data, mask } = cut(t);
      const feeds: Record<string, ort.Tensor> = {
        image: new ort.Tensor('float32', data, [1, C, hh, w]),
        core_mask: new ort.Tensor('float32', mask, [1, 1, hh, w]),
      };
      for (const n of built.norms) {
        if (!s.inputNames.includes(`${n.name}.mean`)) continue;
        const st = stats.get(n.name)!;
        feeds[`${n.name}.mean`] = new ort.Tensor('float32', st.mean, [1, n.channels, 1, 1]);
        feeds[`${n.name}.var`] = new ort.Tensor('float32', st.variance, [1, n.channels, 1, 1]);
      }
      return feeds;
    };

    const total = tiles.length * (built.norms.length + 1);
    let runs = 0;
    // One pass per norm: with norms before k known, norm k's core sums are exact.
    for (const [k, n] of built.norms.entries()) {
      const s = statSessions[k]!;
      const sum = new Float64Array(n.channels);
      const sumsq = new Float64Array(n.channels);
      let count = 0;
      for (const t of tiles) {
        stop();
        const r = await s.run(feedsFor(t, s));
        const a = r[`${n.name}.sum`]!.data as Float32Array;
        const b = r[`${n.name}.sumsq`]!.data as Float32Array;
        for (let c = 0; c < n.channels; c++) {
          sum[c]! += a[c]!;
          sumsq[c]! += b[c]!;
        }
        count += ((t.cx1 - t.cx0) / n.factor) * ((t.cy1 - t.cy0) / n.factor);
        o.onTile?.(++runs, total);
      }
      const st = stats.get(n.name)!;
      for (let c = 0; c < n.channels; c++) {
        const mean = sum[c]! / count;
        st.mean[c] = mean;
        st.variance[c] = Math.max(0, sumsq[c]! / count - mean * mean);
      }
    }

    const restored = new Float32Array(width * height * C);
    const weightSum = new Float32Array(width * height);
    const f = built.featureFactor;
    const camWidth = width / f;
    const camHeight = height / f;
    const cam = new Float32Array(camWidth * camHeight);
    const pooled = new Float32Array(built.featureChannels).fill(-Infinity);
    for (const t of tiles) {
      stop();
      const r = await final.run(feedsFor(t, final));
      const out = r['restored']!.data as Float32Array;
      const w = t.x1 - t.x0;
      const hh = t.y1 - t.y0;
      for (let y = t.y0; y < t.y1; y++) {
        const wy = ramp(y, t.cy0, t.cy1, 0, height, band);
        if (wy === 0) continue;
        for (let x = t.x0; x < t.x1; x++) {
          const wgt = wy * ramp(x, t.cx0, t.cx1, 0, width, band);
          if (wgt === 0) continue;
          weightSum[y * width + x]! += wgt;
          for (let c = 0; c < C; c++)
            restored[c * width * height + y * width + x]! +=
              wgt * out[c * w * hh + (y - t.y0) * w + (x - t.x0)]!;
        }
      }
      const p = r['pooled_max']!.data as Float32Array;
      for (let c = 0; c < pooled.length; c++) pooled[c] = Math.max(pooled[c]!, p[c]!);
      const tc = r['cam']!.data as Float32Array;
      const tw = w / f;
      for (let y = t.cy0 / f; y < t.cy1 / f; y++)
        for (let x = t.cx0 / f; x < t.cx1 / f; x++)
          cam[y * camWidth + x] = tc[(y - t.y0 / f) * tw + (x - t.x0 / f)]!;
      o.onTile?.(++runs, total);
    }
    for (let i = 0; i < width * height; i++)
      for (let c = 0; c < C; c++) restored[c * width * height + i]! /= weightSum[i]!;

    // Dense on the max over tile cores, then softmax.
    const classes = built.denseBias.length;
    const logits = new Float64Array(classes);
    for (let k = 0; k < classes; k++) {
      let z = built.denseBias[k]!;
      for (let c = 0; c < pooled.length; c++) z += pooled[c]! * built.denseWeight[c * classes + k]!;
      logits[k] = z;
    }
    const top = Math.max(...logits);
    const exps = Array.from(logits, (z) => Math.exp(z - top));
    const norm = exps.reduce((a, b) => a + b, 0);
    const probabilities = Float32Array.from(exps, (e) => e / norm);
    return { restored, probabilities, cam, camWidth, camHeight, tiles: tiles.length, runs };
  }

  return {
    config: built.config,
    sizeMultiple: multiple,
    norms: built.norms,
    halo,
    run,
    release: async () => {
      await Promise.all(all.map((s) => s.release()));
    },
  };
}
