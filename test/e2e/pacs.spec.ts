// The Library's PACS panel against a real Orthanc (DICOMweb plugin, basic authentication): add the
// connection in the panel's settings, search by modality, open a study's series, retrieve two studies
// into the library with progress, and see them in the study table.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDicomHeader } from '../../main/dicom/index.ts';
import { type OrthancServer, orthancMissing, startOrthanc } from '../main/pacs/orthanc.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const dicomDir = join(repoRoot, '..', 'shared', 'data', 'dicom');
const chestFiles = [
  'dwv/gdcm-CR-MONO1-10-chest.dcm',
  'covid-chest-imaging-database/1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm',
  'torchxrayvision/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
].map((f) => join(dicomDir, f));
const docs = join(repoRoot, 'docs', 'screenshots');

async function shot(page: import('@playwright/test').Page, name: string) {
  const path = join(screenshotDir, `${name}.png`);
  await page.getByTestId('pacs-panel').screenshot({ path });
  if (existsSync(docs)) copyFileSync(path, join(docs, `${name}.png`));
}

test.describe('PACS search and retrieve in the Library', () => {
  const missing =
    orthancMissing() ?? (chestFiles.every(existsSync) ? undefined : 'shared DICOM data is missing');
  test.skip(Boolean(missing), missing ?? '');
  let orthanc: OrthancServer;
  const studies: string[] = [];
  test.beforeAll(async () => {
    orthanc = await startOrthanc();
    for (const file of chestFiles) {
      const bytes = readFileSync(file);
      studies.push(readDicomHeader(new Uint8Array(bytes)).studyInstanceUid);
      await orthanc.upload(bytes);
    }
  });
  test.afterAll(async () => {
    await orthanc?.stop();
  });

  test('configure the PACS, search, see series, retrieve into the library', async ({ page, app }) => {
    test.setTimeout(120_000);
    await app.open(page);
    await page.getByRole('button', { name: 'Search a PACS' }).click();

    await test.step('add the connection (password stored, never shown again)', async () => {
      const settings = page.getByTestId('pacs-settings');
      await expect(settings).toContainText('No PACS is configured');
      await page.getByRole('button', { name: 'Add a PACS' }).click();
      await page.getByLabel('Connection id').fill('orthanc');
      await page.getByLabel('Name', { exact: true }).fill('Department Orthanc');
      await page.getByLabel('Base URL').fill(orthanc.dicomWebUrl);
      await page.getByLabel('User name', { exact: true }).fill(orthanc.user);
      await page.getByLabel('Password', { exact: true }).fill(orthanc.password);
      await shot(page, 'pacs-settings');
      await page.getByRole('button', { name: 'Save' }).click();
      await expect(page.getByRole('form', { name: 'PACS search' })).toBeVisible();
      const stored = await app.services.pacs.listConnections();
      expect(stored[0]).toMatchObject({ id: 'orthanc', hasSecret: true });
      expect(JSON.stringify(stored)).not.toContain(orthanc.password);
    });

    await test.step('search CR/DX studies and open one study’s series', async () => {
      await page.getByLabel('Modalities').fill('CR, DX');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const rows = page.getByTestId('pacs-results').locator('tbody > tr');
      await expect(rows).toHaveCount(studies.length);
      await rows.first().getByRole('button', { name: 'Series' }).click();
      await expect(page.getByTestId('pacs-series')).toContainText('images');
      await shot(page, 'pacs-search');
    });

    await test.step('retrieve two studies with progress; they appear in the library', async () => {
      const boxes = page.getByTestId('pacs-results').getByRole('checkbox', { name: 'Select study' });
      await boxes.nth(0).check();
      await boxes.nth(1).check();
      await page.getByRole('button', { name: /Retrieve 2 into the library/ }).click();
      await expect(page.getByTestId('pacs-retrieved')).toContainText('Retrieved 2 studies: 2 images added', {
        timeout: 60_000,
      });
      await expect(page.getByTestId('study-table').locator('tbody tr')).toHaveCount(2);
      const inLibrary = app.services.library.listStudies({}).map((s) => s.studyInstanceUid);
      expect(inLibrary.every((uid) => studies.includes(uid))).toBe(true);
      await shot(page, 'pacs-retrieved');
      await page
        .getByTestId('study-table')
        .screenshot({ path: join(screenshotDir, 'pacs-library-table.png') });
    });
  });
});
