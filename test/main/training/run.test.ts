// The trainer pipeline on a tiny synthetic data set (32 px crops, width 4): metrics log, checkpoints,
// resume after a cancel and after SIGKILL, Ctrl-C in the CLI, initFrom, and train → export → eval.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { loadCheckpoint, readWeightsFromOnnx } from '../../../models/index.ts';
import { evaluateModel } from '../../../main/evaluation/evaluate-model.ts';
import { modelCardSchema } from '../../../main/inference/model-card.ts';
import { adHocModel } from '../../../main/inference/model-store.ts';
import { createInferenceService } from '../../../main/inference/service.ts';
import { loadRunConfig, parseRunConfig, type RunConfig } from '../../../main/training/config.ts';
import { createSecondaryCapture } from '../../../main/dicom/index.ts';
import { readDicomAsModelInput, readInput } from '../../../main/inference/batch.ts';
import { loadItemImage, scanLabelledFolder } from '../../../main/data/index.ts';
import { type MetricsRecord, readMetrics } from '../../../main/training/metrics.ts';
import { train } from '../../../main/training/run.ts';
import { readGrayImage, writeGrayPng } from '../../../main/util/image-io.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repoRoot, 'bin', 'r2c.js');

let dir = '';
let dataDir = '';

/** 4 COVID-19 + 4 normal gray PNGs (40x36) with different gradients and a blob, so samples differ. */
async function makeImages(root: string): Promise<void> {
  for (const [c, label] of ['covid', 'normal'].entries()) {
    await mkdir(join(root, label), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const w = 40;
      const h = 36;
      const data = new Float32Array(w * h);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const blob = Math.exp(-((x - 10 - 5 * i) ** 2 + (y - 18) ** 2) / (20 + 30 * c));
          data[y * w + x] = Math.min(1, 0.2 + 0.5 * ((x + y * (i + 1)) / (w + h * 4)) + 0.3 * blob);
        }
      await writeGrayPng(join(root, label, `img-${i}.png`), { width: w, height: h, data });
    }
  }
}

function tinyConfig(name: string, extra: Record<string, unknown> = {}): RunConfig {
  return parseRunConfig({
    data: dataDir,
    outDir: join(dir, name),
    size: 32,
    width: 4,
    steps: 6,
    logEvery: 1,
    checkpointEvery: 4,
    sampleEvery: 3,
    threads: 1,
    ...extra,
  });
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]! / a.length;
    mb += b[i]! / b.length;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

const stepsOf = (records: readonly MetricsRecord[]) => records.map((r) => r.step);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const lossesOf = (r: MetricsRecord) => ({ step: r.step, lr: r.lr, G: r.G, D: r.D });

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Polls until `ready()` holds (or the child exits, or 90 s pass). */
async function waitUntil(child: ChildProcess, ready: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the training process exited (${child.exitCode}) before ${what}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  child.kill('SIGKILL');
  throw new Error(`timed out waiting for ${what}`);
}

