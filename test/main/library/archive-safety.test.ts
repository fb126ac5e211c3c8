// Zip archives and files that are not what they claim, as an importer meets them: every defect is
// a failed item with its reason (counted in the total), never a silent loss or a silent truncation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Library } from '../../../main/library/index.ts';
import { openLibrary } from '../../../main/library/index.ts';
import { deflatedDicom } from '../dicom/crafted.ts';
import { newUid, syntheticDicom, tempDir } from './fixtures.ts';
import { craftZip } from './zip-fixtures.ts';

const studies = new Map<string, { study: string; series: string }>();

/** A small DICOM of `patientId`'s one study and series (several instances share them). */
function dicom(patientId: string, instanceNumber = 1): Uint8Array {
  if (!studies.has(patientId)) studies.set(patientId, { study: newUid(), series: newUid() });
  const { study, series } = studies.get(patientId)!;
  return syntheticDicom({
    patientId,
    instanceNumber,
    studyInstanceUid: study,
    seriesInstanceUid: series,
    sopInstanceUid: newUid(),
    rows: 8,
    columns: 8,
  }).bytes;
}

describe('zip and file safety on import', () => {
  const work = tempDir('archive-safety');
  let library: Library;
  let count = 0;
  const zipFile = (bytes: Uint8Array) => {
    const path = join(work.path, `archive${count++}.zip`);
    writeFileSync(path, bytes);
    return path;
  };
  before(() => {
    library = openLibrary({ dataDir: join(work.path, 'data') });
  });
  after(async () => {
    await library.close();
    work.remove();
  });

  test('an entry whose CRC-32 does not match is a failed item with the reason; the good entry is added', async () => {
    const path = zipFile(
      craftZip([
        { name: 'good.dcm', data: dicom('CRC1') },
        { name: 'damaged.dcm', data: dicom('CRC2'), crc: 0x12345678 },
      ]),
    );
    const summary = await library.importPaths([path]);
    assert.equal(summary.total, 2);
    assert.equal(summary.added, 1);
    assert.deepEqual(
      summary.failed.map((f) => f.path),
      [`${path}!/damaged.dcm`],
    );
    assert.match(summary.failed[0]!.reason, /CRC-32 mismatch \(declared 12345678, computed [0-9a-f]{8}\)/);
    assert.equal(library.listStudies({ search: 'CRC2' }).length, 0);
  });

  test('an entry whose declared size is wrong (smaller or larger, deflated or stored) is a failed item', async () => {
    const data = dicom('SIZE1');
    const path = zipFile(
      craftZip([
        { name: 'short.dcm', data, declaredSize: data.length - 100 },
        { name: 'long.dcm', data, declaredSize: data.length + 100 },
        { name: 'stored.dcm', data, method: 'store', declaredSize: data.length - 1 },
      ]),
    );
    const summary = await library.importPaths([path]);
    assert.equal(summary.total, 3);
    assert.equal(summary.added, 0);
    const reasons = Object.fromEntries(summary.failed.map((f) => [f.path.split('!/')[1], f.reason]));
    assert.match(reasons['short.dcm']!, /inflates to more than its declared size of \d+ bytes/);
    assert.match(reasons['long.dcm']!, /inflates to \d+ bytes but declares \d+/);
    assert.match(reasons['stored.dcm']!, /stored entry declares \d+ bytes but holds \d+/);
  });

  test('two entries with the same name are two items, both imported', async () => {
    const first = dicom('DUPNAME', 1);
    const second = dicom('DUPNAME', 2);
    const path = zipFile(
      craftZip([
        { name: 'exam/IM0', data: first },
        { name: 'exam/IM0', data: second },
      ]),
    );
    const summary = await library.importPaths([path]);
    assert.deepEqual(
      { total: summary.total, added: summary.added, failed: summary.failed },
      { total: 2, added: 2, failed: [] },
    );
    const [study] = library.listStudies({ search: 'DUPNAME' });
    assert.equal(study?.instanceCount, 2);
    const sources = library
      .listInstances({ studyId: study!.id })
      .map((i) => library.getInstance(i.id).sourcePath)
      .sort();
    assert.deepEqual(sources, [
      `${path}!/exam/IM0 (entry 1, copy 1 of that name)`,
      `${path}!/exam/IM0 (entry 2, copy 2 of that name)`,
    ]);
  });

  test("entries with '../' or an absolute path are refused items, counted in the total", async () => {
    const path = zipFile(
      craftZip([
        { name: 'ok.dcm', data: dicom('TRAV1') },
        { name: '../escape.dcm', data: dicom('TRAV2') },
        { name: 'a/../../escape2.dcm', data: dicom('TRAV3') },
        { name: '/etc/abs.dcm', data: dicom('TRAV4') },
        { name: 'C:\\win.dcm', data: dicom('TRAV5') },
      ]),
    );
    const summary = await library.importPaths([path]);
    assert.equal(summary.total, 5);
    assert.equal(summary.added, 1);
    assert.deepEqual(
      summary.failed.map((f) => [f.path.split('!/')[1], f.reason.replace(/\(.*$/, '').trim()]),
      [
        ['../escape.dcm', "refused: the entry's path leaves the archive"],
        ['a/../../escape2.dcm', "refused: the entry's path leaves the archive"],
        ['/etc/abs.dcm', 'refused: the entry has an absolute path'],
        ['C:\\win.dcm', 'refused: the entry has an absolute path'],
      ],
    );
  });

  test('a deflate bomb entry is refused (by its declared size, or while inflating when the size lies)', async () => {
    // 64 MiB of zeros deflate to ~64 KB (about 1000:1): past the 100:1 limit above 16 MiB.
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const path = zipFile(
      craftZip([
        { name: 'bomb.dcm', data: zeros },
        { name: 'lying-bomb.dcm', data: zeros, declaredSize: 1024 * 1024 },
        { name: 'fine.dcm', data: dicom('BOMBNEIGHBOUR') },
      ]),
    );
    const summary = await library.importPaths([path]);
    assert.equal(summary.total, 3);
    assert.equal(summary.added, 1);
    const reasons = Object.fromEntries(summary.failed.map((f) => [f.path.split('!/')[1], f.reason]));
    assert.match(
      reasons['bomb.dcm']!,
      /zip entry declares 67108864 bytes uncompressed from \d+ compressed bytes, over the limit of 16777216 bytes \(100x above 16 MiB, 1024 MiB at most\)/,
    );
    // Stopped at the declared 1 MiB: the rest is never kept.
    assert.match(
      reasons['lying-bomb.dcm']!,
      /zip entry inflates to more than its declared size of 1048576 bytes/,
    );
  });

  test('an entry declaring a size past the limit is refused before anything is inflated', async () => {
    const path = zipFile(craftZip([{ name: 'huge.dcm', data: dicom('HUGE'), declaredSize: 0xfffffff0 }]));
    const summary = await library.importPaths([path]);
    assert.equal(summary.added, 0);
    assert.match(summary.failed[0]!.reason, /zip entry declares 4294967280 bytes uncompressed/);
  });

  test('a deflated-transfer-syntax DICOM bomb is refused on import (not stored to be inflated again)', async () => {
    const path = join(work.path, 'bomb.dcm');
    writeFileSync(path, deflatedDicom(4096, 4096)); // 32 MiB of pixels in ~33 KB
    const summary = await library.importPaths([path]);
    assert.equal(summary.added, 0);
    assert.match(summary.failed[0]!.reason, /deflated data set .* refused as a likely deflate bomb/);
  });

  test('a 3 GiB junk file is refused from its first bytes, not read', async () => {
    const path = join(work.path, 'junk.bin');
    const fd = openSync(path, 'w');
    writeSync(fd, new TextEncoder().encode('this is not an image at all'), 0);
    writeSync(fd, new Uint8Array([1]), 0, 1, 3 * 1024 ** 3); // sparse: 3 GiB on paper, a few KB on disk
    closeSync(fd);
    const summary = await library.importPaths([path]);
    assert.equal(summary.added, 0);
    assert.match(summary.failed[0]!.reason, /not a PNG, JPEG, TIFF or DICOM file/);
  });

  test('archives made by Info-ZIP with zip64 fields (-fz) and a streamed entry (data descriptor) import', async (t) => {
    if (spawnSync('zip', ['-v']).error) {
      t.skip('Info-ZIP zip is not installed (apt install zip)');
      return;
    }
    const folder = join(work.path, 'infozip');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.dcm'), dicom('INFOZIP', 1));
    writeFileSync(join(folder, 'b.dcm'), dicom('INFOZIP', 2));
    const zip64 = join(work.path, 'zip64.zip');
    const made = spawnSync('zip', ['-q', '-fz', zip64, 'a.dcm', 'b.dcm'], { cwd: folder, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const streamed = join(work.path, 'streamed.zip');
    const piped = spawnSync('zip', ['-q', '-fz', streamed, '-'], { input: dicom('INFOZIP', 3) });
    assert.equal(piped.status, 0, String(piped.stderr));
    const summary = await library.importPaths([zip64, streamed]);
    assert.deepEqual(
      { total: summary.total, added: summary.added, failed: summary.failed },
      { total: 3, added: 3, failed: [] },
    );
  });

  test('a file that is not a zip archive but ends like a damaged one fails with the reason', async () => {
    const good = craftZip([{ name: 'a.dcm', data: dicom('CUT') }]);
    const path = zipFile(good.subarray(0, good.length - 30)); // end record cut off
    const summary = await library.importPaths([path]);
    assert.equal(summary.added, 0);
    assert.match(summary.failed[0]!.reason, /cannot read zip archive: no end of central directory record/);
  });
});
