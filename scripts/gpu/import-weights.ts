// Imports weights trained by scripts/gpu/train.py (PyTorch mirror of the engine) into the engine:
// builds the deployable ONNX inference model, and checks torch-vs-engine parity of the forward pass.
//
//   node --import tsx scripts/gpu/import-weights.ts --weights OUT/g_a2b.json --out model.onnx
//   node --import tsx scripts/gpu/import-weights.ts --parity OUT            (OUT holds parity.json/.bin)
//
// The config's `upsampling` ('resize'; absent = the reference 'transposed') is kept and passed to
// networkFromConfig, so a resize generator is rebuilt as one (same parameter names and shapes).
//
// Files: <net>.json (format r2c-gan-weights/1: config, params [{name, shape, offset (bytes), length}],
// sha256 of the .bin) + <net>.bin (float32 little-endian, engine parameter order).
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { buildInferenceModel, buildNetworkModel, loadInferenceModel } from '../../models/inference.ts';
import {
  checkWeights,
  initWeights,
  type NetConfig,
  type Network,
  networkFromConfig,
  transposedToResizeKernel,
  UPSAMPLINGS,
  type WeightMap,
} from '../../models/nets.ts';
import { emaDecayAt } from '../../models/trainer.ts';
import {
  buildDiscriminatorStep,
  buildGeneratorStep,
  buildSupervisedStep,
  REFERENCE_ADAM,
  type StepGraph,
} from '../../models/training.ts';
import { AppError } from '../../main/util/errors.ts';
import { writeFileAtomic } from '../../main/util/image-io.ts';

export const WEIGHTS_FORMAT = 'r2c-gan-weights/1';
export const PARITY_FORMAT = 'r2c-gan-parity/1';
/** Largest accepted max|engine - torch| / max|torch| per output. */
export const PARITY_TOLERANCE = 1e-4;

const netConfigSchema = z.object({
  kind: z.enum(['operational', 'convolutional', 'convolutional-light']),
  role: z.enum(['generator', 'discriminator']),
  q: z.number().int(),
  channels: z.number().int(),
  width: z.number().int(),
  // Kept (z.object drops unknown keys): without it a resize generator would be rebuilt as transposed.
  upsampling: z.enum(UPSAMPLINGS as [string, ...string[]]).optional(),
});

const tensorRowSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});
type TensorRow = z.infer<typeof tensorRowSchema>;

const weightsMetaSchema = z.object({
  format: z.literal(WEIGHTS_FORMAT),
  net: z.string(),
  config: netConfigSchema,
  bin: z.string().min(1),
  totalBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  steps: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  params: z.array(tensorRowSchema),
});
export type WeightsMeta = z.infer<typeof weightsMetaSchema> & Record<string, unknown>;

