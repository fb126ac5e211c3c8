// "Send reports to PACS" on a closed reader study's results page against a real Orthanc: the owner's
// closed study (two readers, one image on the PACS, one from elsewhere) sends one SR into the image's
// study, the other image is skipped; sending again reports it already present. The button is not
// offered while the study is open.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDicomHeader } from '../../main/dicom/index.ts';
import { type OrthancServer, orthancMissing, startOrthanc } from '../main/pacs/orthanc.ts';
import { readAll } from '../main/review/reading.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const chest = join(repoRoot, '..', 'shared', 'data', 'dicom', 'dwv', 'gdcm-CR-MONO1-10-chest.dcm');
const dcmodify = spawnSync('dcmodify', ['--version']).status === 0;
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';

/** A copy of the shared chest CR with new UIDs and patient id (the shared file is untouched). */
function makeImage(file: string, patientId: string) {
  copyFileSync(chest, file);
  chmodSync(file, 0o644);
  for (const args of [
    ['-gst', '-gse', '-gin'],
    ['-i', `PatientID=${patientId}`],
  ])
    spawnSync('dcmodify', ['-nb', ...args, file], { encoding: 'utf8' });
  return readDicomHeader(new Uint8Array(readFileSync(file)));
}

test.describe('reader study reports to the PACS', () => {
  const missing =
    orthancMissing() ??
    (dcmodify ? undefined : "dcmtk's dcmodify is not installed") ??
    (existsSync(chest) ? undefined : 'shared DICOM data is missing');
  test.skip(Boolean(missing), missing ?? '');
  let orthanc: OrthancServer;
  const work = mkdtempSync(join(tmpdir(), 'r2c-e2e-study-sr-'));
  test.beforeAll(async () => {
    orthanc = await startOrthanc();
  });
  test.afterAll(async () => {
    await orthanc?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a closed study sends one SR per image the PACS holds; again: already present', async ({
    page,
    app,
  }) => {
    test.setTimeout(120_000);
    const onPacs = makeImage(join(work, 'on-pacs.dcm'), 'E2ESR1');
    makeImage(join(work, 'elsewhere.dcm'), 'E2ESR2');
    await orthanc.upload(new Uint8Array(readFileSync(join(work, 'on-pacs.dcm'))));
    const { services } = app;
    await services.library.importPaths([join(work, 'on-pacs.dcm'), join(work, 'elsewhere.dcm')]);
    const ids = services.library.listInstances({ limit: 10 }).map((i) => String(i.id));
    const study = services.review.createStudy({
      name: 'Chest reading',
      images: ids.map((id) => ({ id })),
      variants: [
        { id: 'original', kind: 'original', label: 'Original' },
        { id: 'gan-p1', kind: 'restored', modelId: 'r2c-gan', passes: 1, label: 'R2C-GAN 1.0, 1 pass' },
      ],
      readers: ['Reader One', 'Reader Two'],
      seed: 3,
    });
    for (const [i, reader] of study.readerProgress.entries())
      readAll(services.review, study.id, reader.id, {
        original: 2 + i,
        restored: 4 + i,
        prefer: 'restored',
        restoredFindings: 'yes',
      });
    await services.pacs.saveConnection(
      {
        id: 'orthanc',
        name: 'Department Orthanc',
        dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
      },
      orthanc.password,
    );

    await app.open(page, '#/review');
    await test.step('open: results shown, but no Send reports button', async () => {
      await page.getByTestId('review-studies').getByRole('button', { name: 'Results' }).click();
      await expect(page.getByTestId('results-view')).toBeVisible();
      await expect(page.getByTestId('pacs-send-study-reports')).toHaveCount(0);
      services.review.closeStudy(study.id);
      await page.reload();
      await page.getByTestId('review-studies').getByRole('button', { name: 'Results' }).click();
      await expect(page.getByTestId('results-view')).toBeVisible();
    });

    await test.step('closed: send; one sent, one not on this PACS', async () => {
      const panel = page.getByTestId('pacs-send-study-reports');
      await panel.getByRole('button', { name: 'Send reports to PACS…' }).click();
      await expect(panel.getByRole('combobox', { name: 'PACS' })).toHaveValue('orthanc');
      await panel.getByRole('button', { name: 'Send', exact: true }).click();
      const summary = panel.getByTestId('pacs-study-reports-summary');
      await expect(summary).toHaveText(
        'Department Orthanc: 1 sent, 0 already present, 1 skipped, 0 failed.',
        {
          timeout: 60_000,
        },
      );
      await expect(panel.locator('tr[data-status="not-on-pacs"]')).toContainText('Not on this PACS');
      const held = (await (
        await orthanc.rest(`/dicom-web/studies/${onPacs.studyInstanceUid}/instances`)
      ).json()) as Record<string, { Value: string[] }>[];
      expect(held.map((i) => i['00080016']!.Value[0]).sort()).toEqual([onPacs.sopClassUid, SR_CLASS].sort());
      const shot = join(screenshotDir, 'pacs-study-reports.png');
      await panel.screenshot({ path: shot });
      const docs = join(repoRoot, 'docs', 'screenshots');
      if (existsSync(docs)) copyFileSync(shot, join(docs, 'pacs-study-reports.png'));
    });

    await test.step('sent again: already present, still one SR', async () => {
      const panel = page.getByTestId('pacs-send-study-reports');
      await panel.getByRole('button', { name: 'Send', exact: true }).click();
      await expect(panel.getByTestId('pacs-study-reports-summary')).toHaveText(
        'Department Orthanc: 0 sent, 1 already present, 1 skipped, 0 failed.',
        { timeout: 60_000 },
      );
      const held = (await (
        await orthanc.rest(`/dicom-web/studies/${onPacs.studyInstanceUid}/instances`)
      ).json()) as unknown[];
      expect(held).toHaveLength(2);
      await page.screenshot({ path: join(screenshotDir, 'pacs-study-reports-page.png') });
    });
  });
});
