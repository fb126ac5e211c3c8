import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });

test('the app loads with the status bar filled from the main process', async ({ page, app }) => {
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await app.open(page);
  await expect(page.getByRole('heading', { name: 'Library' })).toBeVisible();
  await expect(page.getByTestId('app-version')).toHaveText(
    `R2C Workstation ${app.services.identity.version}`,
  );
  const card = JSON.parse(readFileSync(join(repoRoot, 'models/shipped/r2c-q3.model.json'), 'utf8'));
  await expect(page.getByTestId('active-model')).toHaveText(`Model: ${card.id} ${card.version}`);
  // The default model is loaded in the job worker; CPU is what this machine has.
  await expect(page.getByTestId('execution-provider')).toHaveText('Execution provider: cpu');
  expect(app.calls).toContainEqual({ channel: 'getAppInfo', ok: true });
  await page.screenshot({ path: join(screenshotDir, 'library.png') });
  expect(consoleErrors, 'no console errors, CSP violations included').toEqual([]);
});

test('navigation reaches every page, by link and by keyboard', async ({ page, app }) => {
  await app.open(page);
  for (const [name, id] of [
    ['Viewer', 'viewer'],
    ['Review', 'review'],
    ['Models', 'models'],
    ['Library', 'library'],
  ] as const) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
    await expect(page).toHaveURL(new RegExp(`#/${id}$`));
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    // The shipped models fill the Models page; the other pages start empty.
    await expect(page.getByTestId(id === 'models' ? 'model-card' : `${id}-empty`)).toBeVisible();
    await page.screenshot({ path: join(screenshotDir, `${id}.png`) });
  }
  await page.keyboard.press('Alt+4');
  await expect(page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('heading', { level: 1, name: 'Library' })).toBeVisible();
});

test('a contract call round-trips through a worker job with the real handler table', async ({
  page,
  app,
}) => {
  const file = join(app.dataDir, 'sample.bin');
  const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
  writeFileSync(file, bytes);
  const missing = join(app.dataDir, 'missing.dcm');
  await app.open(page);
  // The page has no fingerprint UI; the bridge is called as the renderer would.
  const envelope = await page.evaluate(
    (paths) =>
      (window as unknown as { r2c: { hashFiles: (p: unknown) => Promise<unknown> } }).r2c.hashFiles({
        jobId: 'e2e-hash-0001',
        paths,
      }),
    [file, missing],
  );
  expect(envelope).toEqual({
    ok: true,
    value: {
      files: [
        { path: file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
        { path: missing, error: 'not a readable file' },
      ],
    },
  });
  expect(app.calls).toContainEqual({ channel: 'hashFiles', ok: true });
});

test('an invalid payload is refused by the main process and shown to the user', async ({ page, app }) => {
  await app.open(page);
  // An empty list violates the contract (at least one path): the renderer sends it as typed.
  await page.getByRole('button', { name: 'Import' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Invalid request');
  await expect(alert).toContainText('invalid payload for importPaths: paths:');
  expect(app.calls).toContainEqual({ channel: 'importPaths', ok: false });
  await expect(page.getByRole('button', { name: 'Import' })).toBeEnabled();
  await expect(page.getByTestId('import-summary')).toHaveCount(0);
  // A hand-made call with the wrong types gets a typed error back, and the app keeps working.
  const envelope = await page.evaluate(() =>
    (window as unknown as { r2c: { hashFiles: (p: unknown) => Promise<unknown> } }).r2c.hashFiles({
      paths: 5,
    }),
  );
  expect(envelope).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  await expect(page.getByTestId('app-version')).toBeVisible();
  await page.screenshot({ path: join(screenshotDir, 'invalid-payload.png') });
});
