import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildInferenceModel, loadInferenceModel, readWeightsFromOnnx } from '../../../models/inference.ts';
import {
  initWeights,
  type NetConfig,
  type Network,
  networkFromConfig,
  type WeightMap,
} from '../../../models/nets.ts';
import { AppError } from '../../../main/util/errors.ts';
import {
  checkParity,
  compareArrays,
  importGenerator,
  readWeightsFile,
} from '../../../scripts/gpu/import-weights.ts';
import { exportModelWeights } from '../../../scripts/gpu/export-weights.ts';

const small: NetConfig = { kind: 'operational', role: 'generator', q: 3, channels: 1, width: 8 };
/** Parity output of scripts/gpu/train.py --parity --parity-step --width 4 (PyTorch, CPU float32). */
const torchFixture = fileURLToPath(new URL('./fixtures/parity-w4/', import.meta.url));
/**
 * The resize-upsampling variant with the paired step: train.py --parity --parity-step --parity-paired
 * --upsampling resize --width 4 (PyTorch 1.13, CPU float32).
 */
const resizeFixture = fileURLToPath(new URL('./fixtures/parity-w4-resize/', import.meta.url));

/** Writes a checkpoint the way train.py does (engine order, float32 LE), independently of the importer. */
async function writeCheckpoint(
  dir: string,
  net: Network,
  weights: WeightMap,
  edit: (meta: Record<string, unknown>, rows: Record<string, unknown>[]) => void = () => {},
): Promise<string> {
  const rows: Record<string, unknown>[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const p of net.params) {
    const values = weights.get(p.name) as Float32Array;
    const b = Buffer.alloc(values.length * 4);
    for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i] as number, i * 4);
    rows.push({ name: p.name, shape: p.shape, offset, length: values.length });
    chunks.push(b);
    offset += b.length;
  }
  const bin = Buffer.concat(chunks);
  const meta: Record<string, unknown> = {
    format: 'r2c-gan-weights/1',
    net: 'G_A2B',
    config: net.config,
    dtype: 'float32',
    byteOrder: 'little',
    bin: 'g_a2b.bin',
    totalBytes: bin.length,
    sha256: createHash('sha256').update(bin).digest('hex'),
    steps: 1234,
    seconds: 60,
    params: rows,
  };
  edit(meta, rows);
  await writeFile(join(dir, 'g_a2b.bin'), bin);
  const jsonPath = join(dir, 'g_a2b.json');
  await writeFile(jsonPath, JSON.stringify(meta));
  return jsonPath;
}

/** Engine init with non-zero biases/scales, so an order mix-up would change the values. */
function weightsFor(net: Network, seed: number): WeightMap {
  const w = initWeights(net, seed);
  let k = 0;
  for (const p of net.params) {
    if (p.init === 'glorot') continue;
    const a = w.get(p.name) as Float32Array;
    for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + 0.05 * Math.sin(i + 3 * k);
    k++;
  }
  return w;
}

function isIntegrityError(pattern: RegExp) {
  return (e: unknown) => e instanceof AppError && e.code === 'integrity' && pattern.test(e.message);
}

