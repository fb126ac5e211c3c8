import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createInferenceService } from '../../../main/inference/service.ts';
import { AppError } from '../../../main/util/errors.ts';
import { createGray, type GrayImage } from '../../../main/util/image.ts';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { requireSharedData } from '../../helpers/paths.ts';
import { installTinyModel } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-infer-'));
after(() => rmSync(root, { recursive: true, force: true }));
const chest = join(requireSharedData(), 'cxr/covid/cxrdb_COVID-2001.png');

test('restores and classifies a chest X-ray with the default model on CPU', async () => {
  const dir = join(root, 'a');
  const card = installTinyModel(dir);
  const service = createInferenceService({ shippedDir: dir, providers: ['cpu'] });
  const image = await readGrayImage(chest);
  const result = await service.infer(image, { passes: 2 });
  assert.deepEqual(result.model, { id: card.id, version: card.version, sha256: card.sha256 });
  assert.equal(result.provider, 'cpu');
  const { normal, covid } = result.probabilities;
  assert.ok(Math.abs(normal + covid - 1) < 1e-5, 'probabilities sum to 1');
  assert.equal(result.label, covid > card.threshold ? 'covid' : 'normal');
  assert.equal(result.restored.length, 2);
  // 224x224 source, working long side 96: 96x96, never upscaled.
  for (const r of [...result.restored, result.heatmap]) {
    assert.equal(r.width, 96);
    assert.equal(r.height, 96);
    assert.ok(r.data.every((v) => v >= 0 && v <= 1));
  }
  assert.notDeepEqual(
    result.restored[0]?.data,
    result.restored[1]?.data,
    'the second pass restores the first',
  );
  assert.ok(Math.max(...result.heatmap.data) > 0.99, 'heat map is scaled to its maximum');
  await service.close();
});

test('the classification matches running the model file directly', async () => {
  const dir = join(root, 'b');
  installTinyModel(dir);
  const service = createInferenceService({ shippedDir: dir, providers: ['cpu'] });
  const flat: GrayImage = createGray(64, 64, 0.25);
  const result = await service.infer(flat);
  const session = await ort.InferenceSession.create(join(dir, 'tiny-q3.onnx'));
  const out = await session.run({
    image: new ort.Tensor('float32', new Float32Array(64 * 64).fill(-0.5), [1, 1, 64, 64]),
  });
  const expected = out['probabilities']!.data as Float32Array;
  assert.ok(Math.abs(result.probabilities.covid - expected[1]!) < 1e-6);
  const restored = out['restored']!.data as Float32Array;
  assert.ok(Math.abs(result.restored[0]!.data[100]! - (restored[100]! + 1) / 2) < 1e-6);
  await service.close();
});

test('after close() no session is loaded again: a job still between passes is told the service closed', async () => {
  const dir = join(root, 'e');
  installTinyModel(dir);
  const service = createInferenceService({ shippedDir: dir, providers: ['cpu'] });
  await service.infer(createGray(32, 32));
  await service.close();
  for (const call of [() => service.infer(createGray(32, 32)), () => service.prepare()]) {
    await assert.rejects(
      call(),
      (e: unknown) => e instanceof AppError && e.code === 'cancelled' && /service was closed/.test(e.message),
    );
  }
});

test('an unavailable provider falls back to CPU and says which was used', async () => {
  const dir = join(root, 'c');
  installTinyModel(dir);
  const service = createInferenceService({ shippedDir: dir, providers: ['no-such-provider', 'cpu'] });
  const prepared = await service.prepare();
  assert.equal(prepared.provider, 'cpu');
  assert.equal(prepared.failedProviders[0]?.provider, 'no-such-provider');
  await service.close();
});

test('bad input and tampered models get clear errors', async () => {
  const dir = join(root, 'd');
  const card = installTinyModel(dir);
  const service = createInferenceService({ shippedDir: dir, providers: ['cpu'] });
  const tiny = createGray(8, 8);
  await assert.rejects(
    service.infer(tiny, { what: 'scan.png' }),
    /scan\.png is 8x8; at least 16x16 is needed/,
  );
  const nan = createGray(32, 32);
  nan.data[5] = Number.NaN;
  await assert.rejects(service.infer(nan), /non-finite pixel value at index 5/);
  await assert.rejects(
    service.infer(createGray(32, 32), { passes: 4 }),
    /passes must be 0 \(classify only\), 1, 2 or 3/,
  );
  await assert.rejects(
    service.infer(createGray(32, 32), { modelId: 'other' }),
    /no model 'other' is installed/,
  );
  writeFileSync(join(dir, card.file), Buffer.alloc(card.bytes, 1));
  const fresh = createInferenceService({ shippedDir: dir, providers: ['cpu'] });
  await assert.rejects(
    fresh.infer(createGray(32, 32)),
    (e: unknown) => e instanceof AppError && e.code === 'integrity',
  );
  await service.close();
  await fresh.close();
});
