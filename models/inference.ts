// Inference export (ONNX bytes with the weights as named initializers) and a validating runner.
import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema, TensorProto_DataType } from 'onnx-buf';
import type { ModelProto } from 'onnx-buf';
import { AppError } from '../main/util/errors.ts';
import { type Dim, type ExportedModel, type FloatType, Graph, type Value } from './graph.ts';
import {
  type BuildContext,
  checkWeights,
  type NetConfig,
  type Network,
  type NormFn,
  networkFromConfig,
  sizeMultiple,
  type WeightMap,
} from './nets.ts';

export const MODEL_FORMAT = 'r2c-gan/1';
export const META_CONFIG = 'r2c.config';
export const META_FORMAT = 'r2c.format';
export const META_VARIANT = 'r2c.variant';

/** A context whose parameters are initializers holding `weights`. */
export function initializerContext(
  g: Graph,
  net: Network,
  weights: WeightMap,
  dtype: FloatType = 'float32',
): BuildContext {
  checkWeights(net, weights);
  const specs = new Map(net.params.map((p) => [p.name, p]));
  const cache = new Map<string, Value>();
  return {
    g,
    param(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const spec = specs.get(name);
      const data = weights.get(name);
      if (!spec || !data) throw new Error(`network has no parameter ${name}`);
      const v = g.constant(dtype === 'float64' ? Float64Array.from(data) : data, spec.shape, dtype, name);
      cache.set(name, v);
      return v;
    },
  };
}

export interface NetworkModelOptions {
  /** Input shape; default [N, channels, H, W] symbolic. */
  shape?: readonly Dim[];
  dtype?: FloatType;
}

/** Any network (generator or discriminator) as a plain forward model: input `image`, outputs
 * `output` (+ `logits`, `probabilities`, `features` for generators). Used by tests and benches. */
export function buildNetworkModel(
  net: Network,
  weights: WeightMap,
  o: NetworkModelOptions = {},
): ExportedModel {
  const g = new Graph(o.dtype ?? 'float32');
  const x = g.input('image', o.shape ?? ['N', net.config.channels, 'H', 'W']);
  const r = net.forward(initializerContext(g, net, weights, o.dtype), x);
  const outs = [g.named(r.output, 'output')];
  if (r.logits && r.probabilities && r.features)
    outs.push(
      g.named(r.logits, 'logits'),
      g.named(r.probabilities, 'probabilities'),
      g.named(r.features, 'features'),
    );
  return g.toOnnx(outs, modelMeta(net.config, 'network'));
}

export interface InferenceModelOptions {
  /**
   * 'full' (default): outputs restored, probabilities, cam.
   * 'external-norm': the hook for tiled inference. Every instance norm takes its statistics from
   * inputs `<norm>.mean` / `<norm>.var` [N,C,1,1] and the model also outputs `<norm>.sum` /
   * `<norm>.sumsq` [N,C] (sums over this piece of that norm's input) and `pooled_max` [N,C] (the
   * classifier's pooled features). A tiler can run it in passes, accumulating each norm's
   * statistics over all tiles before the next pass, and apply the Dense layer to the max over tiles.
   */
  variant?: 'full' | 'external-norm';
}

function modelMeta(config: NetConfig, variant: string): Record<string, string> {
  return { [META_FORMAT]: MODEL_FORMAT, [META_CONFIG]: JSON.stringify(config), [META_VARIANT]: variant };
}

/** Instance norm from given statistics (decomposed: (x - mean) / sqrt(var + eps) * scale + bias). */
function externalNorm(g: Graph, extraOutputs: Value[], channelsOf: (name: string) => number): NormFn {
  return (name, x, scale, bias, eps) => {
    const c = channelsOf(name);
    const mean = g.input(`${name}.mean`, ['N', c, 1, 1]);
    const variance = g.input(`${name}.var`, ['N', c, 1, 1]);
    extraOutputs.push(g.named(g.reduceSum(x, [2, 3], false), `${name}.sum`));
    extraOutputs.push(g.named(g.reduceSum(g.mul(x, x), [2, 3], false), `${name}.sumsq`));
    const xhat = g.div(g.sub(x, mean), g.sqrt(g.add(variance, g.scalar(eps, 4))));
    return g.add(g.mul(xhat, g.reshape(scale, [1, c, 1, 1])), g.reshape(bias, [1, c, 1, 1]));
  };
}

