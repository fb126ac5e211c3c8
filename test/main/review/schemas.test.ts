import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { databaseFileName } from '../../../main/review/db.ts';
import { openReviewStore } from '../../../main/review/index.ts';
import { studyConfigSchema } from '../../../main/review/schema.ts';
import {
  auditEntrySchema,
  resolvedPresentationSchema,
  sessionViewSchema,
  studyDetailsSchema,
  studyExportSchema,
  studySummarySchema,
} from '../../../main/review/types.ts';
import { sampleStudy, tempDir } from './helpers.ts';

// The store's shapes are zod schemas with their types inferred: what the store returns must pass
// them exactly (strict objects, no extra fields), and JSON read back from the database is parsed,
// not cast.
const dirs: (() => void)[] = [];
after(() => {
  for (const remove of dirs) remove();
});

function fresh() {
  const { dir, remove } = tempDir();
  dirs.push(remove);
  return { dir, store: openReviewStore({ dataDir: dir }) };
}

describe('review schemas', () => {
  test('what the store returns is exactly what its schemas declare', () => {
    const { store } = fresh();
    const { readerSecrets, ...study } = store.createStudy(
      sampleStudy({ readers: ['Dr A'], navigation: { goBack: 'any' } }),
    );
    assert.deepEqual(readerSecrets, [], 'no owner: no generated reader secrets');
    studyDetailsSchema.parse(study);
    studyConfigSchema.parse(study.config);
    for (const s of store.listStudies()) studySummarySchema.parse(s);
    const readerId = study.readerProgress[0]!.id;
    let view = sessionViewSchema.parse(store.startOrResumeSession(study.id, readerId));
    const c = view.case!;
    const ref = { studyId: study.id, readerId, caseId: c.caseId };
    for (const image of c.images)
      store.answer({ ...ref, questionId: 'quality', presentationId: image.presentationId, value: 4 });
    store.answer({
      ...ref,
      questionId: 'findings',
      presentationId: c.images[0]!.presentationId,
      value: 'yes',
    });
    store.answer({
      ...ref,
      questionId: 'findings',
      presentationId: c.images[1]!.presentationId,
      value: 'no',
    });
    store.answer({ ...ref, questionId: 'preference', value: c.images[1]!.presentationId });
    view = sessionViewSchema.parse(store.answer({ ...ref, questionId: 'comment', value: 'sharp' }));
    assert.equal(view.case!.complete, true);
    sessionViewSchema.parse(store.next(study.id, readerId));
    sessionViewSchema.parse(store.goBack({ studyId: study.id, readerId }));
    resolvedPresentationSchema.parse(store.resolvePresentation(c.images[0]!.presentationId));
    for (const entry of store.auditTrail(study.id)) auditEntrySchema.parse(entry);
    const exported = studyExportSchema.parse(store.exportJson(study.id));
    assert.equal(exported.sessions[0]!.cases.find((x) => x.caseId === c.caseId)!.answers.length, 6);
    store.close();
  });

  test('a stored configuration or answer that does not match its schema is an internal error, not a cast', () => {
    const { dir, store } = fresh();
    const study = store.createStudy(sampleStudy({ readers: ['Dr A'] }));
    const readerId = study.readerProgress[0]!.id;
    const view = store.startOrResumeSession(study.id, readerId);
    const c = view.case!;
    store.answer({
      studyId: study.id,
      readerId,
      caseId: c.caseId,
      questionId: 'quality',
      presentationId: c.images[0]!.presentationId,
      value: 3,
    });
    store.close();

    const db = new Database(join(dir, databaseFileName));
    db.prepare('UPDATE answers SET value = ?').run(JSON.stringify({ not: 'a value' }));
    db.close();
    const reopened = openReviewStore({ dataDir: dir });
    assert.throws(
      () => reopened.startOrResumeSession(study.id, readerId),
      (error: unknown) => (error as { code?: string }).code === 'internal',
    );
    reopened.close();

    const db2 = new Database(join(dir, databaseFileName));
    db2.prepare('UPDATE studies SET config = ?').run(JSON.stringify({ name: study.name }));
    db2.close();
    const again = openReviewStore({ dataDir: dir });
    for (const call of [() => again.getStudy(study.id), () => again.listStudies()]) {
      assert.throws(call, (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'internal');
        assert.match((error as Error).message, /stored study configuration/);
        return true;
      });
    }
    again.close();
  });
});
