// The Library page against the real handler table: import the shared DICOM tree through the UI,
// then search, filter and open studies down to their thumbnails. The import runs once (one test in
// steps) because it is the slow part on a small CI machine.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from '@playwright/test';
import sharp from 'sharp';
import type { Envelope, Output } from '../../main/contract/types.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const dicomDir = join(repoRoot, '..', 'shared', 'data', 'dicom');

function countFiles(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, entry) => sum + (entry.isDirectory() ? countFiles(join(dir, entry.name)) : 1),
    0,
  );
}

/** Spread of gray values of a PNG; a blank (uniform) image has 0. */
async function grayStdev(png: Buffer): Promise<number> {
  const stats = await sharp(png).greyscale().stats();
  return stats.channels[0]!.stdev;
}

async function expectRealThumbnail(image: Locator): Promise<void> {
  await expect(image).toBeVisible();
  const natural = await image.evaluate((img: HTMLImageElement) => ({
    width: img.naturalWidth,
    height: img.naturalHeight,
    complete: img.complete,
  }));
  expect(natural.complete, 'the image has loaded').toBe(true);
  expect(Math.max(natural.width, natural.height), 'scaled to the requested size').toBe(256);
  const src = (await image.getAttribute('src')) ?? '';
  expect(src).toMatch(/^data:image\/png;base64,/);
  const decoded = await grayStdev(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64'));
  expect(decoded, 'the thumbnail has image content').toBeGreaterThan(15);
  const onScreen = await grayStdev(await image.screenshot());
  expect(onScreen, 'the thumbnail shows on screen').toBeGreaterThan(15);
}

test('import the shared DICOM tree, then find and open studies', async ({ page, app }) => {
  test.skip(!existsSync(dicomDir), `shared test data not found at ${dicomDir}`);
  test.setTimeout(180_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await app.open(page);
  await expect(page.getByTestId('library-empty')).toBeVisible();

  await test.step('import through the UI with progress and a summary', async () => {
    await page.getByLabel('Paths').fill(`${dicomDir}\n`);
    await expect(page.getByLabel('Copy into the library')).toBeChecked();
    await page.getByRole('button', { name: 'Import' }).click();
    await expect(page.getByRole('progressbar', { name: 'Import progress' })).toBeVisible();
    const summary = page.getByTestId('import-summary');
    await expect(summary).toBeVisible({ timeout: 120_000 });
    const response = app.responses.find((r) => r.channel === 'importPaths')?.envelope as
      | Envelope<Output<'importPaths'>>
      | undefined;
    expect(response?.ok, 'the import succeeded').toBe(true);
    const result = (response as { value: Output<'importPaths'> }).value;
    // The UI shows what the main process answered ...
    await expect(page.getByTestId('import-total')).toHaveText(String(result.total));
    await expect(page.getByTestId('import-added')).toHaveText(String(result.added));
    await expect(page.getByTestId('import-duplicates')).toHaveText(String(result.duplicates));
    await expect(page.getByTestId('import-failed')).toHaveText(String(result.failed.length));
    // ... the progress bar got there through the job's progress events ...
    await expect(page.getByTestId('import-progress')).toHaveText(
      `Done: ${result.total} of ${result.total} items`,
    );
    // ... and that is what is on disk and in the library.
    expect(result.total).toBe(countFiles(dicomDir));
    const held = app.services.library.listInstances({ limit: 100000 }).length;
    expect(result.added).toBe(held);
    expect(result.added + result.duplicates + result.failed.length).toBe(result.total);
    expect(result.failed.length).toBeGreaterThanOrEqual(10);
    const failures = page.getByTestId('import-failures').locator('tbody tr');
    await expect(failures).toHaveCount(result.failed.length);
    await expect(failures.filter({ hasText: 'MR_truncated.dcm' })).toContainText('truncated');
    await expect(failures.filter({ hasText: 'badVR.dcm' })).toContainText('Number of Frames');
    await expect(page.getByTestId('library-empty')).toBeHidden();
    await page.screenshot({ path: join(screenshotDir, 'library-imported.png'), fullPage: true });
  });

  const rows = page.getByTestId('study-table').locator('tbody tr');
  await test.step('the studies table lists every study; search and modality narrow it', async () => {
    const all = app.services.library.listStudies();
    await expect(rows).toHaveCount(all.length);
    await expect(page.getByTestId('study-count')).toHaveText(`studies 1–${all.length}`);
    await page.getByLabel('Search').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'library-studies.png') });
    await page.getByLabel('Search').fill('chest');
    const chest = app.services.library.listStudies({ search: 'chest' });
    expect(chest.length).toBeGreaterThan(0);
    expect(chest.length).toBeLessThan(all.length);
    await expect(rows).toHaveCount(chest.length);
    for (const row of await rows.all()) await expect(row).toContainText(/chest/i);
    await page.getByLabel('Search').fill('no such patient anywhere');
    await expect(page.getByTestId('no-match')).toBeVisible();
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Modality').selectOption('DX');
    const dx = app.services.library.listStudies({ modality: 'DX' });
    await expect(rows).toHaveCount(dx.length);
    for (const row of await rows.all()) await expect(row).toContainText('DX');
    await page.getByLabel('Modality').selectOption('');
    await expect(rows).toHaveCount(all.length);
  });

  const detail = page.getByTestId('study-detail');
  await test.step('a chest CR study shows its series and images with thumbnails', async () => {
    await page.getByLabel('Search').fill('thorax');
    await expect(rows).toHaveCount(1);
    await rows.first().getByRole('button').click();
    await expect(detail.getByRole('heading', { name: 'THORAX' })).toBeVisible();
    const instances = detail.getByTestId('instance');
    await expect(instances).toHaveCount(2);
    for (const instance of await instances.all()) {
      await expect(instance).toContainText('MONOCHROME1');
      await expect(instance).toContainText('Yes');
      await expectRealThumbnail(instance.getByTestId('thumbnail'));
    }
    await expect(detail).toContainText('JPEG 2000');
    await expect(detail).toContainText('JPEG-LS');
    await expect(detail.getByTestId('instance-size').first()).toContainText(/\d+ × \d+/);
    await page.screenshot({ path: join(screenshotDir, 'library-study.png'), fullPage: true });
  });

  await test.step('the NIH chest radiograph shows with its facts', async () => {
    await page.getByLabel('Search').fill('No Finding');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Covid0000');
    await rows.first().getByRole('button').click();
    await expect(detail.getByRole('heading', { name: 'No Finding' })).toBeVisible();
    const instance = detail.getByTestId('instance');
    await expect(instance).toHaveCount(1);
    await expect(instance.getByTestId('instance-size')).toHaveText('1024 × 1024');
    await expect(instance).toContainText('MONOCHROME2');
    await expect(instance).toContainText('Implicit');
    await expect(instance).toContainText('Not processed');
    await expectRealThumbnail(instance.getByTestId('thumbnail'));
  });

  await test.step('an image without pixel data says why instead of a thumbnail', async () => {
    await page.getByLabel('Search').fill('chest');
    await page.getByLabel('Modality').selectOption('CR');
    const crChest = app.services.library.listStudies({ search: 'chest', modality: 'CR' });
    await expect(rows).toHaveCount(crChest.length);
    await rows.first().getByRole('button').click();
    const reason = detail.getByTestId('undecodable-reason');
    await expect(reason).toContainText('no Pixel Data');
    await expect(detail.getByTestId('thumbnail')).toHaveCount(0);
    await page.screenshot({ path: join(screenshotDir, 'library-undecodable.png'), fullPage: true });
  });

  expect(
    app.calls.filter((c) => !c.ok),
    'no call failed',
  ).toEqual([]);
  expect(consoleErrors, 'no console errors, CSP violations included').toEqual([]);
});