/**
 * The deployable model of a generator: input `image` float32 [N,1,H,W] in [-1,1] (N, H, W dynamic;
 * H and W multiples of `sizeMultiple(net)`), outputs `restored` [N,1,H,W], `probabilities` [N,2]
 * (0 normal, 1 COVID-19) and `cam` [N,1,h,w] (COVID-19 Dense weights applied to the pooled feature maps).
 * Parameters are stored as initializers under their names, so the weights can be read back
 * (readWeightsFromOnnx); onnxruntime folds the per-order kernel concatenation at load time.
 */
export function buildInferenceModel(
  net: Network,
  weights: WeightMap,
  o: InferenceModelOptions = {},
): Uint8Array {
  if (net.config.role !== 'generator') throw new Error('buildInferenceModel needs a generator');
  const variant = o.variant ?? 'full';
  const g = new Graph('float32');
  const x = g.input('image', ['N', net.config.channels, 'H', 'W']);
  const ctx = initializerContext(g, net, weights);
  const extra: Value[] = [];
  if (variant === 'external-norm') {
    const shapes = new Map(net.params.map((p) => [p.name, p.shape]));
    ctx.norm = externalNorm(g, extra, (name) => shapes.get(`${name}.scale`)?.[0] as number);
  }
  const r = net.forward(ctx, x);
  const features = r.features as Value;
  const c = features.shape[1] as number;
  // CAM: the COVID-19 column of the Dense weights as a 1x1 conv over the pooled feature maps.
  const covidWeights = g.reshape(g.slice(ctx.param('classifier.weight'), [1], [2], [1]), [1, c, 1, 1]);
  const cam = g.conv(features, covidWeights, undefined);
  const outs = [g.named(r.output, 'restored')];
  if (variant === 'full') outs.push(g.named(r.probabilities as Value, 'probabilities'));
  else outs.push(g.named(g.reduceMax(features, [2, 3], false), 'pooled_max'));
  outs.push(g.named(cam, 'cam'), ...extra);
  return g.toOnnx(outs, modelMeta(net.config, variant)).bytes;
}

// ---- reading models back ----

function parseModel(bytes: Uint8Array, what: string): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new AppError('integrity', `${what} is not a valid ONNX file (${(e as Error).message})`);
  }
  if (!model.graph || model.graph.node.length === 0)
    throw new AppError('integrity', `${what} has no ONNX graph`);
  return model;
}

function readMeta(model: ModelProto, what: string): { config: NetConfig; variant: string } {
  const meta = new Map(model.metadataProps.map((p) => [p.key, p.value]));
  if (meta.get(META_FORMAT) !== MODEL_FORMAT)
    throw new AppError('unsupported', `${what} is not an R2C-GAN model of format ${MODEL_FORMAT}`);
  let config: NetConfig;
  try {
    config = JSON.parse(meta.get(META_CONFIG) ?? '') as NetConfig;
    networkFromConfig(config);
  } catch (e) {
    throw new AppError('integrity', `${what} has an unreadable network config (${(e as Error).message})`);
  }
  return { config, variant: meta.get(META_VARIANT) ?? 'full' };
}

/** Reads the network config and weights from an exported model, e.g. to fine-tune a shipped model. */
export function readWeightsFromOnnx(
  bytes: Uint8Array,
  what = 'model file',
): { config: NetConfig; weights: WeightMap } {
  const model = parseModel(bytes, what);
  const { config } = readMeta(model, what);
  const net = networkFromConfig(config);
  const wanted = new Set(net.params.map((p) => p.name));
  const weights: WeightMap = new Map();
  for (const t of model.graph?.initializer ?? []) {
    if (!wanted.has(t.name)) continue;
    if (t.dataType !== TensorProto_DataType.FLOAT)
      throw new AppError('integrity', `${what}: parameter ${t.name} is not float32`);
    const raw = t.rawData;
    const n = t.dims.reduce((a, d) => a * Number(d), 1);
    let arr: Float32Array;
    if (raw.length > 0) {
      if (raw.length !== n * 4)
        throw new AppError('integrity', `${what}: parameter ${t.name} has truncated data`);
      arr = new Float32Array(n);
      new Uint8Array(arr.buffer).set(raw);
    } else arr = Float32Array.from(t.floatData);
    weights.set(t.name, arr);
  }
  try {
    checkWeights(net, weights, what);
  } catch (e) {
    throw new AppError('integrity', (e as Error).message);
  }
  return { config, weights };
}

