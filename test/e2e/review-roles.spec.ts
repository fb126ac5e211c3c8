// Roles on the Review page: the owner sets a passphrase; a reader who finished sees no results and no
// audit trail, not even from the study list, until the owner closes the study; the owner sees them
// with the passphrase before that. Readers sign in with their own secret (shown once at set-up or
// when the owner adds them): a wrong secret, or another reader's, is refused. Also the case picker
// (thumbnails, filters, ground truth) and the PDF study report.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const cxrDir = join(repoRoot, '..', 'shared', 'data', 'cxr');
const ownerPassphrase = 'department owner';

const pngs = (folder: string, count: number) =>
  readdirSync(join(cxrDir, folder))
    .filter((name) => name.endsWith('.png'))
    .sort()
    .slice(0, count)
    .map((name) => join(cxrDir, folder, name));

test('a reader cannot see results or the audit trail before the owner closes the study', async ({
  page,
  app,
}) => {
  test.skip(!existsSync(cxrDir), `shared chest radiographs not found at ${cxrDir}`);
  test.setTimeout(240_000);
  const imported = await app.services.library.importPaths([...pngs('covid', 1), ...pngs('normal', 1)], {
    mode: 'copy',
  });
  expect(imported.added).toBe(2);

  await app.open(page, '#/review');

  await test.step('the owner sets up a study: thumbnails, ground truth from the library, a passphrase', async () => {
    await page.getByRole('button', { name: 'New study' }).click();
    await page.getByLabel('Study name').fill('Department study');
    await page.getByLabel('Reader name').fill('Dr Reader');
    const picker = page.getByTestId('image-picker');
    await expect(picker.getByRole('checkbox')).toHaveCount(2);
    await expect(picker.getByTestId('case-thumb').locator('img')).toHaveCount(2);
    const truths = picker.getByRole('combobox');
    await expect(truths.nth(0)).toHaveValue('covid');
    await expect(truths.nth(1)).toHaveValue('normal');
    await page.getByTestId('picker-filters').getByLabel('Label').selectOption('covid');
    await expect(picker.getByRole('checkbox')).toHaveCount(1);
    await page.getByTestId('picker-filters').getByLabel('Label').selectOption('');
    for (const box of await picker.getByRole('checkbox').all()) await box.check();
    await expect(page.getByRole('button', { name: 'Create study' })).toBeDisabled();
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    await page.getByTestId('image-picker').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'review-case-picker.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create study' }).click();
  });

  let readerSecret = '';
  await test.step('the reader secret is shown once, then the reader reads both cases', async () => {
    const shown = page.getByTestId('reader-secret');
    await expect(shown).toContainText('Reader secret of Dr Reader');
    readerSecret = (await shown.locator('code').textContent())!.trim();
    expect(readerSecret).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    await page.screenshot({ path: join(screenshotDir, 'review-reader-secret.png'), fullPage: true });
    await shown.getByRole('button', { name: 'Done' }).click();
    for (let k = 1; k <= 2; k++) {
      await expect(page.getByTestId('case-progress')).toHaveText(`Case ${k} of 2`);
      await expect(page.getByTestId('review-image')).toHaveCount(2, { timeout: 90_000 });
      await page.keyboard.press('4');
      await page.keyboard.press('y');
      await page.keyboard.press('Tab');
      await page.keyboard.press('3');
      await page.keyboard.press('y');
      await page.keyboard.press('ArrowLeft');
      await expect(page.getByTestId('next-case')).toBeEnabled();
      await page.keyboard.press('Enter');
    }
  });

  await test.step('finished: no results for the reader, neither after reading nor from the list', async () => {
    await expect(page.getByTestId('results-hidden')).toBeVisible();
    await expect(page.getByTestId('results-view')).toHaveCount(0);
    await expect(page.getByTestId('audit-trail')).toHaveCount(0);
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByTestId('review-studies').getByRole('button', { name: 'Results' }).click();
    await expect(page.getByTestId('results-hidden')).toContainText(
      'hidden until the study owner closes the study',
    );
    await expect(page.getByTestId('audit-trail')).toHaveCount(0);
    await page.screenshot({ path: join(screenshotDir, 'review-results-hidden.png'), fullPage: true });
  });

  await test.step('a wrong passphrase is refused; the owner sees results and closes the study', async () => {
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByLabel('Owner passphrase').fill('not the owner');
    await page.getByTestId('review-studies').getByRole('button', { name: 'Owner' }).click();
    await expect(page.getByTestId('review-problem')).toContainText('passphrase is wrong');
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    await page.getByTestId('review-studies').getByRole('button', { name: 'Owner' }).click();
    await expect(page.getByTestId('owner-panel')).toContainText('2 of 2');
    await expect(page.getByTestId('results-view')).toBeVisible();
    await page.screenshot({ path: join(screenshotDir, 'review-owner.png'), fullPage: true });
    // The owner adds a second reader: a generated secret, shown once.
    await page.getByLabel('Add reader').fill('Dr Two');
    await page.getByRole('button', { name: 'Add reader' }).click();
    await expect(page.getByTestId('owner-message')).toContainText('Dr Two added. Reader secret:');
    const message = (await page.getByTestId('owner-message').textContent())!;
    const twoSecret = /Reader secret: ([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})/.exec(message)![1]!;
    await page.getByRole('button', { name: 'All reader studies' }).click();
    const studies = page.getByTestId('review-studies');
    // Nobody reads as Dr Two with Dr Reader's secret, or without a secret, or under a name not enrolled.
    await page.getByLabel('Reader name').fill('Dr Two');
    await page.getByLabel('Reader secret').fill(readerSecret);
    await studies.getByRole('button', { name: 'Read' }).click();
    await expect(page.getByTestId('review-problem')).toContainText('reader secret is wrong');
    await page.getByLabel('Reader name').fill('Dr Nobody');
    await studies.getByRole('button', { name: 'Read' }).click();
    await expect(page.getByTestId('review-problem')).toContainText('not a reader of this study');
    await page.screenshot({ path: join(screenshotDir, 'review-reader-refused.png'), fullPage: true });
    // With their own secret Dr Two reads.
    await page.getByLabel('Reader name').fill('Dr Two');
    await page.getByLabel('Reader secret').fill(twoSecret);
    await studies.getByRole('button', { name: 'Read' }).click();
    await expect(page.getByTestId('case-progress')).toHaveText('Case 1 of 2');
    const audit = app.services.review.auditTrail(app.services.review.listStudies()[0]!.id, {
      ownerPassphrase,
    });
    expect(audit.filter((e) => e.action === 'reader_refused').length).toBeGreaterThanOrEqual(1);
    expect(audit.some((e) => e.action === 'reader_signed_in' && e.reader === 'Dr Two')).toBe(true);
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    await page.getByTestId('review-studies').getByRole('button', { name: 'Owner' }).click();
    await page.getByRole('button', { name: 'Close the study' }).click();
    await expect(page.getByTestId('study-closed')).toBeVisible();
  });

  await test.step('closed: every reader sees results and the audit trail', async () => {
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByLabel('Owner passphrase').fill('');
    await expect(page.getByTestId('study-status')).toHaveText('closed');
    await page.getByTestId('review-studies').getByRole('button', { name: 'Results' }).click();
    await expect(page.getByTestId('results-view')).toBeVisible();
    await expect(page.getByTestId('audit-trail')).toContainText('study closed');
    const csv = app.services.review.exportCsv(app.services.review.listStudies()[0]!.id);
    expect(csv).toMatch(/,covid,/);
    expect(csv).toMatch(/,normal,/);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Study report (PDF)' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('Department-study-report.pdf');
    const pdf = readFileSync((await file.path())!);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(5000);
  });
});
