import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';
import { installTinyModel } from '../inference/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-cli-infer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const modelsDir = join(dir, 'models');
const card = installTinyModel(modelsDir);
const data = requireSharedData();

function r2c(...args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, R2C_MODELS_DIR: modelsDir, R2C_DATA_DIR: join(dir, 'data') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('classify --json: one object per input with model, provider, probabilities, label and timings', () => {
  const inputs = join(dir, 'inputs');
  mkdirSync(join(inputs, 'nested'), { recursive: true });
  copyFileSync(join(data, 'cxr/covid/cxrdb_COVID-2001.png'), join(inputs, 'a.png'));
  copyFileSync(join(data, 'cxr/normal/nih_00003908_000.png'), join(inputs, 'nested', 'b.png'));
  writeFileSync(join(inputs, 'broken.png'), 'this is not a PNG');
  const run = r2c('classify', '--json', inputs);
  assert.equal(run.code, 1, 'a failed input makes the exit code non-zero');
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.file),
    [join(inputs, 'a.png'), join(inputs, 'broken.png'), join(inputs, 'nested', 'b.png')],
  );
  const [good, broken] = lines;
  assert.deepEqual(good.model, { id: card.id, version: card.version });
  assert.equal(good.provider, 'cpu');
  assert.ok(Math.abs(good.probabilities.normal + good.probabilities.covid - 1) < 1e-5);
  assert.equal(good.label, good.probabilities.covid > card.threshold ? 'covid' : 'normal');
  assert.ok(good.timings.totalMs > 0);
  assert.equal(broken.error.code, 'bad_input');
  assert.match(broken.error.message, /cannot decode image file .*broken\.png/);
  assert.ok(lines[2].probabilities, 'the file after the broken one is still processed');
});

test('restore writes restored images at the working size and reports the output path', async () => {
  const out = join(dir, 'restored');
  const input = join(data, 'cxr/covid/cxrdb_COVID-2001.png');
  const run = r2c('restore', input, '--out', out, '--passes', '2', '--json');
  assert.equal(run.code, 0, run.stderr);
  const [line] = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(line.output, join(out, 'cxrdb_COVID-2001_restored.png'));
  assert.ok(existsSync(line.output));
  const restored = await readGrayImage(line.output);
  assert.deepEqual([restored.width, restored.height], [96, 96]);
});

test('usage errors exit 2 with a reason', () => {
  assert.match(r2c('restore', 'x.png').stderr, /--out <dir> is required/);
  assert.equal(r2c('restore', 'x.png', '--out', dir, '--passes', '4').code, 2);
  assert.match(r2c('classify', join(dir, 'nothing-here')).stderr, /no such file or folder/);
  assert.match(
    r2c('classify', join(dir, 'inputs'), '--model', 'nope').stdout,
    /no model 'nope' is installed/,
  );
});
