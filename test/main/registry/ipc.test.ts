// The registry's channels through dispatch and the real handler table (as Electron and the browser
// tests bind them): validation, the activation refusal as an envelope, the picker injected by the shell.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices } from '../../../main/app/services.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { installLocal, shipDefault, workstation } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-registry-ipc-'));
after(() => rmSync(root, { recursive: true, force: true }));
const noEvents = { emit: () => {} };
const codeOf = (e: Envelope<unknown>) => (e.ok ? 'ok' : e.error.code);

test('registry channels: list, refused and confirmed activation, rollback, provenance, strict payloads', async () => {
  const ws = workstation(root, 'ipc');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const services = createServices({
    dataDir: ws.dataDir,
    modelsDir: ws.shippedDir,
    workerTransport: threadTransport,
    logSource: 'test',
  });
  try {
    const handlers = createHandlers(services);
    const call = (channel: Parameters<typeof dispatch>[1], payload: unknown) =>
      dispatch(handlers, channel, payload, noEvents);
    const registry = await call('modelRegistry', {});
    assert.ok(registry.ok);
    const value = registry.value as Output<'modelRegistry'>;
    assert.equal(value.active?.modelId, shipped.id);
    assert.deepEqual(value.versions.map((v) => [v.modelId, v.status]).sort(), [
      [local.id, 'installed'],
      [shipped.id, 'active'],
    ]);
    const refused = await call('activateModel', { modelId: local.id, reason: 'pilot' });
    assert.equal(codeOf(refused), 'forbidden');
    assert.equal(
      codeOf(await call('activateModel', { modelId: local.id, reason: 'pilot', extra: 1 })),
      'invalid_payload',
    );
    assert.equal(codeOf(await call('activateModel', { modelId: local.id, reason: '' })), 'invalid_payload');
    const activated = await call('activateModel', {
      modelId: local.id,
      reason: 'pilot',
      confirmUnevaluated: true,
    });
    assert.equal(codeOf(activated), 'ok');
    const info = await call('getAppInfo', {});
    assert.ok(info.ok);
    assert.deepEqual((info.value as Output<'getAppInfo'>).activeModel, {
      id: local.id,
      version: local.version,
    });
    const catalog = (await call('modelCatalog', {})) as Envelope<Output<'modelCatalog'>>;
    assert.ok(catalog.ok);
    assert.equal(catalog.value.models.find((m) => m.id === local.id)?.status, 'active');
    const back = (await call('rollbackModel', { reason: 'undo' })) as Envelope<Output<'rollbackModel'>>;
    assert.ok(back.ok);
    assert.equal(back.value.modelId, shipped.id);
    const csv = (await call('modelHistoryCsv', {})) as Envelope<Output<'modelHistoryCsv'>>;
    assert.ok(csv.ok);
    assert.match(csv.value.csv, /,rolled back,shipped-a,1\.0\.0,/);
    assert.match(csv.value.fileName, /^model-history-\d{4}-\d\d-\d\d\.csv$/);
    const provenance = (await call('modelProvenance', {
      modelId: local.id,
      version: local.version,
      sha256: local.sha256,
    })) as Envelope<Output<'modelProvenance'>>;
    assert.ok(provenance.ok);
    assert.equal(provenance.value.status, 'installed');
    assert.equal(codeOf(await call('importModelPackage', { file: 'relative.r2cmodel' })), 'invalid_payload');
    assert.equal(
      codeOf(await call('importModelPackage', { file: join(ws.base, 'missing.r2cmodel') })),
      'not_found',
    );
    // No picker in this binding: the renderer keeps the typed path.
    const noPicker = await call('pickPath', { kind: 'openFolder', title: 'Images' });
    assert.deepEqual(noPicker, { ok: true, value: { available: false, path: null } });
  } finally {
    await services.close();
  }
});

test('pickPath: the shell’s picker answers through the contract; a relative answer is refused by the output schema', async () => {
  const ws = workstation(root, 'picker');
  shipDefault(ws.shippedDir);
  const services = createServices({
    dataDir: ws.dataDir,
    modelsDir: ws.shippedDir,
    workerTransport: threadTransport,
    logSource: 'test',
  });
  try {
    const asked: unknown[] = [];
    let answer: string | null = '/data/ward3';
    const handlers = createHandlers(services, {
      pickPath: async (request) => {
        asked.push(request);
        return answer;
      },
    });
    const pick = () =>
      dispatch(
        handlers,
        'pickPath',
        { kind: 'saveFile', title: 'Save', defaultName: 'a.r2cmodel' },
        noEvents,
      );
    assert.deepEqual(await pick(), { ok: true, value: { available: true, path: '/data/ward3' } });
    assert.deepEqual(asked, [{ kind: 'saveFile', title: 'Save', defaultName: 'a.r2cmodel' }]);
    answer = null;
    assert.deepEqual(await pick(), { ok: true, value: { available: true, path: null } });
    answer = 'relative/path';
    assert.equal(codeOf(await pick()), 'internal');
  } finally {
    await services.close();
  }
});
