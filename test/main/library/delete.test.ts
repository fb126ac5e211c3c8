// Deleting from the library and retention: real SQLite and store on disk, synthetic and real DICOMs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { type Library, openLibrary } from '../../../main/library/index.ts';
import { sharedDataDir, tempDir, writeSyntheticFolder } from './fixtures.ts';

/** Every store file and results folder must belong to a row, and every managed row's file must exist. */
function assertNoOrphans(dataDir: string) {
  const db = new Database(join(dataDir, 'library.sqlite'), { readonly: true });
  try {
    const managed = new Set(
      db.prepare("SELECT file_path FROM instances WHERE storage = 'managed'").pluck().all() as string[],
    );
    const shas = new Set(db.prepare('SELECT sha256 FROM instances').pluck().all() as string[]);
    const store = join(dataDir, 'store');
    const files = readdirSync(store, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) =>
        relative(dataDir, join(e.parentPath ?? '', e.name))
          .split(sep)
          .join('/'),
      );
    for (const file of files) assert.ok(managed.has(file), `orphaned store file ${file}`);
    for (const file of managed) assert.ok(existsSync(join(dataDir, file)), `row without its file ${file}`);
    const results = join(dataDir, 'results');
    for (const name of existsSync(results) ? readdirSync(results) : [])
      assert.ok(shas.has(name), `orphaned results folder ${name}`);
    const counts = db
      .prepare(
        `SELECT (SELECT COUNT(*) FROM results WHERE instance_ref NOT IN (SELECT id FROM instances)) AS results,
           (SELECT COUNT(*) FROM series WHERE id NOT IN (SELECT series_ref FROM instances)) AS emptySeries,
           (SELECT COUNT(*) FROM studies WHERE id NOT IN (SELECT study_ref FROM series)) AS emptyStudies,
           (SELECT COUNT(*) FROM patients WHERE id NOT IN (SELECT patient_ref FROM studies)) AS emptyPatients`,
      )
      .get();
    assert.deepEqual(counts, { results: 0, emptySeries: 0, emptyStudies: 0, emptyPatients: 0 });
  } finally {
    db.close();
  }
}

/** What the viewer stores for an analysis: a result row and a folder of files. */
function fakeAnalysis(library: Library, instanceId: number) {
  const instance = library.getInstance(instanceId);
  library.putResult(instanceId, 'model-a', { label: 'normal' });
  const dir = join(library.dataDir, 'results', instance.sha256, 'model-a');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'record.json'), '{}');
  return dir;
}

const allInstances = (library: Library) =>
  library.listStudies().flatMap((s) => library.listInstances({ studyId: s.id }));

test('deleting a study removes its rows, store copies and analyses, nothing else, and leaves no orphans', async () => {
  const work = tempDir('delete');
  const library = openLibrary({ dataDir: join(work.path, 'data') });
  try {
    writeSyntheticFolder(join(work.path, 'in'), 12, { patients: 3 });
    const summary = await library.importPaths([join(work.path, 'in')]);
    assert.equal(summary.added, 12);
    const studies = library.listStudies();
    assert.equal(studies.length, 6);
    const target = studies[0]!;
    const targetInstances = library.listInstances({ studyId: target.id });
    const others = allInstances(library).filter((i) => !targetInstances.some((t) => t.id === i.id));
    const targetDirs = targetInstances.map((i) => fakeAnalysis(library, i.id));
    const otherDir = fakeAnalysis(library, others[0]!.id);
    const targetFiles = targetInstances.map((i) => library.getInstance(i.id).filePath);

    const removed = library.delete([{ level: 'study', id: target.id }]);
    assert.equal(removed.instances, targetInstances.length);
    assert.equal(removed.studies, 1);
    assert.equal(removed.series, 1);
    assert.equal(removed.patients, 0, 'the patient has another study');
    assert.equal(removed.storeFiles, targetInstances.length);
    assert.equal(removed.resultFolders, targetInstances.length);
    assert.ok(removed.bytes > 0);
    for (const file of targetFiles) assert.equal(existsSync(file), false);
    for (const dir of targetDirs) assert.equal(existsSync(dir), false);
    assert.ok(existsSync(otherDir), 'another instance keeps its analysis');
    assert.equal(library.listStudies().length, 5);
    assert.deepEqual(
      allInstances(library)
        .map((i) => i.id)
        .sort(),
      others.map((i) => i.id).sort(),
    );
    assert.equal(library.listResults(others[0]!.id).length, 1);
    for (const i of targetInstances) assert.throws(() => library.getInstance(i.id), { code: 'not_found' });
    assertNoOrphans(library.dataDir);

    // The patient's other study: the patient goes with it.
    const sibling = library.listStudies().find((s) => s.patient.id === target.patient.id)!;
    const second = library.delete([{ level: 'study', id: sibling.id }]);
    assert.equal(second.patients, 1);
    assert.equal(
      library.listPatients().some((p) => p.id === target.patient.id),
      false,
    );
    assertNoOrphans(library.dataDir);

    // One instance of a series: the series stays with the rest.
    const series = library.listSeries({ studyId: library.listStudies()[0]!.id })[0]!;
    const [first, ...rest] = library.listInstances({ seriesId: series.id });
    assert.ok(first && rest.length > 0);
    const one = library.delete([{ level: 'instance', id: first.id }]);
    assert.deepEqual([one.instances, one.series, one.studies], [1, 0, 0]);
    assert.equal(library.listInstances({ seriesId: series.id }).length, rest.length);
    assertNoOrphans(library.dataDir);

    assert.throws(() => library.delete([{ level: 'study', id: target.id }]), { code: 'not_found' });
    assert.throws(() => library.delete([{ level: 'study', id: 0 }]), { code: 'bad_input' });
  } finally {
    await library.close();
    work.remove();
  }
});

