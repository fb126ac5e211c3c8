// The activity log: JSON lines, rotation, hashing, and no patient data from the shared DICOMs.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readDicomHeader } from '../../../main/dicom/index.ts';
import type { HandlerTable } from '../../../main/ipc/dispatch.ts';
import { activityOf, withActivityLog } from '../../../main/ipc/activity.ts';
import { openLibrary } from '../../../main/library/index.ts';
import { openActivityLog } from '../../../main/settings/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { sharedData } from '../../helpers/paths.ts';

function temp() {
  const path = mkdtempSync(join(tmpdir(), 'r2c-log-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

test('JSON lines, rotated by size, read newest first across files, exported oldest first', () => {
  const dir = temp();
  try {
    const log = openActivityLog({ dataDir: dir.path, source: 'test', maxBytes: 400, keep: 3 });
    for (let i = 0; i < 40; i++) log.info('import', { n: i, added: 1 });
    const files = readdirSync(join(dir.path, 'logs')).filter((f) => f.endsWith('.jsonl'));
    assert.deepEqual(files.sort(), ['r2c.1.jsonl', 'r2c.2.jsonl', 'r2c.jsonl']);
    for (const file of files) {
      const text = readFileSync(join(dir.path, 'logs', file), 'utf8');
      assert.ok(Buffer.byteLength(text) <= 400, `${file} kept under the size limit`);
      for (const line of text.trim().split('\n')) {
        const entry = JSON.parse(line);
        assert.equal(entry.event, 'import');
        assert.equal(entry.source, 'test');
        assert.match(entry.time, /^\d{4}-\d\d-\d\dT/);
      }
    }
    const newest = log.read({ limit: 5 });
    assert.deepEqual(
      newest.map((e) => e.n),
      [39, 38, 37, 36, 35],
    );
    const all = log
      .exportText()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).n as number);
    assert.equal(all.at(-1), 39);
    assert.deepEqual(
      all,
      [...all].sort((a, b) => a - b),
      'oldest first',
    );
    assert.ok(all[0]! > 0, 'the oldest lines were rotated away');
    log.write('error', 'error', { code: 'internal' });
    assert.equal(log.read({ level: 'error' }).length, 1);
    assert.equal(log.read({ event: 'import', limit: 100 }).length, all.length);
    // A torn last line (crash while writing) is skipped, not fatal.
    writeFileSync(join(dir.path, 'logs', 'r2c.jsonl'), '{"time":"x","event":"import"}\n{"tim', { flag: 'a' });
    assert.doesNotThrow(() => log.read({ limit: 1000 }));
  } finally {
    dir.remove();
  }
});

test('ids are hashed with a per-workstation key; error messages lose paths and quoted text', () => {
  const a = temp();
  const b = temp();
  try {
    const logA = openActivityLog({ dataDir: a.path, source: 'test' });
    const logB = openActivityLog({ dataDir: b.path, source: 'test' });
    assert.equal(logA.hash('1.2.3'), logA.hash('1.2.3'));
    assert.match(logA.hash(42), /^h:[0-9a-f]{16}$/);
    assert.notEqual(logA.hash('1.2.3'), logB.hash('1.2.3'), 'another workstation, another key');
    logA.error(
      'error',
      new AppError('not_found', "cannot open /data/Smith John/chest.dcm: no such file; patient 'Smith^John'"),
    );
    logA.error('error', new Error('cannot read C:\\Users\\Doe\\Jane Doe.dcm'));
    const text = readFileSync(join(a.path, 'logs', 'r2c.jsonl'), 'utf8');
    for (const secret of ['Smith', 'John', 'Jane', 'Doe', 'chest.dcm'])
      assert.ok(!text.includes(secret), secret);
    const [second, first] = logA.read();
    assert.equal(first!.code, 'not_found');
    assert.match(
      String(first!.message),
      /^cannot open <path h:[0-9a-f]{16}>: no such file; patient 'h:[0-9a-f]{16}'$/,
    );
    assert.equal(second!.code, 'internal');
  } finally {
    a.remove();
    b.remove();
  }
});

test('activity events: analyses, exports, model changes are logged; reads are not', () => {
  assert.equal(activityOf('analyseImages'), 'analysis');
  assert.equal(activityOf('reviewExportCsv'), 'export');
  assert.equal(activityOf('exportAnnotations'), 'export');
  assert.equal(activityOf('fineTuneModel'), 'model');
  assert.equal(activityOf('evaluateModel'), 'model');
  for (const channel of [
    'activateModel',
    'rollbackModel',
    'retireModel',
    'setModelThreshold',
    'importModelPackage',
  ])
    assert.equal(activityOf(channel), 'model', channel);
  assert.equal(activityOf('exportModelPackage'), 'export');
  assert.equal(activityOf('reviewCloseStudy'), 'change');
  assert.equal(activityOf('modelRegistry'), undefined);
  assert.equal(activityOf('compareModels'), undefined);
  assert.equal(activityOf('updateSettings'), 'settings');
  assert.equal(activityOf('listStudies'), undefined);
  assert.equal(activityOf('getThumbnail'), undefined);
  // Results sent to a PACS leave the workstation: exports (the watch logs its own start and stop).
  for (const channel of ['pacsSend', 'pacsSendResults', 'pacsSendStudyReports'])
    assert.equal(activityOf(channel), 'export', channel);
  assert.equal(activityOf('pacsSaveConnection'), 'settings');
  assert.equal(activityOf('pacsDeleteConnection'), 'settings');
  for (const channel of ['pacsWatch', 'pacsWatchStatus', 'pacsSearch', 'pacsListConnections'])
    assert.equal(activityOf(channel), undefined, channel);
});

/** Patient names and IDs (and each part of a name) as the shared DICOMs' headers give them. */
function patientStrings(headers: { patientName: string | null; patientId: string | null }[]): Set<string> {
  const out = new Set<string>();
  for (const h of headers)
    for (const value of [h.patientName, h.patientId]) {
      if (!value) continue;
      for (const part of [value, ...value.split(/[\^=\s]+/)])
        if (part.trim().length >= 3) out.add(part.trim());
    }
  return out;
}

test('log lines carry no patient names or IDs of the shared DICOMs (imports, deletions, retention, errors)', async (t) => {
  const dicomRoot = join(sharedData, 'dicom');
  if (!existsSync(dicomRoot)) return t.skip(`shared data not found at ${dicomRoot}`);
  const dir = temp();
  const log = openActivityLog({ dataDir: join(dir.path, 'data'), source: 'test' });
  const library = openLibrary({ dataDir: join(dir.path, 'data'), log });
  try {
    // Folders named after the patients, as hospital exports often are, so paths carry names too.
    const headers = readdirSync(dicomRoot, { recursive: true, withFileTypes: true })
      .filter(
        (e) =>
          e.isFile() && e.name.endsWith('.dcm') && !join(e.parentPath ?? '', e.name).includes('malformed'),
      )
      .flatMap((e) => {
        const path = join(e.parentPath ?? '', e.name);
        try {
          return [{ path, header: readDicomHeader(readFileSync(path)) }];
        } catch {
          return [];
        }
      });
    assert.ok(headers.length > 30);
    const named = join(dir.path, 'export');
    for (const [i, { path, header }] of headers.entries()) {
      const folder = join(
        named,
        `${header.patientName || 'unnamed'} ${header.patientId || i}`.replace(/[/\\]/g, '_'),
      );
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${i}.dcm`), readFileSync(path));
      writeFileSync(join(folder, `${i}-broken.dcm`), 'not a DICOM');
    }
    const summary = await library.importPaths([named]);
    assert.ok(summary.added > 20 && summary.failed.length >= headers.length);
    const studies = library.listStudies();
    const secrets = patientStrings(
      studies.flatMap((s) =>
        library.listInstances({ studyId: s.id }).map((i) => library.getInstance(i.id).header),
      ),
    );
    assert.ok(secrets.size > 10, `the shared data has patient names and IDs (${secrets.size})`);

    const header = library.getInstance(library.listInstances({ studyId: studies[1]!.id })[0]!.id).header;
    library.delete([{ level: 'study', id: studies[0]!.id }]);
    assert.throws(() => library.delete([{ level: 'study', id: 999999 }]));
    library.applyRetention({ days: 1, now: new Date(Date.now() + 3 * 86400000) });
    // IPC failures whose messages name patients (paths and quoted values) go through the wrapper.
    const handlers = withActivityLog(
      {
        analyseImages: async () => {
          throw new AppError(
            'not_found',
            `cannot read ${named}/${header.patientName}/a.dcm: gone; id '${header.patientId}'`,
          );
        },
      } as unknown as HandlerTable,
      log,
    );
    await assert.rejects(
      (handlers as unknown as Record<string, (i: unknown) => Promise<unknown>>)['analyseImages']!({
        instanceId: 3,
      }),
    );

    const text = readFileSync(join(dir.path, 'data', 'logs', 'r2c.jsonl'), 'utf8');
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    assert.deepEqual([...new Set(events)].sort(), ['error', 'import', 'library.delete', 'library.retention']);
    for (const secret of secrets) assert.ok(!text.includes(secret), `the log holds '${secret}'`);
  } finally {
    await library.close();
    dir.remove();
  }
});

test('a damaged or unreadable key never stops the caller: hashing goes on with a key of its own', () => {
  const dir = temp();
  try {
    // Unreadable as a file (as for a user outside the group of a shared folder).
    mkdirSync(join(dir.path, 'logs', '.key'), { recursive: true });
    const log = openActivityLog({ dataDir: dir.path, source: 'test' });
    assert.match(log.hash('1.2.3'), /^h:[0-9a-f]{16}$/);
    assert.equal(log.hash('1.2.3'), log.hash('1.2.3'));
    log.info('import', { added: 1 });
    assert.equal(log.read().length, 1);
  } finally {
    dir.remove();
  }
});
