import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import {
  analyseRatings,
  openReviewStore,
  parseRatingsCsv,
  type ReviewStore,
  type SessionView,
} from '../../../main/review/index.ts';
import { databaseFileName, schemaVersion } from '../../../main/review/db.ts';
import { sampleStudy, secretWords, tempDir } from './helpers.ts';

const dirs: (() => void)[] = [];
after(() => {
  for (const remove of dirs) remove();
});

function fresh(clock?: { t: number }) {
  const { dir, remove } = tempDir();
  dirs.push(remove);
  const store = openReviewStore({ dataDir: dir, ...(clock ? { now: () => clock.t } : {}) });
  return { dir, store };
}

/** Answers every required question of the case on screen; scores chosen by the caller. */
function answerCase(
  store: ReviewStore,
  view: SessionView,
  choose: { left: number; right: number; prefer: 'left' | 'right'; findings?: [string, string] },
): SessionView {
  const c = view.case!;
  const [left, right] = c.images;
  const ref = { studyId: view.studyId, readerId: view.readerId, caseId: c.caseId };
  store.answer({ ...ref, questionId: 'quality', presentationId: left!.presentationId, value: choose.left });
  store.answer({ ...ref, questionId: 'quality', presentationId: right!.presentationId, value: choose.right });
  store.answer({
    ...ref,
    questionId: 'preference',
    value: choose.prefer === 'left' ? left!.presentationId : right!.presentationId,
  });
  const [fl, fr] = choose.findings ?? ['yes', 'yes'];
  store.answer({ ...ref, questionId: 'findings', presentationId: left!.presentationId, value: fl });
  return store.answer({ ...ref, questionId: 'findings', presentationId: right!.presentationId, value: fr });
}

function assertCode(fn: () => unknown, code: string, message?: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error));
    if (message) assert.match((error as Error).message, message);
    return true;
  });
}

describe('study set-up', () => {
  test('creates a study with default questions, blinding and comparisons', () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy({ readers: ['Dr A', 'Dr B'] }));
    assert.deepEqual(
      study.config.questions.map((q) => [q.id, q.kind]),
      [
        ['quality', 'score'],
        ['preference', 'forced-choice'],
        ['findings', 'choice'],
        ['comment', 'comment'],
      ],
    );
    assert.deepEqual(study.config.comparisons, [['v-gan', 'v-orig']]);
    assert.equal(study.config.blinding.hideMethodNames, true);
    assert.equal(study.cases, 4);
    assert.deepEqual(
      study.readerProgress.map((r) => r.name),
      ['Dr A', 'Dr B'],
    );
    assert.deepEqual(
      store.listStudies().map((s) => s.id),
      [study.id],
    );
    assert.deepEqual(JSON.parse(JSON.stringify(study)), study, 'plain JSON');
    store.close();
  });

  test('rejects bad set-ups with a precise message', () => {
    const { store } = fresh();
    assertCode(() => store.createStudy(sampleStudy({ variants: [] })), 'bad_input', /variants/);
    assertCode(
      () => store.createStudy(sampleStudy({ comparisons: [['v-gan', 'v-nope']] })),
      'bad_input',
      /unknown variant/,
    );
    assertCode(
      () => store.createStudy(sampleStudy({ images: ['a', 'a'] })),
      'bad_input',
      /image ids must be unique/,
    );
    assertCode(() => store.getStudy('st-missing'), 'not_found');
    store.close();
  });

  test('a reader named twice is the same reader on this workstation', () => {
    const { store } = fresh();
    const one = store.createStudy(sampleStudy());
    const two = store.createStudy(sampleStudy({ name: 'Second' }));
    const a = store.addReader(one.id, { name: 'Dr Same' });
    const b = store.addReader(two.id, { name: 'dr same' });
    assert.equal(a.id, b.id);
    store.close();
  });
});

