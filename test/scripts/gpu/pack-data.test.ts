import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { loadManifest } from '../../../main/data/dataset.ts';
import { groupItems, splitThreeWay } from '../../../main/data/split.ts';
import {
  GPU_SAMPLER_SEED,
  GPU_SPLIT_SEED,
  type GpuSplit,
  packData,
  planSplit,
} from '../../../scripts/gpu/pack-data.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';

describe('scripts/gpu/pack-data', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'r2c-pack-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the committed split.json is what planSplit gives for the shared data, and is leak-free', async () => {
    const items = await loadManifest(join(requireSharedData(), 'MANIFEST.csv'), { checkFiles: false });
    const plan = planSplit(items);
    const committed = JSON.parse(
      await readFile(join(repoRoot, 'scripts/gpu/split.json'), 'utf8'),
    ) as GpuSplit;
    assert.equal(committed.seed, GPU_SPLIT_SEED);
    assert.equal(committed.samplerSeed, GPU_SAMPLER_SEED);
    assert.equal(committed.validationFraction, 0.2);
    assert.deepEqual(
      committed.train,
      plan.train.map((i) => i.id),
    );
    assert.deepEqual(
      committed.validation,
      plan.validation.map((i) => i.id),
    );
    assert.deepEqual(
      committed.poor,
      plan.poor.map((i) => i.id),
    );
    assert.deepEqual(
      committed.good,
      plan.good.map((i) => i.id),
    );
    // No group (patient / near-duplicate) on both sides of either split.
    const side = new Map<string, string>();
    for (const id of committed.validation) side.set(id, 'validation');
    for (const id of committed.poor) side.set(id, 'poor');
    for (const id of committed.good) side.set(id, 'good');
    assert.equal(side.size, items.length);
    for (const group of groupItems(items)) {
      const sides = new Set(group.map((i) => side.get(i.id)));
      assert.equal(sides.size, 1, `group of ${group[0]?.id} is split across ${[...sides].join(', ')}`);
    }
  });

  test('with a calibration fraction, the calibration split (splitThreeWay) is held out of the packed items', async () => {
    const items = await loadManifest(join(requireSharedData(), 'MANIFEST.csv'), { checkFiles: false });
    const two = planSplit(items);
    const three = planSplit(items, GPU_SPLIT_SEED, GPU_SAMPLER_SEED, 0.15);
    const engine = splitThreeWay(items, {
      seed: GPU_SPLIT_SEED,
      validationFraction: 0.2,
      calibrationFraction: 0.15,
    });
    const ids = (list: { id: string }[]) => list.map((i) => i.id);
    assert.deepEqual(ids(three.validation), ids(two.validation), 'validation is unchanged');
    assert.deepEqual(ids(three.calibration), ids(engine.calibration), "the engine run's calibration split");
    assert.deepEqual(ids(three.train), ids(engine.train));
    assert.ok(three.calibration.length > 0);
    const packed = new Set([...ids(three.poor), ...ids(three.good)]);
    assert.equal(packed.size, three.train.length, 'poor and good halves cover the training items');
    for (const id of ids(three.calibration)) assert.ok(!packed.has(id), `${id} is calibration and packed`);
    assert.deepEqual(two.calibration, [], 'no calibration split by default');
  });

  test('packs the training split as 286x286 grayscale JPEGs with labels and domains', async () => {
    const data = requireSharedData();
    const all = await loadManifest(join(data, 'MANIFEST.csv'), { checkFiles: false });
    const pick = [
      ...all.filter((i) => i.label === 'covid').slice(0, 6),
      ...all.filter((i) => i.label === 'normal').slice(0, 6),
    ];
    const manifest = join(dir, 'manifest.csv');
    await writeFile(manifest, `path,label\n${pick.map((i) => `${i.path},${i.label}`).join('\n')}\n`);
    const out = join(dir, 'packed');
    const r = await packData({ manifest, out, maxBytes: 5 * 1024 * 1024 });
    assert.equal(r.quality, 95);
    const lines = (await readFile(join(out, 'labels.csv'), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'file,label,class_index,domain,id');
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.equal(rows.length, r.split.counts.train);
    assert.equal(r.split.counts.train + r.split.counts.validation, pick.length);
    const validation = new Set(r.split.validation);
    for (const [file, label, index, domain, id] of rows) {
      assert.ok(!validation.has(id as string), `${id} is a validation image`);
      assert.equal(index, label === 'covid' ? '1' : '0');
      assert.ok(domain === 'poor' || domain === 'good');
      const meta = await sharp(join(out, file as string)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['jpeg', 286, 286, 1]);
    }
    assert.ok(rows.some((r) => r[3] === 'poor') && rows.some((r) => r[3] === 'good'));
    assert.equal((await readdir(join(out, 'images'))).length, rows.length);
    // A size limit that cannot be met leaves the previous output alone.
    await assert.rejects(packData({ manifest, out, maxBytes: 1000 }), /over 1000/);
    assert.equal((await readdir(join(out, 'images'))).length, rows.length);
  });
});
