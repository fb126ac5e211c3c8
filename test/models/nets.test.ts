import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildNetworkModel } from '../../models/inference.ts';
import {
  cnnDiscriminator,
  cnnGenerator,
  compactDiscriminator,
  compactGenerator,
  initWeights,
  type Network,
  operationalDiscriminator,
  operationalGenerator,
  parameterCount,
  r2cGanNetworks,
  resizeKernelMatrix,
  seededRandom,
  transposedToResizeKernel,
} from '../../models/nets.ts';
import { conv2d, convTranspose2d, nearestUp2, referenceForward, swapInOut, t4 } from './reference.ts';

// Parameter counts derived layer by layer from the reference (C = 1 grayscale channel, base width 64).
// Operational layers hold Q kernels and, where they have a bias, Q biases (one per Keras Conv2D).
test('parameter counts match the reference layer by layer', () => {
  for (const Q of [1, 2, 3]) {
    const enc = Q * (1 * 128 * 3 * 3); // Oper2D(128, 3x3, s2, no bias) on 1 channel
    const res = 2 * Q * (128 * 128 * 3 * 3); // two Oper2D(128, 3x3, no bias)
    const norms = 3 * (2 * 128); // three InstanceNorms with scale + offset
    const dense = 128 * 2 + 2; // Dense(2) on the pooled 128 features
    const dec = Q * (128 * 1 * 3 * 3 + 1); // Oper2DTranspose(1, 3x3, s2, bias)
    assert.equal(parameterCount(operationalGenerator({ q: Q })), enc + res + norms + dense + dec);

    const c1 = Q * (1 * 64 * 4 * 4 + 64); // Oper2D(64, 4x4, s2, bias)
    const c2 = Q * (64 * 128 * 4 * 4) + 2 * 128; // Oper2D(128, 4x4, s4, no bias) + IN
    const c3 = Q * (128 * 1 * 4 * 4 + 1); // Oper2D(1, 4x4, s1, bias)
    assert.equal(parameterCount(operationalDiscriminator({ q: Q })), c1 + c2 + c3);
  }
  // Spelled out for Q = 3: 3456 + 884736 + 768 + 258 + 3459 = 892677 ("about 0.9 M").
  assert.equal(parameterCount(operationalGenerator({ q: 3 })), 892677);

  const stem = 1 * 64 * 7 * 7 + 2 * 64; // reflect-pad 3, Conv 7x7 64 (no bias), IN
  const down = 64 * 128 * 9 + 2 * 128 + (128 * 256 * 9 + 2 * 256); // two stride-2 Conv 3x3 + IN
  const blocks = 9 * (2 * (256 * 256 * 9) + 2 * (2 * 256)); // 9 x (two Conv 3x3 256 + two IN)
  const dense = 256 * 2 + 2; // class branch after block 5
  const up = 256 * 128 * 9 + 2 * 128 + (128 * 64 * 9 + 2 * 64); // two ConvTranspose 3x3 + IN
  const head = 64 * 1 * 7 * 7 + 1; // Conv 7x7 to 1 channel with bias
  assert.equal(parameterCount(cnnGenerator()), stem + down + blocks + dense + up + head);
  assert.equal(parameterCount(cnnGenerator()), 11371395);

  const patch =
    1 * 64 * 16 +
    64 + // Conv 4x4 s2 64 with bias
    (64 * 128 * 16 + 2 * 128) + // Conv 4x4 s2 128 + IN
    (128 * 256 * 16 + 2 * 256) + // Conv 4x4 s2 256 + IN
    (256 * 512 * 16 + 2 * 512) + // Conv 4x4 s1 512 + IN
    (512 * 1 * 16 + 1); // Conv 4x4 s1 to 1 with bias
  assert.equal(parameterCount(cnnDiscriminator()), patch);

  // Compact: the operational layout with plain convolutions (= Q = 1 counts).
  const compactG = 1 * 128 * 9 + 256 + 2 * (128 * 128 * 9 + 256) + (128 * 2 + 2) + (128 * 9 + 1);
  assert.equal(parameterCount(compactGenerator()), compactG);
  const compactD = 1 * 64 * 16 + 64 + (64 * 128 * 16 + 256) + (128 * 16 + 1);
  assert.equal(parameterCount(compactDiscriminator()), compactD);
});

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((a[i] as number) - (b[i] as number)) ** 2;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

