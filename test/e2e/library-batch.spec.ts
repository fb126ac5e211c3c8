// The Library page's drag-and-drop import, batch restore + classify (with the shipped default model),
// cancelling a batch, and date filters + paging, against the real handler table.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Page } from '@playwright/test';
import type { Envelope, Output } from '../../main/contract/types.ts';
import { channelNames } from '../../main/contract/names.ts';
import { sharedData as dataDir } from '../helpers/paths.ts';
import { type AppHarness, expect, screenshotDir, test } from './harness.ts';

/** A DICOM date as the app shows it: the system locale's format (renderer/src/lib/format.ts formatDate). */
const shownDate = (da: string) =>
  new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }).format(
    new Date(Date.UTC(Number(da.slice(0, 4)), Number(da.slice(4, 6)) - 1, Number(da.slice(6, 8)))),
  );

mkdirSync(screenshotDir, { recursive: true });
const dicomDir = join(dataDir, 'dicom');
// Two CR chest images of one study (NEMA WG04 "THORAX": JPEG 2000 and JPEG-LS).
const thoraxFiles = ['RG1_J2KI', 'RG1_JLSN'].map((name) => join(dicomDir, 'dicom-test-files', name));
const hasData = existsSync(dataDir) && thoraxFiles.every((file) => existsSync(file));
const missingData = `shared test data not found at ${dataDir}`;

/** Dispatches drag events carrying File objects (made in the page, with these names) on `main`. */
async function dispatchDrag(page: Page, names: string[], types: string[]) {
  await page.evaluate(
    ({ names, types }) => {
      const transfer = new DataTransfer();
      for (const name of names) transfer.items.add(new File([], name));
      const target = document.querySelector('main')!;
      for (const type of types)
        target.dispatchEvent(
          new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }),
        );
    },
    { names, types },
  );
}

/** Drags files over the page and drops them. */
async function dropFiles(page: Page, names: string[]) {
  await dispatchDrag(page, names, ['dragenter', 'dragover', 'drop']);
}

/** What the browser-test bridge answers for a dropped File of this name (see harness.ts). */
async function mapDroppedFiles(page: Page, paths: string[]) {
  await page.evaluate(
    (entries) => {
      (window as unknown as { __r2cTestFilePaths: Record<string, string> }).__r2cTestFilePaths =
        Object.fromEntries(entries);
    },
    paths.map((path) => [basename(path), path]),
  );
}

function lastResponse(app: AppHarness, channel: string): Envelope<unknown> | undefined {
  const found = app.responses.filter((r) => r.channel === channel).at(-1);
  return found?.envelope;
}

