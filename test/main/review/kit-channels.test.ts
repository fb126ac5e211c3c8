// Reading kits through the real handler table, on two data folders: the owner's app renders the kit
// (original and the default model's restoration at full resolution) as a job with progress, a reader's
// app imports it, shows the kit's own PNGs, reads and exports answers, and the owner merges them.
// Also the case picker's candidates and the HTML report.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { localModelsDir } from '../../../main/app/paths.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { AppEvent, Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { presentationImage } from '../../../main/review/index.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';

const ownerPassphrase = 'kit owner passphrase';
function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('reading kits over IPC, two data folders', () => {
  const folders = [
    mkdtempSync(join(tmpdir(), 'r2c-kit-owner-')),
    mkdtempSync(join(tmpdir(), 'r2c-kit-reader-')),
  ];
  const apps: { services: Services; handlers: HandlerTable; events: AppEvent[] }[] = [];
  const call = (app: number, channel: string, payload: unknown) =>
    dispatch(apps[app]!.handlers, channel, payload, {
      emit: (event: AppEvent) => apps[app]!.events.push(event),
    });
  let instanceIds: number[] = [];

  before(async () => {
    for (const dataDir of folders) {
      const services = createServices({
        dataDir,
        modelsDir: join(repoRoot, 'models', 'shipped'),
        workerTransport: threadTransport,
        maxWorkers: 1,
      });
      apps.push({ services, handlers: createHandlers(services), events: [] });
    }
    const cxr = join(requireSharedData(), 'cxr');
    const files = ['covid', 'normal'].map((label) => {
      const name = readdirSync(join(cxr, label))
        .filter((n) => n.endsWith('.png'))
        .sort()[0]!;
      return join(cxr, label, name);
    });
    const summary = await apps[0]!.services.library.importPaths(files, { mode: 'copy' });
    assert.equal(summary.added, 2);
    instanceIds = apps[0]!.services.library.listInstances({ limit: 10 }).map((i) => i.id);
  });
  after(async () => {
    for (const app of apps) await app.services.close();
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  });

  test('kit out, read elsewhere, answers merged; truth from the library folder in the CSV; HTML report', async () => {
    const candidates = unwrap<Output<'reviewCandidates'>>(await call(0, 'reviewCandidates', {}));
    assert.deepEqual(
      candidates.images.map((c) => [c.truth, c.chest]),
      [
        ['covid', true],
        ['normal', true],
      ],
    );
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call(0, 'reviewCreateStudy', {
        name: 'Kit study',
        instanceIds,
        passes: 1,
        ownerPassphrase,
        readers: ['Dr Remote'],
      }),
    );
    const out = join(folders[0]!, 'kit', 'study.r2ckit.zip');
    const kit = unwrap<Output<'reviewExportKit'>>(
      await call(0, 'reviewExportKit', { jobId: 'kit-job-0001', studyId: study.id, ownerPassphrase, out }),
    );
    assert.equal(kit.images, 4);
    assert.ok(kit.signed);
    const progress = apps[0]!.events.filter((e) => e.type === 'jobProgress');
    assert.ok(progress.length >= 4, 'progress per image');

    const imported = unwrap<Output<'reviewImportKit'>>(await call(1, 'reviewImportKit', { file: out }));
    const reader = imported.readers[0]!;
    const readerSecret = study.readerSecrets[0]!.secret;
    const { readerToken } = unwrap<Output<'reviewSignInReader'>>(
      await call(1, 'reviewSignInReader', { studyId: study.id, readerId: reader.id, readerSecret }),
    );
    let view = unwrap<Output<'reviewStartSession'>>(
      await call(1, 'reviewStartSession', { studyId: study.id, readerId: reader.id, readerToken }),
    );
    // The reader's app shows the kit's image at full resolution (the shared PNGs are 512 px on the long
    // side), with the same full-resolution values the owner's reading view gets (16-bit kit PNG + sidecar).
    for (const shown of view.case!.images) {
      const pixels = unwrap<Output<'getReviewPixels'>>(
        await call(1, 'getReviewPixels', { presentationId: shown.presentationId }),
      );
      assert.equal(Math.max(pixels.width, pixels.height), 512, 'full resolution');
      const { imageId, variant } = apps[1]!.services.review.resolvePresentation(shown.presentationId);
      const ownerImage = study.config.images[Number(imageId.replace('img-', '')) - 1]!.id;
      const ownerVariant = study.config.variants.find((v) => v.id === variant.id)!;
      const { pixels: owner } = await apps[0]!.services.jobs.run('loadReviewPixels', {
        ...apps[0]!.services.library.imageSource(Number(ownerImage)),
        variant: presentationImage({ studyId: study.id, imageId: ownerImage, variant: ownerVariant }).variant,
        shippedDir: join(repoRoot, 'models', 'shipped'),
        localDir: localModelsDir(folders[0]!),
      });
      const { pixels: kitBytes, ...kitMeta } = pixels;
      const { pixels: ownerBytes, ...ownerMeta } = owner;
      assert.deepEqual(kitMeta, ownerMeta, `${variant.id}: the kit keeps the display metadata`);
      assert.ok(Buffer.from(kitBytes).equals(Buffer.from(ownerBytes)), `${variant.id}: every value kept`);
    }
    const hidden = await call(1, 'reviewResults', { studyId: study.id });
    assert.equal(hidden.ok ? 'ok' : hidden.error.code, 'forbidden', 'no results on the reader workstation');
    while (view.case) {
      const c = view.case;
      const ref = { studyId: study.id, readerId: reader.id, readerToken, caseId: c.caseId };
      for (const [i, img] of c.images.entries()) {
        view = unwrap(
          await call(1, 'reviewAnswer', {
            ...ref,
            questionId: 'quality',
            presentationId: img.presentationId,
            value: 3 + i,
          }),
        );
        view = unwrap(
          await call(1, 'reviewAnswer', {
            ...ref,
            questionId: 'findings',
            presentationId: img.presentationId,
            value: 'yes',
          }),
        );
      }
      view = unwrap(
        await call(1, 'reviewAnswer', {
          ...ref,
          questionId: 'preference',
          value: c.images[1]!.presentationId,
        }),
      );
      view = unwrap(await call(1, 'reviewNext', { studyId: study.id, readerId: reader.id, readerToken }));
    }
    const answers = unwrap<Output<'reviewExportAnswers'>>(
      await call(1, 'reviewExportAnswers', { studyId: study.id, readerId: reader.id, readerSecret }),
    );
    assert.equal(answers.cases, 2);
    const wrong = await call(0, 'reviewMergeAnswers', {
      studyId: study.id,
      ownerPassphrase: 'wrong passphrase',
      text: answers.json,
    });
    assert.equal(wrong.ok ? 'ok' : wrong.error.code, 'forbidden');
    const merged = unwrap<Output<'reviewMergeAnswers'>>(
      await call(0, 'reviewMergeAnswers', { studyId: study.id, ownerPassphrase, text: answers.json }),
    );
    assert.deepEqual([merged.merged, merged.completed, merged.total], [2, 2, 2]);
    const csv = unwrap<Output<'reviewExportCsv'>>(
      await call(0, 'reviewExportCsv', { studyId: study.id, ownerPassphrase }),
    );
    assert.match(csv.csv, /,covid,/);
    assert.match(csv.csv, /,normal,/);
    const report = unwrap<Output<'reviewReport'>>(
      await call(0, 'reviewReport', { studyId: study.id, ownerPassphrase }),
    );
    assert.match(report.html, /^<!doctype html>/);
    assert.match(report.html, /covid: 1, normal: 1/);
    assert.ok(!/<script/i.test(report.html), 'no scripts in the report');
    assert.equal(report.fileName, 'Kit-study-report.html');
    const pdf = unwrap<Output<'reviewReportPdf'>>(
      await call(0, 'reviewReportPdf', { studyId: study.id, ownerPassphrase }),
    );
    assert.equal(pdf.fileName, 'Kit-study-report.pdf');
    const bytes = Buffer.from(pdf.pdfBase64, 'base64');
    assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
    assert.equal(bytes.subarray(-6).toString().trim(), '%%EOF');
  });
});
