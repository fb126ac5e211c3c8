// The Models page: every installed model with its card as the main process reads it (shipped
// models, a local model whose file was altered, a card that cannot be read), switching between
// cards, and the file check against the card's SHA-256.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localModelsDir } from '../../main/app/paths.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const shippedDir = join(repoRoot, 'models', 'shipped');
type Card = {
  id: string;
  version: string;
  file: string;
  intendedUse: string;
  limitations: string[];
  metrics: { f1: Record<string, number>; auc: Record<string, number> };
};
const shippedCount = readdirSync(shippedDir).filter((name) => name.endsWith('.model.json')).length;
const cardOf = (id: string) => JSON.parse(readFileSync(join(shippedDir, `${id}.model.json`), 'utf8')) as Card;

/** A local copy of the compact model whose file has one byte changed, and a card that is not JSON. */
function installDamagedLocalModels(dataDir: string): void {
  const dir = localModelsDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const card = cardOf('r2c-compact');
  const bytes = readFileSync(join(shippedDir, card.file));
  bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0x01;
  writeFileSync(join(dir, 'altered.onnx'), bytes);
  writeFileSync(
    join(dir, 'altered.model.json'),
    JSON.stringify({
      ...card,
      id: 'altered',
      name: 'Altered local copy',
      file: 'altered.onnx',
      default: false,
    }),
  );
  writeFileSync(join(dir, 'half-written.model.json'), '{ "format": "r2c-model-card/1", "id": ');
  copyFileSync(join(shippedDir, card.file), join(dir, 'unused.onnx'));
}

