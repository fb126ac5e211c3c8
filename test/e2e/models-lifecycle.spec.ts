// The model lifecycle on the Models page against the real handler table and registry: a fine-tune
// keeps running while the user goes to other pages (job list with progress, ETA and cancel; a notice
// linking to the installed model), activation of an unevaluated model only when confirmed, rollback
// in one step with the history, a threshold chosen on an evaluation, and a tampered package refused.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localModelsDir } from '../../main/app/paths.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const shippedDir = join(repoRoot, 'models', 'shipped');
const cxr = join(repoRoot, '..', 'shared', 'data', 'cxr');

/** A few labelled chest X-rays in covid/ and normal/ (copies; the shared data is never changed). */
function labelledImages(dataDir: string, perClass: number): string {
  const images = join(dataDir, 'ward-images');
  for (const label of ['covid', 'normal']) {
    mkdirSync(join(images, label), { recursive: true });
    for (const name of readdirSync(join(cxr, label)).sort().slice(0, perClass))
      copyFileSync(join(cxr, label, name), join(images, label, name));
  }
  return images;
}

/** An intact local copy of the compact model under another id (as a package import would install it). */
function installLocalCopy(dataDir: string): string {
  const dir = localModelsDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const card = JSON.parse(readFileSync(join(shippedDir, 'r2c-compact.model.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  copyFileSync(join(shippedDir, 'r2c-compact.onnx'), join(dir, 'local-ward3.onnx'));
  const { metrics: _metrics, ...rest } = card;
  writeFileSync(
    join(dir, 'local-ward3.model.json'),
    JSON.stringify({
      ...rest,
      id: 'local-ward3',
      version: 'draft-step-40',
      name: 'Ward 3 fine-tune',
      file: 'local-ward3.onnx',
      default: false,
    }),
  );
  return dir;
}

test('a fine-tune keeps running across page changes; the job list shows it; the notice opens the model', async ({
  page,
  app,
}) => {
  test.setTimeout(480_000);
  test.skip(!existsSync(cxr), `shared chest X-rays not found at ${cxr}`);
  const images = labelledImages(app.dataDir, 4);
  await app.open(page, '#/models');
  const panel = page.getByTestId('fine-tune');
  await panel.getByLabel('Start from').selectOption('r2c-compact');
  await panel.getByLabel('Name of the new model').fill('Ward 3');
  await panel.getByLabel('Images to fine-tune on').fill(images);
  // The browser harness has no OS picker: Browse… says so, and the typed path stays.
  await panel.getByRole('button', { name: 'Browse…' }).click();
  await expect(panel.getByText('No file picker here: type the full path.')).toBeVisible();
  await panel.getByLabel('Steps', { exact: true }).fill('30');
  await panel.getByRole('button', { name: 'Start fine-tuning' }).click();
  const toggle = page.getByTestId('job-list-toggle');
  await expect(toggle).toHaveText(/1 job running/);

  // Away to the Library and the Review pages: the job still runs and the job list follows it.
  await page.getByRole('link', { name: 'Library' }).click();
  await expect(page).toHaveURL(/#\/library/);
  await expect(toggle).toHaveText(/1 job running/);
  await toggle.click();
  const list = page.getByTestId('job-list');
  const item = list.getByTestId('job-item');
  await expect(item).toContainText('Fine-tune Ward 3');
  await expect(item).toContainText(
    /step \d+ of 30, loss [\d.]+(, about \d+ min left| · (about \d+ (s|min) left|estimating…))/,
    {
      timeout: 180_000,
    },
  );
  await expect(item.getByRole('button', { name: 'Cancel Fine-tune Ward 3' })).toBeEnabled();
  await page.screenshot({ path: join(screenshotDir, 'models-job-list.png') });
  await page.getByRole('link', { name: 'Review' }).click();
  await expect(page).toHaveURL(/#\/review/);
  await expect(item).toBeVisible();

  // Back on the Models page the panel shows the same run, still going.
  await page.getByRole('link', { name: 'Models' }).click();
  await expect(panel.getByRole('button', { name: 'Stop and keep a checkpoint' })).toBeVisible();
  await expect(panel.getByTestId('fine-tune-progress')).toContainText(/step \d+ of 30/);

  // Finished: a notice links to the installed model, which opens selected and unevaluated.
  await page.getByRole('link', { name: 'Library' }).click();
  const notice = page.getByTestId('job-notice');
  await expect(notice).toContainText(
    'Fine-tune Ward 3 finished: installed as local-ward-3 (not evaluated).',
    { timeout: 400_000 },
  );
  await expect(toggle).toHaveCount(0);
  await page.screenshot({ path: join(screenshotDir, 'models-job-notice.png') });
  await notice.getByRole('link', { name: 'Open the model' }).click();
  await expect(page).toHaveURL(/#\/models\?model=local-ward-3/);
  const card = page.getByTestId('model-card');
  await expect(card.getByRole('heading', { level: 2 })).toContainText('local-ward-3 draft-step-30');
  await expect(page.getByRole('row', { name: /Ward 3/ }).getByTestId('model-status')).toHaveText('installed');
  await expect(card.getByTestId('lineage')).toContainText(/Base model\s*r2c-compact/);
  await expect(card.getByTestId('lineage')).toContainText(/manifest SHA-256 [0-9a-f]{16}…/);
  expect(app.calls.filter((c) => c.channel === 'cancelJob')).toEqual([]);
});

test('activate an unevaluated model only when confirmed, roll back in one step, history and threshold', async ({
  page,
  app,
}) => {
  test.setTimeout(1_200_000);
  test.skip(!existsSync(cxr), `shared chest X-rays not found at ${cxr}`);
  installLocalCopy(app.dataDir);
  const images = labelledImages(app.dataDir, 4);
  await app.open(page, '#/models?model=local-ward3');
  const card = page.getByTestId('model-card');
  await expect(card.getByRole('heading', { level: 2 })).toContainText('local-ward3 draft-step-40');
  const activation = card.getByTestId('activation');
  await activation.getByLabel('Reason for the change').fill('pilot on ward 3');
  await expect(activation.getByTestId('activate')).toBeDisabled();
  await activation.getByTestId('confirm-unevaluated').check();
  await activation.getByTestId('activate').click();
  await expect(page.getByTestId('models-notice')).toContainText(
    'local-ward3 draft-step-40 is now the active model.',
  );
  await expect(page.getByTestId('active-model')).toContainText('local-ward3 draft-step-40');
  await expect(page.getByRole('row', { name: /Ward 3 fine-tune/ }).getByTestId('model-status')).toHaveText(
    'active',
  );
  const history = page.getByTestId('model-history');
  await expect(history.getByTestId('history-row').first()).toContainText(
    /activated\s*local-ward3 draft-step-40\s*r2c-q3 \S+\s*pilot on ward 3/,
  );
  await page.screenshot({ path: join(screenshotDir, 'models-activated.png'), fullPage: true });

  // One step back: the shipped default again, and the history says who, what and why.
  await history.getByLabel('Reason for the rollback').fill('false positives on portables');
  await history.getByTestId('rollback').click();
  await expect(page.getByTestId('models-notice')).toContainText(
    /Rolled back: r2c-q3 \S+ is the active model again/,
  );
  await expect(page.getByTestId('active-model')).toContainText('r2c-q3');
  await expect(history.getByTestId('history-row').first()).toContainText(
    /rolled back\s*r2c-q3 \S+\s*local-ward3 draft-step-40\s*false positives on portables/,
  );
  const download = page.waitForEvent('download');
  await history.getByTestId('history-csv').click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  expect(csv).toMatch(
    /,rolled back,r2c-q3,[^,]+,[0-9a-f]{64},local-ward3,draft-step-40,false positives on portables,/,
  );

  // An evaluation of the local model, then a threshold for a target sensitivity with its CIs.
  await page.getByRole('button', { name: 'Ward 3 fine-tune' }).click();
  const evaluate = card.getByTestId('evaluate');
  await evaluate.getByLabel('Labelled images to evaluate on').fill(images);
  await evaluate.getByLabel(/Only the held-out part/).uncheck();
  await evaluate.getByRole('button', { name: 'Evaluate' }).click();
  await expect(evaluate.getByTestId('evaluation-result')).toContainText(/recorded as evaluation #\d+/, {
    timeout: 240_000,
  });
  await expect(page.getByRole('row', { name: /Ward 3 fine-tune/ }).getByTestId('model-status')).toHaveText(
    'evaluated',
  );
  const threshold = card.getByTestId('threshold');
  await threshold.getByLabel('Target value').fill('0.75');
  await threshold.getByTestId('threshold-preview').click();
  await expect(threshold.getByTestId('threshold-result')).toContainText(
    /Threshold \d\.\d{4}: sensitivity \d+\.\d%\s+\(95% CI \d+\.\d%–\d+\.\d%, \d+\/8\),\s+specificity \d+\.\d% \(95% CI/,
  );
  await threshold.getByLabel('Reason for the threshold').fill('screening');
  await threshold.getByTestId('threshold-apply').click();
  await expect(threshold.getByTestId('threshold-current')).toContainText(
    /chosen by .*target sensitivity 0\.75 on validation evaluation/,
  );
  await page.screenshot({ path: join(screenshotDir, 'models-threshold.png'), fullPage: true });

  // The shipped default on the same images, then both side by side with their ROC curves overlaid.
  await page.getByRole('button', { name: /R2C-GAN operational Q=3 \(default\)/ }).click();
  await evaluate.getByLabel('Labelled images to evaluate on').fill(images);
  await evaluate.getByLabel(/Only the held-out part/).uncheck();
  await evaluate.getByRole('button', { name: 'Evaluate' }).click();
  // The Q=3 model is about 3x slower than the compact one on a loaded 2-core machine.
  await expect(evaluate.getByTestId('evaluation-result')).toContainText(/recorded as evaluation #\d+/, {
    timeout: 600_000,
  });
  const compare = page.getByTestId('compare');
  const choices = compare.getByRole('checkbox');
  await expect(choices).toHaveCount(2);
  await choices.nth(0).check();
  await choices.nth(1).check();
  await compare.getByTestId('compare-run').click();
  const result = compare.getByTestId('compare-result');
  // Columns in the order the evaluations are listed (by model id).
  await expect(result.getByRole('columnheader')).toHaveText([
    'Metric',
    'local-ward3 draft-step-40',
    /^r2c-q3 /,
  ]);
  await expect(
    result.getByRole('row', { name: /^classification\.degraded\.auc/ }).getByRole('cell'),
  ).toHaveText([/^\d\.\d{4}$/, /^\d\.\d{4}$/]);
  await expect(
    result.getByRole('img', { name: /ROC curves of local-ward3 draft-step-40, r2c-q3 / }),
  ).toBeVisible();
  await compare.scrollIntoViewIfNeeded();
  await compare.screenshot({ path: join(screenshotDir, 'models-compare.png') });
  // The shipped files are untouched.
  expect(readdirSync(localModelsDir(app.dataDir)).filter((f) => f.endsWith('.model.json'))).toEqual([
    'local-ward3.model.json',
  ]);
});

test('a tampered package is refused with a clear message and nothing is installed', async ({ page, app }) => {
  const bad = join(app.dataDir, 'tampered.r2cmodel');
  writeFileSync(bad, 'PK\u0003\u0004 this is not a model package');
  await app.open(page, '#/models');
  const packages = page.getByTestId('packages');
  await packages.getByLabel('Model package to import').fill(bad);
  await packages.getByTestId('package-import').click();
  await expect(page.getByRole('alert')).toContainText(/model package refused: .*nothing was installed/);
  await expect(page.getByTestId('model-row')).toHaveCount(
    readdirSync(shippedDir).filter((f) => f.endsWith('.model.json')).length,
  );
  await page.screenshot({ path: join(screenshotDir, 'models-package-refused.png') });
});
