// The reader-study channels through dispatch and the real handler table: a study over library
// images, a blinded session answered over IPC, results and CSV, and the review images rendered in
// the main process (the original by the display pipeline, the restored one by the default model).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices, type Services } from '../../../main/app/services.ts';
import { channelNames } from '../../../main/contract/names.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { threadTransport } from '../../../main/app/jobs.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';

const noEvents = { emit: () => {} };
/** The study owner's passphrase: results, exports and the audit trail need it until the study is closed. */
const ownerPassphrase = 'owner passphrase';

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('review channels', () => {
  let dataDir: string;
  let services: Services;
  let handlers: HandlerTable;
  let instanceIds: number[];
  const call = (channel: string, payload: unknown) => dispatch(handlers, channel, payload, noEvents);

  before(async () => {
    const covidDir = join(requireSharedData(), 'cxr', 'covid');
    const files = readdirSync(covidDir)
      .filter((name) => name.endsWith('.png'))
      .sort()
      .slice(0, 2)
      .map((name) => join(covidDir, name));
    dataDir = mkdtempSync(join(tmpdir(), 'r2c-review-ipc-'));
    services = createServices({
      dataDir,
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
      maxWorkers: 1,
    });
    handlers = createHandlers(services);
    const summary = await services.library.importPaths(files, { mode: 'copy' });
    assert.equal(summary.added, 2, `both PNGs were imported: ${JSON.stringify(summary.failed)}`);
    instanceIds = services.library.listInstances({ limit: 10 }).map((i) => i.id);
  });
  after(async () => {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the presentation resolver is not a channel', () => {
    assert.ok(!channelNames.some((name) => /resolve/i.test(name)), 'no channel resolves presentations');
  });

  test('a study is created, read blinded, and its results match the store', async () => {
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', { name: 'IPC study', instanceIds, passes: 1, ownerPassphrase }),
    );
    assert.equal(study.images, 2, 'two images in the study');
    assert.equal(study.cases, 2, 'one comparison per image');
    const listed = unwrap<Output<'reviewListStudies'>>(await call('reviewListStudies', {}));
    assert.deepEqual(
      listed.studies.map((s) => s.id),
      [study.id],
      'the new study is listed',
    );
    const refused = await call('reviewAddReader', { studyId: study.id, name: 'Dr Reader' });
    assert.equal(refused.ok ? 'ok' : refused.error.code, 'forbidden', 'the owner adds readers');
    const reader = unwrap<Output<'reviewAddReader'>>(
      await call('reviewAddReader', { studyId: study.id, name: 'Dr Reader', ownerPassphrase }),
    );
    assert.ok(reader.secret, 'a generated reader secret, shown once');
    const noSecret = await call('reviewStartSession', { studyId: study.id, readerId: reader.id });
    assert.equal(noSecret.ok ? 'ok' : noSecret.error.code, 'forbidden', 'reading needs the sign-in');
    const wrong = await call('reviewSignInReader', {
      studyId: study.id,
      readerId: reader.id,
      readerSecret: 'nope',
    });
    assert.equal(wrong.ok ? 'ok' : wrong.error.code, 'forbidden', 'a wrong reader secret is refused');
    const { readerToken } = unwrap<Output<'reviewSignInReader'>>(
      await call('reviewSignInReader', {
        studyId: study.id,
        readerId: reader.id,
        readerSecret: reader.secret!,
      }),
    );
    let view = unwrap<Output<'reviewStartSession'>>(
      await call('reviewStartSession', { studyId: study.id, readerId: reader.id, readerToken }),
    );
    const text = JSON.stringify(view);
    assert.ok(!text.includes('restored') && !text.includes('original'), 'the session view names no method');
    assert.ok(!text.includes(study.config.variants[1]!.modelId ?? '?'), 'the session view names no model');
    while (!view.finished) {
      const current = view.case;
      assert.ok(current, 'an unfinished session shows a case');
      const [left, right] = current.images;
      assert.ok(left && right, 'two images per case');
      const answer = (questionId: string, value: number | string, presentationId?: string) =>
        call('reviewAnswer', {
          studyId: study.id,
          readerId: reader.id,
          readerToken,
          caseId: current.caseId,
          questionId,
          value,
          ...(presentationId ? { presentationId } : {}),
        });
      unwrap(await answer('quality', 4, left.presentationId));
      unwrap(await answer('quality', 2, right.presentationId));
      unwrap(await answer('findings', 'yes', left.presentationId));
      unwrap(await answer('findings', 'no', right.presentationId));
      unwrap(await answer('preference', left.presentationId));
      view = unwrap(await call('reviewNext', { studyId: study.id, readerId: reader.id, readerToken }));
    }
    assert.equal(view.completed, 2, 'both cases completed');
    const hidden = await call('reviewResults', { studyId: study.id });
    assert.equal(
      hidden.ok ? 'ok' : hidden.error.code,
      'forbidden',
      'results hidden from readers before close',
    );
    const results = unwrap<Output<'reviewResults'>>(
      await call('reviewResults', { studyId: study.id, ownerPassphrase }),
    );
    const expected = services.review.results(study.id, { ownerPassphrase });
    assert.deepEqual(results.scores, expected.scores, 'score statistics are the store results');
    assert.deepEqual(
      results.preferences,
      expected.preferences,
      'preference statistics are the store results',
    );
    assert.match(results.scores[0]!.svg, /^<svg/, 'an SVG plot comes with the scores');
    const csv = unwrap<Output<'reviewExportCsv'>>(
      await call('reviewExportCsv', { studyId: study.id, ownerPassphrase }),
    );
    assert.equal(
      csv.csv,
      services.review.exportCsv(study.id, { ownerPassphrase }),
      'the CSV is the store export',
    );
    assert.match(csv.fileName, /^IPC-study-ratings\.csv$/, 'a safe file name');
  });

  test('a study set up with chosen variants, questions and session options', async () => {
    const questions = [
      { id: 'quality', kind: 'score', prompt: 'Overall diagnostic image quality' },
      {
        id: 'heart-border',
        kind: 'choice',
        scope: 'each',
        prompt: 'Heart border',
        options: ['sharp', 'blurred'],
      },
      { id: 'notes', kind: 'comment', prompt: 'Notes', required: true },
    ];
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', {
        ownerPassphrase,
        name: 'Set-up study',
        instanceIds,
        variants: [
          { kind: 'original' },
          { kind: 'restored', modelId: 'r2c-q3', passes: 1 },
          { kind: 'restored', modelId: 'r2c-q3', passes: 2 },
        ],
        comparisons: 'allPairs',
        questions,
        navigation: { goBack: 'any', allowEdits: false },
        lockDisplay: false,
        readers: ['Dr Setup'],
      }),
    );
    assert.deepEqual(
      study.config.variants.map((v) => [v.id, v.kind, v.modelId ?? null, v.passes ?? null]),
      [
        ['original', 'original', null, null],
        ['r2c-q3-p1', 'restored', 'r2c-q3', 1],
        ['r2c-q3-p2', 'restored', 'r2c-q3', 2],
      ],
      'the chosen variants',
    );
    assert.equal(study.config.comparisons.length, 3, 'every pair of three variants');
    assert.equal(study.cases, 3 * instanceIds.length, 'three comparisons per image');
    assert.deepEqual(
      study.config.questions.map((q) => [q.id, q.kind, q.required]),
      [
        ['quality', 'score', true],
        ['heart-border', 'choice', true],
        ['notes', 'comment', true],
      ],
      'the chosen questions, defaults filled in',
    );
    assert.deepEqual(study.config.navigation, { goBack: 'any', allowEdits: false });
    assert.equal(study.config.blinding.lockZoom, false);
    assert.equal(study.config.blinding.lockWindowLevel, false);
    const readerId = study.readerProgress[0]!.id;
    const { readerToken } = unwrap<Output<'reviewSignInReader'>>(
      await call('reviewSignInReader', {
        studyId: study.id,
        readerId,
        readerSecret: study.readerSecrets[0]!.secret,
      }),
    );
    const view = unwrap<Output<'reviewStartSession'>>(
      await call('reviewStartSession', { studyId: study.id, readerId, readerToken }),
    );
    assert.equal(view.case?.display.lockZoom, false, 'the reader may zoom');
    assert.equal(view.case?.display.lockWindowLevel, false, 'the reader may adjust window/level');
    assert.ok(!JSON.stringify(view).includes('r2c-q3'), 'the session view names no model');

    const locked = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', {
        ownerPassphrase,
        name: 'Locked by default',
        instanceIds,
        variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'r2c-q3', passes: 3 }],
      }),
    );
    assert.equal(locked.config.blinding.lockZoom, true, 'zoom locked unless asked otherwise');
    assert.equal(locked.config.blinding.lockWindowLevel, true, 'window/level locked unless asked otherwise');
    assert.deepEqual(locked.config.comparisons, [['r2c-q3-p3', 'original']], 'restored beside the original');
  });

  test('set-up mistakes are refused with the reason', async () => {
    const base = { name: 'Bad', instanceIds, ownerPassphrase };
    const studiesBefore = services.review.listStudies().length;
    const both = await call('reviewCreateStudy', {
      ...base,
      passes: 1,
      variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'r2c-q3', passes: 1 }],
    });
    assert.equal(both.ok ? 'ok' : both.error.code, 'invalid_payload', 'passes and variants together');
    const neither = await call('reviewCreateStudy', base);
    assert.equal(neither.ok ? 'ok' : neither.error.code, 'invalid_payload', 'neither passes nor variants');
    const one = await call('reviewCreateStudy', { ...base, variants: [{ kind: 'original' }] });
    assert.equal(one.ok ? 'ok' : one.error.code, 'invalid_payload', 'a single variant');
    const fourPasses = await call('reviewCreateStudy', {
      ...base,
      variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'r2c-q3', passes: 4 }],
    });
    assert.equal(fourPasses.ok ? 'ok' : fourPasses.error.code, 'invalid_payload', 'passes above 3');
    const unknown = await call('reviewCreateStudy', {
      ...base,
      variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'no-such-model', passes: 1 }],
    });
    assert.equal(unknown.ok ? 'ok' : unknown.error.code, 'not_found', 'a model that is not installed');
    assert.match(unknown.ok ? '' : unknown.error.message, /no-such-model/);
    const twice = await call('reviewCreateStudy', {
      ...base,
      variants: [
        { kind: 'restored', modelId: 'r2c-q3', passes: 2 },
        { kind: 'restored', modelId: 'r2c-q3', passes: 2 },
      ],
    });
    assert.equal(twice.ok ? 'ok' : twice.error.code, 'bad_input', 'the same variant twice');
    const badOption = await call('reviewCreateStudy', {
      ...base,
      passes: 1,
      questions: [{ id: 'q', kind: 'choice', prompt: 'Q', options: ['a b', 'c'] }],
    });
    assert.equal(badOption.ok ? 'ok' : badOption.error.code, 'invalid_payload', 'an option with a space');
    assert.equal(
      services.review.listStudies().length,
      studiesBefore,
      'nothing was created by the refused calls',
    );
  });

  test('default questions, JSON export and audit trail over IPC', async () => {
    const defaults = unwrap<Output<'reviewDefaultQuestions'>>(await call('reviewDefaultQuestions', {}));
    assert.deepEqual(
      defaults.questions.map((q) => [q.id, q.kind, q.scope]),
      [
        ['quality', 'score', 'each'],
        ['preference', 'forced-choice', 'case'],
        ['findings', 'choice', 'each'],
        ['comment', 'comment', 'case'],
      ],
    );
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', {
        ownerPassphrase,
        name: 'Audit me',
        instanceIds: instanceIds.slice(0, 1),
        variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'r2c-q3', passes: 1 }],
        questions: [{ id: 'quality', kind: 'score', prompt: 'Quality' }],
        readers: ['Dr Json'],
      }),
    );
    const readerId = study.readerProgress[0]!.id;
    const { readerToken } = unwrap<Output<'reviewSignInReader'>>(
      await call('reviewSignInReader', {
        studyId: study.id,
        readerId,
        readerSecret: study.readerSecrets[0]!.secret,
      }),
    );
    const view = unwrap<Output<'reviewStartSession'>>(
      await call('reviewStartSession', { studyId: study.id, readerId, readerToken }),
    );
    for (const [i, image] of view.case!.images.entries())
      unwrap(
        await call('reviewAnswer', {
          studyId: study.id,
          readerId,
          readerToken,
          caseId: view.case!.caseId,
          questionId: 'quality',
          presentationId: image.presentationId,
          value: 3 + i,
        }),
      );
    unwrap(await call('reviewNext', { studyId: study.id, readerId, readerToken }));

    const exported = unwrap<Output<'reviewExportJson'>>(
      await call('reviewExportJson', { studyId: study.id, ownerPassphrase }),
    );
    assert.equal(exported.fileName, 'Audit-me-study.json');
    const parsed = JSON.parse(exported.json) as ReturnType<Services['review']['exportJson']>;
    const direct = services.review.exportJson(study.id, { ownerPassphrase });
    assert.deepEqual({ ...parsed, exportedAt: '' }, { ...direct, exportedAt: '' }, 'the store export');
    assert.equal(parsed.sessions[0]!.cases[0]!.answers.length, 2, 'both answers exported');

    const audit = unwrap<Output<'reviewAuditTrail'>>(
      await call('reviewAuditTrail', { studyId: study.id, ownerPassphrase }),
    );
    assert.deepEqual(
      audit.entries.map((e) => e.action),
      [
        'study_created',
        'reader_added',
        'reader_signed_in',
        'session_started',
        'answer_given',
        'answer_given',
        'case_finished',
        'session_finished',
      ],
    );
    const given = audit.entries.filter((e) => e.action === 'answer_given');
    assert.deepEqual(
      given.map((e) => [e.reader, e.position, e.questionId, e.value]),
      [
        ['Dr Json', 1, 'quality', 3],
        ['Dr Json', 1, 'quality', 4],
      ],
    );
    assert.ok(!JSON.stringify(audit).includes('imageId'), 'no image ids in the audit view');
    const missing = await call('reviewAuditTrail', { studyId: 'st-nope' });
    assert.equal(missing.ok ? 'ok' : missing.error.code, 'not_found');
  });

  test('review pixels are computed in the main process, original and restored', async () => {
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', {
        name: 'Images',
        instanceIds: instanceIds.slice(0, 1),
        passes: 1,
        ownerPassphrase,
      }),
    );
    const reader = unwrap<Output<'reviewAddReader'>>(
      await call('reviewAddReader', {
        studyId: study.id,
        name: 'Dr Images',
        ownerPassphrase,
        secret: 'images secret',
      }),
    );
    const view = unwrap<Output<'reviewStartSession'>>(
      await call('reviewStartSession', {
        studyId: study.id,
        readerId: reader.id,
        ...unwrap<Output<'reviewSignInReader'>>(
          await call('reviewSignInReader', {
            studyId: study.id,
            readerId: reader.id,
            readerSecret: 'images secret',
          }),
        ),
      }),
    );
    const images = view.case?.images ?? [];
    assert.equal(images.length, 2, 'two presentations');
    const rendered: Buffer[] = [];
    for (const image of images) {
      const out = unwrap<Output<'getReviewPixels'>>(
        await call('getReviewPixels', { presentationId: image.presentationId }),
      );
      assert.equal(
        Math.max(out.width, out.height),
        512,
        'full resolution (the PNG is 512 px on its long side)',
      );
      const values = Buffer.from(out.pixels);
      assert.equal(values.length, out.width * out.height, 'one byte per pixel (an 8-bit original)');
      const distinct = new Set(values).size;
      assert.ok(distinct > 20, `the image has content (${distinct} grey levels)`);
      rendered.push(values);
    }
    assert.ok(!rendered[0]!.equals(rendered[1]!), 'original and restored differ');
    const again = unwrap<Output<'getReviewPixels'>>(
      await call('getReviewPixels', { presentationId: images[0]!.presentationId }),
    );
    assert.ok(Buffer.from(again.pixels).equals(rendered[0]!), 'a second request is served the same pixels');
    const unknown = await call('getReviewPixels', { presentationId: 'nope' });
    assert.equal(unknown.ok ? 'ok' : unknown.error.code, 'not_found', 'an unknown presentation is not found');
    const bad = await call('getReviewPixels', { presentationId: '../x' });
    assert.equal(bad.ok ? 'ok' : bad.error.code, 'invalid_payload', 'a malformed id is refused');
  });
});
