import assert from 'node:assert/strict';
import { test } from 'node:test';
import { augment } from '../../../main/data/augment.ts';
import type { DatasetItem } from '../../../main/data/dataset.ts';
import { loadManifest } from '../../../main/data/dataset.ts';
import { Rng } from '../../../main/data/random.ts';
import { createPairedSampler, createUnpairedSampler } from '../../../main/data/sampler.ts';
import { splitTrainValidation } from '../../../main/data/split.ts';
import { AppError } from '../../../main/util/errors.ts';
import type { GrayImage } from '../../../main/util/image.ts';
import { createGray } from '../../../main/util/image.ts';
import { sharedDataMissing, sharedManifest } from './shared-data.ts';

const augmentation = { size: 16, resizeRange: [18, 24] as const, flip: true };

function items(count: number, prefix = 'img'): DatasetItem[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    path: `/nowhere/${prefix}-${i}.png`,
    label: i % 3 === 0 ? 'covid' : 'normal',
    format: 'raster',
    patientId: `${prefix}-patient-${Math.floor(i / 2)}`,
  }));
}

/** A distinct, deterministic image per item, so no files are needed. */
async function fakeLoad(item: DatasetItem): Promise<GrayImage> {
  const rng = new Rng(item.id);
  const image = createGray(30, 26);
  for (let i = 0; i < image.data.length; i++) image.data[i] = rng.next();
  return image;
}

test('poor and good pools are disjoint and keep patients together', () => {
  const train = items(40);
  const sampler = createUnpairedSampler({ train, seed: 1, augmentation, loadImage: fakeLoad });
  const poorIds = sampler.poorPool.map((p) => p.item.id);
  const goodIds = sampler.goodPool.map((i) => i.id);
  assert.equal(poorIds.length + goodIds.length, 40);
  assert.ok(
    poorIds.every((id) => !goodIds.includes(id)),
    'poorIds.every((id) => !goodIds.includes(id))',
  );
  const poorPatients = new Set(sampler.poorPool.map((p) => p.item.patientId));
  assert.ok(
    sampler.goodPool.every((i) => !poorPatients.has(i.patientId)),
    'sampler.goodPool.every((i) => !poorPatients.has(i.patientId))',
  );
  assert.ok(Math.abs(poorIds.length - 20) <= 2, 'Math.abs(poorIds.length - 20) <= 2');
  assert.equal(sampler.stepsPerEpoch, Math.max(poorIds.length, goodIds.length));
});

test('samples are reproducible by (seed, epoch, step); poor is degraded, good is only augmented', async () => {
  const train = items(20);
  const make = (seed: number) => createUnpairedSampler({ train, seed, augmentation, loadImage: fakeLoad });
  const a = await make(5).sample(2, 3);
  const b = await make(5).sample(2, 3);
  assert.deepEqual(a, b);
  const c = await make(6).sample(2, 3);
  assert.notDeepEqual(Buffer.from(a.poor.image.data.buffer), Buffer.from(c.poor.image.data.buffer));
  assert.equal(a.poor.image.width, 16);
  assert.ok(
    a.poor.artifacts && a.poor.artifacts.length >= 1,
    'a.poor.artifacts && a.poor.artifacts.length >= 1',
  );
  const sourceItem = train.find((i) => i.id === a.good.itemId)!;
  const expected = augment(await fakeLoad(sourceItem), new Rng(5, 'augment-good', 2, 3), augmentation).image;
  assert.deepEqual(a.good.image.data, expected.data);
  assert.equal(a.good.label, sourceItem.label);
  assert.equal(a.poor.label, train.find((i) => i.id === a.poor.itemId)!.label);
});

