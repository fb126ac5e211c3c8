// Every VJP rule against central finite differences. Ops onnxruntime runs in float64 are checked
// entirely in float64 (gradient graph and differences, tolerance 1e-6 relative). Conv,
// ConvTranspose, InstanceNormalization and GlobalMaxPool only have float32 kernels in onnxruntime:
// their gradient graph runs in float32 and the differences come from the float64 TypeScript
// reference of the op (itself checked against onnxruntime in nets.test.ts). Tolerance there is
// 2e-4 relative to the gradient's norm: float32 rounding (2^-24 = 6e-8) accumulated over the at most
// a few hundred products of each gradient element stays well below that, while a wrong rule
// (missing border term, wrong stride/pad, transposed kernel) errs by O(1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { gradients } from '../../models/autodiff.ts';
import { type FloatType, Graph, type Value } from '../../models/graph.ts';
import { conv2d, convTranspose2d, instanceNorm, type T4, t4 } from './reference.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Case {
  name: string;
  dtype: FloatType;
  shapes: number[][];
  build: (g: Graph, xs: Value[]) => Value;
  /** float64 reference forward of the op (for float32-only ops). */
  ref?: (xs: Float64Array[]) => Float64Array;
  /** Keep inputs away from kinks (e.g. |x| > 0.05 for Relu/Abs). */
  avoidZero?: boolean;
  positive?: boolean;
  /** Well-separated values (a shuffled grid), so a max never switches within the difference step. */
  distinct?: boolean;
}

async function runModel(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const r = await s.run(feeds);
  await s.release();
  return r;
}

