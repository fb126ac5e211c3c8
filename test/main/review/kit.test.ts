// Reading kits across workstations: an owner's data folder exports a kit, two readers read it in two
// other data folders, their answer files merge back, and the merged study equals one read on a
// single workstation with the same answers. Tampered, duplicate and contradicting files are refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import {
  encodeKitImage,
  openReviewStore,
  packPixels,
  type ReviewStore,
  type SessionView,
} from '../../../main/review/index.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const passphrase = 'owner passphrase 1';
const owner = { ownerPassphrase: passphrase };
const images = sampleStudy().images as { id: string; truth: string }[];

/** A small real 16-bit PNG per image and variant (its pixel value encodes both). */
async function renderImage(imageId: string, variant: { id: string }) {
  const value = 1000 + images.findIndex((i) => i.id === imageId) * 200 + (variant.id === 'v-gan' ? 100 : 0);
  const display = {
    dataType: 'uint16',
    photometric: 'MONOCHROME2',
    window: { center: 2048, width: 4096 },
    voiFunction: 'LINEAR',
    units: '',
  } as const;
  return encodeKitImage(packPixels(new Array(8 * 6).fill(value), 8, 6, display), { slope: 1, intercept: 0 });
}

/**
 * The reader's answers as a function of what the image is (image index and variant), so the same
 * reader gives the same answers on any workstation. `stopAfter` leaves the session part-read.
 */
/** Reader id -> secret (generated at set-up, shown once): readers sign in with it. */
const readerSecrets = new Map<string, string>();

function read(
  store: ReviewStore,
  studyId: string,
  readerId: string,
  imageIndexOf: (imageId: string) => number,
  stopAfter = Infinity,
): void {
  const secret = readerSecrets.get(readerId);
  const access = secret ? { readerToken: store.signInReader(studyId, readerId, secret).readerToken } : {};
  let view: SessionView = store.startOrResumeSession(studyId, readerId, access);
  let done = 0;
  while (view.case && done < stopAfter) {
    const c = view.case;
    const seen = c.images.map((image) => {
      const resolved = store.resolvePresentation(image.presentationId);
      return { image, index: imageIndexOf(resolved.imageId), variant: resolved.variant.id };
    });
    const bias = readerId.length % 2;
    for (const s of seen) {
      const score = 1 + ((s.index + (s.variant === 'v-gan' ? 2 : 0) + bias) % 5);
      view = store.answer(
        {
          studyId,
          readerId,
          caseId: c.caseId,
          questionId: 'quality',
          presentationId: s.image.presentationId,
          value: score,
        },
        access,
      );
      view = store.answer(
        {
          studyId,
          readerId,
          caseId: c.caseId,
          questionId: 'findings',
          presentationId: s.image.presentationId,
          value: (s.index + bias) % 3 === 0 ? 'no' : 'yes',
        },
        access,
      );
    }
    const chosen = seen.find((s) => s.variant === ((seen[0]!.index + bias) % 3 === 0 ? 'v-orig' : 'v-gan'))!;
    view = store.answer(
      {
        studyId,
        readerId,
        caseId: c.caseId,
        questionId: 'preference',
        value: chosen.image.presentationId,
      },
      access,
    );
    view = store.next(studyId, readerId, access);
    done++;
  }
}

const comparable = (store: ReviewStore, studyId: string) => {
  const { generatedAt: _g, studyId: _s, timing: _t, ...rest } = store.results(studyId, owner);
  return rest;
};