test('the Models page shows each model card and checks files against their cards', async ({ page, app }) => {
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  installDamagedLocalModels(app.dataDir);
  await app.open(page, '#/models');
  await expect(page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
  const rows = page.getByTestId('model-row');
  await expect(rows).toHaveCount(shippedCount + 1);
  await expect(rows.nth(0)).toHaveAttribute('data-model-id', 'r2c-compact');
  await expect(page.getByTestId('model-problems')).toContainText('half-written.model.json');

  // The default model's card is open first; its numbers are the card's.
  const q3 = cardOf('r2c-q3');
  const card = page.getByTestId('model-card');
  await expect(card.getByRole('heading', { level: 2 })).toContainText(`r2c-q3 ${q3.version}`);
  await expect(rows.filter({ hasText: 'active' })).toHaveAttribute('data-model-id', 'r2c-q3');
  await expect(card.getByTestId('intended-use')).toContainText(q3.intendedUse);
  const metrics = card.getByTestId('model-metrics');
  for (const condition of ['clean', 'degraded', 'restored'])
    await expect(
      metrics.getByRole('row', { name: new RegExp(`^${condition}`) }).getByRole('cell'),
    ).toHaveText([q3.metrics.f1[condition]!.toFixed(3), q3.metrics.auc[condition]!.toFixed(3)]);
  await expect(card.getByTestId('model-limitations').getByRole('listitem')).toHaveCount(
    q3.limitations.length,
  );
  await page.screenshot({ path: join(screenshotDir, 'models-list.png') });
  await card.getByRole('button', { name: 'Check file against card' }).click();
  await expect(card.getByTestId('verify-result')).toContainText('SHA-256 matches the model card');
  await page.screenshot({ path: join(screenshotDir, 'models.png'), fullPage: true });

  // Another model's card, then the altered local copy: the check names the mismatch.
  await rows.nth(0).getByRole('button').click();
  await expect(card.getByRole('heading', { level: 2 })).toContainText('r2c-compact');
  await expect(card.getByTestId('verify-result')).toHaveCount(0);
  await page.getByRole('button', { name: 'Altered local copy' }).click();
  await expect(page.getByRole('row', { name: /Altered local copy/ })).toContainText(
    'installed on this workstation',
  );
  await card.getByRole('button', { name: 'Check file against card' }).click();
  await expect(card.getByTestId('verify-result')).toContainText(
    /✗ model file altered\.onnx does not match its model card/,
  );
  await page.screenshot({ path: join(screenshotDir, 'models-altered.png'), fullPage: true });
  expect(app.calls.filter((c) => c.channel === 'verifyModel')).toEqual([
    { channel: 'verifyModel', ok: true },
    { channel: 'verifyModel', ok: true },
  ]);
  expect(consoleErrors, 'no console errors, CSP violations included').toEqual([]);
});

test('fine-tuning from the Models page: stop keeps a checkpoint, a finished run is installed unevaluated', async ({
  page,
  app,
}) => {
  test.setTimeout(480_000);
  const cxr = join(repoRoot, '..', 'shared', 'data', 'cxr');
  test.skip(!existsSync(cxr), `shared chest X-rays not found at ${cxr}`);
  const images = join(app.dataDir, 'ward-images');
  for (const label of ['covid', 'normal']) {
    mkdirSync(join(images, label), { recursive: true });
    for (const name of readdirSync(join(cxr, label)).sort().slice(0, 4))
      copyFileSync(join(cxr, label, name), join(images, label, name));
  }
  await app.open(page, '#/models');
  const panel = page.getByTestId('fine-tune');
  await panel.getByLabel('Start from').selectOption('r2c-compact');
  await panel.getByLabel('Name of the new model').fill('E2E ward');
  await panel.getByLabel('Images to fine-tune on').fill('ward-images');
  await expect(panel.getByText('Give the full path.')).toBeVisible();
  await expect(panel.getByRole('button', { name: 'Start fine-tuning' })).toBeDisabled();
  await panel.getByLabel('Images to fine-tune on').fill(images);
  await panel.getByLabel('Steps', { exact: true }).fill('2000');
  await panel.getByRole('button', { name: 'Start fine-tuning' }).click();
  await expect(panel.getByTestId('fine-tune-progress')).toContainText(/step [1-9]\d* of 2000, loss/, {
    timeout: 120_000,
  });
  await page.screenshot({ path: join(screenshotDir, 'models-fine-tune-running.png'), fullPage: true });
  await panel.getByRole('button', { name: 'Stop and keep a checkpoint' }).click();
  await expect(panel.getByTestId('fine-tune-progress')).toContainText(
    /Stopped at step \d+ of 2000\. Start again with the same name to resume\./,
    { timeout: 60_000 },
  );
  await expect(page.getByTestId('model-row')).toHaveCount(shippedCount, { timeout: 1000 });

  // A short run under another name finishes and is installed, selected, and marked not evaluated.
  await panel.getByLabel('Name of the new model').fill('E2E short');
  await panel.getByLabel('Steps', { exact: true }).fill('4');
  await panel.getByRole('button', { name: 'Start fine-tuning' }).click();
  await expect(panel.getByTestId('fine-tune-progress')).toContainText(
    'Finished 4 steps: installed as local-e2e-short, not evaluated.',
    { timeout: 120_000 },
  );
  const row = page.getByRole('row', { name: /E2E short/ });
  await expect(row).toContainText('installed on this workstation');
  const card = page.getByTestId('model-card');
  await expect(card.getByRole('heading', { level: 2 })).toContainText('local-e2e-short draft-step-4');
  await expect(card.getByTestId('not-evaluated')).toBeVisible();
  await card.getByRole('button', { name: 'Check file against card' }).click();
  await expect(card.getByTestId('verify-result')).toContainText('SHA-256 matches the model card');
  await page.screenshot({ path: join(screenshotDir, 'models-fine-tuned.png'), fullPage: true });

  // Evaluating the new model on the same images writes the results into its card.
  const evaluate = card.getByTestId('evaluate');
  await evaluate.getByLabel('Labelled images to evaluate on').fill(images);
  await evaluate.getByLabel(/Only the held-out part/).uncheck();
  await evaluate.getByRole('button', { name: 'Evaluate' }).click();
  await expect(evaluate.getByTestId('evaluation-result')).toContainText(
    /^\s*8 images at threshold 0\.5: F1 clean/,
    {
      timeout: 360_000,
    },
  );
  await expect(evaluate.getByTestId('evaluation-result')).toContainText('saved to the model card');
  await expect(card.getByTestId('not-evaluated')).toHaveCount(0);
  await expect(card.getByTestId('model-metrics')).toBeVisible();
  await expect(card.getByText(/Evaluated on the ward-images \(8 images\)/)).toBeVisible();
  await page.screenshot({ path: join(screenshotDir, 'models-evaluated.png'), fullPage: true });
  expect(app.calls.filter((c) => !c.ok)).toEqual([]);
});
