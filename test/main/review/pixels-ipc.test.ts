// The review pixel source on the real services (job worker, shipped model): both variants of a
// library image (the original and the default model's restoration) at the image's full resolution, in
// one value range, with identical metadata (blinding); the channel refuses unknown presentations.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { localModelsDir } from '../../../main/app/paths.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { pixelValues } from '../../../main/review/index.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';

describe('review pixels over IPC', () => {
  let dataDir: string;
  let services: Services;
  let handlers: HandlerTable;
  let instanceId: number;
  const call = (channel: string, payload: unknown) =>
    dispatch(handlers, channel, payload, { emit: () => {} });

  before(async () => {
    const dir = join(requireSharedData(), 'cxr', 'covid');
    const file = join(
      dir,
      readdirSync(dir)
        .filter((n) => n.endsWith('.png'))
        .sort()[0]!,
    );
    dataDir = mkdtempSync(join(tmpdir(), 'r2c-review-pixels-'));
    services = createServices({
      dataDir,
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
      maxWorkers: 1,
    });
    handlers = createHandlers(services);
    assert.equal((await services.library.importPaths([file], { mode: 'copy' })).added, 1);
    instanceId = services.library.listInstances({ limit: 1 })[0]!.id;
  });
  after(async () => {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('original and restored: full resolution, one value range, the same metadata', async () => {
    const { rows, columns } = services.library.getInstance(instanceId);
    const original = await services.viewer.getImage(instanceId);
    const modelId = (await services.defaultModelId())!;
    const byVariant = new Map<string, Output<'getReviewPixels'>>();
    for (const variant of [
      { kind: 'original' as const },
      { kind: 'restored' as const, modelId, passes: 1 },
    ]) {
      const started = performance.now();
      const { pixels: out } = await services.jobs.run('loadReviewPixels', {
        ...services.library.imageSource(instanceId),
        variant,
        shippedDir: services.config.modelsDir,
        localDir: localModelsDir(dataDir),
      });
      console.log(
        `loadReviewPixels ${variant.kind} ${out.width}x${out.height} ${out.dataType}: ${(performance.now() - started).toFixed(0)} ms`,
      );
      byVariant.set(variant.kind, out);
    }
    const a = byVariant.get('original')!;
    const b = byVariant.get('restored')!;
    for (const out of [a, b]) {
      assert.equal(out.width, columns, 'full resolution: every column');
      assert.equal(out.height, rows, 'full resolution: every row');
    }
    const { pixels: _a, ...metaA } = a;
    const { pixels: _b, ...metaB } = b;
    assert.deepEqual(metaA, metaB, 'blinded: the same metadata for both variants');
    assert.deepEqual(
      Object.keys(metaA).sort(),
      ['dataType', 'height', 'photometric', 'units', 'voiFunction', 'width', 'window'],
      'nothing else is sent',
    );
    assert.equal(a.dataType, original.dataType, "the original's data type");
    assert.deepEqual(a.window, { center: original.windows[0]!.center, width: original.windows[0]!.width });
    // The original is the viewer's pixels exactly.
    const viewerValues = new Uint8Array(original.pixels);
    assert.deepEqual(new Uint8Array(a.pixels.buffer, a.pixels.byteOffset, a.pixels.byteLength), viewerValues);
    // The restoration is in the same units: close to the original on average, different in detail.
    const va = pixelValues({ ...a, pixels: a.pixels });
    const vb = pixelValues({ ...b, pixels: b.pixels });
    let sumA = 0;
    let sumB = 0;
    let changed = 0;
    for (let i = 0; i < va.length; i++) {
      sumA += va[i]!;
      sumB += vb[i]!;
      if (va[i] !== vb[i]) changed++;
    }
    const meanA = sumA / va.length;
    const meanB = sumB / vb.length;
    console.log(
      `mean original ${meanA.toFixed(1)}, restored ${meanB.toFixed(1)}, changed ${changed}/${va.length}`,
    );
    assert.ok(
      Math.abs(meanA - meanB) < 0.1 * a.window.width,
      'same value range (means within 10% of the window)',
    );
    assert.ok(changed > va.length / 10, 'the restoration changed the image');
    const low = a.window.center - a.window.width / 2 - 1;
    const high = a.window.center + a.window.width / 2 + 1;
    for (let i = 0; i < vb.length; i += 97)
      assert.ok(vb[i]! >= low && vb[i]! <= high, `restored value ${vb[i]} inside the window the model saw`);
    const unknown = await call('getReviewPixels', { presentationId: 'nope' });
    assert.equal(unknown.ok ? 'ok' : unknown.error.code, 'not_found');
  });
});
