import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { classIndexOf, loadItemImage, loadManifest, scanLabelledFolder } from '../../../main/data/dataset.ts';
import { AppError } from '../../../main/util/errors.ts';
import { createGray } from '../../../main/util/image.ts';
import { writeGrayPng } from '../../../main/util/image-io.ts';
import { sharedDataDir, sharedDataMissing, sharedManifest } from './shared-data.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'r2c-dataset-'));
  await mkdir(join(dir, 'train', 'COVID'), { recursive: true });
  await mkdir(join(dir, 'train', 'normal', 'sub'), { recursive: true });
  await mkdir(join(dir, 'other'), { recursive: true });
  await writeGrayPng(join(dir, 'train', 'COVID', 'a.png'), createGray(4, 3, 0.25));
  await writeGrayPng(join(dir, 'train', 'normal', 'sub', 'b.png'), createGray(4, 3, 0.75));
  await writeGrayPng(join(dir, 'other', 'unlabelled.png'), createGray(4, 3, 0.5));
  await writeFile(join(dir, 'train', 'normal', 'notes.txt'), 'not an image');
  await writeFile(join(dir, 'train', 'COVID', 'c.dcm'), 'fake dicom bytes');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isCode = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

test('folder scan labels by the nearest covid/normal folder and skips the rest', async () => {
  const items = await scanLabelledFolder(dir);
  assert.deepEqual(
    items.map((i) => [i.id, i.label, i.format]),
    [
      ['train/COVID/a.png', 'covid', 'raster'],
      ['train/normal/sub/b.png', 'normal', 'raster'],
    ],
  );
  const withDicom = await scanLabelledFolder(dir, { includeDicom: true });
  assert.deepEqual(
    withDicom.map((i) => i.id),
    ['train/COVID/a.png', 'train/COVID/c.dcm', 'train/normal/sub/b.png'],
  );
  const image = await loadItemImage(items[1]!);
  assert.equal(image.width, 4);
  assert.ok(Math.abs(image.data[0]! - 0.75) < 1 / 255, 'Math.abs(image.data[0]! - 0.75) < 1 / 255');
  await assert.rejects(scanLabelledFolder(join(dir, 'missing')), isCode('not_found'));
});

test('DICOM items load only through the readDicom hook', async () => {
  const dicom = (await scanLabelledFolder(dir, { includeDicom: true })).find((i) => i.format === 'dicom')!;
  await assert.rejects(loadItemImage(dicom), isCode('unsupported'));
  const seen: string[] = [];
  const image = await loadItemImage(dicom, {
    readDicom: async (path) => {
      seen.push(path);
      return createGray(2, 2, 0.5);
    },
  });
  assert.deepEqual(seen, [dicom.path]);
  assert.equal(image.data[3], 0.5);
});

test('manifest rows: labels, groups, skipped na rows and clear errors', async () => {
  const csv = join(dir, 'm.csv');
  await writeFile(
    csv,
    'path,label,patient_id,split_group,notes\n' +
      'train/COVID/a.png,covid,p1,g1,"x, y"\n' +
      'train/normal/sub/b.png,normal,,g2,\n' +
      'train/COVID/c.dcm,na,,,dicom\n',
  );
  const items = await loadManifest(csv);
  assert.deepEqual(
    items.map((i) => [i.id, i.label, i.patientId, i.splitGroup]),
    [
      ['train/COVID/a.png', 'covid', 'p1', 'g1'],
      ['train/normal/sub/b.png', 'normal', undefined, 'g2'],
    ],
  );
  assert.equal(classIndexOf(items[0]!.label), 1);
  assert.equal(classIndexOf(items[1]!.label), 0);

  await writeFile(csv, 'path,label\ntrain/COVID/a.png,pneumonia\n');
  await assert.rejects(
    loadManifest(csv),
    (e: unknown) => isCode('bad_input')(e) && /data row 1/.test(String(e)),
  );
  await writeFile(csv, 'path,label\ntrain/COVID/a.png,covid\nmissing.png,normal\n');
  await assert.rejects(loadManifest(csv), (e: unknown) => isCode('not_found')(e) && /row 2/.test(String(e)));
  assert.equal((await loadManifest(csv, { checkFiles: false })).length, 2);
  await writeFile(csv, 'file,label\na.png,covid\n');
  await assert.rejects(loadManifest(csv), /no "path" column/);
  await assert.rejects(loadManifest(join(dir, 'none.csv')), isCode('not_found'));
});

test('the shared manifest gives 1200 covid and 1200 normal items with split groups', {
  skip: sharedDataMissing(),
}, async () => {
  const items = await loadManifest(sharedManifest);
  assert.equal(items.filter((i) => i.label === 'covid').length, 1200);
  assert.equal(items.filter((i) => i.label === 'normal').length, 1200);
  assert.ok(
    items.every((i) => i.splitGroup && i.format === 'raster' && i.path.startsWith(sharedDataDir)),
    "items.every((i) => i.splitGroup && i.format === 'raster' && i.path.startsWith...",
  );
  assert.ok(items.filter((i) => i.patientId).length > 100, 'items.filter((i) => i.patientId).length > 100');
  const scanned = await scanLabelledFolder(join(sharedDataDir, 'cxr'));
  assert.equal(scanned.length, 2400);
});
