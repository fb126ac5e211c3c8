import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../../main/cli/main.ts';
import {
  configDifference,
  DEFAULT_VALIDATION_FRACTION,
  DEFAULT_VALIDATION_SEED,
  loadRunConfig,
  parseRunConfig,
} from '../../../main/training/config.ts';
import { metricsUpTo, parseMetrics } from '../../../main/training/metrics.ts';
import { lineChartSvg, thin } from '../../../main/training/plot.ts';
import { AppError } from '../../../main/util/errors.ts';

const base = { data: '/data', outDir: '/out', steps: 10 };

function badInput(raw: unknown, pattern: RegExp) {
  assert.throws(
    () => parseRunConfig(raw),
    (e: unknown) => {
      assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
      assert.equal(e.code, 'bad_input');
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('training config', () => {
  test('defaults follow the reference and the shipped model split', () => {
    const c = parseRunConfig(base);
    assert.equal(c.arch, 'operational');
    assert.equal(c.q, 3);
    assert.equal(c.width, 64);
    assert.equal(c.size, 256);
    assert.equal(c.batch, 1);
    assert.equal(c.lr, 2e-4);
    assert.equal(c.poolSize, 50);
    assert.equal(c.threads, 2);
    assert.equal(c.decayStart, 5, 'decay starts half way by default');
    assert.deepEqual(c.validation, { seed: DEFAULT_VALIDATION_SEED, fraction: DEFAULT_VALIDATION_FRACTION });
    assert.equal(DEFAULT_VALIDATION_SEED, 20261126);
  });

  test('non-operational architectures use q = 1', () => {
    assert.equal(parseRunConfig({ ...base, arch: 'convolutional-light' }).q, 1);
  });

  test('errors name the field and the problem', () => {
    badInput(
      { ...base, arch: 'resnet' },
      /arch must be one of operational, convolutional, convolutional-light/,
    );
    badInput({ ...base, steps: 0 }, /steps must be at least 1/);
    badInput({ ...base, steps: 2.5 }, /steps must be a whole number/);
    badInput({ ...base, steps: 'ten' }, /steps must be a number/);
    badInput({ data: '/d', outDir: '/o' }, /steps/);
    badInput({ ...base, size: 30 }, /size must be a multiple of 8/);
    badInput({ ...base, batch: 4 }, /batch must be 1/);
    badInput({ ...base, decayStart: 10 }, /decayStart \(10\) must be below steps \(10\)/);
    badInput({ ...base, stepz: 3 }, /stepz/);
    badInput({ ...base, validation: { fraction: 1 } }, /validation\.fraction must be in \[0, 1\)/);
    badInput({ steps: 3, outDir: '/o' }, /data/);
    badInput([1, 2], /must be a JSON object/);
  });

  test('file paths resolve against the file, flags against the cwd, flags win', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'r2c-config-'));
    try {
      const file = join(dir, 'run.json');
      await writeFile(file, JSON.stringify({ data: 'images', outDir: 'runs/a', steps: 5, width: 8 }));
      const c = await loadRunConfig(file);
      assert.equal(c.data, join(dir, 'images'));
      assert.equal(c.outDir, join(dir, 'runs/a'));
      const o = await loadRunConfig(file, { steps: 7, outDir: 'elsewhere' });
      assert.equal(o.steps, 7);
      assert.equal(o.outDir, join(process.cwd(), 'elsewhere'));
      assert.equal(o.width, 8);
      await writeFile(file, '{ "steps": ');
      await assert.rejects(loadRunConfig(file), /is not valid JSON/);
      await assert.rejects(loadRunConfig(join(dir, 'missing.json')), /cannot be read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the paired objective: defaults, weights checked, no realPoor (it has no clean counterpart)', () => {
    const c = parseRunConfig({ ...base, objective: 'paired' });
    assert.equal(c.objective, 'paired');
    assert.equal(c.l1Weight, 10);
    assert.equal(c.classWeight, 1);
    assert.equal(c.cleanFraction, 0.25);
    assert.equal(parseRunConfig(base).objective, 'r2c-gan', 'the reference objective by default');
    badInput({ ...base, objective: 'supervised' }, /objective must be r2c-gan or paired/);
    badInput({ ...base, objective: 'paired', cleanFraction: 1 }, /cleanFraction must be in \[0, 1\)/);
    badInput({ ...base, objective: 'paired', classWeight: -1 }, /classWeight must be >= 0/);
    badInput(
      { ...base, objective: 'paired', realPoor: '/real' },
      /realPoor cannot be used with the paired objective/,
    );
  });

  test('adversarialWeight: a positive number, paired objective only, part of the run identity', () => {
    const c = parseRunConfig({ ...base, objective: 'paired', adversarialWeight: 0.1 });
    assert.equal(c.adversarialWeight, 0.1);
    assert.equal(
      parseRunConfig({ ...base, objective: 'paired' }).adversarialWeight,
      undefined,
      'off by default',
    );
    badInput({ ...base, objective: 'paired', adversarialWeight: 0 }, /adversarialWeight must be > 0/);
    badInput({ ...base, objective: 'paired', adversarialWeight: -1 }, /adversarialWeight must be > 0/);
    badInput(
      { ...base, objective: 'paired', adversarialWeight: '0.1' },
      /adversarialWeight must be a number/,
    );
    badInput(
      { ...base, adversarialWeight: 0.1 },
      /adversarialWeight is supported with the paired objective only \(the r2c-gan objective has its own/,
    );
    badInput(
      { ...base, objective: 'r2c-gan', adversarialWeight: 1 },
      /adversarialWeight is supported with the paired objective only/,
    );
    // A paired run saved before the option (no key) is the same run as one without it, not one with it.
    const plain = parseRunConfig({ ...base, objective: 'paired' });
    const { adversarialWeight: _none, ...older } = plain;
    assert.equal(configDifference(older, plain), null);
    assert.deepEqual(configDifference(plain, c), { key: 'adversarialWeight', saved: null, current: 0.1 });
    assert.deepEqual(
      configDifference(c, parseRunConfig({ ...base, objective: 'paired', adversarialWeight: 0.2 })),
      { key: 'adversarialWeight', saved: 0.1, current: 0.2 },
    );
  });

  test('a run saved before the objective existed resumes as r2c-gan, not as paired', () => {
    const current = parseRunConfig(base);
    const { objective, l1Weight, classWeight, cleanFraction, ...older } = current;
    assert.ok(objective && l1Weight && classWeight && cleanFraction, 'the new keys exist');
    assert.equal(configDifference(older, current), null);
    assert.deepEqual(configDifference(older, parseRunConfig({ ...base, objective: 'paired' })), {
      key: 'objective',
      saved: 'r2c-gan',
      current: 'paired',
    });
  });

  test('configDifference reports the first training-relevant difference only', () => {
    const a = parseRunConfig(base);
    assert.equal(configDifference(a, parseRunConfig({ ...base, logEvery: 5, checkpointEvery: 7 })), null);
    assert.deepEqual(configDifference(a, parseRunConfig({ ...base, steps: 12 })), {
      key: 'steps',
      saved: 10,
      current: 12,
    });
  });
});

describe('metrics log helpers', () => {
  const line = (step: number) =>
    JSON.stringify({ step, epoch: 0, lr: 1, G: { total: step }, D: { total: 1 } });

  test('metricsUpTo keeps each step once up to the checkpoint and drops a torn last line', () => {
    const text = `${[1, 2, 3, 4, 2].map(line).join('\n')}\n{"step":5,"G":{"to`;
    const kept = parseMetrics(metricsUpTo(text, 3));
    assert.deepEqual(
      kept.map((r) => r.step),
      [1, 2, 3],
    );
    assert.equal(parseMetrics(text).length, 5, 'the torn line is not a record');
  });

  test('line chart draws one polyline per series and thins long series', () => {
    const points = Array.from({ length: 5000 }, (_, i) => ({ x: i, y: 1 + Math.sin(i) }));
    assert.equal(thin(points, 100).length, 100);
    assert.equal(thin(points, 100).at(-1)?.x, 4999, 'the last point is kept');
    const svg = lineChartSvg({
      title: 'a & b',
      xLabel: 'step',
      yLabel: 'loss',
      logY: true,
      series: [
        { name: 'one', points },
        { name: 'two', points: [{ x: 0, y: 0 }] },
      ],
    });
    assert.equal((svg.match(/<polyline/g) ?? []).length, 1, 'a series with no positive values draws no line');
    assert.ok(svg.includes('>one<') && !svg.includes('>two<'), 'an empty series has no legend entry');
    assert.ok(svg.includes('a &amp; b'), 'title is escaped');
  });
});

describe('r2c train usage', () => {
  async function cli(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      isTty: false,
      signal: new AbortController().signal,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  test('r2c train --help names adversarialWeight', async () => {
    const help = await cli(['train', '--help']);
    assert.match(`${help.out}\n${help.err}`, /adversarialWeight \(e\.g\. 0\.1: add a least-squares GAN term/);
  });

  test('bad flags are usage errors (exit 2); a bad config exits 1 naming the field', async () => {
    const steps = await cli(['train', '--steps', '0', '--data', '/d', '--out', '/o']);
    assert.equal(steps.code, 2);
    assert.match(steps.err, /--steps must be a whole number >= 1, got '0'/);
    const dir = await mkdtemp(join(tmpdir(), 'r2c-config-'));
    try {
      const file = join(dir, 'run.json');
      await writeFile(file, JSON.stringify({ arch: 'resnet', data: dir, outDir: 'o', steps: 3 }));
      const arch = await cli(['train', '--config', file]);
      assert.equal(arch.code, 1);
      assert.match(arch.err, /arch must be one of operational, convolutional, convolutional-light/);
      const missing = await cli(['train', '--steps', '3', '--out', join(dir, 'o')]);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /data/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('a fine-tune keeps its starting model upsampling unless the config names one', () => {
  const shipped = new URL('../../../models/shipped/', import.meta.url).pathname;
  const base = { data: 'x.csv', outDir: 'out', steps: 10 };
  // The default r2c-q3 (0.2.0) has a resize output layer; r2c-q3-reference the transposed one.
  assert.equal(parseRunConfig({ ...base, initFrom: join(shipped, 'r2c-q3.onnx') }).upsampling, 'resize');
  assert.equal(
    parseRunConfig({ ...base, initFrom: join(shipped, 'r2c-q3-reference.onnx') }).upsampling,
    'transposed',
  );
  assert.equal(
    parseRunConfig({ ...base, initFrom: join(shipped, 'r2c-q3-reference.onnx'), upsampling: 'resize' })
      .upsampling,
    'resize',
    'an explicit choice wins (transposed -> resize converts the kernels)',
  );
  assert.equal(parseRunConfig(base).upsampling, 'transposed', 'a fresh run keeps the reference default');
  assert.equal(
    parseRunConfig({ ...base, initFrom: '/nonexistent/model.onnx' }).upsampling,
    'transposed',
    'an unreadable model is left for training to report',
  );
});
