import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetItem } from '../../../main/data/dataset.ts';
import { loadManifest } from '../../../main/data/dataset.ts';
import { Rng } from '../../../main/data/random.ts';
import { countLabels, groupItems, splitThreeWay, splitTrainValidation } from '../../../main/data/split.ts';
import { sharedDataMissing, sharedManifest } from './shared-data.ts';

/** 300 items, patients with 1-4 images each; some groups link two patients. */
function syntheticItems(): DatasetItem[] {
  const rng = new Rng('items');
  const items: DatasetItem[] = [];
  for (let p = 0; items.length < 300; p++) {
    const label = rng.bool(0.4) ? 'covid' : 'normal';
    const n = rng.int(1, 4);
    for (let k = 0; k < n; k++) {
      const id = `img-${items.length.toString().padStart(3, '0')}`;
      const item: DatasetItem = { id, path: `/x/${id}.png`, label, format: 'raster', patientId: `p${p}` };
      if (p % 10 === 0 && k === 0) item.splitGroup = `g${Math.floor(p / 20)}`; // links patients p and p+10
      items.push(item);
    }
  }
  return items;
}

function assertGroupsIntact(a: DatasetItem[], b: DatasetItem[]) {
  const keysOf = (items: DatasetItem[]) =>
    new Set(
      items
        .flatMap((i) => [i.patientId && `p:${i.patientId}`, i.splitGroup && `g:${i.splitGroup}`])
        .filter(Boolean),
    );
  const ka = keysOf(a);
  for (const key of keysOf(b)) assert.ok(!ka.has(key), `${key} is in both parts`);
}

test('groups join patient ids and split groups transitively', () => {
  const items: DatasetItem[] = [
    { id: 'a', path: 'a', label: 'covid', format: 'raster', patientId: 'P1' },
    { id: 'b', path: 'b', label: 'covid', format: 'raster', patientId: 'P1', splitGroup: 'G' },
    { id: 'c', path: 'c', label: 'normal', format: 'raster', splitGroup: 'G' },
    { id: 'd', path: 'd', label: 'normal', format: 'raster', patientId: 'P2' },
    { id: 'e', path: 'e', label: 'normal', format: 'raster' },
  ];
  assert.deepEqual(
    groupItems(items).map((g) => g.map((i) => i.id)),
    [['a', 'b', 'c'], ['d'], ['e']],
  );
});

test('split is deterministic, order-independent, disjoint, complete, grouped and stratified', () => {
  const items = syntheticItems();
  const split = splitTrainValidation(items, { seed: 1, validationFraction: 0.2 });
  const again = splitTrainValidation(new Rng(9).shuffle([...items]), { seed: 1, validationFraction: 0.2 });
  assert.deepEqual(
    again.validation.map((i) => i.id),
    split.validation.map((i) => i.id),
  );
  const ids = new Set(split.train.map((i) => i.id));
  assert.ok(
    split.validation.every((i) => !ids.has(i.id)),
    'split.validation.every((i) => !ids.has(i.id))',
  );
  assert.equal(split.train.length + split.validation.length, items.length);
  assertGroupsIntact(split.train, split.validation);
  const total = countLabels(items);
  const val = countLabels(split.validation);
  for (const label of ['covid', 'normal'] as const) {
    assert.ok(Math.abs(val[label] - 0.2 * total[label]) <= 3, `${label}: ${val[label]} of ${total[label]}`);
  }
  const other = splitTrainValidation(items, { seed: 2, validationFraction: 0.2 });
  assert.notDeepEqual(
    other.validation.map((i) => i.id),
    split.validation.map((i) => i.id),
  );
  assert.equal(splitTrainValidation(items, { seed: 1, validationFraction: 0 }).validation.length, 0);
  assert.equal(splitTrainValidation(items, { seed: 1, validationFraction: 1 }).train.length, 0);
  assert.throws(() => splitTrainValidation(items, { seed: 1, validationFraction: 1.5 }), RangeError);
});

test('the shared manifest splits without sharing a patient or split group', {
  skip: sharedDataMissing(),
}, async () => {
  const items = await loadManifest(sharedManifest, { checkFiles: false });
  const { train, validation } = splitTrainValidation(items, { seed: 2024, validationFraction: 0.2 });
  assertGroupsIntact(train, validation);
  const val = countLabels(validation);
  assert.ok(Math.abs(val.covid - 240) <= 5 && Math.abs(val.normal - 240) <= 5, JSON.stringify(val));
});

test('three-way split: validation as before, calibration apart by patient, stable by seed', () => {
  const items = syntheticItems();
  const o = { seed: 1, validationFraction: 0.2, calibrationFraction: 0.15 };
  const parts = splitThreeWay(items, o);
  // Validation is exactly the two-way split's, so earlier validation figures stay comparable.
  assert.deepEqual(
    parts.validation.map((i) => i.id),
    splitTrainValidation(items, o).validation.map((i) => i.id),
  );
  assert.equal(parts.train.length + parts.calibration.length + parts.validation.length, items.length);
  assertGroupsIntact(parts.train, parts.calibration);
  assertGroupsIntact(parts.train, parts.validation);
  assertGroupsIntact(parts.calibration, parts.validation);
  const total = countLabels(items);
  const cal = countLabels(parts.calibration);
  for (const label of ['covid', 'normal'] as const)
    assert.ok(Math.abs(cal[label] - 0.15 * total[label]) <= 4, `${label}: ${cal[label]} of ${total[label]}`);
  const again = splitThreeWay(new Rng(3).shuffle([...items]), o);
  assert.deepEqual(
    again.calibration.map((i) => i.id),
    parts.calibration.map((i) => i.id),
  );
  assert.notDeepEqual(
    splitThreeWay(items, { ...o, seed: 2 }).calibration.map((i) => i.id),
    parts.calibration.map((i) => i.id),
  );
  assert.equal(splitThreeWay(items, { ...o, calibrationFraction: 0 }).calibration.length, 0);
  assert.throws(() => splitThreeWay(items, { ...o, calibrationFraction: 0.8 }), /leave training data/);
});
