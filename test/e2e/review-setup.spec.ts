// Study set-up through the form: two restored variants from two installed models (the shipped one
// and a copy installed as a local model), a custom question, the display locked; a reader completes
// it by keyboard; then the JSON export and the audit trail on the results page. A second test opens
// a study with the display unlocked: zoom, window/level and reset apply to both images together.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { localModelsDir } from '../../main/app/paths.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

const ownerPassphrase = 'form owner pass';
mkdirSync(screenshotDir, { recursive: true });
const cxrDir = join(repoRoot, '..', 'shared', 'data', 'cxr');
const shippedDir = join(repoRoot, 'models', 'shipped');

function pngs(folder: string, count: number): string[] {
  const dir = join(cxrDir, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.png'))
    .sort()
    .slice(0, count)
    .map((name) => join(dir, name));
}

/** Installs a copy of the shipped model as a local model with its own card id. */
function installLocalCopy(dataDir: string): string {
  const card = JSON.parse(readFileSync(join(shippedDir, 'r2c-q3.model.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const dir = localModelsDir(dataDir);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(shippedDir, String(card['file'])), join(dir, 'r2c-q3-local.onnx'));
  const copy = {
    ...card,
    id: 'r2c-q3-local',
    name: 'R2C-GAN local copy',
    file: 'r2c-q3-local.onnx',
    default: false,
  };
  writeFileSync(join(dir, 'r2c-q3-local.model.json'), JSON.stringify(copy, null, 2));
  return copy.id;
}

async function wheelOver(page: Page, target: Locator, deltaY: number) {
  const box = (await target.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, deltaY);
}

test('a study set up in the form: two models, a custom question, display locked, read by keyboard', async ({
  page,
  app,
}) => {
  test.skip(!existsSync(cxrDir), `shared chest radiographs not found at ${cxrDir}`);
  test.setTimeout(300_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const imported = await app.services.library.importPaths(pngs('covid', 2), { mode: 'copy' });
  expect(imported.added, 'two images in the library').toBe(2);
  const localId = installLocalCopy(app.dataDir);

  await app.open(page, '#/review');

  await test.step('set the study up in the form', async () => {
    await page.getByRole('button', { name: 'New study' }).click();
    await page.getByLabel('Study name').fill('Form study');
    await page.getByLabel('Reader name').fill('Dr Form');
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    // Variant 1: the shipped model, 2 passes; variant 2: the local copy, 1 pass.
    await expect(page.getByLabel('Variant 1', { exact: true })).toHaveValue('original');
    await page.getByLabel('Variant 1', { exact: true }).selectOption('r2c-q3');
    await page.getByLabel('Variant 1 passes').selectOption('2');
    await page.getByLabel('Variant 2', { exact: true }).selectOption(localId);
    // A third variant added and removed again.
    await page.getByRole('button', { name: 'Add variant' }).click();
    await expect(page.getByLabel('Variant 3', { exact: true })).toBeVisible();
    await page.getByRole('button', { name: 'Remove variant 3' }).click();
    await expect(page.getByLabel('Variant 3', { exact: true })).toHaveCount(0);
    // Questions: drop "findings preserved", add a per-image choice.
    const list = page.getByTestId('question-list');
    await expect(list.getByRole('listitem')).toHaveCount(4);
    await page.getByRole('button', { name: 'Remove question Are the findings preserved?' }).click();
    await page.getByLabel('New question').fill('Heart border');
    await page.getByLabel('Answer type').selectOption('choice');
    await page.getByLabel('Options (comma-separated)').fill('sharp, blurred');
    await page.getByRole('button', { name: 'Add question' }).click();
    await expect(list.getByRole('listitem')).toHaveCount(4);
    await expect(page.getByTestId('question-heart-border')).toContainText(
      'sharp / blurred, each image, required',
    );
    await page.getByLabel('Going back').selectOption('any');
    await expect(page.getByLabel(/Lock window\/level and zoom/)).toBeChecked();
    for (const box of await page.getByTestId('image-picker').getByRole('checkbox').all()) await box.check();
    await expect(page.getByText('2 chosen, 2 cases per reader')).toBeVisible();
    await page.screenshot({ path: join(screenshotDir, 'review-setup-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create study' }).click();
  });

  const study = () => app.services.review.listStudies()[0]!;
  const progress = page.getByTestId('case-progress');
  await test.step('the study holds what the form chose', async () => {
    await expect(progress).toHaveText('Case 1 of 2');
    const { config } = app.services.review.getStudy(study().id);
    expect(config.variants.map((v) => [v.id, v.modelId, v.passes])).toEqual([
      ['r2c-q3-p2', 'r2c-q3', 2],
      ['r2c-q3-local-p1', 'r2c-q3-local', 1],
    ]);
    expect(config.questions.map((q) => q.id)).toEqual(['quality', 'preference', 'comment', 'heart-border']);
    expect(config.navigation.goBack).toBe('any');
    expect(config.blinding.lockZoom && config.blinding.lockWindowLevel, 'display locked').toBe(true);
  });

  await test.step('read both cases by keyboard; the locked display zooms both images together', async () => {
    for (let k = 1; k <= 2; k++) {
      await expect(progress).toHaveText(`Case ${k} of 2`);
      const images = page.getByTestId('review-image');
      await expect(images).toHaveCount(2, { timeout: 120_000 });
      await expect(page.getByTestId('display-lock')).toContainText('Display locked together');
      for (const image of await images.all())
        await expect(image, 'shown, display locked').toHaveAttribute('data-ready', 'true', {
          timeout: 120_000,
        });
      const startZoom = Number(await images.first().getAttribute('data-zoom'));
      await wheelOver(page, images.first(), -400);
      await expect
        .poll(async () => Number(await images.first().getAttribute('data-zoom')), {
          message: 'zoom works locked',
        })
        .toBeGreaterThan(startZoom);
      await expect
        .poll(() => images.nth(1).getAttribute('data-zoom'), { message: 'on both images together' })
        .toBe(await images.first().getAttribute('data-zoom'));
      await page.keyboard.press('r');
      await page.keyboard.press(String(3 + k)); // quality, image A
      await page.keyboard.press('s'); // heart border of image A: only that question takes S
      await page.keyboard.press('Tab');
      await page.keyboard.press('2'); // quality, image B
      await page.keyboard.press('ArrowUp'); // select the last question, heart border
      await page.keyboard.press('b'); // selected question first: blurred, not "prefer B"
      await page.keyboard.press('a'); // heart border takes no A: prefer image A
      await expect(
        page.getByTestId('q-heart-border-right').getByRole('button', { name: 'blurred' }),
      ).toHaveClass(/chosen/);
      await expect(page.getByTestId('prefer-left')).toHaveClass(/chosen/);
      await expect(page.getByTestId('next-case')).toBeEnabled();
      if (k === 1) {
        await expect(page.getByTestId('key-legend')).toContainText('Heart border');
        await page.screenshot({ path: join(screenshotDir, 'review-setup-reading.png'), fullPage: true });
      }
      await page.keyboard.press('Enter');
    }
  });

  await test.step('answers as keyed, in the main process', async () => {
    await expect(page.getByTestId('results-hidden')).toBeVisible();
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    await page.getByTestId('review-studies').getByRole('button', { name: 'Owner' }).click();
    await expect(page.getByTestId('results-view')).toBeVisible();
    const exported = app.services.review.exportJson(study().id, { ownerPassphrase });
    const cases = exported.sessions[0]!.cases;
    expect(cases).toHaveLength(2);
    for (const c of cases) {
      const value = (question: string, target: string) =>
        c.answers.find((a) => a.questionId === question && a.target === target)?.value;
      expect(value('quality', 'left')).toBe(3 + c.position);
      expect(value('quality', 'right')).toBe(2);
      expect(value('heart-border', 'left')).toBe('sharp');
      expect(value('heart-border', 'right')).toBe('blurred');
      expect(value('preference', 'case')).toBe(c.left);
    }
  });

  await test.step('JSON export and audit trail on the results page', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export study (JSON)' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('Form-study-study.json');
    const saved = JSON.parse(readFileSync((await file.path())!, 'utf8')) as ReturnType<
      typeof app.services.review.exportJson
    >;
    expect(saved.format).toBe('r2c-reader-study');
    expect(saved.study.config.questions.map((q) => q.id)).toContain('heart-border');
    expect(saved.sessions[0]!.cases.flatMap((c) => c.answers)).toHaveLength(2 * 5);
    await expect(page.getByTestId('json-exported')).toBeVisible();

    const trail = app.services.review.auditTrail(study().id, { ownerPassphrase });
    const audit = page.getByTestId('audit-trail');
    await audit.scrollIntoViewIfNeeded();
    await expect(audit.getByTestId('audit-row')).toHaveCount(trail.length);
    await expect(audit.locator('tr[data-action="answer_given"]').first()).toContainText('Dr Form');
    await expect(audit).toContainText('heart-border = blurred');
    await expect(audit).toContainText('session finished: 2 cases');
    await page.screenshot({ path: join(screenshotDir, 'review-setup-audit.png'), fullPage: false });
  });

  expect(
    app.calls.filter((c) => !c.ok && c.channel !== 'reviewResults' && c.channel !== 'reviewAuditTrail'),
    'no call failed',
  ).toEqual([]);
  expect(consoleErrors, 'no console errors, CSP violations included').toEqual([]);
});

test('with the display unlocked, zoom and window/level apply to each image on its own and R resets', async ({
  page,
  app,
}) => {
  test.skip(!existsSync(cxrDir), `shared chest radiographs not found at ${cxrDir}`);
  test.setTimeout(180_000);
  const imported = await app.services.library.importPaths(pngs('normal', 1), { mode: 'copy' });
  expect(imported.added).toBe(1);
  await app.open(page, '#/review');
  await page.getByRole('button', { name: 'New study' }).click();
  await page.getByLabel('Study name').fill('Unlocked study');
  await page.getByLabel('Reader name').fill('Dr Zoom');
  await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
  await page.getByLabel(/Lock window\/level and zoom/).uncheck();
  await page.getByTestId('image-picker').getByRole('checkbox').first().check();
  await page.getByRole('button', { name: 'Create study' }).click();

  const images = page.getByTestId('review-image');
  await expect(images).toHaveCount(2, { timeout: 120_000 });
  await expect(page.getByTestId('display-lock')).toContainText('each image on its own');
  const [left, right] = [images.nth(0), images.nth(1)];
  for (const image of [left, right])
    await expect(image).toHaveAttribute('data-ready', 'true', { timeout: 120_000 });
  const attr = (image: Locator, name: string) => image.getAttribute(`data-${name}`);
  const [voiLeft, voiRight] = [await attr(left, 'voi'), await attr(right, 'voi')];
  const [zoomLeft, zoomRight] = [await attr(left, 'zoom'), await attr(right, 'zoom')];

  await wheelOver(page, left, -300);
  await expect
    .poll(() => attr(left, 'zoom'), { message: 'the wheel zooms the left image' })
    .not.toBe(zoomLeft);
  expect(await attr(right, 'zoom'), 'unlocked: the right image keeps its zoom').toBe(zoomRight);

  const box = (await right.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 - 60, { steps: 4 });
  await page.mouse.up();
  await expect
    .poll(() => attr(right, 'voi'), { message: 'dragging sets the right window' })
    .not.toBe(voiRight);
  expect(await attr(left, 'voi'), 'unlocked: the left window is unchanged').toBe(voiLeft);
  await page.screenshot({ path: join(screenshotDir, 'review-setup-unlocked.png'), fullPage: true });

  await page.keyboard.press('r');
  await expect.poll(() => attr(right, 'voi'), { message: 'R resets the window' }).toBe(voiRight);
  await expect.poll(() => attr(left, 'zoom'), { message: 'R resets the zoom' }).toBe(zoomLeft);
  expect(
    app.calls.filter((c) => !c.ok && c.channel !== 'reviewResults' && c.channel !== 'reviewAuditTrail'),
  ).toEqual([]);
});