test('paired samples: the clean target is the augmented image, the input its degraded copy, by seed', async () => {
  const train = items(24);
  const make = (seed: number, cleanFraction = 0.25) =>
    createPairedSampler({ train, seed, augmentation, cleanFraction, loadImage: fakeLoad });
  const sampler = make(3);
  assert.equal(sampler.stepsPerEpoch, 24);
  const epoch = await Promise.all(Array.from({ length: 24 }, (_, k) => sampler.sample(1, k)));
  assert.deepEqual(new Set(epoch.map((s) => s.itemId)).size, 24, 'every image once per epoch');
  let clean = 0;
  for (const s of epoch) {
    const item = train.find((i) => i.id === s.itemId)!;
    assert.equal(s.label, item.label, 'label of the same image');
    const expected = augment(
      await fakeLoad(item),
      new Rng(3, 'augment-paired', 1, s.step),
      augmentation,
    ).image;
    assert.deepEqual(s.target.data, expected.data, 'target = the augmented clean image');
    if (s.artifacts.length === 0) {
      clean += 1;
      assert.deepEqual(s.input.data, s.target.data, 'a clean step feeds the clean image');
    } else assert.notDeepEqual(s.input.data, s.target.data, 'a degraded step changes the input');
  }
  assert.ok(clean >= 1 && clean <= 14, `about a quarter of the steps are clean (${clean}/24)`);
  assert.deepEqual(await make(3).sample(1, 5), epoch[5], 'reproducible by (seed, epoch, step)');
  const other = await make(4).sample(1, 5);
  assert.notDeepEqual(Buffer.from(other.input.data.buffer), Buffer.from(epoch[5]!.input.data.buffer));
  const never = make(3, 0);
  for (let k = 0; k < 24; k++)
    assert.ok((await never.sample(0, k)).artifacts.length >= 1, 'cleanFraction 0 always degrades');
  assert.throws(() => make(3, 1), /cleanFraction must be in \[0, 1\)/);
  await assert.rejects(sampler.sample(0, 24), /outside the epoch/);
});

test('an epoch visits every image of the larger pool once, in an order that changes per epoch', async () => {
  const sampler = createUnpairedSampler({ train: items(12), seed: 3, augmentation, loadImage: fakeLoad });
  const epochIds = async (epoch: number) => {
    const ids: string[] = [];
    for await (const s of sampler.epoch(epoch)) ids.push(s.good.itemId);
    return ids;
  };
  const first = await epochIds(0);
  assert.equal(first.length, sampler.stepsPerEpoch);
  assert.deepEqual([...new Set(first)].sort(), sampler.goodPool.map((i) => i.id).sort());
  assert.notDeepEqual(await epochIds(1), first);
  await assert.rejects(sampler.sample(0, sampler.stepsPerEpoch), RangeError);
});

test('real poor-quality images join the poor pool undegraded; synthetic can be turned off', async () => {
  const train = items(10);
  const real = items(3, 'real');
  const mixed = createUnpairedSampler({ train, seed: 1, augmentation, loadImage: fakeLoad, realPoor: real });
  assert.equal(mixed.poorPool.filter((p) => !p.synthetic).length, 3);
  const realOnly = createUnpairedSampler({
    train,
    seed: 1,
    augmentation,
    loadImage: fakeLoad,
    realPoor: real,
    synthetic: false,
  });
  assert.equal(realOnly.goodPool.length, 10);
  assert.deepEqual(
    realOnly.poorPool.map((p) => p.item.id),
    real.map((i) => i.id),
  );
  for (let step = 0; step < realOnly.stepsPerEpoch; step++) {
    const s = await realOnly.sample(0, step);
    assert.equal(s.poor.artifacts, null);
    assert.ok(s.poor.itemId.startsWith('real-'), "s.poor.itemId.startsWith('real-')");
  }
  assert.throws(() => createUnpairedSampler({ train, seed: 1, augmentation, synthetic: false }), RangeError);
});

test('epoch iteration stops on abort', async () => {
  const sampler = createUnpairedSampler({ train: items(10), seed: 1, augmentation, loadImage: fakeLoad });
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of sampler.epoch(0, controller.signal)) {
        seen++;
        if (seen === 2) controller.abort();
      }
    })(),
    (e: unknown) => e instanceof AppError && e.code === 'cancelled',
  );
  assert.equal(seen, 2);
});

test('real images from the shared manifest feed the sampler', { skip: sharedDataMissing() }, async () => {
  const all = await loadManifest(sharedManifest, { checkFiles: false });
  const { train } = splitTrainValidation(all, { seed: 1, validationFraction: 0.2 });
  const sampler = createUnpairedSampler({
    train: train.slice(0, 40),
    seed: 1,
    augmentation: { size: 64, resizeRange: [72, 128], flip: true },
  });
  const s = await sampler.sample(0, 0);
  assert.equal(s.poor.image.width, 64);
  assert.equal(s.good.image.height, 64);
  assert.ok(
    s.good.image.data.every((v) => v >= 0 && v <= 1),
    's.good.image.data.every((v) => v >= 0 && v <= 1)',
  );
});
