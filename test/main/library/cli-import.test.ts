import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { tempDir, writeSyntheticFolder } from './fixtures.ts';

const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));
const work = tempDir('lib-cli');
after(() => work.remove());

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [r2c, 'import', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test('r2c import: summary, failures with reasons, exit code 1 when something failed', () => {
  const source = join(work.path, 'source');
  writeSyntheticFolder(source, 3, { patients: 1 });
  writeFileSync(join(source, 'broken.dcm'), 'DICM but not really');
  const library = join(work.path, 'lib');

  const json = run([source, '--library', library, '--json']);
  assert.equal(json.status, 1, json.stderr);
  const summary = JSON.parse(json.stdout) as { added: number; failed: { path: string; reason: string }[] };
  assert.equal(summary.added, 3);
  assert.equal(summary.failed.length, 1);
  assert.equal(summary.failed[0]!.path, join(source, 'broken.dcm'));
  assert.match(summary.failed[0]!.reason, /not a DICOM file/);

  const human = run([join(source, 'patient0'), '--library', library]);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /0 added, 3 already in the library, 0 failed/);

  const text = run([source, '--library', library]);
  assert.equal(text.status, 1);
  assert.match(text.stderr, /broken\.dcm: not a DICOM file/);
});

test('r2c import --reference uses $R2C_DATA_DIR by default', () => {
  const source = join(work.path, 'ref');
  writeSyntheticFolder(source, 2, { patients: 1 });
  const dataDir = join(work.path, 'from-env');
  const result = run([source, '--reference', '--json'], { R2C_DATA_DIR: dataDir });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).added, 2);
  assert.ok(existsSync(join(dataDir, 'library.sqlite')));
});

test('r2c import without paths is a usage error', () => {
  const result = run(['--library', join(work.path, 'unused')]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /no paths given/);
});
