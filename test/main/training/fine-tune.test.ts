// Fine-tuning from the app: the fineTuneModel channel through dispatch and the real handler table runs
// `r2c train` in a job worker from an installed model, reports progress, can be cancelled and resumed,
// and installs the result as a local model whose card says it is not evaluated.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { AppEvent, Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { threadTransport } from '../../../main/app/jobs.ts';
import { fineTuneSlug } from '../../../main/training/fine-tune.ts';
import { readMetrics } from '../../../main/training/metrics.ts';
import { writeGrayPng } from '../../../main/util/image-io.ts';
import { installTinyModel } from '../inference/fixtures.ts';

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

/** 4 COVID-19 + 4 normal 72x64 gray PNGs with different gradients and a blob. */
async function makeImages(root: string): Promise<void> {
  for (const [c, label] of ['covid', 'normal'].entries()) {
    mkdirSync(join(root, label), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const w = 72;
      const h = 64;
      const data = new Float32Array(w * h);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const blob = Math.exp(-((x - 20 - 8 * i) ** 2 + (y - 32) ** 2) / (40 + 60 * c));
          data[y * w + x] = Math.min(1, 0.2 + 0.5 * ((x + y * (i + 1)) / (w + h * 4)) + 0.3 * blob);
        }
      await writeGrayPng(join(root, label, `img-${i}.png`), { width: w, height: h, data });
    }
  }
}