test('drop two files to import them, then restore and classify both', async ({ page, app }) => {
  test.skip(!hasData, missingData);
  test.setTimeout(240_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await app.open(page);
  await expect(page.getByTestId('library-empty')).toBeVisible();

  await test.step('the bridge is the preload mirror: channels, onEvent and pathForFile', async () => {
    const keys = await page.evaluate(() => Object.keys((window as unknown as { r2c: object }).r2c).sort());
    expect(keys).toEqual([...channelNames, 'onEvent', 'pathForFile'].sort());
  });

  await test.step('a drop without file-system paths is refused with a clear message', async () => {
    const before = app.calls.length;
    await dropFiles(page, ['from-a-web-page.png']);
    await expect(page.getByTestId('drop-message')).toContainText('cannot be imported');
    await expect(page.getByTestId('drop-message')).toContainText('not files or folders on this workstation');
    expect(app.calls.slice(before).map((c) => c.channel)).not.toContain('importPaths');
    await page.screenshot({ path: join(screenshotDir, 'library-drop-refused.png') });
    await page.getByTestId('drop-message').getByRole('button', { name: 'Dismiss' }).click();
    await expect(page.getByTestId('drop-message')).toBeHidden();
  });

  await test.step('dragging files shows the drop zone; dropping imports them with progress', async () => {
    await mapDroppedFiles(page, thoraxFiles);
    await dispatchDrag(page, ['RG1_J2KI'], ['dragenter', 'dragover']);
    await expect(page.getByTestId('drop-overlay')).toBeVisible();
    await expect(page.getByTestId('drop-overlay')).toContainText('Drop files or folders to import them');
    await page.screenshot({ path: join(screenshotDir, 'library-drop-overlay.png') });
    await dispatchDrag(page, ['RG1_J2KI'], ['dragleave']);
    await expect(page.getByTestId('drop-overlay')).toBeHidden();

    // Two files from the file system and one item that has no path (skipped, and said so).
    await dropFiles(page, [...thoraxFiles.map((file) => basename(file)), 'from-a-web-page.png']);
    await expect(page.getByTestId('drop-overlay')).toBeHidden();
    await expect(page.getByTestId('import-summary')).toBeVisible({ timeout: 60_000 });
    // The dropped files' paths went into the usual import, as if typed.
    await expect(page.getByLabel('Paths')).toHaveValue(thoraxFiles.join('\n'));
    await expect(page.getByTestId('import-total')).toHaveText('2');
    await expect(page.getByTestId('import-added')).toHaveText('2');
    await expect(page.getByTestId('import-progress')).toHaveText('Done: 2 of 2 items');
    await expect(page.getByTestId('drop-message')).toContainText(
      "Skipped 1 dropped item that is not on this workstation's file system: from-a-web-page.png.",
    );
    const held = app.services.library.listInstances({ limit: 100 });
    expect(held).toHaveLength(2);
  });

  const detail = page.getByTestId('study-detail');
  const instances = detail.getByTestId('instance');
  await test.step('select both images of the study and restore + classify them', async () => {
    await page.getByTestId('study-table').locator('tbody tr').first().getByRole('button').click();
    await expect(instances).toHaveCount(2);
    const startButton = detail.getByRole('button', { name: /Restore and classify selected/ });
    await expect(startButton).toHaveText('Restore and classify selected (0)');
    await expect(startButton).toBeDisabled();
    await expect(detail.getByLabel('Model', { exact: true })).toHaveValue('r2c-q3');
    await detail
      .getByRole('checkbox', { name: /Select image/ })
      .first()
      .check();
    await expect(startButton).toHaveText('Restore and classify selected (1)');
    await detail.getByLabel(/Select all in study/).check();
    await expect(startButton).toHaveText('Restore and classify selected (2)');
    for (const status of await detail.getByTestId('instance-status').all())
      await expect(status).toHaveText('Not processed');
    await detail.getByLabel('Restoration passes').selectOption('2');
    await expect(detail).toContainText('Decision support, not a diagnosis');
    await startButton.click();
    await expect(detail.getByRole('progressbar', { name: 'Analysis progress' })).toBeVisible();
    await expect(detail.getByTestId('batch-progress')).toHaveText('Done: 2 of 2 images analysed', {
      timeout: 180_000,
    });
  });

  await test.step('the results shown are what the main process returned; statuses refreshed', async () => {
    const envelope = lastResponse(app, 'analyseImages') as Envelope<Output<'analyseImages'>>;
    expect(envelope.ok).toBe(true);
    const result = (envelope as { value: Output<'analyseImages'> }).value;
    expect(result.cancelled).toBe(false);
    expect(result.items).toHaveLength(2);
    for (const item of result.items) {
      expect(item.ok, JSON.stringify(item)).toBe(true);
      if (!item.ok) continue;
      expect(item.analysis.model.id).toBe('r2c-q3');
      expect(item.analysis.passes).toBe(2);
      const card = detail.locator(`[data-instance-id="${item.instanceId}"]`);
      const shown = card.getByTestId('instance-result');
      await expect(shown).toContainText(
        item.analysis.label === 'covid' ? 'Suggests COVID-19' : 'Suggests no COVID-19',
      );
      await expect(card.getByTestId('covid-probability')).toHaveText(
        `${(item.analysis.probabilities.covid * 100).toFixed(1)}%`,
      );
      await expect(shown).toContainText(`threshold ${(item.analysis.threshold * 100).toFixed(1)}%`);
      await expect(shown).toContainText('2 passes');
      await expect(card.getByTestId('instance-status')).toHaveText('Classified');
      expect(app.services.library.getInstance(item.instanceId).processingStatus).toBe('classified');
    }
    await detail.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'library-batch-results.png'), fullPage: true });
  });

  await test.step('running again reuses the stored analyses', async () => {
    await detail.getByRole('button', { name: /Restore and classify selected/ }).click();
    await expect(detail.getByTestId('batch-progress')).toHaveText('Done: 2 of 2 images analysed');
    await expect(detail.getByTestId('instance-result').first()).toContainText('stored result');
  });

  await test.step('after a reload, the stored results show again', async () => {
    const result = (lastResponse(app, 'analyseImages') as { value: Output<'analyseImages'> }).value;
    await page.reload();
    await page.getByTestId('study-table').locator('tbody tr').first().getByRole('button').click();
    await expect(instances).toHaveCount(2);
    for (const item of result.items) {
      if (!item.ok) continue;
      const card = detail.locator(`[data-instance-id="${item.instanceId}"]`);
      await expect(card.getByTestId('instance-status')).toHaveText('Classified');
      await expect(card.getByTestId('covid-probability')).toHaveText(
        `${(item.analysis.probabilities.covid * 100).toFixed(1)}%`,
      );
      await expect(card.getByTestId('instance-result')).toContainText('stored result from');
    }
  });

  await test.step('a dropped folder is imported like a typed one (searched recursively)', async () => {
    const folder = join(dicomDir, 'orthanc-tests');
    const inFolder = readdirSync(folder).length;
    await mapDroppedFiles(page, [folder]);
    await dropFiles(page, ['orthanc-tests']);
    await expect(page.getByLabel('Paths')).toHaveValue(folder);
    await expect(page.getByTestId('import-progress')).toHaveText(`Done: ${inFolder} of ${inFolder} items`, {
      timeout: 60_000,
    });
    await expect(page.getByTestId('import-added')).toHaveText(String(inFolder));
    await expect(page.getByTestId('drop-message')).toBeHidden();
    expect(app.services.library.listInstances({ limit: 100 })).toHaveLength(2 + inFolder);
  });

  expect(
    app.calls.filter((c) => !c.ok),
    'no call failed',
  ).toEqual([]);
  expect(consoleErrors, 'no console errors, CSP violations included').toEqual([]);

  await test.step('"Open in viewer" goes to the viewer with the image id', async () => {
    await page.getByLabel('Search').fill('thorax');
    await expect(page.getByTestId('study-table').locator('tbody tr')).toHaveCount(1);
    await page.getByTestId('study-table').locator('tbody tr').first().getByRole('button').click();
    const first = instances.first();
    const id = await first.getAttribute('data-instance-id');
    await first.getByRole('link', { name: 'Open in viewer' }).click();
    await expect(page).toHaveURL(new RegExp(`#/viewer\\?instance=${id}$`));
    await expect(
      page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Viewer' }),
    ).toHaveAttribute('aria-current', 'page');
  });
});