describe('blinded reading session', () => {
  test('the session view holds only opaque ids; nothing names the method, model or image', () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy());
    const reader = store.addReader(study.id, { name: 'Dr Blind' });
    let view = store.startOrResumeSession(study.id, reader.id);
    for (let i = 0; i < 4; i++) {
      const json = JSON.stringify(view);
      for (const word of secretWords)
        assert.ok(!json.includes(word), `session view leaks '${word}': ${json}`);
      assert.deepEqual(view.case!.display, {
        lockWindowLevel: false,
        lockZoom: false,
        showAiOutput: false,
        showPatientIdentifiers: false,
        showMethodNames: false,
      });
      view = answerCase(store, view, { left: 3, right: 4, prefer: 'right' });
      const answersJson = JSON.stringify(view);
      for (const word of secretWords) assert.ok(!answersJson.includes(word), `answer view leaks '${word}'`);
      view = store.next(study.id, reader.id);
    }
    assert.equal(view.finished, true);
    assert.equal(view.case, null);
    store.close();
  });

  test('unblinded options show labels and image refs; lock flags reach the UI', () => {
    const { store } = fresh();
    const study = store.createStudy(
      sampleStudy({
        blinding: {
          hideMethodNames: false,
          hideAiOutput: true,
          hidePatientIdentifiers: false,
          lockWindowLevel: true,
          lockZoom: true,
        },
      }),
    );
    const reader = store.addReader(study.id, { name: 'Dr Open' });
    const view = store.startOrResumeSession(study.id, reader.id);
    const labels = view.case!.images.map((i) => i.label).sort();
    assert.deepEqual(labels, ['Original image', 'R2C-GAN, 1 pass']);
    assert.match(view.case!.images[0]!.imageRef!, /^inst-secret-/);
    assert.equal(view.case!.display.lockWindowLevel, true);
    assert.equal(view.case!.display.lockZoom, true);
    store.close();
  });

  test('presentation ids resolve to the image and variant (main-process loader only)', () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy());
    const reader = store.addReader(study.id, { name: 'Dr R' });
    const view = store.startOrResumeSession(study.id, reader.id);
    const resolved = view.case!.images.map((i) => store.resolvePresentation(i.presentationId));
    assert.deepEqual(resolved.map((r) => r.variant.id).sort(), ['v-gan', 'v-orig']);
    assert.equal(resolved[0]!.imageId, resolved[1]!.imageId);
    assertCode(() => store.resolvePresentation('p-unknown'), 'not_found');
    store.close();
  });

  test('answers are validated by the service', () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy());
    const reader = store.addReader(study.id, { name: 'Dr V' });
    const view = store.startOrResumeSession(study.id, reader.id);
    const c = view.case!;
    const ref = { studyId: study.id, readerId: reader.id, caseId: c.caseId };
    const left = c.images[0]!.presentationId;
    assertCode(
      () => store.answer({ ...ref, questionId: 'quality', presentationId: left, value: 6 }),
      'bad_input',
      /1 to 5/,
    );
    assertCode(() => store.answer({ ...ref, questionId: 'quality', value: 3 }), 'bad_input', /each image/);
    assertCode(() => store.answer({ ...ref, questionId: 'preference', value: 'p-other' }), 'bad_input');
    assertCode(
      () => store.answer({ ...ref, questionId: 'findings', presentationId: left, value: 'maybe' }),
      'bad_input',
      /yes, no, unsure/,
    );
    assertCode(
      () => store.answer({ ...ref, caseId: 'c-not-on-screen', questionId: 'comment', value: 'x' }),
      'forbidden',
    );
    assertCode(() => store.next(study.id, reader.id), 'bad_input', /missing: quality@/);
    assertCode(() => store.startOrResumeSession(study.id, 'rd-stranger'), 'not_found');
    store.close();
  });

  test('time per case is recorded, and time away while the app was closed is not', () => {
    const clock = { t: 1_000_000 };
    const { dir, store } = fresh(clock);
    const study = store.createStudy(sampleStudy());
    const reader = store.addReader(study.id, { name: 'Dr Time' });
    let view = store.startOrResumeSession(study.id, reader.id);
    clock.t += 4000;
    view = store.answer({
      studyId: study.id,
      readerId: reader.id,
      caseId: view.case!.caseId,
      questionId: 'comment',
      value: 'first look',
    });
    assert.equal(view.case!.timeSpentMs, 4000);
    store.close();
    clock.t += 3_600_000; // an hour away
    const reopened = openReviewStore({ dataDir: dir, now: () => clock.t });
    view = reopened.startOrResumeSession(study.id, reader.id);
    clock.t += 2500;
    view = answerCase(reopened, view, { left: 2, right: 5, prefer: 'right' });
    assert.equal(view.case!.timeSpentMs, 6500);
    view = reopened.next(study.id, reader.id);
    const timing = reopened.results(study.id).timing[0]!;
    assert.equal(timing.completedCases, 1);
    assert.equal(timing.totalMs, 6500);
    reopened.close();
  });
});

