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
    // A unit sitting on a kink (within float32 noise of 0) can still hit one direction; a wrong rule
    // fails every direction, so a second random direction decides.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (checkDirection(name, analytic, base, attempt === 1)) break;
    }
  });
  function checkDirection(name: string, analytic: Float32Array, base: Float32Array, last: boolean): boolean {
    const v = Float64Array.from({ length: base.length }, () => rand() * 2 - 1);
    const at = (sign: number) => {
      const moved = Float64Array.from(base, (b, i) => b + sign * eps * (v[i] as number));
      if (name === 'image') return refLoss(weights, moved);
      const w2 = new Map<string, ArrayLike<number>>(weights);
      w2.set(name, moved);
      return refLoss(w2, x);
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    let dot = 0;
    let gn = 0;
    let vn = 0;
    analytic.forEach((a, i) => {
      dot += a * (v[i] as number);
      gn += a * a;
      vn += (v[i] as number) ** 2;
    });
    const scale = Math.sqrt(gn * vn);
    const err = Math.abs(dot - numeric);
    if (process.env.R2C_DEBUG) console.log(label, name, dot, numeric, err / Math.max(scale, 1e-12));
    const ok = err <= 1e-4 * scale + 1e-6;
    if (last)
      assert.ok(ok, `${label}: d/d${name} along v: analytic ${dot} vs numeric ${numeric} (|g||v| ${scale})`);
    return ok;
  }
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