const parityMetaSchema = z.object({
  format: z.literal(PARITY_FORMAT),
  seeds: z.object({ generator: z.number().int(), discriminator: z.number().int() }),
  generator: netConfigSchema,
  discriminator: netConfigSchema,
  inputs: z.number().int().positive(),
  step: z.object({ size: z.number().int().positive(), lr: z.number().positive() }).nullish(),
  /** train.py --parity-paired: one paired step (buildSupervisedStep) and the weight-average update. */
  pairedStep: z
    .object({
      size: z.number().int().positive(),
      l1Weight: z.number().nonnegative(),
      classWeight: z.number().nonnegative(),
      schedule: z.object({
        lr: z.number().positive(),
        decayStart: z.number().int().nonnegative(),
        totalSteps: z.number().int().positive(),
      }),
      adamStep: z.number().int().nonnegative(),
      emaDecay: z.number().gt(0).lt(1),
    })
    .nullish(),
  bin: z.string().min(1),
  totalBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  tensors: z.array(tensorRowSchema),
});

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new AppError('not_found', `${what} ${path} does not exist or cannot be read`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError('integrity', `${what} ${path} is not valid JSON (${(e as Error).message})`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new AppError('integrity', `${what}: field ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Reads the .bin a manifest names (same folder) and checks its size and SHA-256. */
async function readBin(jsonPath: string, bin: string, totalBytes: number, sha256: string): Promise<Buffer> {
  if (bin.includes('/') || bin.includes('\\') || bin === '..')
    throw new AppError('integrity', `${jsonPath}: bin must be a file name in the same folder, got ${bin}`);
  const binPath = join(dirname(jsonPath), bin);
  let bytes: Buffer;
  try {
    bytes = await readFile(binPath);
  } catch {
    throw new AppError('not_found', `weights data ${binPath} does not exist or cannot be read`);
  }
  if (bytes.length !== totalBytes)
    throw new AppError(
      'integrity',
      `${binPath} has ${bytes.length} bytes, its manifest says ${totalBytes} (truncated or from another run)`,
    );
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== sha256)
    throw new AppError(
      'integrity',
      `${binPath} does not match the SHA-256 in ${jsonPath} (from another checkpoint?)`,
    );
  return bytes;
}

/** float32 little-endian values of one manifest row (explicit endianness, any host). */
function rowValues(bytes: Buffer, row: TensorRow, what: string): Float32Array {
  const expected = row.shape.reduce((a, b) => a * b, 1);
  if (row.length !== expected)
    throw new AppError(
      'integrity',
      `${what}: ${row.name} has length ${row.length}, its shape needs ${expected}`,
    );
  if (row.offset % 4 !== 0 || row.offset + row.length * 4 > bytes.length)
    throw new AppError('integrity', `${what}: ${row.name} lies outside the data (offset ${row.offset})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + row.offset, row.length * 4);
  const out = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function networkOf(config: NetConfig, what: string): Network {
  try {
    return networkFromConfig(config);
  } catch (e) {
    throw new AppError('integrity', `${what}: unusable network config (${(e as Error).message})`);
  }
}

/**
 * Reads one trained network (<net>.json + its .bin). Names, shapes and order must be exactly the
 * engine's parameter list for the config; every error names the file and the parameter.
 */
export async function readWeightsFile(
  jsonPath: string,
): Promise<{ meta: WeightsMeta; config: NetConfig; net: Network; weights: WeightMap }> {
  const meta = parseWith(
    weightsMetaSchema,
    await readJson(jsonPath, 'weights manifest'),
    jsonPath,
  ) as WeightsMeta;
  const config = meta.config as NetConfig;
  const net = networkOf(config, jsonPath);
  const bytes = await readBin(jsonPath, meta.bin, meta.totalBytes, meta.sha256);
  if (meta.params.length !== net.params.length)
    throw new AppError(
      'integrity',
      `${jsonPath}: ${meta.params.length} parameters, the engine's ${config.kind} ${config.role} has ${net.params.length}`,
    );
  const weights: WeightMap = new Map();
  let expectedOffset = 0;
  net.params.forEach((spec, i) => {
    const row = meta.params[i] as TensorRow;
    if (row.name !== spec.name)
      throw new AppError(
        'integrity',
        `${jsonPath}: parameter ${i} is ${row.name}, the engine expects ${spec.name}`,
      );
    if (row.shape.join(',') !== spec.shape.join(','))
      throw new AppError(
        'integrity',
        `${jsonPath}: parameter ${spec.name} has shape [${row.shape.join(',')}], the engine expects [${spec.shape.join(',')}]`,
      );
    if (row.offset !== expectedOffset)
      throw new AppError(
        'integrity',
        `${jsonPath}: parameter ${spec.name} is not stored contiguously in engine order`,
      );
    const values = rowValues(bytes, row, jsonPath);
    for (let k = 0; k < values.length; k++) {
      if (!Number.isFinite(values[k] as number))
        throw new AppError(
          'integrity',
          `${jsonPath}: parameter ${spec.name} holds a non-finite value at ${k}`,
        );
    }
    weights.set(spec.name, values);
    expectedOffset += row.length * 4;
  });
  if (expectedOffset !== bytes.length)
    throw new AppError(
      'integrity',
      `${jsonPath}: the data has ${bytes.length - expectedOffset} bytes beyond the last parameter`,
    );
  checkWeights(net, weights, jsonPath);
  return { meta, config, net, weights };
}

export interface ImportResult {
  outPath: string;
  bytes: number;
  parameters: number;
  steps: number;
  config: NetConfig;
}

/**
 * Builds the deployable inference model (models/inference.ts buildInferenceModel) from a trained
 * generator, checks that onnxruntime loads it and gives finite outputs, then writes it atomically.
 */
export async function importGenerator(jsonPath: string, outPath: string): Promise<ImportResult> {
  const { meta, config, net, weights } = await readWeightsFile(jsonPath);
  if (config.role !== 'generator')
    throw new AppError(
      'bad_input',
      `${jsonPath} holds a ${config.role}; only a generator makes an inference model`,
    );
  const bytes = buildInferenceModel(net, weights);
  const runner = await loadInferenceModel(bytes, { threads: 2 }, 'imported model');
  try {
    const side = 4 * runner.sizeMultiple * 2;
    const r = await runner.run(rampImage(side, side), [1, config.channels, side, side]);
    const finite = [...r.restored, ...r.probabilities].every((v) => Number.isFinite(v));
    if (!finite) throw new AppError('integrity', `the model built from ${jsonPath} gives non-finite outputs`);
  } finally {
    await runner.release();
  }
  await mkdir(dirname(resolve(outPath)), { recursive: true });
  await writeFileAtomic(outPath, bytes);
  const parameters = net.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  return { outPath, bytes: bytes.length, parameters, steps: meta.steps, config };
}

/** A smooth test image in [-1, 1] (channel count 1). */
function rampImage(h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) out[y * w + x] = 0.8 * Math.sin(0.3 * y + 0.2 * x) * Math.cos(0.1 * x);
  return out;
}

// ---- parity ----

export interface ParityCheck {
  name: string;
  maxAbsDiff: number;
  maxAbsRef: number;
  relError: number;
  pass: boolean;
}

export interface ParityReport {
  checks: ParityCheck[];
  /** Glorot parameters equal to the engine's initWeights(net, seed) (the torch init port). */
  init: { generator: { equal: number; total: number }; discriminator: { equal: number; total: number } };
  pass: boolean;
}

export function compareArrays(
  name: string,
  engine: Float32Array,
  torch: Float32Array,
  tolerance = PARITY_TOLERANCE,
): ParityCheck {
  if (engine.length !== torch.length)
    return {
      name,
      maxAbsDiff: Number.POSITIVE_INFINITY,
      maxAbsRef: 0,
      relError: Number.POSITIVE_INFINITY,
      pass: false,
    };
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < torch.length; i++) {
    const d = Math.abs((engine[i] as number) - (torch[i] as number));
    // NaN anywhere must fail, so compare with a negated test.
    if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    maxAbsRef = Math.max(maxAbsRef, Math.abs(torch[i] as number));
  }
  const relError = maxAbsDiff / Math.max(maxAbsRef, 1e-12);
  return { name, maxAbsDiff, maxAbsRef, relError, pass: relError < tolerance };
}

