// The PACS service's parts that need no server: secrets on disk, connection checks, multipart
// framing, the node share, the watch queue across a reopen, the CLI's connection commands.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { multipartBody, multipartParts } from '../../../main/pacs/dicomweb.ts';
import {
  createPacsService,
  fileSecretStore,
  daysBefore,
  openWatchQueue,
  parseConnection,
  parseNodeShare,
  pollFrom,
  shareOf,
} from '../../../main/pacs/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { tempDir } from '../library/fixtures.ts';

const work = tempDir('pacs-units');
after(() => work.remove());
const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));

test('secrets: a 0600 file without a cipher; encrypted values with one; a damaged file is a clear error', async () => {
  const path = join(work.path, 'plain', 'secrets.json');
  const plain = fileSecretStore(path);
  await plain.set('main', 'pa55word');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(fileSecretStore(path).get('main'), 'pa55word');
  const cipher = {
    encrypt: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
    decrypt: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString(),
  };
  const encryptedPath = join(work.path, 'enc', 'secrets.json');
  const encrypted = fileSecretStore(encryptedPath, cipher);
  assert.equal(encrypted.protection, 'os-keychain');
  await encrypted.set('main', 'pa55word');
  assert.doesNotMatch(readFileSync(encryptedPath, 'utf8'), /pa55word/);
  assert.equal(fileSecretStore(encryptedPath, cipher).get('main'), 'pa55word');
  writeFileSync(path, '{not json');
  assert.throws(
    () => fileSecretStore(path).get('main'),
    (e: unknown) => e instanceof AppError && e.code === 'integrity',
  );
});

test('connections: clear errors naming the field; secrets never in the connections file', async () => {
  assert.throws(() => parseConnection({ id: 'a', name: 'A' }), /neither dicomweb nor dimse/);
  assert.throws(
    () =>
      parseConnection({
        id: 'a',
        name: 'A',
        dimse: { host: 'h', port: 104, calledAet: 'P', callingAet: 'R', retrieve: 'move' },
      }),
    /C-MOVE retrieve needs dimse.movePort/,
  );
  assert.throws(
    () => parseConnection({ id: 'a', name: 'A', dicomweb: { baseUrl: 'https://x', auth: 'basic' } }),
    /needs a username/,
  );
  assert.throws(() => parseConnection({ id: 'A B', name: 'A', dicomweb: { baseUrl: 'https://x' } }), /id:/);
  const dataDir = join(work.path, 'service');
  const pacs = createPacsService({ dataDir });
  const saved = await pacs.saveConnection(
    { id: 'main', name: 'Main', dicomweb: { baseUrl: 'https://pacs.example.org/dicom-web', auth: 'bearer' } },
    'token-123',
  );
  assert.equal(saved.hasSecret, true);
  assert.doesNotMatch(readFileSync(join(dataDir, 'pacs', 'connections.json'), 'utf8'), /token-123/);
  assert.doesNotMatch(JSON.stringify(pacs.listConnections()), /token-123/);
  await pacs.deleteConnection('main');
  assert.deepEqual(pacs.listConnections(), []);
  await assert.rejects(pacs.deleteConnection('main'), /no PACS connection 'main'/);
});

test('multipart/related: framing round trip, and a truncated answer is an integrity error', () => {
  const parts = [new Uint8Array([1, 2, 3, 13, 10, 45, 45]), new Uint8Array(1000).fill(7)];
  const body = multipartBody(parts, 'b0und');
  const back = multipartParts(
    new Uint8Array(body),
    'multipart/related; type="application/dicom"; boundary=b0und',
  );
  assert.deepEqual(
    back.map((p) => [...p]),
    parts.map((p) => [...p]),
  );
  assert.throws(
    () =>
      multipartParts(new Uint8Array(body.subarray(0, body.length - 40)), 'multipart/related; boundary=b0und'),
    (e: unknown) => e instanceof AppError && e.code === 'integrity',
  );
});

test('node share: k/n parsed strictly; every study belongs to exactly one node, spread roughly evenly', () => {
  assert.deepEqual(parseNodeShare('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/2', '3/2', '1', 'a/b']) assert.throws(() => parseNodeShare(bad), /node share/);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[shareOf(`1.2.826.0.1.3680043.8.498.${i}`, 3) - 1]!++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `share sizes ${counts}`);
  assert.equal(shareOf('1.2.3', 3), shareOf('1.2.3', 3));
});

test('watch queue: survives a reopen; results recorded with the processed state; sent once', () => {
  const path = join(work.path, 'queue.sqlite');
  let queue = openWatchQueue(path);
  assert.equal(
    queue.enqueue([
      { studyUid: '1.2.3', studyDate: '20260101' },
      { studyUid: '1.2.4', studyDate: '' },
    ]),
    2,
  );
  assert.equal(
    queue.enqueue([{ studyUid: '1.2.3', studyDate: '20260101' }]),
    0,
    'a known study is not queued again',
  );
  queue.recordResults('1.2.3', [
    { sopInstanceUid: '9.1', path: '/r/sc.dcm', kind: 'sc' },
    { sopInstanceUid: '9.2', path: '/r/sr.dcm', kind: 'sr' },
  ]);
  queue.markSent('9.1');
  queue.setMeta('cursor', '20260101');
  queue.close();
  queue = openWatchQueue(path);
  try {
    assert.equal(queue.getMeta('cursor'), '20260101');
    assert.deepEqual(
      queue.list('processed', 10).map((s) => s.studyUid),
      ['1.2.3'],
    );
    assert.deepEqual(
      queue.list('queued', 10).map((s) => s.studyUid),
      ['1.2.4'],
    );
    assert.deepEqual(
      queue.outbox('1.2.3').map((o) => [o.sopInstanceUid, o.state]),
      [
        ['9.1', 'sent'],
        ['9.2', 'pending'],
      ],
    );
    assert.throws(() => queue.recordResults('1.2.4', [{ sopInstanceUid: '9.1', path: '/x', kind: 'sc' }]));
    assert.equal(queue.study('1.2.4')?.state, 'queued', 'a failed record leaves the study as it was');
  } finally {
    queue.close();
  }
});

