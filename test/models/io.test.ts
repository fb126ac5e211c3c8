import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  checkpointToInferenceModel,
  loadCheckpoint,
  resumeTrainer,
  saveCheckpoint,
} from '../../models/checkpoint.ts';
import {
  buildInferenceModel,
  buildNetworkModel,
  loadInferenceModel,
  readWeightsFromOnnx,
} from '../../models/inference.ts';
import {
  cnnGenerator,
  compactGenerator,
  initWeights,
  operationalDiscriminator,
  operationalGenerator,
  seededRandom,
} from '../../models/nets.ts';
import { R2CGanTrainer, SupervisedTrainer } from '../../models/trainer.ts';
import { referenceForward, t4 } from './reference.ts';

const randomImage = (n: number, seed: number) => {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};

test('inference model: restored, probabilities and CAM match the reference; N, H, W are dynamic', async () => {
  for (const net of [
    operationalGenerator({ q: 3, width: 16 }),
    compactGenerator({ width: 16 }),
    cnnGenerator({ width: 4 }),
  ]) {
    const weights = initWeights(net, 5);
    const model = await loadInferenceModel(buildInferenceModel(net, weights), { threads: 2 });
    for (const [n, h, w] of [
      [1, 16, 16],
      [2, 24, 32],
    ] as const) {
      const x = randomImage(n * h * w, h + w);
      const out = await model.run(x, [n, 1, h, w]);
      const ref = referenceForward(net.config, weights, t4([n, 1, h, w], x));
      assert.deepEqual(out.restoredDims, [n, 1, h, w]);
      out.restored.forEach((v, i) => {
        assert.ok(Math.abs(v - (ref.output.data[i] as number)) < 1e-5, `restored[${i}]`);
      });
      out.probabilities.forEach((v, i) => {
        assert.ok(Math.abs(v - (ref.probabilities?.[i] as number)) < 1e-5, `p[${i}]`);
      });
      for (let k = 0; k < n; k++)
        assert.ok(
          Math.abs((out.probabilities[2 * k] as number) + (out.probabilities[2 * k + 1] as number) - 1) <
            1e-6,
        );
      // CAM = sum_c W[c, COVID] * F[c] over the feature maps the classifier pools.
      const f = ref.features as ReturnType<typeof t4>;
      const [, C, fh, fw] = f.shape;
      assert.deepEqual(out.camDims, [n, 1, fh, fw]);
      const dense = weights.get('classifier.weight') as Float32Array;
      for (let k = 0; k < n; k++)
        for (let p = 0; p < fh * fw; p++) {
          let s = 0;
          for (let c = 0; c < C; c++)
            s += (dense[c * 2 + 1] as number) * (f.data[(k * C + c) * fh * fw + p] as number);
          assert.ok(
            Math.abs((out.cam[k * fh * fw + p] as number) - s) < 1e-4 * Math.max(1, Math.abs(s)),
            `cam[${k},${p}]`,
          );
        }
    }
    await model.release();
  }
});

test('inference model rejects bad input and corrupted model files with clear errors', async () => {
  const net = operationalGenerator({ q: 1, width: 4 });
  const bytes = buildInferenceModel(net, initWeights(net, 1));
  const model = await loadInferenceModel(bytes, { threads: 1, memArena: false });
  const img = randomImage(64, 1);
  assert.equal((await model.run(img, [1, 1, 8, 8])).restored.length, 64);
  await assert.rejects(model.run(img, [1, 2, 4, 8]), { code: 'bad_input', message: /1 channel/ });
  await assert.rejects(model.run(img, [64]), { code: 'bad_input', message: /shape/ });
  await assert.rejects(model.run(randomImage(63, 1), [1, 1, 7, 9]), {
    code: 'bad_input',
    message: /multiples of 2/,
  });
  await assert.rejects(model.run(img, [1, 1, 8, 10]), { code: 'bad_input', message: /80/ });
  const nan = Float32Array.from(img);
  nan[5] = Number.NaN;
  await assert.rejects(model.run(nan, [1, 1, 8, 8]), { code: 'bad_input', message: /not finite/ });
  const big = Float32Array.from(img);
  big[3] = 255;
  await assert.rejects(model.run(big, [1, 1, 8, 8]), { code: 'bad_input', message: /outside \[-1, 1\]/ });
  await model.release();

  await assert.rejects(loadInferenceModel(bytes.subarray(0, bytes.length >> 1)), { code: 'integrity' });
  await assert.rejects(loadInferenceModel(new TextEncoder().encode('not a model at all')), {
    code: 'integrity',
  });
  const flipped = Uint8Array.from(bytes);
  for (let i = 100; i < 400; i += 7) flipped[i] = (flipped[i] as number) ^ 0xff;
  await assert.rejects(loadInferenceModel(flipped), (e: { code?: string }) =>
    ['integrity', 'unsupported'].includes(e.code ?? ''),
  );
  // A valid ONNX file that is not an R2C inference model (a discriminator) is refused by name.
  const d = operationalDiscriminator({ q: 1, width: 4 });
  await assert.rejects(loadInferenceModel(buildNetworkModel(d, initWeights(d, 1)).bytes), {
    code: 'unsupported',
  });
});