async function checkCase(c: Case, seed: number): Promise<void> {
  const rand = rng(seed);
  const xs = c.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (c.distinct) {
      const grid = Float64Array.from({ length: n }, (_, i) => -1 + (2 * i) / Math.max(n - 1, 1));
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [grid[i], grid[j]] = [grid[j] as number, grid[i] as number];
      }
      return grid;
    }
    return Float64Array.from({ length: n }, () => {
      let v = rand() * 2 - 1;
      if (c.avoidZero && Math.abs(v) < 0.1) v += Math.sign(v || 1) * 0.1;
      if (c.positive) v = Math.abs(v) + 0.2;
      return v;
    });
  });
  // Loss = sum(y * R) with a fixed random R, so every output element carries a distinct weight.
  const g = new Graph(c.dtype);
  const inputs = c.shapes.map((s, i) => g.input(`x${i}`, s));
  const y = c.build(g, inputs);
  const yShape = y.shape as number[];
  const rWeights = Float64Array.from({ length: yShape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
  const loss = g.reduceSum(
    g.mul(y, g.constant(rWeights, yShape)),
    yShape.map((_, i) => i),
    false,
  );
  const grads = gradients(g, loss, inputs);
  const model = g.toOnnx([g.named(loss, 'loss'), ...grads.map((v, i) => g.named(v, `grad${i}`))]);
  const typed = (a: Float64Array) => (c.dtype === 'float64' ? a : Float32Array.from(a));
  const feedsFor = (vals: Float64Array[]) =>
    Object.fromEntries(vals.map((v, i) => [`x${i}`, new ort.Tensor(c.dtype, typed(v), c.shapes[i])]));
  const out = await runModel(model.bytes, feedsFor(xs));

  let lossAt: (vals: Float64Array[]) => Promise<number>;
  if (c.ref) {
    const ref = c.ref;
    lossAt = async (vals) => ref(vals).reduce((s, v, i) => s + v * (rWeights[i] as number), 0);
  } else {
    const lossOnly = g.toOnnx([g.named(loss, 'lossOnly')]);
    const session = await ort.InferenceSession.create(lossOnly.bytes, { intraOpNumThreads: 1 });
    lossAt = async (vals) => {
      const feeds = Object.fromEntries(
        vals
          .map((v, i) => [`x${i}`, new ort.Tensor('float64', v, c.shapes[i])])
          .filter(([k]) => lossOnly.inputNames.includes(k as string)),
      );
      return Number(((await session.run(feeds))['lossOnly'] as ort.Tensor).data[0]);
    };
  }
  const eps = 1e-5;
  const tol = c.dtype === 'float64' ? 1e-6 : 2e-4;
  for (let k = 0; k < xs.length; k++) {
    const analytic = (out[`grad${k}`] as ort.Tensor).data as Float32Array | Float64Array;
    const x = xs[k] as Float64Array;
    assert.equal(analytic.length, x.length, `${c.name}: gradient ${k} size`);
    let norm = 0;
    for (const v of analytic) norm += v * v;
    norm = Math.sqrt(norm);
    for (let i = 0; i < x.length; i++) {
      const orig = x[i] as number;
      x[i] = orig + eps;
      const lp = await lossAt(xs);
      x[i] = orig - eps;
      const lm = await lossAt(xs);
      x[i] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const err = Math.abs(numeric - (analytic[i] as number));
      assert.ok(
        err <= tol * Math.max(norm, 1e-3) + 1e-7,
        `${c.name} (seed ${seed}): d/dx${k}[${i}] analytic ${analytic[i]} vs numeric ${numeric} (|grad| ${norm})`,
      );
    }
  }
}

const shape4 = [2, 3, 4, 5];
const f64 = 'float64' as const;
const f32 = 'float32' as const;

function refConv(stride: number, pads: number[], ws: [number, number, number, number], bias: boolean) {
  return (xs: Float64Array[]) => {
    const [x, w, b] = xs as [Float64Array, Float64Array, Float64Array?];
    return conv2d(t4([2, ws[1], 6, 7], x), t4(ws, w), bias ? b : undefined, stride, pads).data;
  };
}

function maxPoolRef(x: T4): Float64Array {
  const [N, C, H, W] = x.shape;
  const out = new Float64Array(N * C);
  for (let i = 0; i < N * C; i++) {
    let m = -Infinity;
    for (let j = 0; j < H * W; j++) m = Math.max(m, x.data[i * H * W + j] as number);
    out[i] = m;
  }
  return out;
}

const cases: Case[] = [
  {
    name: 'Add (broadcast)',
    dtype: f64,
    shapes: [shape4, [1, 3, 1, 1]],
    build: (g, [a, b]) => g.add(a!, b!),
  },
  {
    name: 'Sub (broadcast)',
    dtype: f64,
    shapes: [[1, 3, 1, 5], shape4],
    build: (g, [a, b]) => g.sub(a!, b!),
  },
  {
    name: 'Mul (broadcast)',
    dtype: f64,
    shapes: [shape4, [2, 1, 4, 1]],
    build: (g, [a, b]) => g.mul(a!, b!),
  },
  {
    name: 'Div',
    dtype: f64,
    shapes: [shape4, [1, 3, 1, 1]],
    positive: true,
    build: (g, [a, b]) => g.div(a!, b!),
  },
  { name: 'Pow 2', dtype: f64, shapes: [shape4], build: (g, [a]) => g.pow(a!, 2) },
  { name: 'Pow 3', dtype: f64, shapes: [shape4], build: (g, [a]) => g.pow(a!, 3) },
  { name: 'Tanh', dtype: f64, shapes: [shape4], build: (g, [a]) => g.tanh(a!) },
  { name: 'Relu', dtype: f64, shapes: [shape4], avoidZero: true, build: (g, [a]) => g.relu(a!) },
  {
    name: 'LeakyRelu',
    dtype: f64,
    shapes: [shape4],
    avoidZero: true,
    build: (g, [a]) => g.leakyRelu(a!, 0.2),
  },
  { name: 'Abs', dtype: f64, shapes: [shape4], avoidZero: true, build: (g, [a]) => g.abs(a!) },
  { name: 'Neg', dtype: f64, shapes: [shape4], build: (g, [a]) => g.neg(a!) },
  { name: 'Sqrt', dtype: f64, shapes: [shape4], positive: true, build: (g, [a]) => g.sqrt(a!) },
  { name: 'Exp', dtype: f64, shapes: [shape4], build: (g, [a]) => g.exp(a!) },
  { name: 'Softmax', dtype: f64, shapes: [[3, 4]], build: (g, [a]) => g.softmax(a!, 1) },
  { name: 'LogSoftmax', dtype: f64, shapes: [[3, 4]], build: (g, [a]) => g.logSoftmax(a!, 1) },
  {
    name: 'Concat',
    dtype: f64,
    shapes: [
      [2, 1, 3, 3],
      [2, 2, 3, 3],
    ],
    build: (g, [a, b]) => g.concat([a!, b!, a!], 1),
  },
  { name: 'Slice', dtype: f64, shapes: [shape4], build: (g, [a]) => g.slice(a!, [1, 1], [3, 4], [2, 3]) },
  { name: 'Transpose', dtype: f64, shapes: [shape4], build: (g, [a]) => g.transpose(a!, [1, 0, 3, 2]) },
  { name: 'Reshape', dtype: f64, shapes: [shape4], build: (g, [a]) => g.tanh(g.reshape(a!, [6, 20])) },
  { name: 'Expand', dtype: f64, shapes: [[1, 3, 1, 1]], build: (g, [a]) => g.expand(a!, shape4) },
  {
    name: 'Pad constant',
    dtype: f64,
    shapes: [shape4],
    build: (g, [a]) => g.pad(a!, [0, 0, 1, 2, 0, 0, 2, 1]),
  },
  { name: 'Pad reflect 1', dtype: f64, shapes: [shape4], build: (g, [a]) => g.reflectPad2d(a!, 1) },
  { name: 'Pad reflect 3', dtype: f64, shapes: [[1, 2, 5, 4]], build: (g, [a]) => g.reflectPad2d(a!, 3) },
  { name: 'ReduceSum', dtype: f64, shapes: [shape4], build: (g, [a]) => g.reduceSum(a!, [1, 3], false) },
  { name: 'ReduceMean', dtype: f64, shapes: [shape4], build: (g, [a]) => g.reduceMean(a!, [2, 3], true) },
  {
    name: 'ReduceMax',
    dtype: f64,
    shapes: [shape4],
    distinct: true,
    build: (g, [a]) => g.reduceMax(a!, [2, 3], false),
  },
  {
    name: 'MatMul',
    dtype: f64,
    shapes: [
      [3, 4],
      [4, 2],
    ],
    build: (g, [a, b]) => g.matMul(a!, b!),
  },
  {
    name: 'Identity+shared use',
    dtype: f64,
    shapes: [shape4],
    build: (g, [a]) => g.mul(g.identity(a!), g.tanh(a!)),
  },
  {
    name: 'Conv 3x3 s1 valid (x, w)',
    dtype: f32,
    shapes: [
      [2, 2, 6, 7],
      [3, 2, 3, 3],
    ],
    build: (g, [x, w]) => g.conv(x!, w!, undefined),
    ref: refConv(1, [0, 0, 0, 0], [3, 2, 3, 3], false),
  },
  {
    name: 'Conv 3x3 s2 same (x, w, b)',
    dtype: f32,
    shapes: [[2, 2, 6, 7], [3, 2, 3, 3], [3]],
    build: (g, [x, w, b]) => g.conv(x!, w!, b!, { strides: [2, 2], pads: [0, 0, 1, 1] }),
    ref: refConv(2, [0, 0, 1, 1], [3, 2, 3, 3], true),
  },
  {
    name: 'Conv 4x4 s4',
    dtype: f32,
    shapes: [[2, 2, 6, 7], [2, 2, 4, 4], [2]],
    build: (g, [x, w, b]) => g.conv(x!, w!, b!, { strides: [4, 4], pads: [1, 0, 1, 1] }),
    ref: refConv(4, [1, 0, 1, 1], [2, 2, 4, 4], true),
  },
  {
    name: 'Conv 4x4 s1 same',
    dtype: f32,
    shapes: [
      [2, 2, 6, 7],
      [2, 2, 4, 4],
    ],
    build: (g, [x, w]) => g.conv(x!, w!, undefined, { pads: [1, 1, 2, 2] }),
    ref: refConv(1, [1, 1, 2, 2], [2, 2, 4, 4], false),
  },
  {
    name: 'Conv 4x4 s2 same',
    dtype: f32,
    shapes: [
      [2, 2, 6, 7],
      [2, 2, 4, 4],
    ],
    build: (g, [x, w]) => g.conv(x!, w!, undefined, { strides: [2, 2], pads: [1, 1, 1, 2] }),
    ref: refConv(2, [1, 1, 1, 2], [2, 2, 4, 4], false),
  },
  {
    name: 'ConvTranspose 3x3 s2 same (x, w, b)',
    dtype: f32,
    shapes: [[2, 3, 3, 4], [3, 2, 3, 3], [2]],
    build: (g, [x, w, b]) => g.convTranspose(x!, w!, b!, { strides: [2, 2], pads: [0, 0, 1, 1] }),
    ref: ([x, w, b]) => convTranspose2d(t4([2, 3, 3, 4], x!), t4([3, 2, 3, 3], w!), b, 2, [0, 0, 1, 1]).data,
  },
  {
    name: 'InstanceNormalization (x, scale, bias)',
    dtype: f32,
    shapes: [[2, 3, 4, 5], [3], [3]],
    build: (g, [x, s, b]) => g.instanceNorm(x!, s!, b!, 1e-3),
    ref: ([x, s, b]) => instanceNorm(t4([2, 3, 4, 5], x!), s!, b!, 1e-3).data,
  },
  {
    name: 'GlobalMaxPool',
    dtype: f32,
    distinct: true,
    shapes: [[2, 3, 4, 5]],
    build: (g, [x]) => g.globalMaxPool(x!),
    ref: ([x]) => maxPoolRef(t4([2, 3, 4, 5], x!)),
  },
];

test('every VJP rule matches central finite differences', async () => {
  let seed = (Date.now() % 100000) + 1;
  for (const c of cases) await checkCase(c, seed++);
});

test('a wrong gradient is detected (the check can fail)', async () => {
  // Reflect-pad with the border contribution dropped (the classic bug): must be rejected.
  const bad: Case = {
    name: 'broken reflect pad',
    dtype: f64,
    shapes: [[1, 1, 4, 4]],
    build: (g, [a]) => g.reflectPad2d(a!, 1),
    ref: ([x]) => {
      const t = t4([1, 1, 4, 4], x!);
      const out = new Float64Array(36);
      for (let y = 0; y < 6; y++)
        for (let xx = 0; xx < 6; xx++) {
          const sy = Math.min(Math.max(y - 1, 0), 3);
          const sx = Math.min(Math.max(xx - 1, 0), 3); // edge (replicate) instead of reflect
          out[y * 6 + xx] = t.data[sy * 4 + sx] as number;
        }
      return out;
    },
  };
  await assert.rejects(checkCase(bad, 7), /broken reflect pad/);
});
