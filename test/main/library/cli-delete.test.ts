// r2c library delete | retention and r2c logs, as an admin runs them: real CLI processes, one data folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openLibrary } from '../../../main/library/index.ts';
import { tempDir, writeSyntheticFolder } from './fixtures.ts';

const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));
const work = tempDir('lib-cli-delete');
after(() => work.remove());
const dataDir = join(work.path, 'data');
const env = {
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '',
  R2C_DATA_DIR: dataDir,
  R2C_POLICY_FILE: join(work.path, 'policy.json'),
};

function run(args: string[]) {
  return spawnSync(process.execPath, [r2c, ...args], { encoding: 'utf8', env });
}

const storeFiles = () =>
  readdirSync(join(dataDir, 'store'), { recursive: true, withFileTypes: true }).filter(
    (e) => e.isFile() && !(e.parentPath ?? '').endsWith('tmp'),
  ).length;

test('r2c library delete asks for --yes, removes a study with its files, and the log records it', async () => {
  writeSyntheticFolder(join(work.path, 'in'), 6, { patients: 3 });
  assert.equal(run(['import', join(work.path, 'in')]).status, 0);
  const library = openLibrary({ dataDir });
  const study = library.listStudies()[0]!;
  const count = study.instanceCount;
  await library.close();
  assert.equal(storeFiles(), 6);

  const dry = run(['library', 'delete', '--study', String(study.id)]);
  assert.equal(dry.status, 1);
  assert.match(dry.stderr, /run again with --yes/);
  assert.equal(storeFiles(), 6, 'nothing removed without --yes');

  const done = run(['library', 'delete', '--study', String(study.id), '--yes', '--json']);
  assert.equal(done.status, 0, done.stderr);
  const removed = JSON.parse(done.stdout);
  assert.deepEqual([removed.instances, removed.studies, removed.storeFiles], [count, 1, count]);
  assert.equal(storeFiles(), 6 - count);

  const again = run(['library', 'delete', '--study', String(study.id), '--yes']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /no study with id/);
  assert.equal(run(['library', 'delete', '--study', 'x', '--yes']).status, 2);

  const logs = run(['logs', '--json', '--event', 'library.delete']);
  assert.equal(logs.status, 0, logs.stderr);
  const entries = logs.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    entries.map((e) => [e.level, e.source, e.instances ?? null]),
    [
      ['info', 'cli', count],
      ['error', 'cli', null],
    ],
  );
  assert.match(entries[0].targets[0].id, /^h:[0-9a-f]{16}$/, 'the study id is hashed');
  assert.equal(entries[1].code, 'not_found');

  const human = run(['logs', '--limit', '2']);
  assert.match(human.stdout, /library\.delete/);
  const exported = join(work.path, 'exported.jsonl');
  assert.equal(run(['logs', '--export', exported]).status, 0);
  assert.ok(existsSync(exported));
  assert.equal(run(['logs', '--export', exported]).status, 1, 'an existing file is not overwritten');
});

test('r2c library retention: off until set, --dry-run counts, the policy fixes the period', () => {
  const off = run(['library', 'retention']);
  assert.equal(off.status, 1);
  assert.match(off.stderr, /retention is off/);
  const dry = run(['library', 'retention', '--days', '1', '--dry-run', '--json']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.deepEqual(
    (({ days, due, dryRun }) => ({ days, due, dryRun }))(JSON.parse(dry.stdout)),
    { days: 1, due: 0, dryRun: true },
    'everything was imported just now',
  );
  writeFileSync(env.R2C_POLICY_FILE, JSON.stringify({ retentionDays: 3650 }));
  const fixed = run(['library', 'retention', '--days', '1']);
  assert.equal(fixed.status, 2);
  assert.match(fixed.stderr, /fixed by the policy file/);
  const policy = run(['library', 'retention', '--json']);
  assert.equal(policy.status, 0, policy.stderr);
  assert.equal(JSON.parse(policy.stdout).days, 3650);
  const settings = JSON.parse(run(['settings', '--json']).stdout);
  assert.deepEqual(settings.retentionDays, { value: 3650, source: 'policy' });
});
