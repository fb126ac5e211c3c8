import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { schemaVersion } from '../../../main/library/database.ts';
import { openLibrary } from '../../../main/library/index.ts';
import type { Library } from '../../../main/library/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { newUid, sha256File, syntheticDicom, tempDir, writeSyntheticFolder } from './fixtures.ts';

function allInstances(library: Library) {
  return library
    .listStudies({ limit: 100000 })
    .flatMap((study) => library.listInstances({ studyId: study.id, limit: 100000 }));
}

function storeFiles(dataDir: string): string[] {
  const store = join(dataDir, 'store');
  if (!existsSync(store)) return [];
  return readdirSync(store, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !(e.parentPath ?? '').endsWith('tmp'))
    .map((e) => join(e.parentPath ?? '', e.name));
}

describe('library import (copy mode) of a synthetic folder', () => {
  const work = tempDir('lib-copy');
  const source = join(work.path, 'source');
  const dataDir = join(work.path, 'data');
  let files: { path: string; sopInstanceUid: string }[];
  let originals: Map<string, { sha: string; mtimeMs: number }>;
  let library: Library;

  before(() => {
    files = writeSyntheticFolder(source, 24, { patients: 3 });
    originals = new Map(
      files.map((f) => [f.path, { sha: sha256File(f.path), mtimeMs: statSync(f.path).mtimeMs }]),
    );
    library = openLibrary({ dataDir });
  });
  after(async () => {
    await library.close();
    work.remove();
  });

  test('imports every file, reports progress, and indexes the hierarchy', async () => {
    const progress: number[] = [];
    const summary = await library.importPaths([source], { onProgress: (p) => progress.push(p.done) });
    assert.deepEqual(
      { total: summary.total, added: summary.added, duplicates: summary.duplicates, failed: summary.failed },
      { total: 24, added: 24, duplicates: 0, failed: [] },
    );
    assert.equal(summary.cancelled, false);
    assert.equal(progress.at(-1), 24);
    const patients = library.listPatients();
    assert.deepEqual(
      patients.map((p) => [p.patientId, p.patientName, p.studyCount]),
      [
        ['P0', 'Synthetic^Patient0', 2],
        ['P1', 'Synthetic^Patient1', 2],
        ['P2', 'Synthetic^Patient2', 2],
      ],
    );
    const studies = library.listStudies();
    assert.equal(studies.length, 6);
    for (const study of studies) {
      assert.equal(study.seriesCount, 1);
      assert.equal(study.instanceCount, 4);
      const [series] = library.listSeries({ studyId: study.id });
      assert.equal(series?.instanceCount, 4);
      const instances = library.listInstances({ seriesId: series!.id });
      assert.equal(instances.length, 4);
      assert.ok(instances.every((i) => i.processingStatus === 'not_processed' && i.decodable));
    }
    const uids = new Set(allInstances(library).map((i) => i.sopInstanceUid));
    assert.deepEqual(uids, new Set(files.map((f) => f.sopInstanceUid)));
  });

  test('copies originals into the content-addressed store and never modifies them', () => {
    for (const instance of allInstances(library)) {
      const detail = library.getInstance(instance.id);
      assert.equal(detail.storage, 'managed');
      assert.match(detail.filePath, /store[/\\][0-9a-f]{2}[/\\][0-9a-f]{64}\.dcm$/);
      assert.equal(sha256File(detail.filePath), detail.sha256);
      assert.ok(detail.filePath.includes(detail.sha256.slice(0, 2)));
      const original = originals.get(detail.sourcePath);
      assert.ok(original, `source path ${detail.sourcePath} is one of the imported files`);
      assert.equal(detail.sha256, original.sha);
      assert.equal(detail.header.sopInstanceUid, instance.sopInstanceUid);
      assert.equal(detail.header.rows, 8);
      assert.equal(detail.header.bitsStored, 12);
      assert.equal(detail.header.transferSyntaxUid, '1.2.840.10008.1.2.1');
    }
    for (const [path, original] of originals) {
      assert.equal(sha256File(path), original.sha);
      assert.equal(statSync(path).mtimeMs, original.mtimeMs);
    }
    assert.equal(storeFiles(dataDir).length, 24);
  });

  test('detects duplicates by content and by SOP Instance UID', async () => {
    const again = await library.importPaths([source]);
    assert.equal(again.added, 0);
    assert.equal(again.duplicates, 24);
    assert.ok(again.duplicateItems.every((d) => d.match === 'content'));

    // Same UIDs, different bytes: a re-export of an instance we already hold.
    const first = files[0]!;
    const detail = library.getInstance(
      allInstances(library).find((i) => i.sopInstanceUid === first.sopInstanceUid)!.id,
    );
    const variant = syntheticDicom({
      sopInstanceUid: first.sopInstanceUid,
      studyInstanceUid: detail.header.studyInstanceUid,
      seriesInstanceUid: detail.header.seriesInstanceUid,
      patientId: 'P0',
      seed: 999,
    });
    const variantPath = join(work.path, 'variant.dcm');
    writeFileSync(variantPath, variant.bytes);
    const byUid = await library.importPaths([variantPath]);
    assert.deepEqual(byUid.duplicateItems, [{ path: variantPath, match: 'sopInstanceUid' }]);
    assert.equal(storeFiles(dataDir).length, 24);
  });

  test('searches and filters', () => {
    assert.deepEqual(
      library.listPatients({ search: 'patient1' }).map((p) => p.patientId),
      ['P1'],
    );
    assert.deepEqual(
      library.listPatients({ search: 'SYNTHETIC p2' }).map((p) => p.patientId),
      ['P2'],
    );
    assert.equal(library.listStudies({ search: 'chest' }).length, 6);
    assert.equal(library.listStudies({ search: 'abdomen' }).length, 0);
    assert.equal(library.listStudies({ search: '%' }).length, 0, 'LIKE wildcards are matched literally');
    const cr = library.listStudies({ modality: 'cr' });
    assert.equal(cr.length, 2);
    assert.ok(cr.every((s) => s.patient.patientId === 'P0' && s.modalities.join() === 'CR'));
    // Study dates are 2020-01-15 .. 2020-06-15 (one per study).
    assert.deepEqual(
      library.listStudies({ dateFrom: '2020-02-01', dateTo: '20200415' }).map((s) => s.studyDate),
      ['20200415', '20200315', '20200215'],
    );
    const p1 = library.listPatients({ search: 'P1' })[0]!;
    assert.equal(library.listStudies({ patientRef: p1.id }).length, 2);
    assert.equal(library.listStudies({ limit: 2, offset: 5 }).length, 1);
    assert.throws(() => library.listStudies({ dateFrom: 'last week' }), { code: 'bad_input' });
  });

  test('records processing status and reports unknown ids', () => {
    const [first] = allInstances(library);
    library.setProcessingStatus(first!.id, 'restored');
    assert.equal(library.getInstance(first!.id).processingStatus, 'restored');
    const restored = library.listInstances({ processingStatus: 'restored' });
    assert.deepEqual(
      restored.map((i) => i.id),
      [first!.id],
    );
    assert.throws(
      () => library.getInstance(987654),
      (e: unknown) => e instanceof AppError && e.code === 'not_found',
    );
  });

  test('imageSource names the file of a displayable instance for the render jobs', () => {
    const [first] = allInstances(library);
    const detail = library.getDecodableInstance(first!.id);
    assert.deepEqual(library.imageSource(first!.id), {
      path: detail.filePath,
      sha256: detail.sha256,
      label: `instance ${first!.id}`,
    });
    assert.equal(sha256File(detail.filePath), detail.sha256);
    assert.throws(
      () => library.imageSource(987654),
      (e: unknown) => e instanceof AppError && e.code === 'not_found',
    );
  });

  test('uses WAL, foreign keys and a versioned schema', () => {
    const db = new Database(join(dataDir, 'library.sqlite'), { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.prepare('SELECT MAX(version) FROM schema_version').pluck().get(), schemaVersion);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      for (const t of ['patients', 'studies', 'series', 'instances', 'results'])
        assert.ok(tables.includes(t), t);
      assert.deepEqual(db.pragma('foreign_key_check'), []);
    } finally {
      db.close();
    }
  });
});

