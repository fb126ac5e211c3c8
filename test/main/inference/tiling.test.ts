import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildInferenceModel, loadInferenceModel } from '../../../models/inference.ts';
import { initWeights, operationalGenerator } from '../../../models/nets.ts';
import { toWorkingTensor } from '../../../main/inference/preprocess.ts';
import { createInferenceService } from '../../../main/inference/service.ts';
import { loadTiledModel, planTiles } from '../../../main/inference/tiling.ts';
import { resizeGray } from '../../../main/util/resize.ts';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { requireSharedData } from '../../helpers/paths.ts';
import { installTinyModel } from './fixtures.ts';

// Bound: tiles see whole-image statistics and only exact (halo-protected) pixels get weight, so the
// only differences are float32 summation order; 1e-5 on outputs in [-1,1].
const BOUND = 1e-5;

test('planTiles: cores partition the image, tiles add the halo on interior sides only', () => {
  const tiles = planTiles(256, 192, 64, 16, 2);
  const covered = new Uint8Array(256 * 192);
  for (const t of tiles) {
    for (let y = t.cy0; y < t.cy1; y++) for (let x = t.cx0; x < t.cx1; x++) covered[y * 256 + x]! += 1;
    assert.equal(t.x0, Math.max(0, t.cx0 - 16), 'left halo');
    assert.equal(t.y1, Math.min(192, t.cy1 + 16), 'bottom halo');
    assert.ok((t.x1 - t.x0) % 2 === 0 && (t.y1 - t.y0) % 2 === 0, 'tile sizes are size multiples');
  }
  assert.ok(
    covered.every((c) => c === 1),
    'every pixel is in exactly one core',
  );
  assert.equal(tiles.length, 4 * 3);
});

test('tiled restoration matches the whole-image model on a 256x192 chest X-ray', async (t) => {
  const net = operationalGenerator({ q: 3, width: 4 });
  const bytes = buildInferenceModel(net, initWeights(net, 7));
  const whole = await loadInferenceModel(bytes, { threads: 1 });
  const tiled = await loadTiledModel(bytes, { threads: 1, memArena: false });
  try {
    const image = await readGrayImage(join(requireSharedData(), 'cxr/covid/cxrdb_COVID-2001.png'));
    // 224x224 source, resampled to 256x192 so the image is not square.
    const input = toWorkingTensor(resizeGray(image, 256, 192), 256, 2);
    assert.deepEqual([input.paddedWidth, input.paddedHeight], [256, 192]);
    const reference = await whole.run(input.tensor, [1, 1, 192, 256]);
    const result = await tiled.run(input.tensor, 256, 192, { tileSize: 96, halo: 16 });
    assert.ok(result.tiles >= 9, `small tiles: ${result.tiles}`);
    let maxDiff = 0;
    for (let i = 0; i < reference.restored.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(reference.restored[i]! - result.restored[i]!));
    assert.ok(maxDiff < BOUND, `restored max |diff| ${maxDiff} >= ${BOUND}`);
    let camDiff = 0;
    for (let i = 0; i < reference.cam.length; i++)
      camDiff = Math.max(camDiff, Math.abs(reference.cam[i]! - result.cam[i]!));
    assert.ok(camDiff < 1e-4, `cam max |diff| ${camDiff}`);
    t.diagnostic(`tiles ${result.tiles}, restored max|diff| ${maxDiff}, cam max|diff| ${camDiff}`);
    for (let k = 0; k < 2; k++) {
      const d = Math.abs(reference.probabilities[k]! - result.probabilities[k]!);
      assert.ok(d < 1e-5, `probability ${k} differs by ${d}`);
    }
    // Without the halo (cores only), seams differ: the halo is what makes tiles exact.
    const naive = await tiled.run(input.tensor, 256, 192, { tileSize: 64, halo: 0 });
    let naiveDiff = 0;
    for (let i = 0; i < reference.restored.length; i++)
      naiveDiff = Math.max(naiveDiff, Math.abs(reference.restored[i]! - naive.restored[i]!));
    assert.ok(naiveDiff > 100 * BOUND, `tiles without halo should differ at seams (${naiveDiff})`);
  } finally {
    await whole.release();
    await tiled.release();
  }
});

test('the service tiles automatically above its pixel budget, with the same result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'r2c-tiling-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  installTinyModel(dir);
  const whole = createInferenceService({ shippedDir: dir, providers: ['cpu'], threads: 1 });
  // 160x160 working image = 25600 px > 96x96 budget: tiles of 96 px incl. a 32 px halo.
  const tiled = createInferenceService({
    shippedDir: dir,
    providers: ['cpu'],
    threads: 1,
    tilePixelBudget: 96 * 96,
  });
  try {
    const image = await readGrayImage(join(requireSharedData(), 'cxr/normal/nih_00003908_000.png'));
    const options = { passes: 2, workingLongSide: 160 };
    const a = await whole.infer(image, options);
    const b = await tiled.infer(image, options);
    assert.equal(a.tiles, 1, 'under the budget: one pass over the whole image');
    assert.ok(b.tiles > 1, `over the budget: tiled (${b.tiles} tiles)`);
    for (let pass = 0; pass < 2; pass++) {
      const x = a.restored[pass]!.data;
      const y = b.restored[pass]!.data;
      let diff = 0;
      for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      assert.ok(diff < BOUND, `pass ${pass + 1}: max |diff| ${diff}`);
    }
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(tiled.infer(image, { ...options, signal: aborted.signal }), /cancel/i);
  } finally {
    await whole.close();
    await tiled.close();
  }
});