test('an import can be cancelled from the panel; nothing half-imported is left', async ({ page, app }) => {
  test.skip(!existsSync(dicomDir), `shared test data not found at ${dicomDir}`);
  // Keep the one job worker busy with a long fingerprint job, so the import is still queued when
  // Cancel is clicked: the outcome does not depend on how fast this machine is.
  const big = join(app.dataDir, 'big.bin');
  writeFileSync(big, Buffer.alloc(64 << 20, 1));
  await app.open(page);
  const blocker = page.evaluate(
    (paths) =>
      (window as unknown as { r2c: { hashFiles: (p: unknown) => Promise<unknown> } }).r2c.hashFiles({
        jobId: 'e2e-blocker-01',
        paths,
      }),
    Array.from({ length: 100 }, () => big),
  );
  await page.getByLabel('Paths').fill(dicomDir);
  await page.getByLabel('Reference in place').check();
  await page.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByRole('progressbar', { name: 'Import progress' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('import-cancelled')).toBeVisible();
  await expect(page.getByTestId('import-added')).toHaveText('0');
  await expect(page.getByTestId('import-progress')).toContainText('Stopped at');
  expect(app.services.library.listStudies()).toEqual([]);
  await expect(page.getByTestId('library-empty')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Import' })).toBeEnabled();
  await page.screenshot({ path: join(screenshotDir, 'library-cancelled.png') });
  await page.evaluate(() =>
    (window as unknown as { r2c: { cancelJob: (p: unknown) => Promise<unknown> } }).r2c.cancelJob({
      jobId: 'e2e-blocker-01',
    }),
  );
  expect(await blocker).toMatchObject({ ok: false, error: { code: 'cancelled' } });
  expect(app.calls).toContainEqual({ channel: 'cancelJob', ok: true });
});