describe('fine-tuning channel', () => {
  let dir: string;
  let services: Services;
  let handlers: HandlerTable;
  const events: AppEvent[] = [];
  const context = { emit: (e: AppEvent) => events.push(e) };
  const call = (channel: string, payload: unknown) => dispatch(handlers, channel, payload, context);
  const dataDir = () => join(dir, 'images');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-fine-tune-'));
    installTinyModel(join(dir, 'models'));
    await makeImages(dataDir());
    services = createServices({
      dataDir: join(dir, 'data'),
      modelsDir: join(dir, 'models'),
      workerTransport: threadTransport,
    });
    handlers = createHandlers(services);
  });
  after(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a finished fine-tune is installed as a local, unevaluated model that verifies', async () => {
    const request = {
      jobId: 'fine-tune-0001',
      baseModelId: 'tiny-q3',
      data: dataDir(),
      objective: 'paired',
      steps: 12,
      name: 'Ward 3 portables',
    };
    const result = unwrap<Output<'fineTuneModel'>>(await call('fineTuneModel', request));
    assert.deepEqual(result, {
      status: 'finished',
      step: 12,
      totalSteps: 12,
      resumedFrom: null,
      modelId: 'local-ward-3-portables',
    });
    const progress = events.filter((e) => e.type === 'jobProgress' && e.jobId === request.jobId);
    assert.ok(progress.length >= 2, 'progress is reported');
    const last = progress.at(-1);
    assert.match(last?.type === 'jobProgress' ? (last.message ?? '') : '', /step 12 of 12, loss \d/);
    assert.ok(
      events.some((e) => e.type === 'jobEnded' && e.jobId === request.jobId),
      'jobEnded closes the job',
    );

    const { models } = unwrap<Output<'modelCatalog'>>(await call('modelCatalog', {}));
    const local = models.find((m) => m.id === 'local-ward-3-portables');
    assert.ok(local, 'the fine-tuned model is installed');
    assert.equal(local.origin, 'local');
    assert.equal(local.isDefault, false, 'a fine-tune never replaces the default by itself');
    assert.equal(local.name, 'Ward 3 portables (fine-tuned from tiny-q3 0.0.1)');
    assert.equal(local.metrics.f1, null, 'not evaluated');
    assert.ok(
      local.limitations.some((l) => /not evaluated/.test(l)),
      'the card says so',
    );
    assert.match(local.training.objective ?? '', /^paired/);
    const verified = unwrap<Output<'verifyModel'>>(await call('verifyModel', { modelId: local.id }));
    assert.equal(verified.ok, true, verified.detail);
    // The same name again is refused (it would overwrite the installed model).
    const again = await call('fineTuneModel', { ...request, jobId: 'fine-tune-0002' });
    assert.equal(again.ok ? 'ok' : again.error.code, 'bad_input');
    assert.match(again.ok ? '' : again.error.message, /already installed/);
  });

  test('cancel keeps a checkpoint; the same request resumes and finishes', async () => {
    const request = {
      jobId: 'fine-tune-0003',
      baseModelId: 'tiny-q3',
      data: dataDir(),
      objective: 'paired',
      steps: 300,
      name: 'resumable',
    };
    const pending = call('fineTuneModel', request);
    // Cancel once training is under way.
    while (!events.some((e) => e.type === 'jobProgress' && e.jobId === request.jobId && e.done > 0))
      await new Promise((r) => setTimeout(r, 20));
    unwrap(await call('cancelJob', { jobId: request.jobId }));
    const first = unwrap<Output<'fineTuneModel'>>(await pending);
    assert.equal(first.status, 'cancelled');
    assert.equal(first.modelId, null, 'nothing installed');
    assert.ok(first.step > 0 && first.step < 300, `stopped part way (${first.step})`);
    const second = unwrap<Output<'fineTuneModel'>>(
      await call('fineTuneModel', { ...request, jobId: 'fine-tune-0004' }),
    );
    assert.equal(second.status, 'finished');
    assert.equal(second.resumedFrom, first.step);
    assert.equal(second.modelId, 'local-resumable');
    const metrics = await readMetrics(join(dir, 'data', 'training-runs', 'resumable', 'metrics.jsonl'));
    const steps = metrics.map((r) => r.step);
    assert.deepEqual(
      steps,
      [...new Set(steps)].sort((a, b) => a - b),
      'no step logged twice',
    );
    assert.equal(steps.at(-1), 300);
  });

  test('evaluating from the app writes the report, and the results into a local model card only', async () => {
    const local = unwrap<Output<'evaluateModel'>>(
      await call('evaluateModel', {
        jobId: 'evaluate-0001',
        modelId: 'local-ward-3-portables',
        data: dataDir(),
      }),
    );
    assert.equal(local.count, 8);
    assert.equal(local.savedToCard, true);
    assert.ok(
      existsSync(join(local.outDir, 'evaluation.json')) && existsSync(join(local.outDir, 'roc.png')),
      'report files',
    );
    const report = JSON.parse(readFileSync(join(local.outDir, 'evaluation.json'), 'utf8'));
    assert.equal(
      report.report.restoration.restored.overall.psnrGain,
      local.psnrGainDb,
      'the answer is the report',
    );
    const { models } = unwrap<Output<'modelCatalog'>>(await call('modelCatalog', {}));
    const card = models.find((m) => m.id === 'local-ward-3-portables')!;
    assert.equal(card.metrics.psnrGainDb, local.psnrGainDb);
    assert.deepEqual(card.metrics.auc, local.auc);
    assert.match(card.metrics.evaluatedOn ?? '', /images \(8 images\)/);
    assert.ok(!card.limitations.some((l) => /not evaluated/.test(l)), 'no longer marked unevaluated');
    const verified = unwrap<Output<'verifyModel'>>(await call('verifyModel', { modelId: card.id }));
    assert.equal(verified.ok, true, 'the model file still matches its card');

    const before = readFileSync(join(dir, 'models', 'tiny-q3.model.json'), 'utf8');
    const shipped = unwrap<Output<'evaluateModel'>>(
      await call('evaluateModel', {
        jobId: 'evaluate-0002',
        modelId: 'tiny-q3',
        data: dataDir(),
        validationSeed: 1,
      }),
    );
    assert.equal(shipped.savedToCard, false);
    assert.ok(shipped.count < 8, 'only the held-out split');
    assert.equal(
      readFileSync(join(dir, 'models', 'tiny-q3.model.json'), 'utf8'),
      before,
      'shipped card untouched',
    );

    const pending = call('evaluateModel', { jobId: 'evaluate-0003', modelId: 'tiny-q3', data: dataDir() });
    unwrap(await call('cancelJob', { jobId: 'evaluate-0003' }));
    const cancelled = await pending;
    assert.equal(cancelled.ok ? 'finished' : cancelled.error.code, 'cancelled');
  });

  test('bad requests are refused with a named problem', async () => {
    const base = {
      jobId: 'fine-tune-0005',
      baseModelId: 'tiny-q3',
      data: dataDir(),
      objective: 'paired',
      steps: 5,
    };
    const badName = await call('fineTuneModel', { ...base, name: '../escape' });
    assert.equal(badName.ok ? 'ok' : badName.error.code, 'invalid_payload');
    const relative = await call('fineTuneModel', { ...base, name: 'x', data: 'images' });
    assert.equal(relative.ok ? 'ok' : relative.error.code, 'invalid_payload');
    const unknown = await call('fineTuneModel', { ...base, name: 'x', baseModelId: 'nope' });
    assert.equal(unknown.ok ? 'ok' : unknown.error.code, 'not_found');
    const empty = await call('fineTuneModel', { ...base, name: 'x', data: join(dir, 'models') });
    assert.equal(empty.ok ? 'ok' : empty.error.code, 'bad_input');
    assert.match(empty.ok ? '' : empty.error.message, /holds no labelled PNG\/JPEG\/TIFF\/DICOM images/);
    assert.throws(() => fineTuneSlug('...'), /at least one letter or digit/);
    assert.equal(fineTuneSlug('Ward 3 / portables'), 'ward-3-portables');
  });
});
