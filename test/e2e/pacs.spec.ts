// The Library's PACS panel against a real Orthanc (DICOMweb plugin, basic authentication): add the
// connection in the panel's settings, search by modality, open a study's series, retrieve two studies
// into the library with progress, and see them in the study table. Then: a retrieved image analysed in
// the viewer and its results sent back from the viewer (checked through Orthanc's REST API: the SC and
// SR arrived, the original was neither sent again nor changed), and the department watch started from
// the Settings page with one study on a PACS, processed, seen again after a reload, stopped.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDicomHeader } from '../../main/dicom/index.ts';
import { freePort, type OrthancServer, orthancMissing, startOrthanc } from '../main/pacs/orthanc.ts';
import type { Page } from '@playwright/test';
import { type AppHarness, expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const dicomDir = join(repoRoot, '..', 'shared', 'data', 'dicom');
const chestFiles = [
  'dwv/gdcm-CR-MONO1-10-chest.dcm',
  'covid-chest-imaging-database/1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm',
  'torchxrayvision/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
].map((f) => join(dicomDir, f));
const docs = join(repoRoot, 'docs', 'screenshots');

async function shot(page: Page, name: string, testId = 'pacs-panel') {
  const path = join(screenshotDir, `${name}.png`);
  await page.getByTestId(testId).screenshot({ path });
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

  test('analyse a retrieved image and send its SC + SR from the viewer; the original stays as it was', async ({
    page,
    app,
  }) => {
    test.setTimeout(240_000);
    await connect(app, orthanc);
    const [retrieved] = await app.services.pacs.retrieve('orthanc', [{ studyInstanceUid: studies[0]! }]);
    expect(retrieved?.added).toBe(1);
    const instance = app.services.library.listInstances({})[0]!;
    const original = readFileSync(chestFiles[0]!);
    const originalUid = readDicomHeader(new Uint8Array(original)).sopInstanceUid;
    const before = await studyInstances(orthanc, studies[0]!);
    expect(before.map((i) => i.sopInstanceUid)).toEqual([originalUid]);

    await app.open(page, `#/viewer?instance=${instance.id}`);
    await page.getByTestId('analyse-button').click();
    const panel = page.getByTestId('classification-panel');
    await expect(panel).toBeVisible({ timeout: 150_000 });

    await test.step('Send to PACS: both results sent, per item', async () => {
      await panel.getByRole('button', { name: /Send to PACS/ }).click();
      await expect(
        panel.getByRole('group', { name: 'Send results to a PACS' }).getByRole('combobox'),
      ).toHaveValue('orthanc');
      await panel.getByRole('button', { name: 'Send', exact: true }).click();
      const summary = panel.getByTestId('pacs-send-summary');
      await expect(summary).toContainText('2 sent, 0 already present, 0 failed', { timeout: 120_000 });
      const rows = panel.getByTestId('pacs-send-items').locator('tbody tr');
      await expect(rows).toHaveCount(2);
      await expect(rows.nth(0)).toContainText('Restored image (SC)');
      await expect(rows.nth(0)).toContainText('Sent');
      await expect(rows.nth(1)).toContainText('Classification (SR)');
      await panel.getByTestId('pacs-send').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(screenshotDir, 'pacs-send-viewer.png') });
      if (existsSync(docs))
        copyFileSync(join(screenshotDir, 'pacs-send-viewer.png'), join(docs, 'pacs-send-viewer.png'));
    });

    await test.step('Orthanc holds the SC and the SR in the study; the original once and byte for byte', async () => {
      const after = await studyInstances(orthanc, studies[0]!);
      expect(after).toHaveLength(3);
      const classes = after.map((i) => i.sopClassUid).sort();
      expect(classes).toEqual([
        '1.2.840.10008.5.1.4.1.1.1',
        '1.2.840.10008.5.1.4.1.1.7',
        '1.2.840.10008.5.1.4.1.1.88.33',
      ]);
      const kept = after.filter((i) => i.sopInstanceUid === originalUid);
      expect(kept).toHaveLength(1);
      const stored = Buffer.from(await (await orthanc.rest(`/instances/${kept[0]!.id}/file`)).arrayBuffer());
      expect(stored.equals(original), 'the original on the PACS is unchanged').toBe(true);
      // The library's copy was only read.
      expect(readFileSync(app.services.library.getInstance(instance.id).filePath).equals(original)).toBe(
        true,
      );
    });

    await test.step('sending again: already present, nothing new on the PACS', async () => {
      await panel.getByRole('button', { name: 'Send', exact: true }).click();
      await expect(panel.getByTestId('pacs-send-summary')).toContainText(
        '0 sent, 2 already present, 0 failed',
        {
          timeout: 60_000,
        },
      );
      expect(await studyInstances(orthanc, studies[0]!)).toHaveLength(3);
    });

    await test.step('from the Library: an unreachable PACS fails with the reason; Retry to Orthanc', async () => {
      const closed = await freePort();
      await app.services.pacs.saveConnection({
        id: 'down',
        name: 'Unreachable PACS',
        dicomweb: { baseUrl: `http://127.0.0.1:${closed}/dicom-web`, timeoutMs: 2000 },
      });
      await app.open(page, '#/library');
      await page.getByTestId('study-table').locator('tbody tr').first().getByRole('button').click();
      const detail = page.getByTestId('study-detail');
      const send = detail.getByRole('button', { name: /Send results to PACS/ });
      await expect(send).toBeDisabled();
      await detail
        .getByRole('checkbox', { name: /Select image/ })
        .first()
        .check();
      await expect(send).toBeEnabled();
      await send.click();
      const pacsChoice = detail.getByRole('group', { name: 'Send results to a PACS' }).getByRole('combobox');
      await pacsChoice.selectOption('down');
      await detail.getByRole('button', { name: 'Send', exact: true }).click();
      const summary = detail.getByTestId('pacs-send-summary');
      await expect(summary).toContainText('0 sent, 0 already present, 2 failed', { timeout: 60_000 });
      const rows = detail.getByTestId('pacs-send-items').locator('tbody tr');
      await expect(rows.nth(0)).toContainText(/Failed: .+/);
      await shot(page, 'pacs-send-failed', 'pacs-send');
      await pacsChoice.selectOption('orthanc');
      await detail.getByRole('button', { name: 'Retry the failed image' }).click();
      await expect(summary).toContainText('0 sent, 2 already present, 0 failed', { timeout: 60_000 });
      await expect(detail.getByRole('button', { name: /Retry/ })).toHaveCount(0);
      await shot(page, 'pacs-send-library', 'pacs-send');
    });
  });

  test('the department watch from the Settings page: one study processed, seen after a reload, stopped', async ({
    page,
    app,
  }) => {
    test.setTimeout(300_000);
    const department = await startOrthanc();
    try {
      const bytes = readFileSync(chestFiles[0]!);
      await department.upload(bytes);
      const studyUid = readDicomHeader(new Uint8Array(bytes)).studyInstanceUid;
      await connect(app, department, 'department');
      await app.open(page, '#/settings');
      const watch = page.getByTestId('pacs-watch');
      await expect(watch.getByLabel('PACS')).toHaveValue('department');
      await expect(watch.getByTestId('pacs-watch-state')).toHaveAttribute('data-running', 'no');
      await watch.getByLabel('Modalities').fill('CR, DX');
      await watch.getByLabel('Body part').fill('CHEST');
      await watch.getByLabel('Node k').fill('1');
      await watch.getByLabel('Node count n').fill('1');
      await expect(watch.getByLabel('Look back (days)')).toHaveValue('3');
      await watch.getByLabel('Look back (days)').fill('5');
      await watch.getByRole('button', { name: 'Start watching' }).click();
      await expect(watch.getByTestId('pacs-watch-state')).toHaveAttribute('data-running', 'yes');
      // The poll's counts from the watch loop's onPoll: one study found and queued, none again.
      const lastPoll = watch.getByTestId('pacs-watch-last-poll');
      await expect(lastPoll).toContainText('1 study found, 1 queued', { timeout: 30_000 });
      await expect(lastPoll.locator('[data-requeued]')).toHaveAttribute('data-requeued', '0');
      await expect(watch.getByLabel('Look back (days)')).toBeDisabled();
      expect(app.services.log.read({ event: 'pacs.watch' })[0]).toMatchObject({
        action: 'start',
        lookBackDays: 5,
      });

      await test.step('the study is processed and its SC + SR reach the PACS', async () => {
        await expect(watch.locator('[data-count="sent"]')).toHaveText('1', { timeout: 200_000 });
        await expect(watch.getByTestId('pacs-watch-recent').locator('tbody tr')).toHaveCount(1);
        await expect(watch.getByTestId('pacs-watch-recent')).toContainText('SC sent');
        await expect(watch.getByTestId('pacs-watch-recent')).toContainText('SR sent');
        const held = await studyInstances(department, studyUid);
        expect(held.map((i) => i.sopClassUid).sort()).toEqual([
          '1.2.840.10008.5.1.4.1.1.1',
          '1.2.840.10008.5.1.4.1.1.7',
          '1.2.840.10008.5.1.4.1.1.88.33',
        ]);
        await shot(page, 'pacs-watch', 'pacs-watch');
      });

      await test.step('after a reload the panel finds the running watch and the queue; Stop ends it', async () => {
        await page.reload();
        const again = page.getByTestId('pacs-watch');
        await expect(again.getByTestId('pacs-watch-state')).toHaveAttribute('data-running', 'yes');
        await expect(again.locator('[data-count="sent"]')).toHaveText('1');
        // The running watch's own look-back (from the main process, not the form's default).
        await expect(again.getByLabel('Look back (days)')).toHaveValue('5');
        await again.getByRole('button', { name: 'Stop watching' }).click();
        await expect(again.getByTestId('pacs-watch-state')).toHaveAttribute('data-running', 'no', {
          timeout: 30_000,
        });
        await expect(again.locator('[data-count="sent"]')).toHaveText('1');
        await shot(page, 'pacs-watch-stopped', 'pacs-watch');
      });
    } finally {
      await department.stop();
    }
  });
});

/** A DICOMweb connection to `server` with its password, as Settings would save it. */
async function connect(app: AppHarness, server: OrthancServer, id = 'orthanc') {
  await app.services.pacs.saveConnection(
    {
      id,
      name: id === 'orthanc' ? 'Department Orthanc' : 'Department PACS',
      dicomweb: { baseUrl: server.dicomWebUrl, auth: 'basic', username: server.user },
    },
    server.password,
  );
}

/** The study's instances on the PACS through Orthanc's REST API (not DICOMweb): id, SOP class and UID. */
async function studyInstances(server: OrthancServer, studyInstanceUid: string) {
  const found = (await (
    await server.rest('/tools/find', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: studyInstanceUid } }),
    })
  ).json()) as string[];
  const out: { id: string; sopClassUid: string; sopInstanceUid: string }[] = [];
  for (const id of found) {
    const tags = (await (await server.rest(`/instances/${id}/simplified-tags`)).json()) as Record<
      string,
      string
    >;
    out.push({ id, sopClassUid: tags.SOPClassUID ?? '', sopInstanceUid: tags.SOPInstanceUID ?? '' });
  }
  return out;
}
