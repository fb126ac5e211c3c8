import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { AppEvent } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { threadTransport } from '../../../main/app/jobs.ts';
import { AppError } from '../../../main/util/errors.ts';

const noEvents = { emit: () => {} };

describe('dispatch', () => {
  let dir: string;
  let services: Services;
  let handlers: HandlerTable;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-ipc-'));
    services = createServices({ dataDir: dir, modelsDir: dir, workerTransport: threadTransport });
    handlers = createHandlers(services);
  });
  after(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an unknown channel is a typed error, not a throw', async () => {
    const result = await dispatch(handlers, 'deleteEverything', {}, noEvents);
    assert.deepEqual(result, {
      ok: false,
      error: { code: 'unknown_channel', message: "unknown IPC channel 'deleteEverything'" },
    });
  });

  test('an invalid payload names the offending field', async () => {
    const result = await dispatch(handlers, 'hashFiles', { jobId: 'abcdefgh', paths: [42] }, noEvents);
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'invalid_payload');
    assert.deepEqual(
      result.error.issues?.map((i) => i.path),
      ['paths.0'],
    );
    for (const bad of [undefined, null, 'x', [], { jobId: 'short', paths: ['/a'] }]) {
      const r = await dispatch(handlers, 'hashFiles', bad, noEvents);
      assert.equal(r.ok ? 'ok' : r.error.code, 'invalid_payload', `payload ${JSON.stringify(bad)}`);
    }
  });

  test('getAppInfo round-trips the app identity', async () => {
    const result = await dispatch(handlers, 'getAppInfo', {}, noEvents);
    assert.ok(result.ok);
    assert.equal((result.value as { name: string }).name, 'R2C Workstation');
  });

  test('hashFiles runs in a worker and reports progress events', async () => {
    const file = join(dir, 'a.bin');
    writeFileSync(file, Buffer.alloc(1 << 20, 1));
    const events: AppEvent[] = [];
    const result = await dispatch(
      handlers,
      'hashFiles',
      { jobId: 'job-0001', paths: [file] },
      { emit: (e) => events.push(e) },
    );
    assert.ok(result.ok);
    const [entry] = (result.value as { files: { sha256?: string }[] }).files;
    assert.equal(entry?.sha256, 'ee78cd29d3a534713b36e6ff6fa3668c8a8f851a542d5eb2401c25ca4e057d02');
    assert.ok(events.length > 0 && events.every((e) => e.jobId === 'job-0001'));
    const last = events.at(-1);
    assert.deepEqual(last, { type: 'jobEnded', jobId: 'job-0001' }, 'the end of the job is announced last');
    const progress = events.filter((e) => e.type === 'jobProgress');
    assert.equal(progress.at(-1)?.done, 1 << 20);
  });

  test('handler errors keep their code; unexpected errors become internal', async () => {
    const failing = {
      ...handlers,
      getAppInfo: async () => {
        throw new AppError('not_found', 'no such model');
      },
      cancelJob: async () => {
        throw new TypeError('boom');
      },
    } as HandlerTable;
    assert.deepEqual(await dispatch(failing, 'getAppInfo', {}, noEvents), {
      ok: false,
      error: { code: 'not_found', message: 'no such model' },
    });
    const internal = await dispatch(failing, 'cancelJob', { jobId: 'abcdefgh' }, noEvents);
    assert.ok(!internal.ok);
    assert.equal(internal.error.code, 'internal');
  });

  test('a handler returning data outside the contract is caught', async () => {
    const wrong = { ...handlers, cancelJob: async () => ({ cancelled: 'yes' }) } as unknown as HandlerTable;
    const result = await dispatch(wrong, 'cancelJob', { jobId: 'abcdefgh' }, noEvents);
    assert.deepEqual(result, {
      ok: false,
      error: { code: 'internal', message: 'cancelJob produced an invalid result' },
    });
  });

  test('cancelJob aborts a running job', async () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(64 << 20, 3));
    const paths = Array.from({ length: 8 }, () => big);
    const running = dispatch(handlers, 'hashFiles', { jobId: 'job-cancel', paths }, noEvents);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cancel = await dispatch(handlers, 'cancelJob', { jobId: 'job-cancel' }, noEvents);
    assert.deepEqual(cancel, { ok: true, value: { cancelled: true } });
    const result = await running;
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'cancelled');
    assert.deepEqual(await dispatch(handlers, 'cancelJob', { jobId: 'job-cancel' }, noEvents), {
      ok: true,
      value: { cancelled: false },
    });
  });
});
