// Study set-up from the form's choices (variants, comparisons) and the audit trail as the UI shows it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { auditRows, openReviewStore, studyComparisons, studyVariants } from '../../../main/review/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const models = [
  { id: 'r2c-q3', name: 'R2C-GAN', version: '1.0.0' },
  { id: 'r2c-q3-copy', name: 'R2C-GAN copy', version: '0.9.1', sha256: 'ab12'.repeat(16) },
];

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof AppError ? error.code : String(error);
  }
};

describe('study variants from the set-up form', () => {
  test('original, two models and passes become ids and labels that read well', () => {
    const variants = studyVariants(
      [
        { kind: 'original' },
        { kind: 'restored', modelId: 'r2c-q3', passes: 2 },
        { kind: 'restored', modelId: 'r2c-q3-copy', passes: 1 },
      ],
      models,
    );
    assert.deepEqual(variants, [
      { id: 'original', kind: 'original', label: 'Original' },
      { id: 'r2c-q3-p2', kind: 'restored', modelId: 'r2c-q3', passes: 2, label: 'R2C-GAN 1.0.0, 2 passes' },
      {
        id: 'r2c-q3-copy-p1',
        kind: 'restored',
        modelId: 'r2c-q3-copy',
        passes: 1,
        label: 'R2C-GAN copy 0.9.1 (SHA-256 ab12ab12ab12), 1 pass',
      },
    ]);
  });

  test('a repeated variant, an unknown model or a single variant is refused', () => {
    const same = { kind: 'restored', modelId: 'r2c-q3', passes: 1 } as const;
    assert.equal(
      code(() => studyVariants([same, same], models)),
      'bad_input',
      'the same variant twice',
    );
    assert.equal(
      code(() => studyVariants([{ kind: 'original' }, { kind: 'original' }], models)),
      'bad_input',
      'the original twice',
    );
    assert.equal(
      code(() =>
        studyVariants([{ kind: 'original' }, { kind: 'restored', modelId: 'nope', passes: 1 }], models),
      ),
      'not_found',
      'a model that is not installed',
    );
    assert.equal(
      code(() => studyVariants([{ kind: 'original' }], models)),
      'bad_input',
      'one variant',
    );
  });

  test('comparisons: each against the original, every pair, or the service default', () => {
    const variants = studyVariants(
      [
        { kind: 'restored', modelId: 'r2c-q3', passes: 1 },
        { kind: 'original' },
        { kind: 'restored', modelId: 'r2c-q3', passes: 3 },
      ],
      models,
    );
    assert.deepEqual(studyComparisons(variants, 'againstOriginal'), [
      ['r2c-q3-p1', 'original'],
      ['r2c-q3-p3', 'original'],
    ]);
    assert.deepEqual(studyComparisons(variants, 'allPairs'), [
      ['r2c-q3-p1', 'original'],
      ['r2c-q3-p1', 'r2c-q3-p3'],
      ['original', 'r2c-q3-p3'],
    ]);
    assert.equal(studyComparisons(variants, undefined), undefined);
    const restoredOnly = studyVariants(
      [
        { kind: 'restored', modelId: 'r2c-q3', passes: 1 },
        { kind: 'restored', modelId: 'r2c-q3-copy', passes: 1 },
      ],
      models,
    );
    assert.equal(
      code(() => studyComparisons(restoredOnly, 'againstOriginal')),
      'bad_input',
      'against the original without an original',
    );
  });

  test('the variants make a valid study with custom questions and the display locked', () => {
    const temp = tempDir();
    after(temp.remove);
    const store = openReviewStore({ dataDir: temp.dir });
    after(() => store.close());
    const variants = studyVariants(
      [
        { kind: 'restored', modelId: 'r2c-q3', passes: 1 },
        { kind: 'restored', modelId: 'r2c-q3-copy', passes: 2 },
      ],
      models,
    );
    const study = store.createStudy(
      sampleStudy({
        variants,
        questions: [
          { id: 'quality', kind: 'score', prompt: 'Overall diagnostic image quality' },
          { id: 'heart-border', kind: 'choice', prompt: 'Heart border', options: ['sharp', 'blurred'] },
        ],
        blinding: {
          hideMethodNames: true,
          hideAiOutput: true,
          hidePatientIdentifiers: true,
          lockWindowLevel: true,
          lockZoom: true,
        },
        navigation: { goBack: 'none', allowEdits: false },
      }),
    );
    assert.deepEqual(study.config.comparisons, [['r2c-q3-p1', 'r2c-q3-copy-p2']], 'no original: all pairs');
    const reader = store.addReader(study.id, { name: 'Dr Setup' });
    const view = store.startOrResumeSession(study.id, reader.id);
    assert.deepEqual(
      view.case?.questions.map((q) => q.id),
      ['quality', 'heart-border'],
      'the reader gets exactly the chosen questions',
    );
    assert.equal(view.case?.display.lockZoom, true, 'zoom locked for the reader');
    assert.equal(view.case?.display.lockWindowLevel, true, 'window/level locked for the reader');
    assert.equal(view.case?.canGoBack, false, 'going back is off');
    assert.ok(!JSON.stringify(view).includes('r2c-q3'), 'the session view names no model');
  });
});