describe('reading kits across data folders', () => {
  const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
  const [ownerDir, ws1, ws2, singleDir] = dirs.map((d) => d.dir) as [string, string, string, string];
  const ownerStore = openReviewStore({ dataDir: ownerDir });
  const reader1 = openReviewStore({ dataDir: ws1 });
  const reader2 = openReviewStore({ dataDir: ws2 });
  const single = openReviewStore({ dataDir: singleDir });
  after(() => {
    for (const s of [ownerStore, reader1, reader2, single]) s.close();
    for (const d of dirs) d.remove();
  });
  const input = sampleStudy({ ownerPassphrase: passphrase, readers: ['Dr Ann', 'Dr Bo'] });
  const study = ownerStore.createStudy(input);
  const [ann, bo] = study.readerProgress;
  for (const r of study.readerSecrets) readerSecrets.set(r.readerId, r.secret);
  const kitPath = join(ownerDir, 'out', 'study.r2ckit');
  const ownerIndex = (imageId: string) => images.findIndex((i) => i.id === imageId);
  const kitIndex = (key: string) => Number(key.replace('img-', '')) - 1;

  test('the owner exports one signed kit with every image in every variant', async () => {
    await assert.rejects(() =>
      ownerStore.exportKit(study.id, { ownerPassphrase: 'wrong one!' }, kitPath, { renderImage }),
    );
    const summary = await ownerStore.exportKit(study.id, owner, kitPath, { renderImage });
    assert.equal(summary.readers, 2);
    assert.equal(summary.images, images.length * 2);
    assert.equal(summary.signed, true);
    const entries = unzipSync(readFileSync(kitPath));
    const kit = JSON.parse(Buffer.from(entries['kit.json']!).toString('utf8'));
    assert.equal(kit.study.config.images.length, 4);
    const text = Buffer.from(entries['kit.json']!).toString('utf8');
    for (const image of images)
      assert.ok(!text.includes(image.id), `library id ${image.id} leaked into the kit`);
    assert.ok(!text.includes('"truth"'), 'ground truth leaked into the kit');
    assert.ok(entries['manifest.json'] && entries['signature.json']);
  });

  test('two readers on two workstations import, read (one partly) and export answers', () => {
    for (const ws of [reader1, reader2]) {
      const imported = ws.importKit(kitPath);
      assert.equal(imported.studyId, study.id);
      assert.equal(imported.signed, true);
      assert.equal(imported.readers.length, 2);
    }
    assert.throws(() => reader1.importKit(kitPath), /already on this workstation/);
    assert.throws(
      () => reader1.results(study.id),
      (e: { code?: string }) => e.code === 'forbidden',
    );
    // The kit's PNG is what the reader's image loader shows.
    const view = reader1.startOrResumeSession(study.id, ann!.id, {
      readerSecret: readerSecrets.get(ann!.id),
    });
    const png = reader1.kitImageOf(view.case!.images[0]!.presentationId);
    assert.ok(png && readFileSync(png).subarray(1, 4).toString() === 'PNG');
    read(reader1, study.id, ann!.id, kitIndex);
    read(reader2, study.id, bo!.id, kitIndex, 3);
  });

  let annFile = '';
  let boPartial = '';
  test('merged answers equal a single-workstation study with the same answers', () => {
    annFile = reader1.exportAnswers(study.id, ann!.id, { readerSecret: readerSecrets.get(ann!.id) }).text;
    boPartial = reader2.exportAnswers(study.id, bo!.id, { readerSecret: readerSecrets.get(bo!.id) }).text;
    const a = ownerStore.mergeAnswers(study.id, owner, annFile);
    assert.deepEqual([a.merged, a.completed, a.total], [4, 4, 4]);
    const b = ownerStore.mergeAnswers(study.id, owner, boPartial);
    assert.deepEqual([b.merged, b.completed], [3, 3], 'a partly read session is accepted');
    read(reader2, study.id, bo!.id, kitIndex);
    const boFull = reader2.exportAnswers(study.id, bo!.id, { readerSecret: readerSecrets.get(bo!.id) }).text;
    const b2 = ownerStore.mergeAnswers(study.id, owner, boFull);
    assert.deepEqual([b2.merged, b2.alreadyMerged, b2.completed], [1, 3, 4]);

    const local = single.createStudy(input);
    for (const r of local.readerSecrets) readerSecrets.set(r.readerId, r.secret);
    for (const r of local.readerProgress) read(single, local.id, r.id, ownerIndex);
    // Reader ids differ between data folders; the answer policy depends on the id's length parity, which matches.
    assert.deepEqual(comparable(ownerStore, study.id), comparable(single, local.id));
    // Reader ids (so case order and sides) differ between data folders: the same rows, in another order.
    const rows = (csv: string) => csv.trim().split('\r\n').sort();
    assert.deepEqual(rows(ownerStore.exportCsv(study.id, owner)), rows(single.exportCsv(local.id, owner)));
    assert.match(ownerStore.exportCsv(study.id, owner), /,covid,/, 'truth is carried into the export');
  });

  test('a file merged twice is refused', () => {
    assert.throws(() => ownerStore.mergeAnswers(study.id, owner, annFile), /merged already/);
  });

  test('a tampered answers file is refused and nothing changes', () => {
    const before = ownerStore.exportCsv(study.id, owner);
    const parsed = JSON.parse(annFile);
    const answer = parsed.body.cases[0].answers.find(
      (x: { questionId: string }) => x.questionId === 'quality',
    );
    answer.value = answer.value === 5 ? 4 : 5;
    assert.throws(
      () => ownerStore.mergeAnswers(study.id, owner, JSON.stringify(parsed)),
      (e: { code?: string; message: string }) => e.code === 'integrity' && /altered/.test(e.message),
    );
    assert.equal(ownerStore.exportCsv(study.id, owner), before);
    const audit = ownerStore.auditTrail(study.id, owner);
    assert.ok(audit.some((e) => e.action === 'answers_refused'));
    assert.ok(
      audit.filter((e) => e.action === 'answers_merged').every((e) => e.details['actor'] === 'owner'),
    );
  });

  test('a format-1 kit (no reader secrets) is refused with what to ask the owner for', () => {
    const entries = unzipSync(readFileSync(kitPath));
    const kit = JSON.parse(new TextDecoder().decode(entries['kit.json']));
    kit.formatVersion = 1;
    entries['kit.json'] = new TextEncoder().encode(JSON.stringify(kit));
    // A consistent, unsigned kit: only the version differs.
    const manifest = JSON.parse(new TextDecoder().decode(entries['manifest.json']));
    const listed = manifest.files.find((f: { path: string }) => f.path === 'kit.json');
    listed.sha256 = createHash('sha256').update(entries['kit.json']!).digest('hex');
    listed.size = entries['kit.json']!.length;
    entries['manifest.json'] = new TextEncoder().encode(JSON.stringify(manifest));
    delete entries['signature.json'];
    const old = join(ownerDir, 'out', 'format-1.r2ckit');
    writeFileSync(old, zipSync(entries, { level: 0 }));
    const fresh = tempDir();
    const store = openReviewStore({ dataDir: fresh.dir });
    try {
      assert.throws(
        () => store.importKit(old),
        (e: { code?: string; message?: string }) =>
          e.code === 'unsupported' &&
          /older version of R2C \(kit format 1/.test(e.message ?? '') &&
          /New secret/.test(e.message ?? '') &&
          /Export reading kit/.test(e.message ?? ''),
      );
      assert.equal(store.listStudies().length, 0, 'nothing stored');
    } finally {
      store.close();
      fresh.remove();
    }
  });

  test('a tampered kit is refused before anything is stored', () => {
    const entries = unzipSync(readFileSync(kitPath));
    const name = Object.keys(entries).find((n) => n.endsWith('.png'))!;
    entries[name] = new Uint8Array([...entries[name]!].map((b, i) => (i === 40 ? b ^ 1 : b)));
    const bad = join(ownerDir, 'out', 'tampered.r2ckit');
    writeFileSync(bad, zipSync(entries, { level: 0 }));
    const fresh = tempDir();
    const store = openReviewStore({ dataDir: fresh.dir });
    try {
      assert.throws(
        () => store.importKit(bad),
        (e: { code?: string }) => e.code === 'integrity',
      );
      assert.equal(store.listStudies().length, 0);
    } finally {
      store.close();
      fresh.remove();
    }
  });
});