describe('resume and going back', () => {
  test('resume returns the same case, order and saved answers after reopening', () => {
    const { dir, store } = fresh();
    const study = store.createStudy(sampleStudy());
    const reader = store.addReader(study.id, { name: 'Dr Resume' });
    let view = store.startOrResumeSession(study.id, reader.id);
    view = answerCase(store, view, { left: 1, right: 5, prefer: 'right' });
    view = store.next(study.id, reader.id);
    const c = view.case!;
    store.answer({
      studyId: study.id,
      readerId: reader.id,
      caseId: c.caseId,
      questionId: 'quality',
      presentationId: c.images[1]!.presentationId,
      value: 4,
    });
    const before = store.exportJson(study.id).sessions[0]!.cases.map((x) => [x.imageId, x.left]);
    store.close();

    const reopened = openReviewStore({ dataDir: dir });
    const resumed = reopened.startOrResumeSession(study.id, reader.id);
    assert.equal(resumed.position, 2);
    assert.equal(resumed.completed, 1);
    assert.equal(resumed.case!.caseId, c.caseId);
    assert.deepEqual(
      resumed.case!.answers.map((a) => [a.questionId, a.presentationId, a.value]),
      [['quality', c.images[1]!.presentationId, 4]],
    );
    assert.deepEqual(
      reopened.exportJson(study.id).sessions[0]!.cases.map((x) => [x.imageId, x.left]),
      before,
      'order and sides are stored, not recomputed',
    );
    reopened.close();
  });

  test("rule 'none': going back is refused", () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy({ navigation: { goBack: 'none', allowEdits: true } }));
    const reader = store.addReader(study.id, { name: 'Dr None' });
    let view = store.startOrResumeSession(study.id, reader.id);
    view = answerCase(store, view, { left: 3, right: 3, prefer: 'left' });
    view = store.next(study.id, reader.id);
    assert.equal(view.case!.canGoBack, false);
    assertCode(
      () => store.goBack({ studyId: study.id, readerId: reader.id }),
      'forbidden',
      /does not allow going back/,
    );
    store.close();
  });

  test("rule 'previous': one case back only, then forward again", () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy({ navigation: { goBack: 'previous', allowEdits: true } }));
    const reader = store.addReader(study.id, { name: 'Dr Prev' });
    let view = store.startOrResumeSession(study.id, reader.id);
    for (let i = 0; i < 2; i++) {
      view = answerCase(store, view, { left: 3, right: 4, prefer: 'right' });
      view = store.next(study.id, reader.id);
    }
    assert.equal(view.position, 3);
    assert.equal(view.case!.canGoBack, true);
    view = store.goBack({ studyId: study.id, readerId: reader.id });
    assert.equal(view.position, 2);
    assert.equal(view.case!.canGoBack, false);
    assert.equal(view.case!.readOnly, false);
    assertCode(
      () => store.goBack({ studyId: study.id, readerId: reader.id }),
      'forbidden',
      /previous case only/,
    );
    assertCode(() => store.goBack({ studyId: study.id, readerId: reader.id, toPosition: 1 }), 'forbidden');
    view = store.next(study.id, reader.id);
    assert.equal(view.position, 3);
    assertCode(() => store.goBack({ studyId: study.id, readerId: reader.id, toPosition: 1 }), 'forbidden');
    store.close();
  });

  test("rule 'any' without edits: any finished case can be viewed but not changed", () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy({ navigation: { goBack: 'any', allowEdits: false } }));
    const reader = store.addReader(study.id, { name: 'Dr Any' });
    let view = store.startOrResumeSession(study.id, reader.id);
    for (let i = 0; i < 3; i++) {
      view = answerCase(store, view, { left: 2, right: 4, prefer: 'right' });
      view = store.next(study.id, reader.id);
    }
    assertCode(() => store.goBack({ studyId: study.id, readerId: reader.id, toPosition: 4 }), 'bad_input');
    view = store.goBack({ studyId: study.id, readerId: reader.id, toPosition: 1 });
    assert.equal(view.position, 1);
    assert.equal(view.case!.readOnly, true);
    const c = view.case!;
    assertCode(
      () =>
        store.answer({
          studyId: study.id,
          readerId: reader.id,
          caseId: c.caseId,
          questionId: 'quality',
          presentationId: c.images[0]!.presentationId,
          value: 5,
        }),
      'forbidden',
      /does not allow changing answers/,
    );
    view = store.next(study.id, reader.id);
    view = store.next(study.id, reader.id);
    view = store.next(study.id, reader.id);
    assert.equal(view.position, 4, 'back at the first unfinished case');
    assert.equal(view.case!.answers.length, 0);
    store.close();
  });

  test('edits of finished cases, where allowed, are saved and audited with the old value', () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy({ navigation: { goBack: 'any', allowEdits: true } }));
    const reader = store.addReader(study.id, { name: 'Dr Edit' });
    let view = store.startOrResumeSession(study.id, reader.id);
    view = answerCase(store, view, { left: 2, right: 4, prefer: 'right' });
    view = store.next(study.id, reader.id);
    view = store.goBack({ studyId: study.id, readerId: reader.id });
    const c = view.case!;
    view = store.answer({
      studyId: study.id,
      readerId: reader.id,
      caseId: c.caseId,
      questionId: 'quality',
      presentationId: c.images[0]!.presentationId,
      value: 5,
    });
    assert.equal(
      view.case!.answers.find(
        (a) => a.presentationId === c.images[0]!.presentationId && a.questionId === 'quality',
      )?.value,
      5,
    );
    const edits = store.auditTrail(study.id).filter((e) => e.action === 'answer_changed');
    assert.equal(edits.length, 1);
    assert.equal(edits[0]!.details['previousValue'], 2);
    assert.equal(edits[0]!.details['value'], 5);
    assert.equal(edits[0]!.details['caseFinished'], true);
    assert.equal(edits[0]!.reader, 'Dr Edit');
    store.close();
  });
});