describe('library import: reference mode, zip archives, DICOMDIR, images, cancel, cleanup', () => {
  const work = tempDir('lib-misc');
  const dataDir = join(work.path, 'data');
  let library: Library;
  before(() => {
    library = openLibrary({ dataDir });
  });
  after(async () => {
    await library.close();
    work.remove();
  });

  test('reference mode records the original path and copies nothing', async () => {
    const source = join(work.path, 'ref');
    const files = writeSyntheticFolder(source, 4, { patients: 1 });
    const summary = await library.importPaths([source], { mode: 'reference' });
    assert.equal(summary.added, 4);
    const paths = new Set(files.map((f) => f.path));
    for (const f of files) {
      const instance = allInstances(library).find((i) => i.sopInstanceUid === f.sopInstanceUid)!;
      const detail = library.getInstance(instance.id);
      assert.equal(detail.storage, 'reference');
      assert.ok(paths.has(detail.filePath));
      assert.equal(detail.sha256, sha256File(detail.filePath));
    }
    assert.equal(storeFiles(dataDir).length, 0);
  });

  test('imports the entries of a zip archive (kept in the store even in reference mode)', async () => {
    const study = newUid();
    const series = newUid();
    const entries: Record<string, Uint8Array> = {};
    for (let i = 0; i < 3; i++)
      entries[`exam/IM${i}`] = syntheticDicom({
        patientId: 'ZIP1',
        studyInstanceUid: study,
        seriesInstanceUid: series,
        instanceNumber: i + 1,
      }).bytes;
    entries['exam/notes.txt'] = new TextEncoder().encode('not an image');
    entries['__MACOSX/._IM0'] = new Uint8Array([0, 5, 22, 7]);
    entries['nested.zip'] = zipSync({ 'x.dcm': new Uint8Array(10) });
    const zipPath = join(work.path, 'exam.zip');
    writeFileSync(zipPath, zipSync(entries));
    const summary = await library.importPaths([zipPath], { mode: 'reference' });
    assert.equal(summary.added, 3);
    assert.equal(summary.total, 5);
    assert.deepEqual(
      summary.failed.map((f) => f.path),
      [`${zipPath}!/exam/notes.txt`, `${zipPath}!/nested.zip`],
    );
    assert.match(summary.failed[0]!.reason, /not a PNG, JPEG, TIFF or DICOM file/);
    assert.match(summary.failed[1]!.reason, /zip archive inside a zip archive/);
    const [studyRow] = library.listStudies({ search: 'ZIP1' });
    assert.equal(studyRow?.instanceCount, 3);
    const detail = library.getInstance(library.listInstances({ studyId: studyRow!.id })[0]!.id);
    assert.equal(detail.storage, 'managed');
    assert.ok(detail.sourcePath.startsWith(`${zipPath}!/exam/IM`));
    assert.equal(sha256File(detail.filePath), detail.sha256);
  });

  test('follows the files a DICOMDIR references (made by dcmtk dcmmkdir)', async (t) => {
    if (spawnSync('dcmmkdir', ['--version']).error) {
      t.skip('dcmtk dcmmkdir is not installed (apt install dcmtk)');
      return;
    }
    const media = join(work.path, 'media');
    mkdirSync(join(media, 'DIR1'), { recursive: true });
    const study = newUid();
    const series = newUid();
    for (let i = 0; i < 3; i++)
      writeFileSync(
        join(media, 'DIR1', `IMG${i}`),
        syntheticDicom({
          patientId: 'DIRPAT',
          patientName: 'Dicomdir^Test',
          studyInstanceUid: study,
          seriesInstanceUid: series,
          studyDate: '20210101',
          instanceNumber: i + 1,
        }).bytes,
      );
    const made = spawnSync('dcmmkdir', ['+I', '--recurse', 'DIR1'], { cwd: media, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    // Not listed in the DICOMDIR: must not be imported when the DICOMDIR is given.
    writeFileSync(
      join(media, 'DIR1', 'EXTRA'),
      syntheticDicom({ patientId: 'DIRPAT', studyInstanceUid: study, seriesInstanceUid: series }).bytes,
    );
    const summary = await library.importPaths([join(media, 'DICOMDIR')]);
    assert.deepEqual({ added: summary.added, failed: summary.failed }, { added: 3, failed: [] });
    const sources = library
      .listInstances({ studyId: library.listStudies({ search: 'DIRPAT' })[0]!.id })
      .map((i) => library.getInstance(i.id).sourcePath)
      .sort();
    assert.deepEqual(
      sources,
      [0, 1, 2].map((i) => join(media, 'DIR1', `IMG${i}`)),
    );
  });

  test('imports PNG and JPEG images as DICOM Secondary Capture', async () => {
    const images = join(work.path, 'images');
    mkdirSync(images);
    const gray = Buffer.alloc(32 * 24, 0).map((_, i) => i % 256);
    const png = await sharp(gray, { raw: { width: 32, height: 24, channels: 1 } })
      .png()
      .toBuffer();
    const jpeg = await sharp(gray, { raw: { width: 32, height: 24, channels: 1 } })
      .jpeg()
      .toBuffer();
    writeFileSync(join(images, 'a.png'), png);
    writeFileSync(join(images, 'b.jpg'), jpeg);
    writeFileSync(join(images, 'broken.png'), png.subarray(0, 40));
    // Reference mode: there is no original DICOM to point at, so the new DICOM goes to the store.
    const summary = await library.importPaths([images], { mode: 'reference' });
    assert.equal(summary.added, 2);
    assert.deepEqual(
      summary.failed.map((f) => f.path),
      [join(images, 'broken.png')],
    );
    const imported = allInstances(library).filter((i) => i.sourceFormat === 'image');
    assert.equal(imported.length, 2);
    for (const instance of imported) {
      const detail = library.getInstance(instance.id);
      assert.equal(detail.storage, 'managed');
      assert.equal(detail.header.modality, 'OT');
      assert.equal(detail.header.sopClassUid, '1.2.840.10008.5.1.4.1.1.7');
      assert.deepEqual([detail.rows, detail.columns, detail.decodable], [24, 32, true]);
      const stored = readFileSync(detail.filePath);
      assert.equal(stored.subarray(128, 132).toString('latin1'), 'DICM');
      assert.equal(sha256File(detail.filePath), detail.sha256);
    }
    // Duplicate detection uses the image's own bytes (the DICOM made from it gets new UIDs each time).
    const again = await library.importPaths([join(images, 'a.png')]);
    assert.deepEqual(again.duplicateItems, [{ path: join(images, 'a.png'), match: 'content' }]);
  });

  test('reports missing paths and keeps going', async () => {
    const summary = await library.importPaths([join(work.path, 'does-not-exist')]);
    assert.equal(summary.added, 0);
    assert.equal(summary.failed.length, 1);
    assert.match(summary.failed[0]!.reason, /no such file or folder/);
  });

  test('cancel stops the import; what was imported is complete', async () => {
    const source = join(work.path, 'cancel');
    writeSyntheticFolder(source, 150, { patients: 2 });
    const controller = new AbortController();
    const summary = await library.importPaths([source], {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 5) controller.abort();
      },
    });
    assert.equal(summary.cancelled, true);
    assert.ok(summary.added >= 5 && summary.added < 150, `added ${summary.added}`);
    const rest = await library.importPaths([source]);
    assert.equal(rest.added + rest.duplicates, 150);
    assert.equal(rest.duplicates, summary.added);
  });

  test('removes orphan store files and dead temp files on open', async () => {
    await library.close();
    const orphan = join(dataDir, 'store', 'ff', `${'f'.repeat(64)}.dcm`);
    mkdirSync(join(orphan, '..'), { recursive: true });
    writeFileSync(orphan, 'orphan');
    const deadTemp = join(dataDir, 'store', 'tmp', '999999999-abcd.part');
    writeFileSync(deadTemp, 'partial');
    const kept = storeFiles(dataDir).filter((p) => p !== orphan);
    library = openLibrary({ dataDir });
    assert.equal(existsSync(orphan), false);
    assert.equal(existsSync(deadTemp), false);
    for (const path of kept) assert.ok(existsSync(path), path);
    assert.ok(allInstances(library).length > 0);
    assert.equal(readFileSync(kept[0]!).length > 0, true);
  });
});

test('refuses a library written by a newer version instead of corrupting it', () => {
  const work = tempDir('lib-newer');
  try {
    const dataDir = join(work.path, 'data');
    const library = openLibrary({ dataDir });
    void library.close();
    const db = new Database(join(dataDir, 'library.sqlite'));
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, ?)').run('2030-01-01');
    db.close();
    assert.throws(
      () => openLibrary({ dataDir }),
      (e: unknown) =>
        e instanceof AppError && e.code === 'unsupported' && /schema version 99/.test(e.message),
    );
  } finally {
    work.remove();
  }
});