async function checkParity(
  net: Network,
  shape: [number, number, number, number],
  seed: number,
): Promise<void> {
  const weights = initWeights(net, seed);
  // Non-trivial norm parameters and biases so every parameter matters.
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (const [name, w] of weights)
    if (name.endsWith('.bias') || name.endsWith('.scale'))
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) + (rnd() - 0.5) * 0.4;
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  const model = buildNetworkModel(net, weights);
  const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 2 });
  const out = await session.run({ image: new ort.Tensor('float32', x, shape) });
  const ref = referenceForward(net.config, weights, t4(shape, x));
  const y = out['output'] as ort.Tensor;
  assert.deepEqual([...y.dims], ref.output.shape);
  const label = `${net.config.kind} ${net.config.role} q=${net.config.q}`;
  const e = relError(y.data as Float32Array, ref.output.data);
  if (process.env.R2C_DEBUG) console.log(label, e);
  assert.ok(e < 1e-5, `${label}: output relative error ${e}`);
  if (ref.probabilities) {
    const p = (out['probabilities'] as ort.Tensor).data as Float32Array;
    const ep = relError(p, ref.probabilities);
    assert.ok(ep < 1e-5, `${label}: probabilities relative error ${ep}`);
    const el = relError((out['logits'] as ort.Tensor).data as Float32Array, ref.logits as number[]);
    assert.ok(el < 1e-5, `${label}: logits relative error ${el}`);
  }
  await session.release();
}

test('ONNX forward matches the TypeScript reference: operational Q=1,2,3', async () => {
  await checkParity(operationalGenerator({ q: 1, width: 32 }), [2, 1, 16, 16], 11);
  await checkParity(operationalGenerator({ q: 2, width: 32 }), [1, 1, 16, 24], 12);
  await checkParity(operationalGenerator({ q: 3 }), [2, 1, 16, 16], 13);
  await checkParity(operationalDiscriminator({ q: 1 }), [1, 1, 32, 32], 14);
  await checkParity(operationalDiscriminator({ q: 2 }), [2, 1, 32, 24], 15);
  await checkParity(operationalDiscriminator({ q: 3 }), [1, 1, 32, 32], 16);
});

test('resize upsampling: ONNX forward matches nearest x2 + 3x3 conv in the TypeScript reference', async () => {
  await checkParity(operationalGenerator({ q: 1, width: 8, upsampling: 'resize' }), [2, 1, 16, 16], 31);
  await checkParity(operationalGenerator({ q: 3, width: 16, upsampling: 'resize' }), [1, 1, 16, 24], 32);
  await checkParity(compactGenerator({ width: 8, upsampling: 'resize' }), [2, 1, 16, 16], 33);
  await checkParity(cnnGenerator({ width: 8, upsampling: 'resize' }), [1, 1, 16, 16], 34);
});

test('resize upsampling keeps the parameters and marks only generator configs', () => {
  const t = operationalGenerator({ q: 3 });
  const r = operationalGenerator({ q: 3, upsampling: 'resize' });
  assert.deepEqual(
    r.params.map((p) => [p.name, p.shape]),
    t.params.map((p) => [p.name, p.shape]),
  );
  assert.equal(r.config.upsampling, 'resize');
  // The reference variant is the absent field, so older configs and model metadata read the same.
  assert.equal('upsampling' in t.config, false);
  assert.equal('upsampling' in operationalGenerator({ upsampling: 'transposed' }).config, false);
  assert.equal(
    'upsampling' in r2cGanNetworks('operational', { upsampling: 'resize' }).discriminator.config,
    false,
  );
  assert.throws(() => operationalGenerator({ upsampling: 'bilinear' as never }), /upsampling must be one of/);
});