test('weights read back from an exported model are exact and fine-tune from there', async () => {
  const net = operationalGenerator({ q: 2, width: 4 });
  const weights = initWeights(net, 9);
  const { config, weights: back } = readWeightsFromOnnx(buildInferenceModel(net, weights));
  assert.deepEqual(config, net.config);
  assert.equal(back.size, weights.size);
  for (const [k, v] of weights) assert.deepEqual(back.get(k), v, k);
  const trainer = await SupervisedTrainer.create({ ...config, size: 8 }, { weights: back }, { threads: 1 });
  const losses = await trainer.step(randomImage(64, 2), randomImage(64, 3), 1);
  assert.ok(Number.isFinite(losses['total']));
  await trainer.release();
  // A GAN fine-tune starts G_A2B from the shipped model; mismatched weights are refused.
  const gan = await R2CGanTrainer.create(
    { kind: 'operational', q: 2, width: 4, size: 8, initialWeights: { G_A2B: back } },
    undefined,
    { threads: 1 },
  );
  for (const [k, v] of weights) assert.deepEqual(gan.state.weights.get(`G_A2B/${k}`), v);
  await gan.release();
  await assert.rejects(
    R2CGanTrainer.create({ kind: 'operational', q: 3, width: 4, size: 8, initialWeights: { G_A2B: back } }),
    { code: 'bad_input', message: /G_A2B/ },
  );
  assert.throws(() => readWeightsFromOnnx(new Uint8Array([1, 2, 3, 4])), { code: 'integrity' });
});

