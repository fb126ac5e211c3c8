// The outgoing SC/SR pairs (patient data) go with their image: deleted by hand, by retention, and a
// pair whose image left the library during a crash is swept when the library is next opened. Real
// library and services; the pair is made by prepareOutgoing with a stand-in for the model run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import { outgoingRoot, prepareOutgoing, type RunOutgoingProcess } from '../../../main/pacs/index.ts';
import { repoRoot } from '../../helpers/paths.ts';
import { tempDir, writeSyntheticFolder } from '../library/fixtures.ts';

const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));

const fakeRun: RunOutgoingProcess = async (input) => {
  mkdirSync(input.outDir, { recursive: true });
  const output = join(input.outDir, 'restored.dcm');
  const report = join(input.outDir, 'report.dcm');
  writeFileSync(output, 'sc');
  writeFileSync(report, 'sr');
  return { items: [{ file: input.files[0]!, output, report }] };
};

const open = (dataDir: string) =>
  createServices({
    dataDir,
    modelsDir: join(repoRoot, 'models', 'shipped'),
    workerTransport: threadTransport,
    logSource: 'test',
  });

async function pairFor(services: Services, instanceId: number): Promise<string> {
  services.library.putResult(instanceId, 'r2c-q3', { model: { sha256: 'ab'.repeat(32) }, passes: 1 });
  const pair = await prepareOutgoing({
    library: services.library,
    run: fakeRun,
    root: outgoingRoot(services.config.dataDir),
    shippedDir: services.config.modelsDir,
    instanceId,
    signal: new AbortController().signal,
  });
  assert.ok(existsSync(pair.sc) && existsSync(pair.sr));
  return join(pair.sc, '..');
}

test('outgoing pairs are removed with their image (delete, retention, crash sweep)', async () => {
  const work = tempDir('outgoing-cleanup');
  const dataDir = join(work.path, 'data');
  let services = open(dataDir);
  try {
    writeSyntheticFolder(join(work.path, 'in'), 3, { patients: 1 });
    await services.library.importPaths([join(work.path, 'in')]);
    const ids = services.library
      .listStudies()
      .flatMap((s) => services.library.listInstances({ studyId: s.id }))
      .map((i) => i.id);
    assert.equal(ids.length, 3);
    const [a, b, c] = await Promise.all(ids.map((id) => pairFor(services, id)));
    const root = outgoingRoot(dataDir);
    assert.equal(readdirSync(root).length, 3);

    // Deleted by hand: only that image's pair goes.
    const removed = services.library.delete([{ level: 'instance', id: ids[0]! }]);
    assert.equal(existsSync(a!), false, "the deleted image's SC/SR pair is gone");
    assert.ok(existsSync(b!) && existsSync(c!), 'the other images keep theirs');
    assert.equal(removed.resultFolders, 1, 'the pair is counted with the removed results');

    // A pair left behind by a crash after the row's deletion: swept at the next open.
    const orphan = join(root, `${'0'.repeat(16)}-r2c-q3-abababababab-p1`);
    mkdirSync(orphan);
    writeFileSync(join(orphan, 'report.dcm'), 'sr');
    await services.close();
    services = open(dataDir);
    assert.equal(existsSync(orphan), false, 'an orphaned pair is swept when the library opens');
    assert.ok(existsSync(b!) && existsSync(c!), 'pairs of images still in the library stay');

    // Retention removes the rest with their pairs.
    await services.settings.update({ retentionDays: 1 });
    const later = new Date(Date.now() + 2 * 24 * 60 * 60 * 1000);
    const retention = services.applyRetention({ now: later });
    assert.equal(retention.removed.instances, 2);
    assert.equal(existsSync(b!) || existsSync(c!), false, 'retention removes the pairs too');
    assert.deepEqual(readdirSync(root), []);
  } finally {
    await services.close();
    work.remove();
  }
});

test("r2c library delete removes the deleted image's outgoing pair too", async () => {
  const work = tempDir('outgoing-cleanup-cli');
  const dataDir = join(work.path, 'data');
  const services = open(dataDir);
  let ids: number[];
  let pairs: string[];
  try {
    writeSyntheticFolder(join(work.path, 'in'), 2, { patients: 1 });
    await services.library.importPaths([join(work.path, 'in')]);
    ids = services.library
      .listStudies()
      .flatMap((s) => services.library.listInstances({ studyId: s.id }))
      .map((i) => i.id);
    pairs = await Promise.all(ids.map((id) => pairFor(services, id)));
  } finally {
    await services.close();
  }
  try {
    const result = spawnSync(
      process.execPath,
      [r2c, 'library', 'delete', '--instance', String(ids[0]), '--yes'],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '',
          R2C_DATA_DIR: dataDir,
          R2C_POLICY_FILE: join(work.path, 'policy.json'),
        },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(pairs[0]!), false, "the deleted image's pair is gone");
    assert.ok(existsSync(pairs[1]!), 'the other image keeps its pair');
  } finally {
    work.remove();
  }
});
