// The app's "Send reports to PACS" for a reader study (IPC pacsSendStudyReports, the same
// composition as `r2c pacs send-study-sr`) through dispatch and the real handler table against a real
// Orthanc: an open study is refused before any job starts; a closed one sends one SR per image the
// PACS holds, with per-image progress, into the image's study; an image from elsewhere is skipped;
// sending again is 'already-stored'; the send is an export in the activity log without names.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { readDicomHeader } from '../../../main/dicom/index.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { sharedDataDir, tempDir } from '../library/fixtures.ts';
import { type OrthancServer, orthancMissing, startOrthanc } from '../pacs/orthanc.ts';
import { readAll } from '../review/reading.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const chest = join(sharedDataDir, 'dicom', 'dwv', 'gdcm-CR-MONO1-10-chest.dcm');
const dcmodify = spawnSync('dcmodify', ['--version']).status === 0;
const missing = orthancMissing() ?? (dcmodify ? undefined : "dcmtk's dcmodify is not installed");
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';

/** A copy of the shared chest CR with new Study/Series/SOP Instance UIDs (the shared file is untouched). */
function makeImage(file: string, patientId: string) {
  copyFileSync(chest, file);
  chmodSync(file, 0o644);
  for (const args of [
    ['-gst', '-gse', '-gin'],
    ['-i', `PatientID=${patientId}`],
  ]) {
    const result = spawnSync('dcmodify', ['-nb', ...args, file], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  }
  return readDicomHeader(new Uint8Array(readFileSync(file)));
}

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}
const failure = (envelope: Envelope<unknown>) => {
  assert.equal(envelope.ok, false, 'the call was expected to fail');
  return (envelope as { error: { code: string; message: string } }).error;
};

