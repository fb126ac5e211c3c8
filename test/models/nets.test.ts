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
} from '../../models/nets.ts';
import { referenceForward, t4 } from './reference.ts';

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

test('ONNX forward matches the TypeScript reference: CNN and compact CNN', async () => {
  await checkParity(cnnGenerator({ width: 16 }), [2, 1, 16, 16], 21);
  await checkParity(cnnDiscriminator({ width: 16 }), [1, 1, 32, 32], 22);
  await checkParity(compactGenerator(), [2, 1, 16, 16], 23);
  await checkParity(compactDiscriminator(), [1, 1, 32, 24], 24);
});
