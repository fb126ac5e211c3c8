// Whole-model gradient checks: the ONNX gradient graph (float32, onnxruntime) of every architecture
// against central finite differences of the float64 TypeScript reference forward, one random
// direction per parameter tensor and one for the input image (the cycle loss flows through a
// generator's input). Fresh random seed per run, printed on failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { gradients } from '../../models/autodiff.ts';
import { Graph, type Value } from '../../models/graph.ts';
import {
  cnnDiscriminator,
  cnnGenerator,
  compactDiscriminator,
  compactGenerator,
  initWeights,
  type Network,
  operationalDiscriminator,
  operationalGenerator,
  seededRandom,
} from '../../models/nets.ts';
import { inputContext } from '../../models/training.ts';
import { checkAlongRandomDirections } from '../helpers/gradient.ts';
import { referenceForward, t4 } from './reference.ts';

async function gradCheck(net: Network, shape: [number, number, number, number], seed: number): Promise<void> {
  const rand = seededRandom(seed);
  const weights = initWeights(net, seed);
  for (const [name, w] of weights)
    if (name.endsWith('.bias') || name.endsWith('.scale'))
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) + (rand() - 0.5) * 0.4;
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, () => rand() * 1.8 - 0.9);

  const g = new Graph('float32');
  const input = g.input('image', shape);
  const { ctx, params } = inputContext(g, net, '');
  const r = net.forward(ctx, input);
  const outShape = r.output.shape as number[];
  const R1 = Float32Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
  const R2 = Float32Array.from({ length: shape[0] * 2 }, () => rand() * 2 - 1);
  const all = (v: Value) => v.shape.map((_, i) => i);
  let loss = g.reduceSum(g.mul(r.output, g.constant(R1, outShape)), all(r.output), false);
  if (r.logits)
    loss = g.add(loss, g.reduceSum(g.mul(r.logits, g.constant(R2, [shape[0], 2])), [0, 1], false));
  const grads = gradients(g, loss, [...params.map((p) => p.value), input]);
  const model = g.toOnnx(grads.map((v, i) => g.named(v, `grad${i}`)));
  const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 2 });
  const feeds: Record<string, ort.Tensor> = { image: new ort.Tensor('float32', x, shape) };
  for (const p of params)
    feeds[p.name] = new ort.Tensor('float32', weights.get(p.name) as Float32Array, p.shape);
  const out = await session.run(
    Object.fromEntries(Object.entries(feeds).filter(([k]) => model.inputNames.includes(k))),
  );
  await session.release();

  const refLoss = (w: ReadonlyMap<string, ArrayLike<number>>, xin: ArrayLike<number>) => {
    const ref = referenceForward(net.config, w, t4(shape, xin));
    let s = 0;
    ref.output.data.forEach((v, i) => {
      s += v * (R1[i] as number);
    });
    ref.logits?.forEach((v, i) => {
      s += v * (R2[i] as number);
    });
    return s;
  };
  const targets = [...params.map((p) => p.name), 'image'];
  const label = `${net.config.kind} ${net.config.role} q=${net.config.q} seed=${seed}`;
  // Small step: a ReLU/LeakyReLU/max kink crossed inside [-eps, eps] spoils a difference, and the
  // chance of that shrinks with eps (float64 roundoff stays ~1e-9 relative at this eps).
  const eps = 1e-7;
  targets.forEach((name, k) => {
    const analytic = (out[`grad${k}`] as ort.Tensor).data as Float32Array;
    const base = name === 'image' ? x : (weights.get(name) as Float32Array);
    assert.equal(analytic.length, base.length, `${label}: gradient size of ${name}`);
    const r = checkAlongRandomDirections({
      analytic,
      base,
      loss: (moved) =>
        name === 'image'
          ? refLoss(weights, moved)
          : refLoss(new Map<string, ArrayLike<number>>(weights).set(name, moved), x),
      rand,
      eps,
      absTolerance: 1e-6,
    });
    if (process.env.R2C_DEBUG)
      console.log(label, name, r.dot, r.numeric, Math.abs(r.dot - r.numeric) / Math.max(r.scale, 1e-12));
    assert.ok(
      r.ok,
      `${label}: d/d${name} along v: analytic ${r.dot} vs numeric ${r.numeric} (|g||v| ${r.scale})`,
    );
  });
}

const seed = () => (Date.now() % 1000003) + 1;

test('whole-model gradients: operational generator and discriminator, Q = 1, 2, 3', async () => {
  for (const q of [1, 2, 3]) {
    await gradCheck(operationalGenerator({ q, width: 4 }), [1, 1, 16, 16], seed() + q);
    await gradCheck(operationalDiscriminator({ q, width: 4 }), [1, 1, 32, 32], seed() + 10 + q);
  }
});

test('whole-model gradients: CNN (9 residual blocks) generator and PatchGAN discriminator', async () => {
  await gradCheck(cnnGenerator({ width: 4 }), [1, 1, 16, 16], seed());
  await gradCheck(cnnDiscriminator({ width: 4 }), [1, 1, 32, 32], seed() + 1);
});

test('whole-model gradients: resize upsampling (operational Q=1, 3; compact; CNN)', async () => {
  await gradCheck(
    operationalGenerator({ q: 1, width: 4, upsampling: 'resize' }),
    [1, 1, 16, 16],
    seed() + 41,
  );
  await gradCheck(
    operationalGenerator({ q: 3, width: 4, upsampling: 'resize' }),
    [1, 1, 16, 16],
    seed() + 43,
  );
  await gradCheck(compactGenerator({ width: 4, upsampling: 'resize' }), [2, 1, 16, 16], seed() + 44);
  await gradCheck(cnnGenerator({ width: 4, upsampling: 'resize' }), [1, 1, 16, 16], seed() + 45);
});

test('whole-model gradients: compact CNN generator and discriminator', async () => {
  await gradCheck(compactGenerator({ width: 4 }), [2, 1, 16, 16], seed());
  await gradCheck(compactDiscriminator({ width: 4 }), [1, 1, 32, 32], seed() + 1);
});