// ---- running ----

export interface SessionOptions {
  /** Intra-op threads (default 2). */
  threads?: number;
  /** One provider, e.g. 'cpu' (default), 'cuda', 'dml', 'coreml', 'webgpu'; no silent fallback. */
  executionProvider?: string;
  /** onnxruntime's CPU memory arena (default on); off halves peak RSS at 1024 px for ~7% time. */
  memArena?: boolean;
}

export function ortSessionOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [o.executionProvider ?? 'cpu'],
    intraOpNumThreads: o.threads ?? 2,
    enableCpuMemArena: o.memArena ?? true,
  };
}

export interface InferenceResult {
  restored: Float32Array;
  restoredDims: number[];
  probabilities: Float32Array;
  cam: Float32Array;
  camDims: number[];
}

export interface InferenceRunner {
  readonly config: NetConfig;
  /** H and W must be multiples of this. */
  readonly sizeMultiple: number;
  run(image: Float32Array, dims: readonly number[]): Promise<InferenceResult>;
  release(): Promise<void>;
}

/** Loads an exported inference model (validates it first, so a corrupted file gets a clear error). */
export async function loadInferenceModel(
  bytes: Uint8Array,
  o: SessionOptions = {},
  what = 'model file',
): Promise<InferenceRunner> {
  const model = parseModel(bytes, what);
  const { config, variant } = readMeta(model, what);
  if (config.role !== 'generator' || variant !== 'full')
    throw new AppError(
      'unsupported',
      `${what} is a ${config.role} (${variant}) model, not a full inference model`,
    );
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, ortSessionOptions(o));
  } catch (e) {
    throw new AppError('integrity', `${what} could not be loaded by onnxruntime (${(e as Error).message})`);
  }
  const multiple = sizeMultiple(networkFromConfig(config));
  return {
    config,
    sizeMultiple: multiple,
    async run(image, dims) {
      validateImage(image, dims, config.channels, multiple);
      const feeds = { image: new ort.Tensor('float32', image, [...dims]) };
      const r = await session.run(feeds);
      const restored = r['restored'] as ort.Tensor;
      const cam = r['cam'] as ort.Tensor;
      return {
        restored: restored.data as Float32Array,
        restoredDims: [...restored.dims],
        probabilities: (r['probabilities'] as ort.Tensor).data as Float32Array,
        cam: cam.data as Float32Array,
        camDims: [...cam.dims],
      };
    },
    release: () => session.release(),
  };
}

/** Rejects inputs the model would silently mangle: wrong rank/channels, odd sizes, NaN, out of range. */
export function validateImage(
  image: Float32Array,
  dims: readonly number[],
  channels: number,
  multiple: number,
): void {
  if (dims.length !== 4 || dims.some((d) => !Number.isInteger(d) || d < 1))
    throw new AppError('bad_input', `image must have shape [N,${channels},H,W], got [${dims.join(',')}]`);
  const [n, c, h, w] = dims as [number, number, number, number];
  if (c !== channels)
    throw new AppError('bad_input', `image must have ${channels} channel(s) (grayscale), got ${c}`);
  if (h % multiple !== 0 || w % multiple !== 0 || h < 2 * multiple || w < 2 * multiple)
    throw new AppError(
      'bad_input',
      `image height and width must be multiples of ${multiple} and at least ${2 * multiple}, got ${h}x${w}`,
    );
  if (image.length !== n * c * h * w)
    throw new AppError(
      'bad_input',
      `image has ${image.length} values, shape [${dims.join(',')}] needs ${n * c * h * w}`,
    );
  for (let i = 0; i < image.length; i++) {
    const v = image[i] as number;
    if (!Number.isFinite(v)) throw new AppError('bad_input', `image value ${i} is not finite (${v})`);
    if (v < -1.0001 || v > 1.0001)
      throw new AppError('bad_input', `image value ${i} is ${v}, outside [-1, 1]`);
  }
}
