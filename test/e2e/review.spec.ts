// The Review page against the real handler table: a reader study over five library images
// (original beside its restoration by the default model), read by keyboard only, then the
// results page compared number by number with the main process's results().
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const cxrDir = join(repoRoot, '..', 'shared', 'data', 'cxr');

function pngs(folder: string, count: number): string[] {
  const dir = join(cxrDir, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.png'))
    .sort()
    .slice(0, count)
    .map((name) => join(dir, name));
}

const ownerPassphrase = 'keyboard owner';
const fixed = (value: number | null) => (value === null ? '–' : value.toFixed(2));
const pct = (value: number | null) => (value === null ? '–' : `${(100 * value).toFixed(1)}%`);

test('a five-case reader study, read by keyboard, with results that match the main process', async ({
  page,
  app,
}) => {
  test.skip(!existsSync(cxrDir), `shared chest radiographs not found at ${cxrDir}`);
  test.setTimeout(240_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const files = [...pngs('covid', 3), ...pngs('normal', 2)];
  const imported = await app.services.library.importPaths(files, { mode: 'copy' });
  expect(imported.added, 'five images in the library').toBe(5);
  const modelId = await app.services.defaultModelId();
  expect(modelId, 'a default model is installed').not.toBeNull();
  const patientNames = app.services.library
    .listStudies()
    .map((s) => s.patient.patientName)
    .filter((n): n is string => !!n && n.length > 2);

  async function expectBlinded(where: string) {
    const text = ((await page.locator('body').textContent()) ?? '').toLowerCase();
    expect(text.includes(String(modelId).toLowerCase()), `${where}: no model id on screen`).toBe(false);
    for (const name of patientNames)
      expect(text.includes(name.toLowerCase()), `${where}: no patient name on screen`).toBe(false);
  }

  await app.open(page, '#/review');
  await expect(page.getByTestId('review-empty')).toBeVisible();

  await test.step('create a study of the five images', async () => {
    await page.getByRole('button', { name: 'New study' }).click();
    await page.getByLabel('Study name').fill('Keyboard study');
    await page.getByLabel('Reader name').fill('Dr Keys');
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    const boxes = page.getByTestId('image-picker').getByRole('checkbox');
    await expect(boxes).toHaveCount(5);
    for (const box of await boxes.all()) await box.check();
    await page.screenshot({ path: join(screenshotDir, 'review-new-study.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create study' }).click();
  });

  const progress = page.getByTestId('case-progress');
  const images = page.getByTestId('review-image');
  const attr = (index: number, name: string) => images.nth(index).getAttribute(`data-${name}`);
  /** RGBA of the left viewport's canvas at a point (fractions of its size): what the reader sees there. */
  const probe = (index: number) =>
    images.nth(index).evaluate((el) => {
      const canvas = el.querySelector('canvas')!;
      const context = canvas.getContext('2d')!;
      const [x, y] = [Math.round(canvas.width * 0.45), Math.round(canvas.height * 0.55)];
      return Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
    });

  /** Locked (the study default): a W/L drag and a wheel zoom on the left apply to both, on the values. */
  async function lockedDisplayWorks() {
    await expect(page.getByTestId('display-lock')).toContainText('Display locked together');
    // Both images shown at full resolution with the study's default window.
    await expect(images.nth(0)).toHaveAttribute('data-ready', 'true', { timeout: 90_000 });
    await expect(images.nth(1)).toHaveAttribute('data-ready', 'true', { timeout: 90_000 });
    const startVoi = await attr(0, 'voi');
    expect(await attr(1, 'voi'), 'one default window for both images').toBe(startVoi);
    await page.screenshot({ path: join(screenshotDir, 'review-display-default.png'), fullPage: true });
    const before = [await probe(0), await probe(1)];
    const box = (await images.nth(0).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 90, box.y + box.height / 2 + 70, { steps: 6 });
    await page.mouse.up();
    await expect.poll(() => attr(0, 'voi'), { message: 'the drag changed the window' }).not.toBe(startVoi);
    const draggedVoi = await attr(0, 'voi');
    await expect
      .poll(() => attr(1, 'voi'), { message: 'and the same window on the right image' })
      .toBe(draggedVoi);
    const [c0, w0] = startVoi!.split(',').map(Number);
    const [c1, w1] = draggedVoi!.split(',').map(Number);
    expect(Math.abs(c1! - c0!) + Math.abs(w1! - w0!), 'a real VOI change in image units').toBeGreaterThan(1);
    await expect
      .poll(async () => JSON.stringify(await probe(0)), { message: 'left pixels changed' })
      .not.toBe(JSON.stringify(before[0]));
    await expect
      .poll(async () => JSON.stringify(await probe(1)), { message: 'right pixels changed' })
      .not.toBe(JSON.stringify(before[1]));
    const startZoom = Number(await attr(0, 'zoom'));
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await expect
      .poll(async () => Number(await attr(0, 'zoom')), { message: 'wheel zooms' })
      .toBeGreaterThan(startZoom);
    await expect
      .poll(() => attr(1, 'zoom'), { message: 'both images zoom together' })
      .toBe(await attr(0, 'zoom'));
    const startPan = await attr(0, 'pan');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(box.x + box.width / 2 - 60, box.y + box.height / 2 + 40, { steps: 5 });
    await page.mouse.up({ button: 'middle' });
    await expect.poll(() => attr(0, 'pan'), { message: 'middle-drag pans' }).not.toBe(startPan);
    await expect
      .poll(() => attr(1, 'pan'), { message: 'both images pan together' })
      .toBe(await attr(0, 'pan'));
    await page.screenshot({ path: join(screenshotDir, 'review-display-locked-wl-zoom.png'), fullPage: true });
    // A preset is a real window too, on both images.
    const beforePreset = await attr(1, 'voi');
    await page.getByTestId('window-preset').selectOption({ label: 'Lung (relative to this image)' });
    await expect.poll(() => attr(0, 'voi'), { message: 'the preset sets the window' }).not.toBe(draggedVoi);
    await expect.poll(() => attr(1, 'voi'), { message: 'on both images' }).toBe(await attr(0, 'voi'));
    expect(await attr(1, 'voi')).not.toBe(beforePreset);
    await page.keyboard.press('r');
    await expect.poll(() => attr(0, 'voi'), { message: 'R resets the window' }).toBe(startVoi);
    expect(await attr(1, 'voi')).toBe(startVoi);
  }

  await test.step('read five cases by keyboard only', async () => {
    for (let k = 1; k <= 5; k++) {
      await expect(progress).toHaveText(`Case ${k} of 5`);
      await expect(images).toHaveCount(2, { timeout: 90_000 });
      if (k === 2) {
        // Back to the finished case before, and on again.
        await page.keyboard.press('Backspace');
        await expect(progress).toHaveText('Case 1 of 5');
        await page.keyboard.press('Enter');
        await expect(progress).toHaveText('Case 2 of 5');
        await expect(images).toHaveCount(2, { timeout: 90_000 });
      }
      await page.keyboard.press(String(1 + (k % 5)));
      await page.keyboard.press('y');
      await page.keyboard.press('Tab');
      await page.keyboard.press(String(1 + ((k + 2) % 5)));
      await page.keyboard.press(k % 2 ? 'n' : 'u');
      await page.keyboard.press(k % 3 ? 'ArrowLeft' : 'b');
      await expect(page.getByTestId('next-case')).toBeEnabled();
      if (k === 1) await lockedDisplayWorks();
      if (k === 1) {
        await expectBlinded('reading view');
        await expect(page.getByTestId('key-legend')).toBeVisible();
        await page.screenshot({ path: join(screenshotDir, 'review-reading.png'), fullPage: true });
      }
      await page.keyboard.press('Enter');
    }
  });

  await test.step('the results are the main process results', async () => {
    // The reader who finished sees no results: the owner opens them with the passphrase.
    await expect(page.getByTestId('results-hidden')).toBeVisible();
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    await page.getByTestId('review-studies').getByRole('button', { name: 'Owner' }).click();
    await expect(page.getByTestId('results-view')).toBeVisible();
    const studyId = app.services.review.listStudies()[0]!.id;
    const results = app.services.review.results(studyId, { ownerPassphrase });
    expect(results.cases, 'five cases analysed').toBe(5);
    const quality = results.scores.find((s) => s.questionId === 'quality')!;
    for (const variant of quality.perVariant) {
      const row = page.getByTestId(`mos-${variant.variant}`);
      await expect(row.getByTestId('n')).toHaveText(String(variant.n));
      await expect(row.getByTestId('mean')).toHaveText(fixed(variant.mean));
      await expect(row.getByTestId('ci')).toHaveText(
        variant.ci95 ? `${fixed(variant.ci95[0])} – ${fixed(variant.ci95[1])}` : '–',
      );
      expect(variant.n, 'five quality ratings per variant').toBe(5);
    }
    // One reader: the OR-MRMC difference is shown without an interval, and why.
    expect(quality.differences[0]?.unavailable).toBe(
      'needs at least 2 readers and 2 cases (here 1 reader and 5 cases)',
    );
    const oneReaderRow = page.getByTestId('or-quality').getByTestId('or-row');
    await expect(oneReaderRow.getByTestId('or-estimate')).toHaveText(
      quality.differences[0]!.estimate.toFixed(3),
    );
    await expect(oneReaderRow.getByTestId('or-ci')).toHaveText('none');
    await expect(page.getByTestId('or-unavailable')).toHaveText(
      `No interval or p for ${quality.differences[0]!.labelA} − ${quality.differences[0]!.labelB}: ${quality.differences[0]!.unavailable}.`,
    );
    const preference = results.preferences.find((p) => p.questionId === 'preference')!;
    for (const comparison of preference.comparisons) {
      const row = page.getByTestId(`preference-${comparison.variantA}-${comparison.variantB}`);
      await expect(row.getByTestId('n')).toHaveText(String(comparison.n));
      await expect(row.getByTestId('chosen')).toHaveText(String(comparison.chosenA));
      await expect(row.getByTestId('rate')).toHaveText(pct(comparison.rateA));
      await expect(row.getByTestId('ci')).toHaveText(
        comparison.ci95 ? `${pct(comparison.ci95[0])} – ${pct(comparison.ci95[1])}` : '–',
      );
    }
    const findings = results.choices.find((c) => c.questionId === 'findings')!;
    for (const variant of findings.perVariant) {
      const row = page.getByTestId(`rate-${variant.variant ?? 'case'}`);
      await expect(row.getByTestId('rate')).toHaveText(pct(variant.firstOptionRate));
    }
    await expect(page.getByTestId('score-agreement')).toContainText('needs two readers');
    const plots = page.locator('img.plot');
    // Score distributions, preferences and, where there is a difference, its forest plot.
    await expect(plots).toHaveCount(
      results.scores.length +
        results.preferences.length +
        results.scores.filter((s) => s.differenceSvg).length,
    );
    for (const plot of await plots.all()) {
      await expect(plot).toHaveAttribute('src', /^data:image\/svg\+xml;base64,/);
      expect(
        await plot.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
        'the plot renders',
      ).toBe(true);
    }
    await expectBlinded('results view');
    await page.screenshot({ path: join(screenshotDir, 'review-results.png'), fullPage: true });
    await page.getByTestId('choice-findings').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'review-results-rates.png') });
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename(), 'CSV file name').toBe('Keyboard-study-ratings.csv');
    await expect(page.getByTestId('csv-exported')).toBeVisible();
  });

  await test.step('with a second reader, agreement and its 95% intervals as the main process has them', async () => {
    const review = app.services.review;
    const studyId = review.listStudies()[0]!.id;
    // The owner adds the reader; the reader signs in with their secret.
    const second = review.addReader(
      studyId,
      { name: 'Dr Second', secret: 'second reader' },
      { ownerPassphrase },
    );
    const asSecond = review.signInReader(studyId, second.id, 'second reader');
    let view = review.startOrResumeSession(studyId, second.id, asSecond);
    for (let k = 0; !view.finished; k++) {
      const c = view.case!;
      const ref = { studyId, readerId: second.id, caseId: c.caseId };
      for (const [i, image] of c.images.entries()) {
        const presentationId = image.presentationId;
        view = review.answer(
          { ...ref, questionId: 'quality', presentationId, value: 1 + ((k + 2 * i) % 5) },
          asSecond,
        );
        view = review.answer(
          { ...ref, questionId: 'findings', presentationId, value: i ? 'no' : 'yes' },
          asSecond,
        );
      }
      view = review.answer(
        { ...ref, questionId: 'preference', value: c.images[k % 2]!.presentationId },
        asSecond,
      );
      view = review.next(studyId, second.id, asSecond);
    }
    await page.getByRole('button', { name: 'All reader studies' }).click();
    await page.getByLabel('Owner passphrase').fill(ownerPassphrase);
    await page.getByTestId('review-studies').getByRole('button', { name: 'Owner' }).click();
    await expect(page.getByTestId('results-view')).toContainText('2 reader(s)');
    const quality = review
      .results(studyId, { ownerPassphrase })
      .scores.find((s) => s.questionId === 'quality')!;
    const { weightedKappa, icc } = quality.agreement;
    // The second reader's ratings depend on the randomised order, so the OR-MRMC difference may or may
    // not have an interval (readers with identical differences give none): either way it is shown.
    const [difference] = quality.differences;
    expect(difference, 'an OR-MRMC difference with two readers').toBeDefined();
    const orRow = page.getByTestId('or-quality').getByTestId('or-row');
    await expect(orRow.getByTestId('or-estimate')).toHaveText(difference!.estimate.toFixed(3));
    if (difference!.ci95) {
      await expect(orRow.getByTestId('or-ci')).toHaveText(
        `${difference!.ci95[0].toFixed(3)} – ${difference!.ci95[1].toFixed(3)}`,
      );
      await expect(page.getByTestId('or-unavailable')).toHaveCount(0);
    } else {
      await expect(orRow.getByTestId('or-ci')).toHaveText('none');
      await expect(page.getByTestId('or-unavailable')).toContainText(difference!.unavailable!);
    }
    const range = (ci: [number, number] | null) => (ci ? `${fixed(ci[0])} – ${fixed(ci[1])}` : '–');
    expect(weightedKappa?.quadratic.ci95, 'ten items: a bootstrap interval').not.toBeNull();
    expect(icc?.ci95, 'an ICC interval').not.toBeNull();
    const agreement = page.getByTestId('score-agreement');
    await expect(agreement).toContainText(
      `Weighted kappa (quadratic): ${fixed(weightedKappa!.quadratic.kappa)} (${weightedKappa!.quadratic.band}), 95% CI ${range(weightedKappa!.quadratic.ci95)}`,
    );
    await expect(agreement).toContainText(
      `ICC(2,1): ${fixed(icc!.icc)} (${icc!.band}), 95% CI ${range(icc!.ci95)}`,
    );
    await agreement.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'review-results-agreement.png') });
  });

  expect(
    app.calls.filter((c) => !c.ok && c.channel !== 'reviewResults' && c.channel !== 'reviewAuditTrail'),
    'no call failed (results and the audit trail are refused to the reader before close)',
  ).toEqual([]);
  expect(consoleErrors, 'no console errors, CSP violations included').toEqual([]);
});
