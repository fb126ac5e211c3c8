// The Settings page: the effective settings and which come from the admin's policy file, the user's
// retention period, deleting from the Library page (audited in the activity log), and the log
// viewed and exported without patient data.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const realDir = join(repoRoot, '..', 'shared', 'data', 'dicom', 'dicom-test-files');
const policyDir = mkdtempSync(join(tmpdir(), 'r2c-e2e-policy-'));
const policyPath = join(policyDir, 'policy.json');
let previous: string | undefined;

// The harness builds the services in this process: the policy is found through $R2C_POLICY_FILE
// (honoured because this machine has no /etc/r2c-workstation/policy.json).
test.beforeAll(() => {
  previous = process.env['R2C_POLICY_FILE'];
  process.env['R2C_POLICY_FILE'] = policyPath;
});
test.afterAll(() => {
  if (previous === undefined) delete process.env['R2C_POLICY_FILE'];
  else process.env['R2C_POLICY_FILE'] = previous;
  rmSync(policyDir, { recursive: true, force: true });
});

test('without a policy: retention is the user’s to set; a study deleted in the Library is audited in the log', async ({
  page,
  app,
}) => {
  test.skip(!existsSync(realDir), `shared test data not found at ${realDir}`);
  test.setTimeout(120_000);
  rmSync(policyPath, { force: true });
  const files = ['CT_small.dcm', 'MR_small.dcm', 'JPEG2000.dcm'].map((f) => join(realDir, f));
  const summary = await app.services.library.importPaths(files);
  expect(summary.added).toBe(3);
  const secrets = app.services.library
    .listStudies()
    .flatMap((s) => [s.patient.patientName, s.patient.patientId])
    .filter((v): v is string => typeof v === 'string' && v.length >= 3);
  expect(secrets.length).toBeGreaterThan(0);

  await app.open(page, '#/settings');
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await expect(page.getByTestId('policy-file')).toContainText('No administrator');
  await expect(page.getByTestId('setting-dataDir')).toContainText(app.dataDir);
  await expect(page.getByTestId('setting-retentionDays').getByTestId('source')).toHaveText('Default');
  await page.getByTestId('retention-days').fill('30');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('setting-retentionDays')).toContainText('30 days after import');
  await expect(page.getByTestId('setting-retentionDays').getByTestId('source')).toHaveText('Your setting');
  expect(JSON.parse(readFileSync(join(app.dataDir, 'settings.json'), 'utf8'))).toEqual({ retentionDays: 30 });
  await page.getByTestId('retention-preview').click();
  await expect(page.getByTestId('retention-result')).toContainText('0 images imported before');

  // Delete a study from the Library page: two steps, then it is gone with its files.
  await app.open(page, '#/library');
  const rows = page.getByTestId('study-table').locator('tbody tr');
  await expect(rows).toHaveCount(app.services.library.listStudies().length);
  const before = await rows.count();
  expect(before).toBeGreaterThan(1);
  await rows.first().getByRole('button').click();
  await page.getByTestId('delete-study').click();
  await expect(page.getByTestId('confirm-delete')).toContainText('cannot be undone');
  await page.screenshot({ path: join(screenshotDir, 'library-delete.png') });
  await page.getByTestId('confirm-delete-button').click();
  await expect(rows).toHaveCount(before - 1);
  expect(app.calls.filter((c) => c.channel === 'deleteFromLibrary')).toEqual([
    { channel: 'deleteFromLibrary', ok: true },
  ]);

  await app.open(page, '#/settings');
  const entries = page.getByTestId('log-entry');
  await expect(entries.filter({ hasText: 'library.delete' })).toHaveCount(1);
  await expect(entries.filter({ hasText: 'import' }).first()).toBeVisible();
  await page.getByTestId('log-level').selectOption('error');
  await expect(page.getByTestId('log-empty')).toBeVisible();
  await page.getByTestId('log-level').selectOption('');

  const download = page.waitForEvent('download');
  await page.getByTestId('export-log').click();
  const file = await (await download).path();
  const exported = readFileSync(file, 'utf8');
  const events = exported
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).event as string);
  expect(events).toEqual(expect.arrayContaining(['import', 'settings', 'library.delete']));
  for (const secret of secrets) expect(exported, `the exported log holds '${secret}'`).not.toContain(secret);
  await expect(page.getByTestId('export-message')).toContainText('log lines exported');
});

test('with a policy file: its values are shown as set by policy and cannot be changed', async ({
  page: first,
  app,
}) => {
  writeFileSync(
    policyPath,
    JSON.stringify({
      retentionDays: 365,
      fineTuningAllowed: false,
      requireSignedPackages: true,
      activeModel: 'r2c-q3',
    }),
  );
  // The harness read the (absent) policy when it built its services: a second set of services on the
  // same data folder reads it now, bound to a second page.
  const { createServices } = await import('../../main/app/services.ts');
  const { threadTransport } = await import('../../main/app/jobs.ts');
  const { createHandlers } = await import('../../main/ipc/handlers.ts');
  const { installBridge } = await import('./bridge.ts');
  const services = createServices({
    dataDir: app.dataDir,
    modelsDir: join(repoRoot, 'models', 'shipped'),
    workerTransport: threadTransport,
  });
  const page = await first.context().newPage();
  try {
    await installBridge(page, createHandlers(services), () => {});
    await app.open(page, '#/settings');
    await expect(page.getByTestId('policy-file')).toContainText(policyPath);
    for (const key of ['retentionDays', 'fineTuningAllowed', 'requireSignedPackages', 'activeModel'])
      await expect(page.getByTestId(`setting-${key}`).getByTestId('source')).toHaveText('Set by policy');
    await expect(page.getByTestId('setting-dataDir').getByTestId('source')).not.toHaveText('Set by policy');
    await expect(page.getByTestId('setting-retentionDays')).toContainText('365 days after import');
    await expect(page.getByTestId('setting-fineTuningAllowed')).toContainText('Not allowed');
    await expect(page.getByTestId('setting-activeModel')).toContainText('r2c-q3');
    await expect(page.getByTestId('retention-days')).toBeDisabled();
    await expect(page.getByText("The retention period is set by the administrator's policy.")).toBeVisible();
    services.log.info('import', { mode: 'copy', total: 3, added: 3 });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(page.getByTestId('log-entry').first()).toBeVisible();
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.screenshot({ path: join(screenshotDir, 'settings.png') });
  } finally {
    await page.close();
    await services.close();
  }
});