describe('audit rows for the UI', () => {
  test('who answered what, where and when, without image or case ids', () => {
    const temp = tempDir();
    after(temp.remove);
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const store = openReviewStore({ dataDir: temp.dir, now: () => clock });
    after(() => store.close());
    const study = store.createStudy(
      sampleStudy({ images: [{ id: 'inst-secret-1' }, { id: 'inst-secret-2' }] }),
    );
    const reader = store.addReader(study.id, { name: 'Dr Audit' });
    let view = store.startOrResumeSession(study.id, reader.id);
    const answerAll = (quality: number) => {
      const c = view.case!;
      const [left, right] = c.images;
      const ref = { studyId: study.id, readerId: reader.id, caseId: c.caseId };
      view = store.answer({
        ...ref,
        questionId: 'quality',
        presentationId: left!.presentationId,
        value: quality,
      });
      view = store.answer({ ...ref, questionId: 'quality', presentationId: right!.presentationId, value: 3 });
      view = store.answer({
        ...ref,
        questionId: 'findings',
        presentationId: left!.presentationId,
        value: 'yes',
      });
      view = store.answer({
        ...ref,
        questionId: 'findings',
        presentationId: right!.presentationId,
        value: 'no',
      });
      view = store.answer({ ...ref, questionId: 'preference', value: right!.presentationId });
    };
    answerAll(4);
    clock += 7_500;
    const firstLeft = view.case!.images[0]!.presentationId;
    view = store.answer({
      studyId: study.id,
      readerId: reader.id,
      caseId: view.case!.caseId,
      questionId: 'quality',
      presentationId: firstLeft,
      value: 5,
    });
    view = store.next(study.id, reader.id);
    view = store.goBack({ studyId: study.id, readerId: reader.id });
    view = store.next(study.id, reader.id);
    answerAll(2);
    view = store.next(study.id, reader.id);
    assert.equal(view.finished, true);

    const rows = auditRows(store.auditTrail(study.id));
    const text = JSON.stringify(rows);
    assert.ok(!text.includes('inst-secret'), 'no image id in the audit rows');
    assert.ok(!/"c-[0-9a-f]{24}"|"p-[0-9a-f]{24}"/.test(text), 'no case or presentation ids');
    assert.deepEqual(
      rows.map((r) => r.action),
      [
        'study_created',
        'reader_added',
        'session_started',
        ...Array(5).fill('answer_given'),
        'answer_changed',
        'case_finished',
        'went_back',
        ...Array(5).fill('answer_given'),
        'case_finished',
        'session_finished',
      ],
      'every step, in order (finishing a revisited case again is not a new finish)',
    );
    const changed = rows.find((r) => r.action === 'answer_changed')!;
    assert.equal(changed.reader, 'Dr Audit');
    assert.equal(changed.position, 1);
    assert.equal(changed.questionId, 'quality');
    assert.equal(changed.value, 5);
    assert.equal(changed.previousValue, 4);
    assert.equal(changed.at, '2026-03-01T10:00:07.500Z', 'the time of the change');
    assert.match(changed.summary, /^case 1: quality changed from 4 to 5 \(v-(orig|gan)\)$/);
    const preference = rows.find((r) => r.action === 'answer_given' && r.questionId === 'preference')!;
    assert.ok(
      ['v-orig', 'v-gan'].includes(String(preference.value)),
      'a preference names the chosen variant',
    );
    assert.equal(preference.variant, null, 'a per-case answer is about no single image');
    const finished = rows.find((r) => r.action === 'case_finished')!;
    assert.equal(finished.summary, 'case 1: finished after 7.5 s');
    assert.equal(rows.find((r) => r.action === 'went_back')!.summary, 'went back from case 2 to case 1');
    assert.equal(
      rows[0]!.summary,
      'study created: 2 images; variants v-orig / v-gan; questions quality, preference, findings, comment',
    );
    assert.equal(rows[0]!.reader, null, 'the study owner is not a reader');

    const labelled = auditRows(store.auditTrail(study.id), study.config);
    assert.equal(
      labelled[0]!.summary,
      'study created: 2 images; variants Original image / R2C-GAN, 1 pass; questions quality, preference, findings, comment',
      'with the config, variants go by their labels',
    );
    const labelledChange = labelled.find((r) => r.action === 'answer_changed')!;
    assert.match(
      labelledChange.summary,
      /^case 1: quality changed from 4 to 5 \((Original image|R2C-GAN, 1 pass)\)$/,
    );
    assert.equal(labelledChange.variant, changed.variant, 'the field keeps the variant id');
    const labelledPreference = labelled.find((r) => r.questionId === 'preference')!;
    assert.match(labelledPreference.summary, /^case 1: preference = (Original image|R2C-GAN, 1 pass)$/);
    assert.equal(labelledPreference.value, preference.value, 'the value keeps the variant id');
  });
});
