import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../helpers/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function r2c(...args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('help lists the commands; bad usage exits 2', () => {
  const help = r2c('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: r2c <command>/);
  assert.match(help.stdout, /\bhash\b/);
  assert.equal(r2c().code, 2);
  const unknown = r2c('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const noFiles = r2c('hash');
  assert.equal(noFiles.code, 2);
  assert.match(noFiles.stderr, /no files given/);
});

test('hash --json prints one object per input; a failed input makes the exit code non-zero', () => {
  const file = join(dir, 'a.txt');
  writeFileSync(file, 'hello\n');
  const missing = join(dir, 'missing.txt');
  const run = r2c('hash', '--json', file, missing);
  assert.equal(run.code, 1);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { path: file, size: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' },
    { path: missing, error: 'not a readable file' },
  ]);
});