test('deleting a referenced instance keeps the original file; deleting a series of real DICOMs', async (t) => {
  const realDir = join(sharedDataDir, 'dicom', 'dicom-test-files');
  if (!existsSync(realDir)) return t.skip(`shared data not found at ${realDir}`);
  const work = tempDir('delete-ref');
  const library = openLibrary({ dataDir: join(work.path, 'data') });
  try {
    const real = ['CT_small.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'JPEG2000.dcm'].map((f) =>
      join(realDir, f),
    );
    const imported = await library.importPaths(real, { mode: 'reference' });
    assert.ok(imported.added >= 2);
    for (const instance of allInstances(library)) {
      const detail = library.getInstance(instance.id);
      assert.equal(detail.storage, 'reference');
      library.delete([{ level: 'series', id: detail.seriesId }]);
      assert.ok(existsSync(detail.filePath), 'the original is never removed');
    }
    assert.equal(library.listStudies().length, 0);
    assert.equal(library.listPatients().length, 0);
    assertNoOrphans(library.dataDir);
    // Copies this time: the store empties with the library.
    await library.importPaths(real);
    const patients = library.listPatients();
    library.delete(patients.map((p) => ({ level: 'patient' as const, id: p.id })));
    assert.equal(allInstances(library).length, 0);
    assertNoOrphans(library.dataDir);
  } finally {
    await library.close();
    work.remove();
  }
});

test('a protected instance (open reader study) is never deleted; the refusal names why', async () => {
  const work = tempDir('delete-protected');
  const protectedIds = new Map<number, string>();
  const library = openLibrary({ dataDir: join(work.path, 'data'), protectedInstances: () => protectedIds });
  try {
    writeSyntheticFolder(join(work.path, 'in'), 4, { patients: 1 });
    await library.importPaths([join(work.path, 'in')]);
    const study = library.listStudies()[0]!;
    const instance = library.listInstances({ studyId: study.id })[0]!;
    protectedIds.set(instance.id, "it is shown by the open reader study 'Pilot'");
    const before = allInstances(library).length;
    assert.throws(() => library.delete([{ level: 'study', id: study.id }]), {
      code: 'forbidden',
      message: /open reader study 'Pilot'/,
    });
    assert.equal(allInstances(library).length, before, 'nothing was removed');
    assert.ok(existsSync(library.getInstance(instance.id).filePath));
  } finally {
    await library.close();
    work.remove();
  }
});

test('retention removes what was imported before the cutoff, keeps the rest and open studies’ images', async () => {
  const work = tempDir('retention');
  const protectedIds = new Map<number, string>();
  const library = openLibrary({ dataDir: join(work.path, 'data'), protectedInstances: () => protectedIds });
  try {
    writeSyntheticFolder(join(work.path, 'old'), 6, { patients: 2 });
    await library.importPaths([join(work.path, 'old')]);
    const old = allInstances(library);
    const between = new Date(Date.now() + 5);
    await new Promise((r) => setTimeout(r, 20));
    writeSyntheticFolder(join(work.path, 'new'), 4, { patients: 1 });
    await library.importPaths([join(work.path, 'new')]);
    const recent = allInstances(library).filter((i) => !old.some((o) => o.id === i.id));
    assert.equal(recent.length, 4);
    for (const i of [...old, ...recent]) fakeAnalysis(library, i.id);
    protectedIds.set(old[0]!.id, 'open reader study');
    const now = new Date(between.getTime() + 30 * 24 * 60 * 60 * 1000);

    const preview = library.applyRetention({ days: 30, now, dryRun: true });
    assert.deepEqual([preview.due, preview.kept, preview.removed.instances], [old.length - 1, 1, 0]);
    assert.equal(allInstances(library).length, old.length + recent.length, 'a dry run removes nothing');

    const applied = library.applyRetention({ days: 30, now });
    assert.equal(applied.removed.instances, old.length - 1);
    assert.equal(applied.removed.storeFiles, old.length - 1);
    assert.equal(applied.removed.resultFolders, old.length - 1);
    assert.deepEqual(
      allInstances(library)
        .map((i) => i.id)
        .sort((a, b) => a - b),
      [old[0]!.id, ...recent.map((i) => i.id)].sort((a, b) => a - b),
    );
    for (const i of recent) assert.equal(library.listResults(i.id).length, 1, 'recent analyses stay');
    assertNoOrphans(library.dataDir);
    // Once the study is closed its image goes too.
    protectedIds.clear();
    assert.equal(library.applyRetention({ days: 30, now }).removed.instances, 1);
    assert.equal(library.applyRetention({ days: 30, now }).removed.instances, 0);
    assertNoOrphans(library.dataDir);
    assert.throws(() => library.applyRetention({ days: 0 }), { code: 'bad_input' });
  } finally {
    await library.close();
    work.remove();
  }
});

test('a results folder left by a crash after a deletion is swept when the library is opened', async () => {
  const work = tempDir('sweep');
  const dataDir = join(work.path, 'data');
  let library = openLibrary({ dataDir });
  try {
    const orphan = join(dataDir, 'results', 'a'.repeat(64), 'model-a');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'record.json'), '{}');
    const unrelated = join(dataDir, 'results', 'notes.txt');
    writeFileSync(unrelated, 'kept: not a results folder');
    await library.close();
    library = openLibrary({ dataDir });
    assert.equal(existsSync(join(dataDir, 'results', 'a'.repeat(64))), false);
    assert.ok(statSync(unrelated).isFile());
  } finally {
    await library.close();
    work.remove();
  }
});
