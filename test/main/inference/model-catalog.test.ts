// The Models page's channels through dispatch and the real handler table: cards with and without
// metrics, a broken card reported (not fatal), a file checked against its card before and after tampering.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { threadTransport } from '../../../main/app/jobs.ts';
import { installTinyModel } from './fixtures.ts';

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('model catalog channels', () => {
  let dir: string;
  let services: Services;
  let handlers: HandlerTable;
  const call = (channel: string, payload: unknown) =>
    dispatch(handlers, channel, payload, { emit: () => {} });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-ipc-models-'));
    const models = join(dir, 'models');
    installTinyModel(models, 'tiny-q3', {
      metrics: {
        evaluatedOn: 'validation split (480 images)',
        f1: { clean: 0.81, degraded: 0.74, restored: 'n/a' },
        auc: { clean: 0.9, degraded: 0.8, restored: 0.79 },
        psnrGainDb: 2.5,
        ssimGain: 0.1,
      },
      training: { steps: 1200, hardware: '2-core CPU', objective: 'paired: 10·L1 + 1·CE', run: 'runs/x' },
      limitations: ['random weights', 'the class correlates with the data source'],
    });
    installTinyModel(models, 'tiny-draft', { default: false, version: 'draft-step-3' });
    writeFileSync(join(models, 'broken.model.json'), '{ "format": "r2c-model-card/1", "id": "Bad Id" }');
    services = createServices({
      dataDir: join(dir, 'data'),
      modelsDir: models,
      workerTransport: threadTransport,
    });
    handlers = createHandlers(services);
  });
  after(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('modelCatalog lists every card with its metrics, training and limitations, and the broken card', async () => {
    const { models, problems } = unwrap<Output<'modelCatalog'>>(await call('modelCatalog', {}));
    assert.deepEqual(
      models.map((m) => [m.id, m.isDefault, m.origin]),
      [
        ['tiny-draft', false, 'shipped'],
        ['tiny-q3', true, 'shipped'],
      ],
    );
    const q3 = models.find((m) => m.id === 'tiny-q3')!;
    assert.deepEqual(q3.metrics.f1, { clean: 0.81, degraded: 0.74, restored: null }, 'a non-number is null');
    assert.equal(q3.metrics.psnrGainDb, 2.5);
    assert.equal(q3.training.objective, 'paired: 10·L1 + 1·CE');
    assert.equal(q3.training.steps, 1200);
    assert.equal(q3.architecture, 'operational Q=3');
    assert.match(q3.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(q3.limitations, ['random weights', 'the class correlates with the data source']);
    const draft = models.find((m) => m.id === 'tiny-draft')!;
    assert.deepEqual(draft.metrics, {
      evaluatedOn: null,
      f1: null,
      auc: null,
      psnrGainDb: null,
      ssimGain: null,
    });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.file, 'broken.model.json');
    assert.match(problems[0]!.problem, /id/);
  });

  test('verifyModel checks the file against its card; a changed byte is reported, not thrown', async () => {
    const good = unwrap<Output<'verifyModel'>>(await call('verifyModel', { modelId: 'tiny-q3' }));
    assert.equal(good.ok, true);
    assert.match(good.detail, /SHA-256 matches the model card/);
    const file = join(dir, 'models', 'tiny-q3.onnx');
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    writeFileSync(file, bytes);
    const bad = unwrap<Output<'verifyModel'>>(await call('verifyModel', { modelId: 'tiny-q3' }));
    assert.equal(bad.ok, false);
    assert.match(bad.detail, /does not match its model card.*refusing to use it/);
    rmSync(file);
    const missing = unwrap<Output<'verifyModel'>>(await call('verifyModel', { modelId: 'tiny-q3' }));
    assert.equal(missing.ok, false);
    assert.match(missing.detail, /is missing/);
  });

  test('bad payloads and unknown models are refused with a named problem', async () => {
    const bad = await call('verifyModel', { modelId: '../etc' });
    assert.equal(bad.ok ? 'ok' : bad.error.code, 'invalid_payload');
    const unknown = await call('verifyModel', { modelId: 'nope' });
    assert.equal(unknown.ok ? 'ok' : unknown.error.code, 'not_found');
    assert.match(
      unknown.ok ? '' : unknown.error.message,
      /no model 'nope' is installed \(installed: tiny-draft, tiny-q3\)/,
    );
    const extra = await call('modelCatalog', { all: true });
    assert.equal(extra.ok ? 'ok' : extra.error.code, 'invalid_payload');
  });
});