test('checkpoints: atomic save, exact resume, export; corruption is detected', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'r2c-ckpt-'));
  try {
    // A pool of 2 fills after two steps, so later steps swap fakes at random: the case resume must repeat.
    const trainer = await R2CGanTrainer.create(
      { kind: 'operational', q: 1, width: 4, size: 16, poolSize: 2 },
      undefined,
      { threads: 1 },
    );
    const batch = (s: number) => ({
      A: randomImage(256, s),
      B: randomImage(256, s + 1),
      labelA: 1,
      labelB: 0,
    });
    for (let s = 1; s <= 4; s++) await trainer.step(batch(s * 10));
    const path = join(dir, 'train.ckpt');
    await saveCheckpoint(path, { config: trainer.config, state: trainer.state });
    assert.deepEqual(await readdir(dir), ['train.ckpt'], 'no temp files left behind');
    const loaded = await loadCheckpoint(path);
    assert.equal(loaded.state.step, 4);
    assert.deepEqual(loaded.config, trainer.config);
    assert.match((await readFile(path)).subarray(0, 200).toString('latin1'), /r2c-checkpoint\/2/);
    for (const pool of ['A2B', 'B2A']) {
      assert.equal(loaded.state.pools?.get(pool)?.length, 2, `${pool} pool saved`);
      assert.deepEqual(loaded.state.pools?.get(pool), trainer.state.pools?.get(pool), `${pool} pool exact`);
    }
    for (const [k, v] of trainer.state.weights) assert.deepEqual(loaded.state.weights.get(k), v);
    for (const [k, v] of trainer.state.m) assert.deepEqual(loaded.state.m.get(k), v);
    // Resumed training continues exactly like the original run.
    const resumed = await resumeTrainer(loaded, { threads: 1 });
    assert.ok(resumed instanceof R2CGanTrainer);
    for (let s = 5; s <= 7; s++) {
      const a = await trainer.step(batch(s * 10));
      const b = await resumed.step(batch(s * 10));
      assert.ok(Math.abs((a.G['total'] as number) - (b.G['total'] as number)) < 1e-6, `G loss at step ${s}`);
      assert.ok(Math.abs((a.D['total'] as number) - (b.D['total'] as number)) < 1e-6, `D loss at step ${s}`);
    }
    for (const [k, v] of trainer.state.weights) {
      const w = resumed.state.weights.get(k) as Float32Array;
      v.forEach((x, i) => {
        assert.ok(Math.abs(x - (w[i] as number)) < 1e-6, `${k}[${i}] after resume`);
      });
    }
    // The checkpoint exports the same inference model as the trainer.
    const x = randomImage(256, 7);
    const m1 = await loadInferenceModel(checkpointToInferenceModel(loaded), { threads: 1 });
    const fresh = await resumeTrainer(loaded, { threads: 1 });
    const m2 = await loadInferenceModel(fresh.exportInferenceModel(), { threads: 1 });
    assert.deepEqual((await m1.run(x, [1, 1, 16, 16])).restored, (await m2.run(x, [1, 1, 16, 16])).restored);
    await Promise.all([m1.release(), m2.release(), fresh.release()]);
    await trainer.release();
    await resumed.release();

    const bytes = await readFile(path);
    const corrupt = Uint8Array.from(bytes);
    corrupt[corrupt.length - 10] = (corrupt[corrupt.length - 10] as number) ^ 0x55;
    await writeFile(join(dir, 'bad.ckpt'), corrupt);
    await assert.rejects(loadCheckpoint(join(dir, 'bad.ckpt')), { code: 'integrity', message: /checksum/ });
    await writeFile(join(dir, 'short.ckpt'), bytes.subarray(0, bytes.length - 100));
    await assert.rejects(loadCheckpoint(join(dir, 'short.ckpt')), {
      code: 'integrity',
      message: /truncated/,
    });
    await assert.rejects(loadCheckpoint(join(dir, 'missing.ckpt')), { code: 'not_found' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('external-norm export (tiling hook): norm statistics passed in reproduce the full model', async () => {
  const net = operationalGenerator({ q: 3, width: 8 });
  const weights = initWeights(net, 4);
  const full = await ort.InferenceSession.create(buildInferenceModel(net, weights));
  const ext = await ort.InferenceSession.create(
    buildInferenceModel(net, weights, { variant: 'external-norm' }),
  );
  const [h, w] = [16, 24];
  const x = new ort.Tensor('float32', randomImage(h * w, 3), [1, 1, h, w]);
  const norms = net.params
    .filter((p) => p.name.endsWith('.scale'))
    .map((p) => ({ name: p.name.slice(0, -6), c: p.shape[0] as number }));
  const count = (h / 2) * (w / 2);
  const stats = new Map<string, { mean: Float32Array; variance: Float32Array }>();
  const feeds = () => {
    const f: Record<string, ort.Tensor> = { image: x };
    for (const { name, c } of norms) {
      const s = stats.get(name) ?? { mean: new Float32Array(c), variance: new Float32Array(c).fill(1) };
      f[`${name}.mean`] = new ort.Tensor('float32', s.mean, [1, c, 1, 1]);
      f[`${name}.var`] = new ort.Tensor('float32', s.variance, [1, c, 1, 1]);
    }
    return f;
  };
  // One pass per norm layer: each pass makes the next layer's input statistics exact.
  for (const { name } of norms) {
    const r = await ext.run(feeds());
    const sum = (r[`${name}.sum`] as ort.Tensor).data as Float32Array;
    const sumsq = (r[`${name}.sumsq`] as ort.Tensor).data as Float32Array;
    const mean = sum.map((s) => s / count);
    stats.set(name, { mean, variance: sumsq.map((s, i) => s / count - (mean[i] as number) ** 2) });
  }
  const a = await full.run({ image: x });
  const b = await ext.run(feeds());
  const ra = (a['restored'] as ort.Tensor).data as Float32Array;
  const rb = (b['restored'] as ort.Tensor).data as Float32Array;
  ra.forEach((v, i) => {
    assert.ok(Math.abs(v - (rb[i] as number)) < 1e-4, `restored[${i}] ${v} vs ${rb[i]}`);
  });
  const camA = (a['cam'] as ort.Tensor).data as Float32Array;
  const camB = (b['cam'] as ort.Tensor).data as Float32Array;
  camA.forEach((v, i) => {
    assert.ok(Math.abs(v - (camB[i] as number)) < 1e-3 * Math.max(1, Math.abs(v)));
  });
  // With the wrong statistics the output differs (the hook is really used).
  stats.clear();
  const c = await ext.run(feeds());
  const rc = (c['restored'] as ort.Tensor).data as Float32Array;
  assert.ok(ra.some((v, i) => Math.abs(v - (rc[i] as number)) > 1e-3));
});