describe('pacsSendStudyReports against a real Orthanc', { skip: missing }, () => {
  const work = tempDir('ipc-study-reports');
  let orthanc: OrthancServer;
  let services: Services;
  let handlers: HandlerTable;
  const events: { type: string; jobId?: string; done?: number; total?: number }[] = [];
  const call = (channel: string, payload: unknown) =>
    dispatch(handlers, channel, payload, { emit: (e: unknown) => events.push(e as (typeof events)[number]) });

  before(async () => {
    orthanc = await startOrthanc();
    services = createServices({
      dataDir: join(work.path, 'data'),
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
      logSource: 'test',
    });
    handlers = createHandlers(services);
  });
  after(async () => {
    await orthanc?.stop();
    await services?.close();
    work.remove();
  });

  test('open refused; closed: an SR per PACS image with progress, the other skipped; sent once', async () => {
    const images = join(work.path, 'images');
    mkdirSync(images, { recursive: true });
    const onPacs = makeImage(join(images, 'on-pacs.dcm'), 'IPCSR1');
    const elsewhere = makeImage(join(images, 'elsewhere.dcm'), 'IPCSR2');
    const originalBytes = readFileSync(join(images, 'on-pacs.dcm'));
    await orthanc.upload(new Uint8Array(originalBytes));
    await services.library.importPaths([images]);
    const idOf = new Map(
      services.library
        .listInstances({ limit: 10 })
        .map((i) => [services.library.getInstance(i.id).sopInstanceUid, String(i.id)]),
    );
    const study = services.review.createStudy({
      name: 'IPC chest reading',
      images: [{ id: idOf.get(onPacs.sopInstanceUid)! }, { id: idOf.get(elsewhere.sopInstanceUid)! }],
      variants: [
        { id: 'original', kind: 'original', label: 'Original' },
        { id: 'gan-p1', kind: 'restored', modelId: 'r2c-gan', passes: 1, label: 'R2C-GAN 1.0, 1 pass' },
      ],
      readers: ['Alice Readerton', 'Bob Viewerson'],
      seed: 5,
    });
    const [alice, bob] = study.readerProgress;
    readAll(services.review, study.id, alice!.id, {
      original: 2,
      restored: 4,
      prefer: 'restored',
      restoredFindings: 'yes',
    });
    readAll(services.review, study.id, bob!.id, {
      original: 3,
      restored: 5,
      prefer: 'restored',
      restoredFindings: 'yes',
    });
    unwrap(
      await call('pacsSaveConnection', {
        connection: {
          id: 'dept',
          name: 'Department',
          dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
        },
        secret: orthanc.password,
      }),
    );
    const instancesOf = async (studyUid: string) =>
      (await (await orthanc.rest(`/dicom-web/studies/${studyUid}/instances`)).json()) as Record<
        string,
        { Value: string[] }
      >[];

    // Payload and study checks: nothing is sent and no job starts.
    const input = { jobId: 'study-sr-1', id: 'dept', studyId: study.id };
    assert.equal(
      failure(await call('pacsSendStudyReports', { ...input, paths: ['/x'] })).code,
      'invalid_payload',
    );
    assert.equal(failure(await call('pacsSendStudyReports', { ...input, id: 'nowhere' })).code, 'not_found');
    const open = failure(await call('pacsSendStudyReports', input));
    assert.equal(open.code, 'forbidden');
    assert.match(open.message, /still open/);
    assert.equal(events.length, 0, 'no job ran for a refused study');
    assert.equal((await instancesOf(onPacs.studyInstanceUid)).length, 1, 'nothing sent for an open study');

    services.review.closeStudy(study.id);
    const first = unwrap<Output<'pacsSendStudyReports'>>(await call('pacsSendStudyReports', input));
    assert.equal(first.cancelled, false);
    const byImage = new Map(first.items.map((i) => [i.imageId, i]));
    const sent = byImage.get(idOf.get(onPacs.sopInstanceUid)!);
    assert.equal(sent?.status, 'sent', JSON.stringify(first.items));
    assert.equal(byImage.get(idOf.get(elsewhere.sopInstanceUid)!)?.status, 'not-on-pacs');
    assert.ok(
      first.items.every((i) => !('path' in i)),
      'no file path leaves the main process',
    );
    const progress = events.filter((e) => e.type === 'jobProgress' && e.jobId === 'study-sr-1');
    assert.deepEqual(
      progress.map((e) => [e.done, e.total]),
      [
        [1, 2],
        [2, 2],
      ],
      'progress per image',
    );

    const held = await instancesOf(onPacs.studyInstanceUid);
    assert.deepEqual(held.map((i) => i['00080016']!.Value[0]).sort(), [onPacs.sopClassUid, SR_CLASS].sort());
    assert.equal(
      held.find((i) => i['00080016']!.Value[0] === SR_CLASS)!['00080018']!.Value[0],
      sent!.sopInstanceUid,
    );
    assert.deepEqual(readFileSync(join(images, 'on-pacs.dcm')), originalBytes, 'the original is unchanged');

    const again = unwrap<Output<'pacsSendStudyReports'>>(
      await call('pacsSendStudyReports', { ...input, jobId: 'study-sr-2' }),
    );
    const resent = again.items.find((i) => i.imageId === sent!.imageId);
    assert.equal(resent?.status, 'already-stored');
    assert.equal(resent?.sopInstanceUid, sent!.sopInstanceUid, 'the same SR, not a second one');
    assert.equal((await instancesOf(onPacs.studyInstanceUid)).length, 2);

    // The SRs (patient data) are written for the send only: none is left in the data folder.
    const left = readdirSync(join(services.config.dataDir, 'pacs'), { recursive: true }).map(String);
    assert.deepEqual(
      left.filter((f) => f.endsWith('.dcm')),
      [],
      `left behind: ${left.join(', ')}`,
    );

    // Both sends are exports in the activity log; no names, no UIDs.
    const exports = services.log
      .read({ event: 'export' })
      .filter((e) => e['channel'] === 'pacsSendStudyReports');
    assert.equal(exports.length, 2);
    const logText = services.log.exportText();
    for (const text of [
      'Alice',
      'Readerton',
      'IPC chest reading',
      'IPCSR1',
      onPacs.sopInstanceUid,
      sent!.sopInstanceUid!,
    ])
      assert.ok(!logText.includes(text), `the activity log does not hold '${text}'`);
    rmSync(join(work.path, 'images'), { recursive: true, force: true });
  });
});