describe('scripts/gpu/import-weights', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-import-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('imports a trained generator into an inference model holding exactly its weights', async () => {
    const net = networkFromConfig(small);
    const weights = weightsFor(net, 5);
    const jsonPath = await writeCheckpoint(dir, net, weights);
    const out = join(dir, 'model', 'g.onnx');
    const r = await importGenerator(jsonPath, out);
    assert.equal(r.steps, 1234);
    assert.deepEqual(r.config, small);
    const bytes = new Uint8Array(await readFile(out));
    const back = readWeightsFromOnnx(bytes);
    assert.deepEqual(back.config, small);
    for (const p of net.params) assert.deepEqual(back.weights.get(p.name), weights.get(p.name), p.name);
    const runner = await loadInferenceModel(bytes);
    try {
      const res = await runner.run(new Float32Array(16 * 16).fill(0.25), [1, 1, 16, 16]);
      assert.deepEqual(res.restoredDims, [1, 1, 16, 16]);
      assert.ok(Math.abs((res.probabilities[0] as number) + (res.probabilities[1] as number) - 1) < 1e-5);
    } finally {
      await runner.release();
    }
  });

  test('rejects checkpoints that do not match the engine, naming the problem, and writes nothing', async () => {
    const net = networkFromConfig(small);
    const weights = weightsFor(net, 6);
    const out = join(dir, 'rejected.onnx');
    const cases: [string, Parameters<typeof writeCheckpoint>[3], RegExp][] = [
      [
        'order',
        (_m, rows) => {
          const a = rows[0] as { name: string };
          const b = rows[1] as { name: string };
          [a.name, b.name] = [b.name, a.name];
        },
        /parameter 0 is enc\.q2\.weight, the engine expects enc\.q1\.weight/,
      ],
      [
        'shape',
        (_m, rows) => {
          (rows[0] as { shape: number[] }).shape = [16, 1, 3, 1, 3];
        },
        /enc\.q1\.weight has shape \[16,1,3,1,3\]/,
      ],
      [
        'size',
        (m) => {
          m['totalBytes'] = (m['totalBytes'] as number) + 4;
        },
        /truncated or from another run/,
      ],
      [
        'checksum',
        (m) => {
          m['sha256'] = '0'.repeat(64);
        },
        /does not match the SHA-256/,
      ],
      [
        'config',
        (m) => {
          m['config'] = { ...small, width: 16 };
        },
        /parameter enc\.q1\.weight has shape \[16,1,3,3\], the engine expects \[32,1,3,3\]/,
      ],
      [
        'format',
        (m) => {
          m['format'] = 'something-else';
        },
        /field format/,
      ],
    ];
    for (const [what, edit, pattern] of cases) {
      const jsonPath = await writeCheckpoint(dir, net, weights, edit);
      await assert.rejects(importGenerator(jsonPath, out), isIntegrityError(pattern), what);
    }
    const nan = new Map(weights);
    nan.set(
      'res.conv1.q2.weight',
      Float32Array.from(weights.get('res.conv1.q2.weight') as Float32Array, (v, i) =>
        i === 7 ? Number.NaN : v,
      ),
    );
    await assert.rejects(
      importGenerator(await writeCheckpoint(dir, net, nan), out),
      isIntegrityError(/res\.conv1\.q2\.weight holds a non-finite value at 7/),
    );
    await assert.rejects(stat(out), { code: 'ENOENT' });
  });

  test('refuses a discriminator as an inference model', async () => {
    const net = networkFromConfig({ ...small, role: 'discriminator' });
    const jsonPath = await writeCheckpoint(dir, net, weightsFor(net, 2));
    assert.equal((await readWeightsFile(jsonPath)).net.params.length, net.params.length);
    await assert.rejects(
      importGenerator(jsonPath, join(dir, 'd.onnx')),
      (e: unknown) => e instanceof AppError && e.code === 'bad_input',
    );
  });

  test('the PyTorch mirror matches the engine: forward, losses, gradients, Adam and init (fixture)', async () => {
    const report = await checkParity(torchFixture);
    const failed = report.checks.filter((c) => !c.pass).map((c) => `${c.name} rel ${c.relError}`);
    assert.deepEqual(failed, []);
    assert.ok(report.checks.length >= 30, `only ${report.checks.length} checks ran`);
    assert.equal(report.init.generator.equal, report.init.generator.total);
    assert.ok(report.init.generator.total > 0);
    assert.equal(report.pass, true);
  });

  test('the resize variant and the paired recipe match the engine: forward, GAN and paired steps, EMA, kernel conversion (fixture)', async () => {
    const meta = JSON.parse(await readFile(join(resizeFixture, 'parity.json'), 'utf8'));
    assert.equal(meta.generator.upsampling, 'resize', 'the fixture is the resize variant');
    const report = await checkParity(resizeFixture);
    const failed = report.checks.filter((c) => !c.pass).map((c) => `${c.name} rel ${c.relError}`);
    assert.deepEqual(failed, []);
    const names = report.checks.map((c) => c.name);
    for (const prefix of [
      'G restored/0',
      'G restored/1',
      'G grads G_A2B/',
      'paired l1',
      'paired ce',
      'paired total',
      'paired lr',
      'paired grads',
      'paired Adam',
      'paired EMA',
      'convert dec.q1.weight',
      'convert dec.q3.weight',
    ])
      assert.ok(
        names.some((n) => n.startsWith(prefix)),
        `no check ${prefix} (got ${names.join(', ')})`,
      );
    assert.equal(report.init.generator.equal, report.init.generator.total);
    assert.equal(report.pass, true);
  });

  test('the resize fixture fails parity when read as a transposed generator (the option is checked)', async () => {
    const copy = join(dir, 'parity-transposed');
    await cp(resizeFixture, copy, { recursive: true });
    const meta = JSON.parse(await readFile(join(copy, 'parity.json'), 'utf8'));
    delete meta.generator.upsampling;
    meta.pairedStep = null;
    meta.step = null;
    await writeFile(join(copy, 'parity.json'), JSON.stringify(meta));
    const report = await checkParity(copy);
    assert.equal(report.pass, false);
    const failed = report.checks.filter((c) => !c.pass).map((c) => c.name);
    assert.ok(failed.includes('G restored/0') && failed.includes('G restored/1'), failed.join(', '));
    assert.ok(!failed.some((n) => n.startsWith('G features')), 'only the upsampling layer differs');
  });

  test('imports a resize generator as a resize network (the config field is kept)', async () => {
    const config: NetConfig = { ...small, upsampling: 'resize' };
    const net = networkFromConfig(config);
    const weights = weightsFor(net, 9);
    const sub = join(dir, 'resize');
    await mkdir(sub, { recursive: true });
    const jsonPath = await writeCheckpoint(sub, net, weights);
    const { config: read } = await readWeightsFile(jsonPath);
    assert.equal(read.upsampling, 'resize');
    const out = join(sub, 'g.onnx');
    const r = await importGenerator(jsonPath, out);
    assert.equal(r.config.upsampling, 'resize');
    const bytes = new Uint8Array(await readFile(out));
    assert.equal(readWeightsFromOnnx(bytes).config.upsampling, 'resize');
    // The same bytes as the engine's own resize model for these weights (not the transposed one).
    assert.deepEqual(bytes, buildInferenceModel(net, weights));
    const transposed = buildInferenceModel(networkFromConfig(small), weights);
    assert.notDeepEqual(bytes, transposed);
  });

  test("export-weights.ts writes a model's generator as GPU-kit weights that read back exactly", async () => {
    for (const config of [small, { ...small, upsampling: 'resize' } as NetConfig]) {
      const net = networkFromConfig(config);
      const weights = weightsFor(net, 4);
      const sub = join(dir, `export-${config.upsampling ?? 'transposed'}`);
      await mkdir(sub, { recursive: true });
      const model = join(sub, 'model.onnx');
      await writeFile(model, buildInferenceModel(net, weights));
      const r = await exportModelWeights(model, join(sub, 'init'));
      const back = await readWeightsFile(r.jsonPath);
      assert.deepEqual(back.config, net.config);
      for (const p of net.params) assert.deepEqual(back.weights.get(p.name), weights.get(p.name), p.name);
      const raw = JSON.parse(await readFile(r.jsonPath, 'utf8'));
      assert.equal(raw.source, 'model.onnx');
    }
  });

  test('a torch output that differs from the engine fails parity, naming the output', async () => {
    const copy = join(dir, 'parity-bad');
    await cp(torchFixture, copy, { recursive: true });
    const meta = JSON.parse(await readFile(join(copy, 'parity.json'), 'utf8'));
    const bin = await readFile(join(copy, 'parity.bin'));
    const row = meta.tensors.find((t: { name: string }) => t.name === 'G/output/1');
    bin.writeFloatLE(bin.readFloatLE(row.offset + 40) + 0.01, row.offset + 40);
    meta.sha256 = createHash('sha256').update(bin).digest('hex');
    await writeFile(join(copy, 'parity.bin'), bin);
    await writeFile(join(copy, 'parity.json'), JSON.stringify(meta));
    const report = await checkParity(copy);
    assert.equal(report.pass, false);
    assert.deepEqual(
      report.checks.filter((c) => !c.pass).map((c) => c.name),
      ['G restored/1'],
    );
  });

  test('compareArrays fails on NaN and on length mismatch', () => {
    assert.equal(compareArrays('x', Float32Array.of(1, Number.NaN), Float32Array.of(1, 2)).pass, false);
    assert.equal(compareArrays('x', Float32Array.of(1), Float32Array.of(1, 2)).pass, false);
    assert.equal(compareArrays('x', Float32Array.of(1, 2.00001), Float32Array.of(1, 2)).pass, true);
  });
});