async function runModel(
  bytes: Uint8Array,
  image: Float32Array,
  dims: number[],
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
  });
  try {
    return await session.run({ image: new ort.Tensor('float32', image, dims) });
  } finally {
    await session.release();
  }
}

/**
 * Compares the engine's ONNX forward passes with the torch outputs in `dir`/parity.json + .bin:
 * the inference model (restored, probabilities), the network model (logits, features) and the
 * discriminator (patch output), for every stored input. Also counts the glorot parameters equal to
 * the engine's own initialisation from the recorded seeds.
 */
export async function checkParity(dir: string, tolerance = PARITY_TOLERANCE): Promise<ParityReport> {
  const jsonPath = join(dir, 'parity.json');
  const meta = parseWith(parityMetaSchema, await readJson(jsonPath, 'parity manifest'), jsonPath);
  const bytes = await readBin(jsonPath, meta.bin, meta.totalBytes, meta.sha256);
  const rows = new Map(meta.tensors.map((r) => [r.name, r]));
  const tensor = (name: string): { values: Float32Array; shape: number[] } => {
    const row = rows.get(name);
    if (!row) throw new AppError('integrity', `${jsonPath} has no tensor ${name}`);
    return { values: rowValues(bytes, row, jsonPath), shape: row.shape };
  };
  const weightsOf = (net: Network, prefix: string): WeightMap => {
    const w: WeightMap = new Map();
    for (const p of net.params) {
      const t = tensor(`${prefix}${p.name}`);
      if (t.shape.join(',') !== p.shape.join(','))
        throw new AppError(
          'integrity',
          `${jsonPath}: ${prefix}${p.name} has shape [${t.shape.join(',')}], expected [${p.shape.join(',')}]`,
        );
      w.set(p.name, t.values);
    }
    return w;
  };
  const gNet = networkOf(meta.generator as NetConfig, jsonPath);
  const dNet = networkOf(meta.discriminator as NetConfig, jsonPath);
  const gW = weightsOf(gNet, 'G/');
  const dW = weightsOf(dNet, 'D/');

  const initCount = (net: Network, w: WeightMap, seed: number) => {
    const ref = initWeights(net, seed);
    let equal = 0;
    let total = 0;
    for (const p of net.params) {
      if (p.init !== 'glorot') continue;
      total++;
      const a = w.get(p.name) as Float32Array;
      const b = ref.get(p.name) as Float32Array;
      if (a.length === b.length && a.every((v, i) => v === b[i])) equal++;
    }
    return { equal, total };
  };
  const init = {
    generator: initCount(gNet, gW, meta.seeds.generator),
    discriminator: initCount(dNet, dW, meta.seeds.discriminator),
  };

  const inference = buildInferenceModel(gNet, gW);
  const gNetwork = buildNetworkModel(gNet, gW).bytes;
  const checks: ParityCheck[] = [];
  for (let i = 0; i < meta.inputs; i++) {
    const x = tensor(`input/${i}`);
    const inf = await runModel(inference, x.values, x.shape);
    const net = await runModel(gNetwork, x.values, x.shape);
    const pairs: [string, ort.Tensor | undefined, string][] = [
      [`G restored/${i}`, inf['restored'], `G/output/${i}`],
      [`G probabilities/${i}`, inf['probabilities'], `G/probabilities/${i}`],
      [`G logits/${i}`, net['logits'], `G/logits/${i}`],
      [`G features/${i}`, net['features'], `G/features/${i}`],
    ];
    // The discriminator with a static input shape, as in the training graphs.
    const d = await runModel(buildNetworkModel(dNet, dW, { shape: x.shape }).bytes, x.values, x.shape);
    pairs.push([`D output/${i}`, d['output'], `D/output/${i}`]);
    for (const [name, got, ref] of pairs) {
      const want = tensor(ref);
      if (!got || got.dims.join(',') !== want.shape.join(',')) {
        checks.push({
          name,
          maxAbsDiff: Number.POSITIVE_INFINITY,
          maxAbsRef: 0,
          relError: Number.POSITIVE_INFINITY,
          pass: false,
        });
        continue;
      }
      checks.push(compareArrays(name, got.data as Float32Array, want.values, tolerance));
    }
  }
  // transposed -> resize kernel conversion (train.py --init of a transposed model for a resize run)
  for (const p of gNet.params) {
    const row = rows.get(`convert/${p.name}`);
    if (!row) continue;
    const got = transposedToResizeKernel(gW.get(p.name) as Float32Array);
    checks.push(compareArrays(`convert ${p.name}`, got, tensor(`convert/${p.name}`).values, tolerance));
  }
  if (meta.step) checks.push(...(await checkStep(tensor, { gNet, dNet, gW, dW }, meta.step.lr, tolerance)));
  if (meta.pairedStep) checks.push(...(await checkPairedStep(tensor, gNet, gW, meta.pairedStep, tolerance)));
  const initOk =
    init.generator.equal === init.generator.total && init.discriminator.equal === init.discriminator.total;
  return { checks, init, pass: checks.every((c) => c.pass) && initOk };
}