describe('training run', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-train-'));
    dataDir = join(dir, 'data');
    await makeImages(dataDir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a run logs every step, checkpoints, saves sample grids, a loss plot and a model with a draft card', async () => {
    const config = tinyConfig('full');
    const progress: number[] = [];
    const result = await train(config, {
      onProgress: (p) => p.phase === 'training' && progress.push(p.step),
    });
    assert.equal(result.status, 'finished');
    assert.equal(result.step, 6);
    assert.equal(result.resumedFrom, null);
    assert.deepEqual(progress, range(1, 6));
    const records = await readMetrics(result.files.metrics);
    assert.deepEqual(stepsOf(records), range(1, 6));
    for (const r of records) {
      assert.equal(Object.keys(r.G).length, 13, 'G total + 12 terms');
      assert.equal(Object.keys(r.D).length, 5, 'D total + 4 terms');
      assert.ok(Number.isFinite(r.G['total']) && r.stepSeconds > 0 && r.imagesPerSecond > 0, 'finite values');
    }
    // lr: constant until decayStart (3), then linear to 0 at step 6 (float32 inside the graph)
    const expected = [2e-4, 2e-4, 2e-4, 2e-4, (2e-4 * 2) / 3, 2e-4 / 3];
    for (const [i, r] of records.entries())
      assert.ok(Math.abs(r.lr - (expected[i] as number)) < 1e-9, `lr at step ${r.step}`);
    const checkpoint = await loadCheckpoint(result.files.checkpoint);
    assert.equal(checkpoint.state.step, 6);
    for (const step of [3, 6]) {
      const meta = await sharp(join(result.files.samples, `step-00000${step}.png`)).metadata();
      assert.equal(meta.width, 3 * 32 + 4, 'poor | restored | cycle');
      assert.equal(meta.height, 3 * 32 + 4, 'three sample rows');
    }
    assert.match(await readFile(result.files.lossesSvg, 'utf8'), /<polyline/);
    assert.ok(existsSync(result.files.lossesPng), 'losses.png written');
    const model = await readFile(result.files.model);
    const card = modelCardSchema.parse(JSON.parse(await readFile(result.files.card, 'utf8')));
    assert.equal(card.bytes, model.length);
    assert.equal(card.version, 'draft-step-6');
    assert.equal(card.architecture.q, 3);
    // The exported model is G_A2B of the final checkpoint.
    const exported = readWeightsFromOnnx(model).weights;
    for (const [name, w] of exported)
      assert.deepEqual(w, checkpoint.state.weights.get(`G_A2B/${name}`), `exported ${name}`);
  });

  test('cancel saves a checkpoint; resuming reproduces the uninterrupted run exactly', async () => {
    const controller = new AbortController();
    const config = tinyConfig('cancelled');
    const first = await train(config, {
      signal: controller.signal,
      onProgress: (p) => p.step === 3 && controller.abort(),
    });
    assert.equal(first.status, 'cancelled');
    assert.equal(first.step, 3);
    assert.equal((await loadCheckpoint(first.files.checkpoint)).state.step, 3);
    assert.ok(!existsSync(first.files.model), 'no model before the run finishes');
    const second = await train(config);
    assert.equal(second.status, 'finished');
    assert.equal(second.resumedFrom, 3);
    const resumed = await readMetrics(second.files.metrics);
    const straight = await readMetrics(join(dir, 'full', 'metrics.jsonl'));
    assert.deepEqual(stepsOf(resumed), range(1, 6));
    // Data order, augmentation and degradation are functions of the step, and the pools hold fewer than
    // 50 fakes, so the resumed run must match the uninterrupted one bit for bit.
    assert.deepEqual(resumed.map(lossesOf), straight.map(lossesOf));
    const a = await loadCheckpoint(second.files.checkpoint);
    const b = await loadCheckpoint(join(dir, 'full', 'checkpoint.r2c'));
    assert.deepEqual([...a.state.weights.keys()].sort(), [...b.state.weights.keys()].sort());
    for (const [name, w] of a.state.weights) assert.deepEqual(w, b.state.weights.get(name), name);
    for (const [name, m] of a.state.m) assert.deepEqual(m, b.state.m.get(name), `m:${name}`);
  });

  test('stopAt ends a run early and exports the model of that step; a later stopAt resumes', async () => {
    const config = tinyConfig('early');
    const early = await train(config, { stopAt: 2 });
    assert.equal(early.status, 'finished');
    assert.equal(early.step, 2);
    const card = modelCardSchema.parse(JSON.parse(await readFile(early.files.card, 'utf8')));
    assert.equal(card.version, 'draft-step-2');
    assert.equal(card.training?.['stoppedEarly'], `at step 2 of a ${config.steps}-step schedule`);
    const exported = readWeightsFromOnnx(await readFile(early.files.model)).weights;
    const checkpoint = await loadCheckpoint(early.files.checkpoint);
    for (const [name, w] of exported)
      assert.deepEqual(w, checkpoint.state.weights.get(`G_A2B/${name}`), name);
    // Stopping at a step the checkpoint is already past exports at once, training nothing.
    const again = await train(config, { stopAt: 1 });
    assert.equal(again.step, 2);
    assert.deepEqual(stepsOf(await readMetrics(again.files.metrics)), range(1, 2));
  });

  test('a different config is refused on resume, naming the field', async () => {
    await assert.rejects(
      train(tinyConfig('full', { steps: 8 })),
      /holds a run with a different config \(steps: 6 there, 8 now\)/,
    );
    await assert.rejects(
      train(tinyConfig('full', { width: 8 })),
      /different config \(width: 4 there, 8 now\)/,
    );
  });

  test('initFrom starts G_A2B from an exported model and refuses a mismatched one', async () => {
    const modelPath = join(dir, 'full', 'model.onnx');
    const controller = new AbortController();
    controller.abort();
    const logs: string[] = [];
    const r = await train(tinyConfig('init', { initFrom: modelPath }), {
      signal: controller.signal,
      log: (l) => logs.push(l),
    });
    assert.equal(r.status, 'cancelled');
    assert.ok(
      logs.some((l) => /G_A2B starts from model\.onnx; G_B2A, D_A and D_B start fresh/.test(l)),
      'the log says what was initialised from where',
    );
    const start = await loadCheckpoint(r.files.checkpoint);
    assert.equal(start.state.step, 0);
    for (const [name, w] of readWeightsFromOnnx(await readFile(modelPath)).weights)
      assert.deepEqual(start.state.weights.get(`G_A2B/${name}`), w, name);
    await assert.rejects(
      train(tinyConfig('init-bad', { initFrom: modelPath, width: 8 })),
      /initFrom model model\.onnx is a operational generator \(q 3, width 4.*config asks for operational q 3 width 8/,
    );
  });

  test('paired objective: fine-tunes one generator on degraded/clean pairs, resumes exactly, exports it', async () => {
    const init = join(dir, 'full', 'model.onnx');
    const config = tinyConfig('paired', { objective: 'paired', initFrom: init, cleanFraction: 0.25 });
    const logs: string[] = [];
    const controller = new AbortController();
    const first = await train(config, {
      signal: controller.signal,
      log: (l) => logs.push(l),
      onProgress: (p) => p.step === 4 && controller.abort(),
    });
    assert.equal(first.status, 'cancelled');
    assert.ok(
      logs.some((l) => /paired fine-tuning of the generator from model\.onnx/.test(l)),
      logs.join('\n'),
    );
    const checkpoint = await loadCheckpoint(first.files.checkpoint);
    assert.equal(checkpoint.config.mode, 'supervised', 'one generator, no discriminators');
    assert.ok(
      [...checkpoint.state.weights.keys()].every((k) => k.startsWith('G/')),
      'only the generator is trained',
    );
    const second = await train(config);
    assert.equal(second.status, 'finished');
    assert.equal(second.resumedFrom, 4);
    const records = await readMetrics(second.files.metrics);
    assert.deepEqual(stepsOf(records), range(1, 6));
    for (const r of records) {
      assert.deepEqual(Object.keys(r.G).sort(), ['ce', 'l1', 'total'], 'paired loss terms');
      assert.ok(Math.abs(r.G['total']! - (10 * r.G['l1']! + r.G['ce']!)) < 1e-4, 'total = 10·l1 + 1·ce');
    }
    // Exactly the uninterrupted run: the same config straight through.
    const straight = await train(tinyConfig('paired-straight', { objective: 'paired', initFrom: init }));
    assert.deepEqual(records.map(lossesOf), (await readMetrics(straight.files.metrics)).map(lossesOf));
    // Rows: poor | restored | clean.
    const grid = await readGrayImage(join(second.files.samples, 'step-000006.png'));
    assert.equal(grid.width, 3 * 32 + 4);
    const exported = readWeightsFromOnnx(await readFile(second.files.model)).weights;
    const final = await loadCheckpoint(second.files.checkpoint);
    for (const [name, w] of exported) assert.deepEqual(w, final.state.weights.get(`G/${name}`), name);
    const card = modelCardSchema.parse(JSON.parse(await readFile(second.files.card, 'utf8')));
    assert.match(String(card.training?.['objective']), /^paired: 10·L1\(G\(poor\), clean\) \+ 1·CE/);
    // A GAN checkpoint is not continued as a paired run, nor the other way round.
    await assert.rejects(
      train(tinyConfig('full', { objective: 'paired' })),
      /different config \(objective: "r2c-gan" there, "paired" now\)/,
    );
  });

  test('recipe: resize upsampling from a transposed model, crops then full size, EMA; resumes exactly across phases', async () => {
    const init = join(dir, 'full', 'model.onnx');
    const recipe = {
      objective: 'paired',
      initFrom: init,
      upsampling: 'resize',
      cropSize: 16,
      cropSteps: 3,
      emaDecay: 0.8,
    };
    const config = tinyConfig('recipe', recipe);
    const controller = new AbortController();
    const first = await train(config, {
      signal: controller.signal,
      onProgress: (p) => p.step === 2 && controller.abort(),
    });
    assert.equal(first.status, 'cancelled');
    const second = await train(config);
    assert.equal(second.status, 'finished');
    assert.equal(second.resumedFrom, 2, 'resumed inside the crop phase');
    const straight = await train(tinyConfig('recipe-straight', recipe));
    const records = await readMetrics(second.files.metrics);
    assert.deepEqual(stepsOf(records), range(1, 6));
    assert.deepEqual(records.map(lossesOf), (await readMetrics(straight.files.metrics)).map(lossesOf));
    // The crop phase really trains on crops: without it, the first step sees other pixels.
    const { cropSize: _c, cropSteps: _s, ...withoutCrops } = recipe;
    const full = await train(tinyConfig('recipe-no-crops', withoutCrops), { stopAt: 1 });
    const fullFirst = (await readMetrics(full.files.metrics))[0]!;
    assert.notDeepEqual(fullFirst.G, records[0]!.G);
    // The export is the weight average, with the resize upsampling in its metadata and card.
    const exported = readWeightsFromOnnx(await readFile(second.files.model));
    assert.equal(exported.config.upsampling, 'resize');
    const final = await loadCheckpoint(second.files.checkpoint);
    assert.ok(final.state.ema, 'the checkpoint keeps the average');
    for (const [name, w] of exported.weights) assert.deepEqual(w, final.state.ema.get(`G/${name}`), name);
    const card = modelCardSchema.parse(JSON.parse(await readFile(second.files.card, 'utf8')));
    assert.equal(card.architecture.upsampling, 'resize');
    assert.match(String(card.training?.['crops']), /16 px crops for the first 3 steps, then 32 px/);
    assert.match(String(card.training?.['weightAverage']), /EMA, decay 0.8/);
    // A resize model cannot start a run that asks for transposed (left unsaid, the run follows the
    // model); crop phases and EMA belong to the paired objective.
    assert.equal(
      tinyConfig('recipe-follow', { objective: 'paired', initFrom: second.files.model }).upsampling,
      'resize',
    );
    await assert.rejects(
      train(
        tinyConfig('recipe-back', {
          objective: 'paired',
          initFrom: second.files.model,
          upsampling: 'transposed',
        }),
      ),
      /uses resize upsampling; the config asks for transposed/,
    );
    assert.throws(
      () => tinyConfig('bad', { cropSize: 16, cropSteps: 2 }),
      /cropSize is supported with the paired objective only/,
    );
    assert.throws(
      () => tinyConfig('bad', { objective: 'paired', cropSize: 16 }),
      /cropSize and cropSteps go together/,
    );
  });

  test('paired + adversarialWeight: a discriminator trains alongside, D losses logged, resumes exactly across phases', async () => {
    const init = join(dir, 'full', 'model.onnx');
    const recipe = {
      objective: 'paired',
      initFrom: init,
      cleanFraction: 0.25,
      cropSize: 16,
      cropSteps: 3,
      emaDecay: 0.8,
      adversarialWeight: 0.5,
    };
    const config = tinyConfig('paired-adv', recipe);
    const logs: string[] = [];
    const controller = new AbortController();
    const first = await train(config, {
      signal: controller.signal,
      log: (l) => logs.push(l),
      onProgress: (p) => p.step === 2 && controller.abort(),
    });
    assert.equal(first.status, 'cancelled');
    assert.ok(
      logs.some((l) =>
        /from model\.onnx, with an adversarial term \(weight 0\.5\) against a fresh discriminator/.test(l),
      ),
      logs.join('\n'),
    );
    const second = await train(config);
    assert.equal(second.status, 'finished');
    assert.equal(second.resumedFrom, 2, 'resumed inside the crop phase');
    const straight = await train(tinyConfig('paired-adv-straight', recipe));
    const records = await readMetrics(second.files.metrics);
    assert.deepEqual(stepsOf(records), range(1, 6));
    assert.deepEqual(records.map(lossesOf), (await readMetrics(straight.files.metrics)).map(lossesOf));
    for (const r of records) {
      assert.deepEqual(Object.keys(r.G).sort(), ['adv', 'ce', 'l1', 'total']);
      assert.deepEqual(Object.keys(r.D).sort(), ['d_fake', 'd_real', 'total']);
      assert.ok(Math.abs(r.G['total']! - (10 * r.G['l1']! + r.G['ce']! + 0.5 * r.G['adv']!)) < 1e-4);
      assert.equal(r.D['total'], r.D['d_real']! + r.D['d_fake']!);
    }
    // The checkpoints match in every group: G and D weights, both networks' Adam moments, the G average.
    const a = await loadCheckpoint(second.files.checkpoint);
    const b = await loadCheckpoint(straight.files.checkpoint);
    assert.equal(a.config.mode === 'supervised' && a.config.adversarialWeight, 0.5);
    const dKeys = [...a.state.weights.keys()].filter((k) => k.startsWith('D/'));
    assert.ok(dKeys.length > 0, 'the discriminator is in the checkpoint');
    assert.ok(
      dKeys.every((k) => a.state.m.has(k) && a.state.v.has(k)),
      'with its Adam moments',
    );
    assert.ok(
      [...(a.state.ema?.keys() ?? [])].every((k) => k.startsWith('G/')),
      'the average covers G only',
    );
    for (const group of ['weights', 'm', 'v', 'ema'] as const) {
      const x = a.state[group] as Map<string, Float32Array>;
      const y = b.state[group] as Map<string, Float32Array>;
      assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort(), group);
      for (const [name, w] of x) assert.deepEqual(w, y.get(name), `${group} ${name}`);
    }
    const exported = readWeightsFromOnnx(await readFile(second.files.model)).weights;
    for (const [name, w] of exported) assert.deepEqual(w, a.state.ema?.get(`G/${name}`), name);
    const card = modelCardSchema.parse(JSON.parse(await readFile(second.files.card, 'utf8')));
    assert.match(
      String(card.training?.['objective']),
      /^paired: 10·L1\(G\(poor\), clean\) \+ 1·CE \+ 0\.5·LSGAN/,
    );
    assert.match(String(card.training?.['initialisation']), /discriminator fresh/);
    // Adding the term to a paired run is a different run; so is dropping it, even without run-config.json.
    const { adversarialWeight: _w, cropSize: _c, cropSteps: _s, emaDecay: _e, ...pairedRecipe } = recipe;
    await assert.rejects(
      train(tinyConfig('paired', { ...pairedRecipe, adversarialWeight: 0.5 })),
      /different config \(adversarialWeight: null there, 0\.5 now\)/,
    );
    await rm(straight.files.config);
    await assert.rejects(
      train(tinyConfig('paired-adv-straight', { ...recipe, adversarialWeight: undefined })),
      /checkpoint .* was made with adversarialWeight 0\.5/,
    );
  });

  test('DICOM training images are decoded like inference inputs and train', async () => {
    const dicomData = join(dir, 'dicom-data');
    for (const label of ['covid', 'normal']) {
      await mkdir(join(dicomData, label), { recursive: true });
      for (let i = 0; i < 2; i++) {
        const png = join(dataDir, label, `img-${i}.png`);
        const written = await createSecondaryCapture({ image: await readGrayImage(png) });
        await writeFile(join(dicomData, label, `img-${i}.dcm`), written.bytes);
      }
    }
    const items = await scanLabelledFolder(dicomData, { includeDicom: true });
    assert.equal(items.length, 4);
    const decoded = await loadItemImage(items[0]!, { readDicom: readDicomAsModelInput });
    const original = await readGrayImage(join(dataDir, items[0]!.id.replace('.dcm', '.png')));
    assert.deepEqual([decoded.width, decoded.height], [original.width, original.height]);
    // Without a stored window the inference path stretches the frame's range, so compare shape, not levels.
    const r = pearson(decoded.data, original.data);
    assert.ok(r > 0.999, `the DICOM decodes to the PNG's picture (r = ${r})`);
    const inference = await readInput(items[0]!.path);
    assert.deepEqual(decoded.data, inference.image.data, 'exactly what inference would be given');
    const result = await train(
      tinyConfig('dicom', { data: dicomData, steps: 2, validation: { fraction: 0 } }),
    );
    assert.equal(result.status, 'finished');
    assert.equal(result.data.train + result.data.validation, 4, 'all four DICOM files are used');
  });

  test('SIGKILL mid-run, then resume: the metrics log continues without a gap or duplicate', async () => {
    const out = join(dir, 'killed');
    const configFile = join(dir, 'killed.json');
    await writeFile(
      configFile,
      JSON.stringify({
        data: dataDir,
        outDir: out,
        size: 32,
        width: 4,
        steps: 2000,
        checkpointEvery: 5,
        sampleEvery: 5000,
        threads: 1,
      }),
    );
    const child = spawn(process.execPath, [cli, 'train', '--config', configFile], { stdio: 'ignore' });
    const metricsPath = join(out, 'metrics.jsonl');
    try {
      await waitUntil(
        child,
        async () => existsSync(join(out, 'checkpoint.r2c')) && (await readMetrics(metricsPath)).length >= 7,
        'the first checkpoint',
      );
      child.kill('SIGKILL');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const exit = await waitForExit(child);
    assert.equal(exit.signal, 'SIGKILL');
    const killedAt = await loadCheckpoint(join(out, 'checkpoint.r2c'));
    const ckptStep = killedAt.state.step;
    assert.ok(ckptStep >= 5 && ckptStep % 5 === 0, `checkpoint at a multiple of 5 (got ${ckptStep})`);
    const before = await readMetrics(metricsPath);
    assert.ok(before.length >= ckptStep, 'the killed run logged up to its checkpoint');

    const controller = new AbortController();
    const config = await loadRunConfig(configFile);
    const resumed = await train(config, {
      signal: controller.signal,
      onProgress: (p) => p.step >= ckptStep + 3 && controller.abort(),
    });
    assert.equal(resumed.resumedFrom, ckptStep);
    assert.equal(resumed.status, 'cancelled');
    assert.equal(resumed.step, ckptStep + 3, 'the step count continues from the checkpoint');
    const afterResume = await readMetrics(metricsPath);
    assert.deepEqual(stepsOf(afterResume), range(1, ckptStep + 3));
    assert.deepEqual(
      afterResume.slice(0, ckptStep),
      before.slice(0, ckptStep),
      'lines up to the checkpoint are kept unchanged',
    );
  });

  test('r2c train: Ctrl-C saves a checkpoint at the last logged step and exits 130', async () => {
    const out = join(dir, 'interrupted');
    await writeFile(
      join(dir, 'cli.json'),
      JSON.stringify({ size: 32, width: 4, checkpointEvery: 1000, sampleEvery: 5000, threads: 1 }),
    );
    const run = spawn(
      process.execPath,
      [cli, 'train', '--config', join(dir, 'cli.json'), '--data', dataDir, '--out', out, '--steps', '2000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    run.stdout?.on('data', (d) => {
      stdout += String(d);
    });
    run.stderr?.resume();
    try {
      await waitUntil(
        run,
        async () => (await readMetrics(join(out, 'metrics.jsonl'))).length >= 3,
        'three steps',
      );
      run.kill('SIGINT');
    } finally {
      setTimeout(() => run.exitCode === null && run.kill('SIGKILL'), 60_000).unref();
    }
    const exit = await waitForExit(run);
    assert.equal(exit.code, 130, 'exit code 130 after Ctrl-C');
    const checkpoint = await loadCheckpoint(join(out, 'checkpoint.r2c'));
    const records = await readMetrics(join(out, 'metrics.jsonl'));
    assert.equal(checkpoint.state.step, records.at(-1)?.step, 'checkpoint at the last completed step');
    assert.match(stdout, /cancelled at step \d+\/2000/);
    assert.match(stdout, /run the same command again to resume/);
  });

  test('end to end: the trained model.onnx loads in the inference service and evaluates', async () => {
    const modelPath = join(dir, 'full', 'model.onnx');
    const items = (await scanLabelledFolder(dataDir)).filter((_, i) => i % 2 === 0);
    assert.equal(items.length, 4);
    const model = await adHocModel(modelPath, { kind: 'operational', q: 3, parameters: 1 });
    const emptyShipped = join(dir, 'no-shipped-models');
    const service = createInferenceService({
      shippedDir: emptyShipped,
      extraModels: [model],
      providers: ['cpu'],
      threads: 1,
    });
    try {
      const { report, model: used } = await evaluateModel({
        service,
        modelId: model.card.id,
        items,
        degradationSeed: 'train-e2e',
      });
      assert.equal(used.id, model.card.id);
      const m = report.classification.clean.metrics;
      assert.ok(m.accuracy >= 0 && m.accuracy <= 1, `accuracy in [0,1] (got ${m.accuracy})`);
      assert.equal(report.config.count, 4);
      assert.equal(report.images.length, 4, 'every image evaluated');
      assert.ok(Number.isFinite(report.restoration.restored.overall.psnr), 'restored PSNR is finite');
    } finally {
      await service.close();
    }
    // The draft card is installable as is: a local models folder holding the run's outputs.
    const local = createInferenceService({
      shippedDir: emptyShipped,
      localDir: join(dir, 'full'),
      providers: ['cpu'],
      threads: 1,
    });
    try {
      const prepared = await local.prepare('local-full');
      assert.equal(prepared.model.version, 'draft-step-6');
      const image = await readGrayImage(items[0]?.path as string);
      const r = await local.infer(image, { modelId: 'local-full', passes: 1 });
      assert.equal(r.restored.length, 1);
      assert.ok(r.probabilities.covid >= 0 && r.probabilities.covid <= 1, 'a probability');
    } finally {
      await local.close();
    }
  });
});
