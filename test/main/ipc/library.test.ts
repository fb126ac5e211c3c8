// The library channels through dispatch and the real handler table, on a real library in a temp dir.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { AppEvent, Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { threadTransport } from '../../../main/app/jobs.ts';
import { requireSharedData } from '../../helpers/paths.ts';

const noEvents = { emit: () => {} };
const dicomDir = join(requireSharedData(), 'dicom');
const chestDx = join(
  dicomDir,
  'covid-chest-imaging-database',
  '1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm',
);

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

function errorCode(envelope: Envelope<unknown>): string {
  return envelope.ok ? 'ok' : envelope.error.code;
}

/** Decodes a thumbnail data URL and returns its size and pixel spread. */
async function decodeThumbnail(dataUrl: string) {
  const png = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  const stats = await sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } }).stats();
  return { width: info.width, height: info.height, stdev: stats.channels[0]!.stdev };
}

describe('library channels', () => {
  let dir: string;
  let services: Services;
  let handlers: HandlerTable;
  let summary: Output<'importPaths'>;
  const events: AppEvent[] = [];
  const call = (channel: string, payload: unknown) => dispatch(handlers, channel, payload, noEvents);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-ipc-library-'));
    services = createServices({
      dataDir: join(dir, 'data'),
      modelsDir: dir,
      workerTransport: threadTransport,
    });
    handlers = createHandlers(services);
    summary = unwrap(
      await dispatch(
        handlers,
        'importPaths',
        { jobId: 'import-shared', paths: [dicomDir], mode: 'copy' },
        { emit: (e) => events.push(e) },
      ),
    );
  });
  after(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('importPaths imports a folder in a worker, with progress, and reports what the library holds', async () => {
    assert.ok(events.length > 1, 'progress events were sent');
    assert.ok(
      events.every((e) => e.jobId === 'import-shared'),
      'every progress event carries the job id',
    );
    assert.equal(summary.cancelled, false);
    assert.equal(summary.total, summary.added + summary.duplicates + summary.failed.length);
    assert.ok(summary.added > 20, `added ${summary.added}`);
    const studies = unwrap<Output<'listStudies'>>(await call('listStudies', {})).studies;
    const held = studies.reduce((sum, s) => sum + s.instanceCount, 0);
    assert.equal(held, summary.added, 'every added item is listed, nothing else');
    const malformed = summary.failed.filter((f) => f.path.includes('/malformed/'));
    assert.ok(malformed.length >= 10, `${malformed.length} malformed files failed`);
    for (const failure of summary.failed)
      assert.ok(failure.reason.length > 10, `a reason is given for ${failure.path}`);
    const truncated = summary.failed.find((f) => f.path.endsWith('MR_truncated.dcm'));
    assert.match(truncated?.reason ?? '', /truncated/);
  });

  test('importing the same folder again adds nothing and reports duplicates', async () => {
    const again = unwrap<Output<'importPaths'>>(
      await call('importPaths', { jobId: 'import-again', paths: [dicomDir], mode: 'reference' }),
    );
    assert.equal(again.added, 0);
    assert.equal(again.duplicates, summary.added + summary.duplicates);
  });

  test('invalid import payloads are refused before any work', async () => {
    for (const bad of [
      { jobId: 'job-0001', paths: [], mode: 'copy' },
      { jobId: 'job-0001', paths: ['relative/dir'], mode: 'copy' },
      { jobId: 'job-0001', paths: [dicomDir], mode: 'move' },
      { jobId: 'job-0001', paths: [dicomDir] },
      { jobId: 'job-0001', paths: [dicomDir], mode: 'copy', extra: 1 },
    ]) {
      assert.equal(errorCode(await call('importPaths', bad)), 'invalid_payload', JSON.stringify(bad));
    }
    const empty = await call('importPaths', { jobId: 'job-0001', paths: [], mode: 'copy' });
    assert.ok(!empty.ok, 'an empty path list is refused');
    assert.deepEqual(
      empty.error.issues?.map((i) => i.path),
      ['paths'],
    );
  });

  test('cancelJob stops an import; what was imported stays consistent', async () => {
    const other = mkdtempSync(join(tmpdir(), 'r2c-ipc-cancel-'));
    const fresh = createServices({ dataDir: other, modelsDir: other, workerTransport: threadTransport });
    try {
      const table = createHandlers(fresh);
      let cancelling: Promise<Envelope<unknown>> | undefined;
      const result = await dispatch(
        table,
        'importPaths',
        { jobId: 'import-cancel', paths: [dicomDir], mode: 'copy' },
        {
          emit: () => {
            cancelling ??= dispatch(table, 'cancelJob', { jobId: 'import-cancel' }, noEvents);
          },
        },
      );
      assert.ok(cancelling, 'progress was reported before the end');
      assert.deepEqual(unwrap(await cancelling), { cancelled: true });
      const stopped = unwrap<Output<'importPaths'>>(result);
      assert.equal(stopped.cancelled, true);
      const held = unwrap<Output<'listStudies'>>(
        await dispatch(table, 'listStudies', {}, noEvents),
      ).studies.reduce((sum, s) => sum + s.instanceCount, 0);
      assert.equal(held, stopped.added, 'the library holds exactly what the summary says was added');
      assert.ok(stopped.added < summary.added, `stopped early (${stopped.added} of ${summary.added})`);
    } finally {
      await fresh.close();
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('listStudies searches and filters; bad queries are refused', async () => {
    const all = unwrap<Output<'listStudies'>>(await call('listStudies', {})).studies;
    const chest = unwrap<Output<'listStudies'>>(await call('listStudies', { search: 'chest' })).studies;
    assert.ok(
      chest.length > 0 && chest.length < all.length,
      `search narrowed ${all.length} to ${chest.length}`,
    );
    for (const study of chest)
      assert.match(
        `${study.description} ${study.patient.patientName} ${study.patient.patientId}`,
        /chest/i,
        'every match mentions the search word',
      );
    const cr = unwrap<Output<'listStudies'>>(await call('listStudies', { modality: 'cr' })).studies;
    assert.ok(cr.length > 0 && cr.every((s) => s.modalities.includes('CR')), 'only CR studies');
    const page = unwrap<Output<'listStudies'>>(await call('listStudies', { limit: 2, offset: 1 })).studies;
    assert.deepEqual(
      page.map((s) => s.id),
      all.slice(1, 3).map((s) => s.id),
    );
    for (const bad of [
      { limit: 0 },
      { limit: 5000 },
      { offset: -1 },
      { modality: "CR' OR 1=1" },
      { dateFrom: 'yesterday' },
      { search: 'x'.repeat(201) },
      { unknown: true },
    ]) {
      assert.equal(errorCode(await call('listStudies', bad)), 'invalid_payload', JSON.stringify(bad));
    }
  });

  test('listSeries and listInstances walk a study down to its instances', async () => {
    const study = unwrap<Output<'listStudies'>>(await call('listStudies', { search: 'No Finding' }))
      .studies[0];
    assert.ok(study, 'the NIH chest study is in the library');
    const series = unwrap<Output<'listSeries'>>(await call('listSeries', { studyId: study.id })).series;
    assert.equal(series.length, study.seriesCount);
    const instances = unwrap<Output<'listInstances'>>(
      await call('listInstances', { seriesId: series[0]!.id }),
    ).instances;
    assert.equal(instances.length, series[0]!.instanceCount);
    assert.deepEqual(
      { ...instances[0], id: 0, seriesId: 0, sopInstanceUid: '' },
      {
        id: 0,
        seriesId: 0,
        sopInstanceUid: '',
        instanceNumber: instances[0]!.instanceNumber,
        rows: 1024,
        columns: 1024,
        numberOfFrames: 1,
        photometricInterpretation: 'MONOCHROME2',
        transferSyntaxName: instances[0]!.transferSyntaxName,
        decodable: true,
        undecodableReason: null,
        sourceFormat: 'dicom',
        storage: 'managed',
        processingStatus: 'not_processed',
      },
    );
    assert.match(instances[0]!.transferSyntaxName, /Implicit/i);
    assert.deepEqual(unwrap(await call('listSeries', { studyId: 999999 })), { series: [] });
    assert.equal(errorCode(await call('listSeries', { studyId: 0 })), 'invalid_payload');
    assert.equal(errorCode(await call('listInstances', { seriesId: 1.5 })), 'invalid_payload');
  });

  test('getThumbnail renders the displayed image, scaled to fit, as a PNG data URL', async () => {
    const studies = unwrap<Output<'listStudies'>>(
      await call('listStudies', { search: 'No Finding' }),
    ).studies;
    const series = unwrap<Output<'listSeries'>>(await call('listSeries', { studyId: studies[0]!.id })).series;
    const [dx] = unwrap<Output<'listInstances'>>(
      await call('listInstances', { seriesId: series[0]!.id }),
    ).instances;
    assert.ok(dx, 'the NIH chest radiograph is in the library');
    const thumb = unwrap<Output<'getThumbnail'>>(
      await call('getThumbnail', { instanceId: dx.id, size: 128 }),
    );
    assert.match(thumb.dataUrl, /^data:image\/png;base64,/);
    const decoded = await decodeThumbnail(thumb.dataUrl);
    assert.deepEqual({ width: decoded.width, height: decoded.height }, { width: 128, height: 128 });
    assert.deepEqual({ width: thumb.width, height: thumb.height }, { width: 128, height: 128 });
    assert.ok(decoded.stdev > 20, `a chest radiograph, not a blank image (stdev ${decoded.stdev})`);
    // Same request again: the same image (served from the cache).
    const again = unwrap<Output<'getThumbnail'>>(
      await call('getThumbnail', { instanceId: dx.id, size: 128 }),
    );
    assert.equal(again.dataUrl, thumb.dataUrl);
    for (const size of [16, 513, 64.5]) {
      assert.equal(
        errorCode(await call('getThumbnail', { instanceId: dx.id, size })),
        'invalid_payload',
        `size ${size}`,
      );
    }
    assert.equal(errorCode(await call('getThumbnail', { instanceId: 999999, size: 64 })), 'not_found');
  });

  test('getThumbnail refuses instances without a displayable image, with the reason', async () => {
    const studies = unwrap<Output<'listStudies'>>(await call('listStudies', {})).studies;
    let undecodable: Output<'listInstances'>['instances'][number] | undefined;
    for (const study of studies) {
      for (const series of unwrap<Output<'listSeries'>>(await call('listSeries', { studyId: study.id }))
        .series) {
        const found = unwrap<Output<'listInstances'>>(
          await call('listInstances', { seriesId: series.id }),
        ).instances.find((i) => !i.decodable);
        undecodable ??= found;
      }
    }
    assert.ok(undecodable, 'the shared data has an instance without decodable pixels');
    const result = await call('getThumbnail', { instanceId: undecodable.id, size: 64 });
    assert.ok(!result.ok, 'refused');
    assert.equal(result.error.code, 'unsupported');
    assert.ok(
      result.error.message.includes(undecodable.undecodableReason ?? '<no reason>'),
      `message gives the reason: ${result.error.message}`,
    );
  });

  test('a referenced file changed after import is reported, not rendered', async () => {
    const copy = join(dir, 'referenced.dcm');
    copyFileSync(chestDx, copy);
    // Different content (last pixel byte) so it is not a duplicate of the copy imported above.
    const bytes = readFileSync(copy);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
    writeFileSync(copy, bytes);
    const own = mkdtempSync(join(tmpdir(), 'r2c-ipc-ref-'));
    const fresh = createServices({ dataDir: own, modelsDir: own, workerTransport: threadTransport });
    try {
      const table = createHandlers(fresh);
      const imported = unwrap<Output<'importPaths'>>(
        await dispatch(
          table,
          'importPaths',
          { jobId: 'import-ref', paths: [copy], mode: 'reference' },
          noEvents,
        ),
      );
      assert.equal(imported.added, 1);
      const [instance] = fresh.library.listInstances({});
      assert.equal(instance?.storage, 'reference');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
      writeFileSync(copy, bytes);
      const result = await dispatch(table, 'getThumbnail', { instanceId: instance.id, size: 64 }, noEvents);
      assert.equal(errorCode(result), 'integrity');
      rmSync(copy);
      const missing = await dispatch(table, 'getThumbnail', { instanceId: instance.id, size: 64 }, noEvents);
      assert.equal(errorCode(missing), 'not_found');
    } finally {
      await fresh.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