test('a batch can be cancelled; unfinished images stay unprocessed', async ({ page, app }) => {
  test.skip(!hasData, missingData);
  await app.services.library.importPaths(thoraxFiles, { mode: 'reference' });
  await app.open(page);
  await page.getByTestId('study-table').locator('tbody tr').first().getByRole('button').click();
  const detail = page.getByTestId('study-detail');
  await detail.getByLabel(/Select all in study/).check();
  // Three passes on two full-size radiographs take seconds; Cancel follows within milliseconds.
  await detail.getByLabel('Restoration passes').selectOption('3');
  await detail.getByRole('button', { name: 'Restore and classify selected (2)' }).click();
  await expect(detail.getByRole('progressbar', { name: 'Analysis progress' })).toBeVisible();
  await detail.getByRole('button', { name: 'Cancel' }).click();
  await expect(detail.getByTestId('batch-progress')).toContainText('Cancelled:');
  const envelope = lastResponse(app, 'analyseImages') as Envelope<Output<'analyseImages'>>;
  expect(envelope.ok).toBe(true);
  const result = (envelope as { value: Output<'analyseImages'> }).value;
  expect(result.cancelled).toBe(true);
  expect(result.items.length).toBeLessThan(2);
  await expect(detail.getByTestId('batch-progress')).toHaveText(
    `Cancelled: ${result.items.length} of 2 images finished`,
  );
  // What finished before Cancel is kept and shown; the rest is untouched.
  const finished = new Set(result.items.map((item) => item.instanceId));
  for (const instance of app.services.library.listInstances({ limit: 10 })) {
    const card = detail.locator(`[data-instance-id="${instance.id}"]`);
    const expected = finished.has(instance.id) ? 'Classified' : 'Not processed';
    await expect(card.getByTestId('instance-status')).toHaveText(expected);
    expect(instance.processingStatus).toBe(finished.has(instance.id) ? 'classified' : 'not_processed');
    await expect(card.getByTestId('instance-result')).toHaveCount(finished.has(instance.id) ? 1 : 0);
  }
  await expect(detail.getByRole('button', { name: 'Restore and classify selected (2)' })).toBeEnabled();
  await expect(detail.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  await page.screenshot({ path: join(screenshotDir, 'library-batch-cancelled.png'), fullPage: true });
  expect(app.calls).toContainEqual({ channel: 'cancelJob', ok: true });

  // Leaving the page while a batch runs cancels it (nothing would show its progress any more).
  const answered = app.responses.filter((r) => r.channel === 'analyseImages').length;
  await detail.getByRole('button', { name: 'Restore and classify selected (2)' }).click();
  await expect(detail.getByRole('button', { name: 'Cancel' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
  await expect
    .poll(() => app.responses.filter((r) => r.channel === 'analyseImages').length)
    .toBe(answered + 1);
  expect(lastResponse(app, 'analyseImages')).toMatchObject({ ok: true, value: { cancelled: true } });
  expect(app.calls.filter((c) => !c.ok)).toEqual([]);
});

test('date filters and paging narrow the studies table', async ({ page, app }) => {
  test.skip(!hasData, missingData);
  test.setTimeout(180_000);
  // 55 PNGs (each its own study, dated the day of import) and four dated DICOM studies.
  const pngDir = join(dataDir, 'cxr', 'normal');
  const pngs = readdirSync(pngDir)
    .filter((name) => name.startsWith('cxrdb_'))
    .slice(0, 55)
    .map((name) => join(pngDir, name));
  const dated = [
    'dicom-test-files/CT_small.dcm', // 2004-01-19
    'dicom-test-files/MR_small.dcm', // 2004-08-26
    'orthanc-tests/KarstenHilbertRF.dcm', // 2013-02-19
    'orthanc-tests/Monochrome1-Jpeg.dcm', // 2017-03-27
  ].map((file) => join(dicomDir, file));
  const summary = await app.services.library.importPaths([...pngs, ...dated], { mode: 'reference' });
  expect(summary.failed).toEqual([]);
  const all = app.services.library.listStudies({ limit: 1000 });
  expect(all.length).toBeGreaterThan(50);
  expect(all.length).toBeLessThanOrEqual(100);

  await app.open(page);
  const rows = page.getByTestId('study-table').locator('tbody tr');
  const count = page.getByTestId('study-count');
  const previous = page.getByRole('button', { name: 'Previous' });
  const next = page.getByRole('button', { name: 'Next' });

  await test.step('the first page holds 50 studies; Next shows the rest', async () => {
    await expect(rows).toHaveCount(50);
    await expect(count).toHaveText('studies 1–50');
    await expect(previous).toBeDisabled();
    await expect(next).toBeEnabled();
    await next.click();
    await expect(count).toHaveText(`studies 51–${all.length}`);
    await expect(rows).toHaveCount(all.length - 50);
    await expect(next).toBeDisabled();
    // Newest first: the dated DICOM studies are on the last page, in the order the library gives.
    const lastPage = all.slice(50);
    for (const [index, study] of lastPage.entries()) {
      await expect(rows.nth(index)).toContainText(shownDate(study.studyDate!));
    }
    await page.getByTestId('study-count').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'library-paging.png') });
    await previous.click();
    await expect(count).toHaveText('studies 1–50');
  });

  await test.step('date filters narrow the table and start again at the first page', async () => {
    await next.click();
    await expect(count).toHaveText(`studies 51–${all.length}`);
    await page.getByLabel('Date to').fill('2015-12-31');
    const upTo2015 = app.services.library.listStudies({ dateTo: '2015-12-31' });
    expect(upTo2015.length).toBe(3);
    await expect(count).toHaveText('studies 1–3');
    await expect(rows).toHaveCount(3);
    await expect(next).toBeDisabled();
    await page.getByLabel('Date from').fill('2004-08-01');
    const between = app.services.library.listStudies({ dateFrom: '2004-08-01', dateTo: '2015-12-31' });
    expect(between.length).toBe(2);
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toContainText(shownDate('20130219'));
    await expect(rows.nth(1)).toContainText(shownDate('20040826'));
    await page.getByLabel('Search').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'library-date-filter.png') });
    await page.getByLabel('Date from').fill('2016-01-01');
    await expect(page.getByTestId('dates-reversed')).toBeVisible();
    await expect(page.getByTestId('no-match')).toBeVisible();
    await page.getByLabel('Date from').fill('');
    await page.getByLabel('Date to').fill('');
    await expect(count).toHaveText('studies 1–50');
  });
});
