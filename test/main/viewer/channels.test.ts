// The viewer channels through dispatch and the real handler table: a real library on disk, a tiny
// random model installed like a shipped one, analyses stored and reused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { AppEvent, Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { threadTransport } from '../../../main/app/jobs.ts';
import { requireSharedData } from '../../helpers/paths.ts';
import { installTinyModel } from '../inference/fixtures.ts';

const dicomDir = join(requireSharedData(), 'dicom');

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('viewer channels', () => {
  let dir: string;
  let services: Services;
  let handlers: HandlerTable;
  const events: AppEvent[] = [];
  const context = { emit: (e: AppEvent) => events.push(e) };
  const call = (channel: string, payload: unknown) => dispatch(handlers, channel, payload, context);
  let mono1: number;
  let rgb: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-ipc-viewer-'));
    installTinyModel(join(dir, 'models'));
    services = createServices({
      dataDir: join(dir, 'data'),
      modelsDir: join(dir, 'models'),
      workerTransport: threadTransport,
    });
    handlers = createHandlers(services);
    await services.library.importPaths([
      join(dicomDir, 'dwv', 'gdcm-CR-MONO1-10-chest.dcm'),
      join(dicomDir, 'dicom-test-files', 'SC_rgb.dcm'),
    ]);
    const instances = services.library.listInstances({});
    mono1 = instances.find((i) => i.photometricInterpretation === 'MONOCHROME1')!.id;
    rgb = instances.find((i) => i.photometricInterpretation === 'RGB')!.id;
  });
  after(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('modelCatalog reports the installed model as default', async () => {
    const { models } = unwrap<Output<'modelCatalog'>>(await call('modelCatalog', {}));
    assert.equal(models.length, 1);
    assert.equal(models[0]!.id, 'tiny-q3');
    assert.equal(models[0]!.isDefault, true);
    assert.equal(models[0]!.architecture, 'operational Q=3');
  });

  test('getViewerImage returns the original in its own units', async () => {
    const image = unwrap<Output<'getViewerImage'>>(await call('getViewerImage', { instanceId: mono1 }));
    assert.equal(image.photometric, 'MONOCHROME1');
    assert.equal(image.width, 440);
    assert.equal(image.pixels.byteLength, 440 * 440 * (image.dataType === 'uint8' ? 1 : 2));
    const colour = unwrap<Output<'getViewerImage'>>(await call('getViewerImage', { instanceId: rgb }));
    assert.equal(colour.components, 3);
  });

  test('bad payloads and unknown instances are refused with a named problem', async () => {
    const bad = await call('getViewerImage', { instanceId: -1 });
    assert.equal(bad.ok ? 'ok' : bad.error.code, 'invalid_payload');
    const missing = await call('getViewerImage', { instanceId: 9999 });
    assert.equal(missing.ok ? 'ok' : missing.error.code, 'not_found');
    const pass = await call('analyseImages', {
      jobId: 'job-pass-4x',
      instanceIds: [mono1],
      passes: 4,
      reuse: true,
    });
    assert.equal(pass.ok ? 'ok' : pass.error.code, 'invalid_payload');
    const notYet = await call('getHeatmap', { instanceId: mono1, modelId: 'tiny-q3' });
    assert.equal(notYet.ok ? 'ok' : notYet.error.code, 'not_found');
  });

  test('analyse, store, reuse; restored passes and heat map read back', async () => {
    events.length = 0;
    const first = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', { jobId: 'job-analyse-1', instanceIds: [mono1], passes: 2, reuse: true }),
    );
    const item = first.items[0]!;
    assert.ok(item.ok, `analysis failed: ${JSON.stringify(item)}`);
    assert.equal(item.analysis.reused, false);
    assert.equal(item.analysis.passes, 2);
    assert.equal(item.analysis.model.id, 'tiny-q3');
    assert.ok(Math.abs(item.analysis.probabilities.covid + item.analysis.probabilities.normal - 1) < 1e-5);
    assert.equal(
      item.analysis.label,
      item.analysis.probabilities.covid > item.analysis.threshold ? 'covid' : 'normal',
    );
    assert.ok(
      events.some(
        (e) => e.type === 'jobProgress' && e.jobId === 'job-analyse-1' && e.message?.includes('restoring'),
      ),
      'progress was reported',
    );
    assert.equal(services.library.getInstance(mono1).processingStatus, 'classified');

    const again = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', { jobId: 'job-analyse-2', instanceIds: [mono1], passes: 1, reuse: true }),
    );
    assert.ok(
      again.items[0]!.ok && again.items[0]!.analysis.reused,
      'a stored analysis with enough passes is reused',
    );
    assert.equal(again.items[0]!.ok && again.items[0]!.analysis.createdAt, item.analysis.createdAt);

    const { analyses } = unwrap<Output<'listAnalyses'>>(await call('listAnalyses', { instanceId: mono1 }));
    assert.equal(analyses.length, 1);

    const restored = unwrap<Output<'getRestoredImage'>>(
      await call('getRestoredImage', { instanceId: mono1, modelId: 'tiny-q3', pass: 2 }),
    );
    assert.equal(restored.photometric, 'MONOCHROME1', 'same photometric as the original');
    assert.equal(restored.width, item.analysis.working.width);
    assert.equal(restored.dataType, 'float32');
    assert.ok(restored.width <= 96, 'at the model card working size');
    const original = unwrap<Output<'getViewerImage'>>(await call('getViewerImage', { instanceId: mono1 }));
    assert.ok(
      Math.abs(restored.spacing.column * restored.width - original.spacing.column * original.width) < 1e-6,
    );
    const noPass = await call('getRestoredImage', { instanceId: mono1, modelId: 'tiny-q3', pass: 3 });
    assert.equal(noPass.ok ? 'ok' : noPass.error.code, 'not_found');

    const heat = unwrap<Output<'getHeatmap'>>(
      await call('getHeatmap', { instanceId: mono1, modelId: 'tiny-q3' }),
    );
    assert.equal(heat.width, restored.width);
    assert.equal(heat.data.byteLength, heat.width * heat.height);

    const forced = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', { jobId: 'job-analyse-3', instanceIds: [mono1], passes: 1, reuse: false }),
    );
    assert.ok(forced.items[0]!.ok && !forced.items[0]!.analysis.reused, 'reuse: false runs the model again');
  });

  test('the input gate: a colour Secondary Capture is refused naming the attributes; the override is recorded', async () => {
    const refused = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', { jobId: 'job-gate-1', instanceIds: [rgb], passes: 1, reuse: false }),
    );
    const item = refused.items[0]!;
    assert.ok(!item.ok, JSON.stringify(item));
    assert.equal(item.error.code, 'unsupported');
    assert.match(
      item.error.message,
      /outside the model's intended use: Modality is OT \(expected CR or DX\)/,
    );
    const forced = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', {
        jobId: 'job-gate-2',
        instanceIds: [rgb],
        passes: 1,
        reuse: false,
        overrideIntendedUse: { reason: 'test' },
      }),
    );
    const ok = forced.items[0]!;
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.analysis.intendedUse?.accepted, false);
    assert.deepEqual(ok.analysis.intendedUse?.override, { by: 'viewer: classify anyway', reason: 'test' });
  });

  test('a batch reports each image; a failing one does not stop the rest', async () => {
    // The colour image is outside the model's intended use: classified on override here.
    const batch = unwrap<Output<'analyseImages'>>(
      await call('analyseImages', {
        jobId: 'job-batch-1',
        instanceIds: [9999, rgb],
        passes: 1,
        reuse: true,
        overrideIntendedUse: {},
      }),
    );
    assert.equal(batch.items.length, 2);
    assert.equal(batch.items[0]!.ok, false);
    assert.ok(!batch.items[0]!.ok && batch.items[0]!.error.code === 'not_found');
    assert.ok(batch.items[1]!.ok, `colour image: ${JSON.stringify(batch.items[1])}`);
    const restored = unwrap<Output<'getRestoredImage'>>(
      await call('getRestoredImage', { instanceId: rgb, modelId: 'tiny-q3', pass: 1 }),
    );
    assert.equal(restored.photometric, 'MONOCHROME2', 'a colour original is restored as gray');
  });

  test('cancelling a batch stops it and says so', async () => {
    const running = call('analyseImages', {
      jobId: 'job-cancel-1',
      instanceIds: [mono1, rgb, mono1, rgb],
      passes: 1,
      reuse: false,
      overrideIntendedUse: {},
    });
    await new Promise((r) => setTimeout(r, 50));
    unwrap(await call('cancelJob', { jobId: 'job-cancel-1' }));
    const result = unwrap<Output<'analyseImages'>>(await running);
    assert.equal(result.cancelled, true);
    assert.ok(result.items.length < 4, `${result.items.length} items finished`);
  });
});
