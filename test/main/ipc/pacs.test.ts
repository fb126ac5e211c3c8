// The app's PACS send and watch channels through dispatch and the real handler table: payload checks,
// the watch queue's status read from disk, an image that was never analysed, and (with Orthanc
// installed) an analysed image's SC + SR sent, sent again as already stored, the original never sent;
// a second watch on the same queue refused, the running watch found and stopped by its job id.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { type ReportItem, readDicomHeader, readStructuredReport } from '../../../main/dicom/index.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { openWatchQueue, pacsPaths, recordWatchPoll } from '../../../main/pacs/index.ts';
import { requireSharedData } from '../../helpers/paths.ts';
import { freePort, type OrthancServer, orthancMissing, startOrthanc } from '../pacs/orthanc.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const chestDx = join(
  requireSharedData(),
  'dicom',
  'covid-chest-imaging-database',
  '1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm',
);
const noEvents = { emit: () => {} };

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}
const failure = (envelope: Envelope<unknown>) => {
  assert.equal(envelope.ok, false, 'the call was expected to fail');
  return (envelope as { error: { code: string; message: string } }).error;
};

describe('PACS send and watch channels', () => {
  let dir: string;
  let services: Services;
  let handlers: HandlerTable;
  let instanceId: number;
  let orthanc: OrthancServer | undefined;
  /** The SC and SR UIDs of the first send. */
  let sentUids: string[] = [];
  const call = (channel: string, payload: unknown) => dispatch(handlers, channel, payload, noEvents);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-ipc-pacs-'));
    mkdirSync(join(dir, 'in'));
    copyFileSync(chestDx, join(dir, 'in', 'chest.dcm'));
    services = createServices({
      dataDir: join(dir, 'data'),
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
    });
    handlers = createHandlers(services);
    unwrap(await call('importPaths', { jobId: 'import-pacs-1', paths: [join(dir, 'in')], mode: 'copy' }));
    const study = services.library.listStudies({})[0]!;
    instanceId = services.library.listInstances({ studyId: study.id })[0]!.id;
    if (!orthancMissing()) orthanc = await startOrthanc();
    const baseUrl = orthanc?.dicomWebUrl ?? 'http://127.0.0.1:9/dicom-web';
    unwrap(
      await call('pacsSaveConnection', {
        connection: {
          id: 'dept',
          name: 'Department',
          dicomweb: { baseUrl, auth: 'basic', username: orthanc?.user ?? 'nobody' },
        },
        secret: orthanc?.password ?? 'nothing',
      }),
    );
  });
  after(async () => {
    await orthanc?.stop();
    await services?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('payloads are checked: duplicate or missing images, node k of n, unknown connection', async () => {
    const send = { jobId: 'send-check-1', id: 'dept' };
    assert.equal(
      failure(await call('pacsSendResults', { ...send, instanceIds: [] })).code,
      'invalid_payload',
    );
    const twice = failure(await call('pacsSendResults', { ...send, instanceIds: [4, 4] }));
    assert.match(twice.message, /listed twice/);
    assert.equal(
      failure(await call('pacsSendResults', { ...send, instanceIds: [1], paths: ['/etc/passwd'] })).code,
      'invalid_payload',
    );
    const node = failure(await call('pacsWatchStatus', { id: 'dept', node: { index: 3, count: 2 } }));
    assert.match(node.message, /1 <= k <= n/);
    const unknown = failure(await call('pacsWatchStatus', { id: 'nowhere', node: { index: 1, count: 1 } }));
    assert.equal(unknown.code, 'not_found');
    assert.equal(
      failure(await call('pacsSendResults', { ...send, id: 'nowhere', instanceIds: [instanceId] })).code,
      'not_found',
    );
  });

  test('watch status: an empty queue, then counts, last poll and recent studies read from disk', async () => {
    const node = { index: 2, count: 3 };
    const empty = unwrap<Output<'pacsWatchStatus'>>(await call('pacsWatchStatus', { id: 'dept', node }));
    assert.equal(empty.exists, false);
    assert.deepEqual(empty.counts, { pending: 0, processing: 0, sent: 0, failed: 0 });
    assert.equal(empty.running, null);

    const path = pacsPaths(services.config.dataDir).queue('dept', node);
    mkdirSync(pacsPaths(services.config.dataDir).root, { recursive: true });
    const queue = openWatchQueue(path);
    queue.enqueue([
      { studyUid: '1.2.3.1', studyDate: '20240101' },
      { studyUid: '1.2.3.2', studyDate: '20240102' },
      { studyUid: '1.2.3.3', studyDate: '20240103' },
      { studyUid: '1.2.3.4', studyDate: '20240104' },
    ]);
    queue.recordResults('1.2.3.2', [
      { sopInstanceUid: '1.2.9.1', path: '/x/sc.dcm', kind: 'sc' },
      { sopInstanceUid: '1.2.9.2', path: '/x/sr.dcm', kind: 'sr' },
    ]);
    queue.markSent('1.2.9.1');
    queue.markSendFailed('1.2.9.2', 'connection reset');
    queue.markDone('1.2.3.3');
    queue.markFailed('1.2.3.4', 'no image of it could be processed', true);
    queue.setMeta('cursor', '20240104');
    queue.close();
    recordWatchPoll(path, {
      at: '2026-12-07T21:00:00.000Z',
      ok: true,
      from: '20240101',
      found: 5,
      mine: 4,
      queued: 4,
      requeued: 1,
    });

    const status = unwrap<Output<'pacsWatchStatus'>>(await call('pacsWatchStatus', { id: 'dept', node }));
    assert.equal(status.exists, true);
    assert.deepEqual(status.counts, { pending: 1, processing: 1, sent: 1, failed: 1 });
    assert.deepEqual(status.results, { pending: 1, sent: 1 });
    assert.equal(status.cursor, '20240104');
    assert.deepEqual(status.lastPoll, {
      at: '2026-12-07T21:00:00.000Z',
      ok: true,
      message: '5 studies found, 4 queued (1 again for new images)',
      found: 5,
      queued: 4,
      requeued: 1,
    });
    assert.equal(status.recent.length, 4);
    const sending = status.recent.find((s) => s.studyInstanceUid === '1.2.3.2')!;
    assert.equal(sending.state, 'processing');
    assert.deepEqual(sending.results, [
      { kind: 'sc', state: 'sent', error: null },
      { kind: 'sr', state: 'pending', error: 'connection reset' },
    ]);
    const failed = status.recent.find((s) => s.studyInstanceUid === '1.2.3.4')!;
    assert.equal(failed.state, 'failed');
    assert.match(failed.error ?? '', /no image of it could be processed/);
  });

  test('an image that was never analysed is one failed item naming why; nothing is sent', async () => {
    const result = unwrap<Output<'pacsSendResults'>>(
      await call('pacsSendResults', { jobId: 'send-unanalysed-1', id: 'dept', instanceIds: [instanceId] }),
    );
    assert.equal(result.items.length, 1);
    assert.equal(result.items[0]!.kind, null);
    assert.equal(result.items[0]!.status, 'failed');
    assert.equal(result.items[0]!.error?.code, 'bad_input');
    assert.match(result.items[0]!.error?.message ?? '', /has not been analysed/);
  });

  test('an analysed image: SC + SR sent, again as already stored, the original never sent', async (t) => {
    if (!orthanc) return t.skip(orthancMissing());
    const analysed = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', {
        jobId: 'analyse-pacs-1',
        instanceIds: [instanceId],
        passes: 1,
        reuse: true,
        overrideIntendedUse: {},
      }),
    );
    const first = unwrap<Output<'pacsSendResults'>>(
      await call('pacsSendResults', { jobId: 'send-analysed-1', id: 'dept', instanceIds: [instanceId] }),
    );
    assert.deepEqual(
      first.items.map((i) => [i.kind, i.status]),
      [
        ['sc', 'sent'],
        ['sr', 'sent'],
      ],
    );
    const again = unwrap<Output<'pacsSendResults'>>(
      await call('pacsSendResults', { jobId: 'send-analysed-2', id: 'dept', instanceIds: [instanceId] }),
    );
    assert.deepEqual(
      again.items.map((i) => [i.kind, i.status, i.sopInstanceUid]),
      first.items.map((i) => [i.kind, 'already-stored', i.sopInstanceUid]),
    );
    const original = readDicomHeader(new Uint8Array(readFileSync(chestDx)));
    const instances = (await (await orthanc.rest('/instances?expand')).json()) as {
      MainDicomTags: { SOPInstanceUID: string };
    }[];
    const uids = instances.map((i) => i.MainDicomTags.SOPInstanceUID).sort();
    assert.deepEqual(uids, first.items.map((i) => i.sopInstanceUid).sort());
    sentUids = first.items.map((i) => i.sopInstanceUid);
    // Each send is an export in the activity log: the channel, the connection hashed, how many images.
    const sends = services.log.read({ event: 'export' }).filter((e) => e['channel'] === 'pacsSendResults');
    // (the never-analysed image's send of the earlier test is one too: it answered with a failed item)
    assert.equal(sends.length, 3, 'every send is in the activity log');
    assert.equal(sends[0]!['instanceIds'], 1);
    assert.notEqual(sends[0]!['id'], 'dept', 'the connection id is hashed');
    const logText = services.log.exportText();
    for (const secret of [original.patientName, original.patientId, original.sopInstanceUid, ...sentUids])
      if (secret) assert.ok(!logText.includes(secret), 'no patient data or UID in the activity log');
    // The SR on the PACS carries the analysis the user saw (same model, passes and input).
    const shown = analysed.items[0]!;
    assert.ok(shown.ok, 'the analysis failed');
    const srUid = first.items.find((i) => i.kind === 'sr')!.sopInstanceUid;
    const [srId] = (await (
      await orthanc.rest('/tools/find', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: srUid } }),
      })
    ).json()) as string[];
    const sr = readStructuredReport(
      new Uint8Array(await (await orthanc.rest(`/instances/${srId}/file`)).arrayBuffer()),
    );
    const flat = (items: ReportItem[]): ReportItem[] => items.flatMap((i) => [i, ...flat(i.children)]);
    const covid = flat(sr.items).find((i) => i.concept === 'Probability of COVID-19');
    assert.ok(
      covid,
      `no COVID-19 probability in the SR: ${JSON.stringify(flat(sr.items).map((i) => i.concept))}`,
    );
    assert.ok(
      Math.abs(Number.parseFloat(covid.value) - shown.analysis.probabilities.covid) < 1e-4,
      `SR ${covid.value} vs the viewer's ${shown.analysis.probabilities.covid}`,
    );
    assert.ok(!uids.includes(original.sopInstanceUid), 'the original was sent');
  });

  test('a PACS that cannot be reached: each result failed with the reason, the same pair kept for Retry', async (t) => {
    if (!orthanc) return t.skip(orthancMissing());
    unwrap(
      await call('pacsSaveConnection', {
        connection: {
          id: 'down',
          name: 'Unreachable',
          dicomweb: { baseUrl: `http://127.0.0.1:${await freePort()}/dicom-web`, timeoutMs: 2000 },
        },
      }),
    );
    const failed = unwrap<Output<'pacsSendResults'>>(
      await call('pacsSendResults', { jobId: 'send-down-1', id: 'down', instanceIds: [instanceId] }),
    );
    assert.deepEqual(
      failed.items.map((i) => [i.kind, i.status, i.error?.code]),
      [
        ['sc', 'failed', 'unavailable'],
        ['sr', 'failed', 'unavailable'],
      ],
    );
    assert.ok(failed.items.every((i) => i.attempts > 1 && (i.error?.message.length ?? 0) > 0));
    assert.deepEqual(
      failed.items.map((i) => i.sopInstanceUid),
      sentUids,
      'a Retry sends the pair made for the first send',
    );
  });

  test('one watch per queue: a second start is refused; the running watch is found and stopped', async (t) => {
    if (!orthanc) return t.skip(orthancMissing());
    const node = { index: 1, count: 1 };
    const watchInput = {
      jobId: 'watch-ipc-1',
      id: 'dept',
      node,
      query: { modalities: ['CR', 'DX'], bodyPart: 'CHEST' },
      since: '19000101',
      pollIntervalS: 3600,
      lookBackDays: 5,
    };
    const running = call('pacsWatch', watchInput);
    try {
      let status = unwrap<Output<'pacsWatchStatus'>>(await call('pacsWatchStatus', { id: 'dept', node }));
      assert.equal(status.running?.jobId, 'watch-ipc-1');
      const second = failure(await call('pacsWatch', { ...watchInput, jobId: 'watch-ipc-2' }));
      assert.match(second.message, /already runs/);
      for (let i = 0; i < 300 && !status.lastPoll; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = unwrap(await call('pacsWatchStatus', { id: 'dept', node }));
      }
      assert.equal(status.running?.lookBackDays, 5);
      assert.equal(status.lastPoll?.ok, true, 'no poll was recorded');
      // The poll's own counts (onPoll), not log text; no study on this Orthanc has the body part
      // (watch.test.ts checks the counts of polls that find studies).
      assert.deepEqual(
        [status.lastPoll?.found, status.lastPoll?.queued, status.lastPoll?.requeued],
        [0, 0, 0],
      );
      assert.equal(status.lastPoll?.message, '0 studies found, 0 queued');
    } finally {
      unwrap(await call('cancelJob', { jobId: 'watch-ipc-1' }));
      await running;
    }
    const status = unwrap<Output<'pacsWatchStatus'>>(await call('pacsWatchStatus', { id: 'dept', node }));
    assert.equal(status.running, null);
    // Start and stop are in the activity log: the connection hashed, the node share, no query.
    const watchEvents = services.log.read({ event: 'pacs.watch' }).reverse(); // oldest first
    assert.deepEqual(
      watchEvents.map((e) => [e['action'], e['outcome']]),
      [
        ['start', undefined],
        ['stop', 'stopped'],
      ],
      JSON.stringify(watchEvents),
    );
    assert.equal(watchEvents[1]!['polled'], 1);
    assert.equal(watchEvents[0]!['lookBackDays'], 5);
    assert.equal(watchEvents[1]!['node'], '1/1');
    assert.notEqual(watchEvents[0]!['connection'], 'dept');
    assert.ok(!JSON.stringify(watchEvents).includes('CHEST'), 'the query is not logged');
  });
});