describe('database', () => {
  test('migrations record the schema version; a newer database is refused, not damaged', () => {
    const { dir, store } = fresh();
    store.close();
    const raw = new Database(join(dir, databaseFileName));
    assert.equal(raw.pragma('user_version', { simple: true }), schemaVersion);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.pragma('user_version = 99');
    raw.close();
    assertCode(() => openReviewStore({ dataDir: dir }), 'unsupported', /schema version 99/);
  });
});

describe('audit trail, exports and results', () => {
  test('the audit table rejects updates and deletes', () => {
    const { dir, store } = fresh();
    const study = store.createStudy(sampleStudy());
    store.addReader(study.id, { name: 'Dr Audit' });
    const actions = store.auditTrail(study.id).map((e) => e.action);
    assert.deepEqual(actions, ['study_created', 'reader_added']);
    store.close();
    const raw = new Database(join(dir, databaseFileName));
    assert.throws(() => raw.prepare("UPDATE audit SET action = 'x'").run(), /append-only/);
    assert.throws(() => raw.prepare('DELETE FROM audit').run(), /append-only/);
    raw.close();
  });

  test('two readers: CSV export round-trips to the same statistics as results()', () => {
    const { store } = fresh();
    const study = store.createStudy(sampleStudy({ readers: ['Dr One', 'Dr Two'] }));
    const detail = store.getStudy(study.id);
    // Reader one: restored 4, original 2, prefers restored. Reader two: restored 5/3 alternating,
    // original 3, prefers restored except on cases where it scored it 3.
    for (const [r, reader] of detail.readerProgress.entries()) {
      let view = store.startOrResumeSession(study.id, reader.id);
      for (let i = 0; view.case; i++) {
        const images = view.case.images.map((im) => ({
          ...im,
          variant: store.resolvePresentation(im.presentationId).variant.kind,
        }));
        const restoredScore = r === 0 ? 4 : i % 2 === 0 ? 5 : 3;
        const originalScore = r === 0 ? 2 : 3;
        const score = (kind: string) => (kind === 'restored' ? restoredScore : originalScore);
        const preferRestored = r === 0 || restoredScore === 5;
        const restoredSide = images.find((im) => im.variant === 'restored')!.side;
        const otherSide = restoredSide === 'left' ? 'right' : 'left';
        view = answerCase(store, view, {
          left: score(images[0]!.variant),
          right: score(images[1]!.variant),
          prefer: preferRestored ? restoredSide : otherSide,
        });
        view = store.next(study.id, reader.id);
      }
    }
    const results = store.results(study.id);
    const quality = results.scores[0]!;
    const restored = quality.perVariant.find((v) => v.variant === 'v-gan')!;
    const original = quality.perVariant.find((v) => v.variant === 'v-orig')!;
    assert.equal(restored.n, 8);
    assert.equal(restored.mean, (4 * 4 + 5 + 3 + 5 + 3) / 8);
    assert.equal(original.mean, (2 * 4 + 3 * 4) / 8);
    const preference = results.preferences[0]!.comparisons[0]!;
    assert.equal(preference.variantA, 'v-gan');
    assert.equal(preference.restoredVsOriginal, true);
    assert.equal(preference.n, 8);
    assert.equal(preference.chosenA, 6);
    assert.match(results.preferences[0]!.ciMethod, /Wilson/);
    assert.ok(quality.agreement.weightedKappa, 'two readers → weighted kappa');
    assert.ok(quality.agreement.icc);
    assert.equal(quality.agreement.icc.items, 8);
    assert.match(quality.svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(results.preferences[0]!.svg, /<\/svg>$/);
    const findings = results.choices[0]!;
    assert.equal(findings.firstOption, 'yes');
    assert.equal(findings.perVariant[0]!.firstOptionRate, 1);

    const csv = store.exportCsv(study.id);
    assert.match(csv, /^reader,case,variant,truth,rating,question\r\n/);
    assert.equal(csv.trim().split('\r\n').length, 1 + 2 * 4 * (2 + 2 + 2));
    const parsed = parseRatingsCsv(csv, { originalVariant: 'v-orig' });
    const fromCsv = analyseRatings(parsed.rows, parsed.meta);
    assert.deepEqual(
      fromCsv.scores[0]!.perVariant.map((v) => [v.variant, v.mean, v.ci95]),
      quality.perVariant.map((v) => [v.variant, v.mean, v.ci95]),
    );
    assert.equal(fromCsv.scores[0]!.agreement.icc?.icc, quality.agreement.icc.icc);
    assert.deepEqual(fromCsv.preferences[0]!.comparisons[0]!.ci95, preference.ci95);

    const exported = store.exportJson(study.id);
    assert.equal(exported.sessions.length, 2);
    assert.equal(exported.sessions[0]!.finishedAt !== null, true);
    assert.ok(exported.audit.some((e) => e.action === 'session_finished'));
    assert.deepEqual(JSON.parse(JSON.stringify(exported)), exported);
    store.close();
  });
});