test('watch look-back: a poll asks from days before the cursor, never before --since', () => {
  assert.equal(daysBefore('20260301', 1), '20260228');
  assert.equal(daysBefore('20240301', 1), '20240229', 'leap year');
  assert.equal(daysBefore('20260103', 3), '20251231');
  assert.equal(pollFrom(undefined, '20260101', 3), '20260101', 'no cursor: from --since');
  assert.equal(pollFrom(undefined, undefined, 3), undefined);
  assert.equal(pollFrom('20260120', '20260101', 3), '20260117');
  assert.equal(pollFrom('20260120', '20260119', 3), '20260119', 'never before --since');
  assert.equal(pollFrom('20260120', undefined, 0), '20260120');
});

test('watch queue: instances seen and results are known per study; only a done study is queued again', () => {
  const queue = openWatchQueue(join(work.path, 'seen.sqlite'));
  try {
    queue.enqueue([{ studyUid: '1.5', studyDate: '20260101' }]);
    queue.recordResults('1.5', [{ sopInstanceUid: '9.5', path: '/r/sc.dcm', kind: 'sc' }], ['7.1', '7.2']);
    assert.deepEqual([...queue.known('1.5')].sort(), ['7.1', '7.2', '9.5']);
    queue.requeue('1.5');
    assert.equal(queue.study('1.5')?.state, 'processed', 'a study waiting to send is not queued again');
    queue.markSent('9.5');
    queue.markDone('1.5');
    queue.markSeen('1.5', ['7.2', '7.3']);
    assert.equal(queue.known('1.5').size, 4);
    queue.requeue('1.5');
    assert.equal(queue.study('1.5')?.state, 'queued');
    assert.equal(queue.outbox('1.5')[0]?.state, 'sent', 'what was sent stays sent');
  } finally {
    queue.close();
  }
});

test('r2c pacs --library: refused when the policy fixes another data folder; the policy folder is the default', () => {
  const fixed = join(work.path, 'policy-data');
  const policy = join(work.path, 'policy.json');
  writeFileSync(policy, JSON.stringify({ dataDir: fixed }));
  const env = { ...process.env, R2C_POLICY_FILE: policy, R2C_DATA_DIR: join(work.path, 'env-data') };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [r2c, 'pacs', ...args], { encoding: 'utf8', env });
  const other = run('list', '--library', join(work.path, 'elsewhere'));
  assert.equal(other.status, 2, other.stderr);
  assert.match(other.stderr, /--library: the data folder is fixed by the policy file .*policy\.json/);
  const added = run('add', '--id', 'p', '--name', 'P', '--dicomweb', 'http://127.0.0.1:9/dicom-web');
  assert.equal(added.status, 0, added.stderr);
  assert.ok(
    readFileSync(join(fixed, 'pacs', 'connections.json'), 'utf8').includes('"p"'),
    "without --library the connection goes into the policy's data folder (not $R2C_DATA_DIR)",
  );
  const same = run('list', '--library', `${fixed}/`);
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stdout, /^p\tP\t/m);
});

test('r2c pacs add/list/remove: the secret comes from the environment and is never printed', () => {
  const library = join(work.path, 'cli');
  const env = { ...process.env, R2C_TEST_PACS_PASSWORD: 'cli-secret-77' };
  const add = spawnSync(
    process.execPath,
    [
      r2c,
      'pacs',
      'add',
      '--library',
      library,
      '--id',
      'main',
      '--name',
      'Main',
      '--dicomweb',
      'http://127.0.0.1:9/dicom-web',
      '--auth',
      'basic',
      '--user',
      'u',
      '--secret-env',
      'R2C_TEST_PACS_PASSWORD',
    ],
    { encoding: 'utf8', env },
  );
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stderr, /mode 0600/);
  const list = spawnSync(process.execPath, [r2c, 'pacs', 'list', '--library', library], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /main\tMain\tdicomweb http:\/\/127\.0\.0\.1:9\/dicom-web\t\(secret stored\)/);
  assert.doesNotMatch(list.stdout + list.stderr + add.stdout + add.stderr, /cli-secret-77/);
  const echo = spawnSync(process.execPath, [r2c, 'pacs', 'echo', 'main', '--library', library], {
    encoding: 'utf8',
  });
  assert.equal(echo.status, 1);
  assert.match(echo.stderr, /unreachable/);
  const bad = spawnSync(process.execPath, [r2c, 'pacs', 'watch', 'main', '--library', library], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--node k\/n/);
  const remove = spawnSync(process.execPath, [r2c, 'pacs', 'remove', 'main', '--library', library], {
    encoding: 'utf8',
  });
  assert.equal(remove.status, 0, remove.stderr);
});