test('a constant map upsampled by resize-conv is flat inside; the transposed conv makes a grid', () => {
  // Odena et al.: every output phase of nearest x2 + conv sums the whole kernel.
  const k = Float32Array.from(
    { length: 9 },
    (_, i) => [0.3, -0.2, 0.5, 0.1, 0.9, -0.4, 0.2, 0.7, -0.1][i] as number,
  );
  const x = t4([1, 1, 6, 6], new Array(36).fill(1));
  const weights = new Map([['w', k]]);
  const resize = conv2d(
    nearestUp2(x),
    swapInOut(t4([1, 1, 3, 3], weights.get('w'))),
    undefined,
    1,
    [1, 1, 1, 1],
  );
  const transposed = convTranspose2d(x, t4([1, 1, 3, 3], k), undefined, 2, [0, 0, 1, 1]);
  const inner = (t: ReturnType<typeof t4>) => {
    const vals: number[] = [];
    for (let y = 2; y < 10; y++) for (let xx = 2; xx < 10; xx++) vals.push(t.data[y * 12 + xx] as number);
    return Math.max(...vals) - Math.min(...vals);
  };
  assert.ok(inner(resize) < 1e-12, `resize-conv range ${inner(resize)}`);
  assert.ok(inner(transposed) > 0.5, `transposed range ${inner(transposed)}`);
});

test('transposedToResizeKernel: exact where a resize-conv can express the kernel, least squares otherwise', () => {
  const m = resizeKernelMatrix();
  const to4 = (w: ArrayLike<number>) => {
    const k = new Float64Array(16);
    for (let r = 0; r < 9; r++)
      for (let c = 0; c < 16; c++) k[c] = (k[c] as number) + (w[r] as number) * (m[r * 16 + c] as number);
    return k;
  };
  // The transposed kernel (pads 0,0,1,1) is the 4x4 kernel (pads 1,1,1,1) without its first row/column.
  const to3 = (k4: Float64Array) =>
    Float32Array.from({ length: 9 }, (_, i) => k4[(Math.floor(i / 3) + 1) * 4 + (i % 3) + 1] as number);
  // A resize kernel with zero last row and column has a 4x4 kernel with zero first row and column.
  const w0 = [0.3, -0.2, 0, 0.5, 0.7, 0, 0, 0, 0];
  const k4 = to4(w0);
  assert.deepEqual([k4[0], k4[1], k4[2], k4[3], k4[4], k4[8], k4[12]], [0, 0, 0, 0, 0, 0, 0]);
  const back = transposedToResizeKernel(to3(k4));
  for (const [i, v] of back.entries())
    assert.ok(Math.abs(v - (w0[i] as number)) < 1e-6, `tap ${i}: ${v} vs ${w0[i]}`);
  // Any other kernel: no nearby resize kernel fits the embedded transposed kernel better.
  const rand = seededRandom(7);
  const k3 = Float32Array.from({ length: 9 }, () => rand() * 2 - 1);
  const e = new Float64Array(16);
  for (let i = 0; i < 9; i++) e[(Math.floor(i / 3) + 1) * 4 + (i % 3) + 1] = k3[i] as number;
  const err = (w: ArrayLike<number>) => to4(w).reduce((acc, v, i) => acc + (v - (e[i] as number)) ** 2, 0);
  const best = transposedToResizeKernel(k3);
  const base = err(best);
  assert.ok(base > 1e-3, 'a random transposed kernel is not a resize kernel');
  for (let t = 0; t < 50; t++) {
    const probe = Float64Array.from(best, (v) => v + (rand() - 0.5) * 0.02);
    assert.ok(err(probe) >= base - 1e-9, `probe ${t} fits better: ${err(probe)} < ${base}`);
  }
});

test('ONNX forward matches the TypeScript reference: CNN and compact CNN', async () => {
  await checkParity(cnnGenerator({ width: 16 }), [2, 1, 16, 16], 21);
  await checkParity(cnnDiscriminator({ width: 16 }), [1, 1, 32, 32], 22);
  await checkParity(compactGenerator(), [2, 1, 16, 16], 23);
  await checkParity(compactDiscriminator(), [1, 1, 32, 24], 24);
});