type TensorReader = (name: string) => { values: Float32Array; shape: number[] };

/** Runs a step graph: parameters from `params` (moments zero), batch tensors, step and lr_schedule. */
async function runStepGraph(
  step: StepGraph,
  params: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, number[]>,
  batch: Record<string, { values: Float32Array; shape: number[] }>,
  stepValue: number,
  schedule: Float32Array,
): Promise<Record<string, ort.Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of step.inputNames) {
    const bare = name.replace(/^[mv]:/, '');
    if (name === 'step') feeds[name] = new ort.Tensor('float32', Float32Array.of(stepValue), []);
    else if (name === 'lr_schedule') feeds[name] = new ort.Tensor('float32', schedule, [3]);
    else if (batch[name]) feeds[name] = new ort.Tensor('float32', batch[name].values, batch[name].shape);
    else if (params.has(bare)) {
      const value =
        name === bare ? (params.get(bare) as Float32Array) : new Float32Array(params.get(bare)?.length ?? 0);
      feeds[name] = new ort.Tensor('float32', value, shapes.get(bare) as number[]);
    } else throw new AppError('internal', `step graph input ${name} has no value`);
  }
  const session = await ort.InferenceSession.create(step.bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/**
 * Compares a parameter change (engine vs torch, from the same `before`) where |grad| is not tiny:
 * there the Adam update is ~lr * sign(grad) and insensitive to rounding.
 */
function compareDelta(
  name: string,
  before: Float32Array,
  engineAfter: Float32Array,
  torchAfter: Float32Array,
  torchGrad: Float32Array,
): ParityCheck {
  const big = torchGrad.reduce((a, v) => Math.max(a, Math.abs(v)), 0) * 1e-3;
  const idx: number[] = [];
  torchGrad.forEach((v, i) => {
    if (Math.abs(v) > big) idx.push(i);
  });
  const eDelta = Float32Array.from(idx, (i) => (engineAfter[i] as number) - (before[i] as number));
  const tDelta = Float32Array.from(idx, (i) => (torchAfter[i] as number) - (before[i] as number));
  return compareArrays(name, eDelta, tDelta, 1e-2);
}

/**
 * The paired step (train.py --parity-paired): the engine's buildSupervisedStep graph at the recorded
 * Adam step and lr schedule (zero moments) on the stored input/target/label, against torch's losses,
 * lr, gradients and updates; then the weight average d*before + (1-d)*next with d = emaDecayAt(decay,
 * adamStep + 1) from the engine's own update, against torch's average (as a change from before).
 */
async function checkPairedStep(
  tensor: TensorReader,
  gNet: Network,
  gW: WeightMap,
  meta: {
    l1Weight: number;
    classWeight: number;
    schedule: { lr: number; decayStart: number; totalSteps: number };
    adamStep: number;
    emaDecay: number;
  },
  tolerance: number,
): Promise<ParityCheck[]> {
  const input = tensor('input/0');
  const params = new Map([...gW].map(([k, v]) => [`G/${k}`, v]));
  const shapes = new Map(gNet.params.map((p) => [`G/${p.name}`, p.shape]));
  const step = buildSupervisedStep({
    generator: gNet,
    size: input.shape[2] as number,
    l1Weight: meta.l1Weight,
    classWeight: meta.classWeight,
  });
  const { lr, decayStart, totalSteps } = meta.schedule;
  const out = await runStepGraph(
    step,
    params,
    shapes,
    { input, target: tensor('paired/target'), label: tensor('paired/label') },
    meta.adamStep,
    Float32Array.of(lr, decayStart, totalSteps),
  );
  const checks: ParityCheck[] = [];
  const scalar = (name: string, got: ort.Tensor | undefined, ref: string) =>
    checks.push(
      compareArrays(name, (got?.data as Float32Array) ?? new Float32Array(0), tensor(ref).values, tolerance),
    );
  for (const loss of step.losses) scalar(`paired ${loss}`, out[loss], `paired/${loss}`);
  scalar('paired lr', out['lr'], 'paired/lr');
  const t = meta.adamStep + 1;
  // Adam at step t with zero moments: m = (1 - beta1) * grad.
  let worstGrad: ParityCheck | undefined;
  let worstUpdate: ParityCheck | undefined;
  let worstEma: ParityCheck | undefined;
  const d = emaDecayAt(meta.emaDecay, t);
  const worse = (a: ParityCheck | undefined, b: ParityCheck) => (!a || !(b.relError <= a.relError) ? b : a);
  for (const p of gNet.params) {
    const m = out[`m:G/${p.name}:next`]?.data as Float32Array | undefined;
    const next = out[`G/${p.name}:next`]?.data as Float32Array | undefined;
    if (!m || !next) throw new AppError('internal', `the engine's paired step has no outputs for ${p.name}`);
    const before = gW.get(p.name) as Float32Array;
    const torchGrad = tensor(`paired/grad/${p.name}`).values;
    const grad = m.map((v) => v / (1 - REFERENCE_ADAM.beta1));
    worstGrad = worse(worstGrad, compareArrays(p.name, grad, torchGrad, tolerance * 10));
    worstUpdate = worse(
      worstUpdate,
      compareDelta(p.name, before, next, tensor(`paired/next/${p.name}`).values, torchGrad),
    );
    const ema = before.map((v, i) => d * v + (1 - d) * (next[i] as number));
    worstEma = worse(
      worstEma,
      compareDelta(p.name, before, ema, tensor(`paired/ema/${p.name}`).values, torchGrad),
    );
  }
  for (const [what, c] of [
    ['grads', worstGrad],
    ['Adam', worstUpdate],
    ['EMA', worstEma],
  ] as const)
    if (c) checks.push({ ...c, name: `paired ${what} (worst ${c.name})` });
  return checks;
}

/**
 * The training step: runs the engine's generator step then discriminator step graphs on the stored
 * inputs (Adam step 0, zero moments, empty pools so D sees this step's A2B/B2A) and compares loss
 * terms, gradients (m:next / (1 - beta1)) and updates (next - previous, where |grad| is not tiny:
 * there the Adam update is ~lr * sign(grad) and insensitive to rounding) with torch's.
 */
async function checkStep(
  tensor: TensorReader,
  nets: { gNet: Network; dNet: Network; gW: WeightMap; dW: WeightMap },
  lr: number,
  tolerance: number,
): Promise<ParityCheck[]> {
  const { gNet, dNet, gW, dW } = nets;
  const A = tensor('input/0');
  const size = A.shape[2] as number;
  const prefixed = (prefix: string, net: Network, w: WeightMap | undefined): [string, Float32Array][] =>
    net.params.map((p) => [
      `${prefix}${p.name}`,
      w ? (w.get(p.name) as Float32Array) : tensor(`${prefix}${p.name}`).values,
    ]);
  const params = new Map<string, Float32Array>([
    ...prefixed('G_A2B/', gNet, gW),
    ...prefixed('G_B2A/', gNet, undefined),
    ...prefixed('D_A/', dNet, dW),
    ...prefixed('D_B/', dNet, undefined),
  ]);
  const shapes = new Map<string, number[]>();
  for (const [prefix, net] of [
    ['G_A2B/', gNet],
    ['G_B2A/', gNet],
    ['D_A/', dNet],
    ['D_B/', dNet],
  ] as const)
    for (const p of net.params) shapes.set(`${prefix}${p.name}`, p.shape);
  const run = (step: StepGraph, batch: Record<string, { values: Float32Array; shape: number[] }>) =>
    runStepGraph(step, params, shapes, batch, 0, Float32Array.of(lr, 1000, 2000));
  const checks: ParityCheck[] = [];
  const scalarCheck = (name: string, got: ort.Tensor | undefined, ref: string) =>
    checks.push(
      compareArrays(name, (got?.data as Float32Array) ?? new Float32Array(0), tensor(ref).values, tolerance),
    );
  const compareStep = (phase: 'G' | 'D', step: StepGraph, out: Record<string, ort.Tensor>) => {
    scalarCheck(`${phase} step total`, out['total'], `step/${phase}/total`);
    for (const loss of step.losses)
      if (loss !== 'total') scalarCheck(`${phase} ${loss}`, out[loss], `step/${phase}/${loss}`);
    scalarCheck(`${phase} lr`, out['lr'], 'step/lr');
    for (const net of phase === 'G' ? ['G_A2B/', 'G_B2A/'] : ['D_A/', 'D_B/']) {
      let worstGrad: ParityCheck | undefined;
      let worstUpdate: ParityCheck | undefined;
      for (const name of step.trained.filter((n) => n.startsWith(net))) {
        const m = out[`m:${name}:next`]?.data as Float32Array | undefined;
        const next = out[`${name}:next`]?.data as Float32Array | undefined;
        if (!m || !next) throw new AppError('internal', `the engine step graph has no outputs for ${name}`);
        const before = params.get(name) as Float32Array;
        const grad = m.map((v) => v / (1 - REFERENCE_ADAM.beta1));
        const torchGrad = tensor(`grad/${name}`).values;
        const torchNext = tensor(`next/${name}`).values;
        const g = compareArrays(name, grad, torchGrad, tolerance * 10);
        if (!worstGrad || !(g.relError <= worstGrad.relError)) worstGrad = g;
        const u = compareDelta(name, before, next, torchNext, torchGrad);
        if (!worstUpdate || !(u.relError <= worstUpdate.relError)) worstUpdate = u;
      }
      if (worstGrad)
        checks.push({
          ...worstGrad,
          name: `${phase} grads ${net} (worst ${worstGrad.name.slice(net.length)})`,
        });
      if (worstUpdate)
        checks.push({
          ...worstUpdate,
          name: `${phase} Adam ${net} (worst ${worstUpdate.name.slice(net.length)})`,
        });
    }
  };
  const engine = { generator: gNet, discriminator: dNet, size, batchSize: 1 };
  const B = tensor('step/B');
  const gStep = buildGeneratorStep(engine);
  const gOut = await run(gStep, { A, B, labelA: tensor('step/labelA'), labelB: tensor('step/labelB') });
  compareStep('G', gStep, gOut);
  const dStep = buildDiscriminatorStep(engine);
  const fake = (name: string) => ({ values: gOut[name]?.data as Float32Array, shape: A.shape });
  const dOut = await run(dStep, { A, B, A2B: fake('A2B'), B2A: fake('B2A') });
  compareStep('D', dStep, dOut);
  return checks;
}

export function formatParity(report: ParityReport): string {
  const lines = report.checks.map(
    (c) =>
      `${c.pass ? 'PASS' : 'FAIL'}  ${c.name.padEnd(22)} rel ${c.relError.toExponential(2)}  max|diff| ${c.maxAbsDiff.toExponential(2)}  max|ref| ${c.maxAbsRef.toExponential(2)}`,
  );
  for (const role of ['generator', 'discriminator'] as const) {
    const r = report.init[role];
    lines.push(
      `${r.equal === r.total ? 'PASS' : 'FAIL'}  init ${role.padEnd(17)} ${r.equal}/${r.total} glorot params equal to the engine's initWeights`,
    );
  }
  lines.push(report.pass ? 'PARITY PASS' : 'PARITY FAIL');
  return lines.join('\n');
}

// ---- CLI ----

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      out: { type: 'string' },
      parity: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || (!values.weights && !values.parity)) {
    console.log(
      'usage: node --import tsx scripts/gpu/import-weights.ts [--weights DIR/g_a2b.json --out MODEL.onnx] [--parity DIR]',
    );
    return values.help ? 0 : 2;
  }
  let ok = true;
  if (values.parity) {
    const report = await checkParity(values.parity);
    console.log(formatParity(report));
    ok &&= report.pass;
  }
  if (values.weights) {
    if (!values.out) throw new AppError('bad_input', '--weights needs --out MODEL.onnx');
    const r = await importGenerator(values.weights, values.out);
    console.log(
      `wrote ${r.outPath}: ${r.bytes} bytes, ${r.parameters} parameters, ${r.steps} training steps, ${r.config.kind} q=${r.config.q} width=${r.config.width}`,
    );
  }
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof AppError ? `error (${e.code}): ${e.message}` : e);
      process.exit(1);
    },
  );
}
