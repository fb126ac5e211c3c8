// The Cornerstone3D viewer against the real handler table, checked by its pixels: a MONOCHROME1
// chest must look like dcmtk-verified rendering of the same file (dark lungs), window/level must
// change the pixels, the compare viewports must stay in sync, and the classification panel and heat
// map must show what the main process returned.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import sharp from 'sharp';
import type { Envelope, Output } from '../../main/contract/types.ts';
import { decodeFrame, readDicomHeader, renderDisplay } from '../../main/dicom/index.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const dicomDir = join(repoRoot, '..', 'shared', 'data', 'dicom');
const mono1File = join(dicomDir, 'dwv', 'gdcm-CR-MONO1-10-chest.dcm');
const GRID = 24;

/** Block means (GRID x GRID) of the fitted image in a screenshot of a viewport (what the user sees). */
async function viewportGrid(viewport: Locator, aspect: number): Promise<number[]> {
  const png = await viewport.screenshot();
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  // The image is fitted and centred: its rectangle follows from the aspect ratio.
  const imageWidth = Math.min(width, height * aspect);
  const imageHeight = imageWidth / aspect;
  const left = Math.round((width - imageWidth) / 2);
  const top = Math.round((height - imageHeight) / 2);
  const { data: cells } = await sharp(data, { raw: { width, height, channels: 1 } })
    .extract({ left, top, width: Math.floor(imageWidth), height: Math.floor(imageHeight) })
    .resize(GRID, GRID, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [...cells];
}

/** The same grid from the DICOM pipeline's display rendering (checked against dcmtk elsewhere). */
async function expectedGrid(file: string): Promise<number[]> {
  const bytes = new Uint8Array(readFileSync(file));
  const header = readDicomHeader(bytes);
  const display = renderDisplay(bytes, await decodeFrame(bytes, header, 0), header);
  const { data } = await sharp(display.data, {
    raw: { width: display.width, height: display.height, channels: 1 },
  })
    .resize(GRID, GRID, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [...data];
}

function correlation(a: number[], b: number[]): number {
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

const meanAbsDiff = (a: number[], b: number[]) =>
  a.reduce((s, x, i) => s + Math.abs(x - b[i]!), 0) / a.length;

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(screenshotDir, `viewer-${name}.png`) });
}

test('view, window, compare and classify a MONOCHROME1 chest radiograph', async ({ page, app }) => {
  test.skip(!existsSync(mono1File), `shared DICOM sample not found at ${mono1File}`);
  test.setTimeout(240_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await app.services.library.importPaths([mono1File]);
  const [instance] = app.services.library.listInstances({});
  expect(instance, 'the chest radiograph is in the library').toBeTruthy();
  await app.open(page, `#/viewer?instance=${instance!.id}`);
  const original = page.getByTestId('viewport-original');
  const restored = page.getByTestId('viewport-restored');

  await test.step('the MONOCHROME1 chest shows as the DICOM pipeline renders it: dark lungs', async () => {
    await expect(page.getByTestId('wl-readout')).toBeVisible();
    await expect(page.getByTestId('image-info')).toContainText('MONOCHROME1');
    await page.waitForTimeout(500);
    await shot(page, 'mono1-original');
    const shown = await viewportGrid(original, 1);
    const expected = await expectedGrid(mono1File);
    const r = correlation(shown, expected);
    expect(
      r,
      `correlation with the reference rendering (inverted would be negative): ${r.toFixed(3)}`,
    ).toBeGreaterThan(0.95);
    // Lungs (left and right of the centre line, mid height) darker than the mediastinum.
    const at = (gx: number, gy: number) => shown[gy * GRID + gx]!;
    const lungs = (at(6, 10) + at(17, 10)) / 2;
    const mediastinum = at(12, 10);
    expect(lungs, `lungs ${lungs.toFixed(0)} vs mediastinum ${mediastinum.toFixed(0)}`).toBeLessThan(
      mediastinum,
    );
  });

  await test.step('window/level by mouse drag changes the pixels and the readout', async () => {
    const before = await viewportGrid(original, 1);
    const readout = await page.getByTestId('wl-readout').textContent();
    const box = (await original.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 60, { steps: 8 });
    await page.mouse.up();
    await expect(page.getByTestId('wl-readout')).not.toHaveText(readout ?? '');
    await page.waitForTimeout(300);
    const after = await viewportGrid(original, 1);
    expect(meanAbsDiff(before, after), 'mean change in gray level').toBeGreaterThan(5);
    await shot(page, 'mono1-window-level');
    await page.keyboard.press('Escape');
  });

  await test.step('restore and classify; the panel shows what the main process returned', async () => {
    await page.getByTestId('analyse-button').click();
    await expect(page.getByTestId('classification-panel')).toBeVisible({ timeout: 120_000 });
    const response = app.responses.filter((r) => r.channel === 'analyseImages').at(-1)!.envelope as Envelope<
      Output<'analyseImages'>
    >;
    expect(response.ok).toBe(true);
    const item = response.ok ? response.value.items[0]! : undefined;
    expect(item?.ok, JSON.stringify(item)).toBe(true);
    const analysis = item?.ok ? item.analysis : undefined;
    const percent = (p: number) => `${(100 * p).toFixed(1)}%`;
    await expect(page.getByTestId('classification-probability')).toHaveText(
      percent(analysis!.probabilities.covid),
    );
    await expect(page.getByTestId('classification-threshold')).toHaveText(percent(analysis!.threshold));
    await expect(page.getByTestId('classification-model')).toHaveText(
      `${analysis!.model.id} ${analysis!.model.version}`,
    );
    await expect(page.getByTestId('classification-provider')).toHaveText(analysis!.provider);
    await expect(page.getByTestId('classification-label')).toHaveAttribute('data-label', analysis!.label);
    await expect(page.getByTestId('decision-support-notice')).toContainText('not a diagnosis');
    await expect(page.getByTestId('viewer-stage')).toHaveAttribute('data-layout', 'side');
    await page.waitForTimeout(800);
    await shot(page, 'mono1-side-by-side');
  });

  await test.step('the two viewports stay in sync after zoom and pan', async () => {
    const box = (await original.boundingBox())!;
    const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    const beforeOriginal = await viewportGrid(original, box.width / box.height);
    await page.mouse.move(centre.x, centre.y);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -120);
    await page.keyboard.press('p');
    await page.mouse.down();
    await page.mouse.move(centre.x + 60, centre.y + 40, { steps: 6 });
    await page.mouse.up();
    await page.waitForTimeout(500);
    await expect(page.getByTestId('zoom-readout')).not.toHaveText('Zoom 100%');
    const aspect = box.width / box.height;
    const [a, b] = [await viewportGrid(original, aspect), await viewportGrid(restored, aspect)];
    const afterOriginal = a;
    expect(correlation(beforeOriginal, afterOriginal), 'zoom and pan changed the view').toBeLessThan(0.9);
    const r = correlation(a, b);
    expect(r, `original vs restored after zoom+pan: ${r.toFixed(3)}`).toBeGreaterThan(0.85);
    await shot(page, 'mono1-synced-zoom-pan');
  });

  await test.step('the heat map toggles over the image', async () => {
    await expect(page.getByTestId('heatmap-overlay')).toHaveCount(0);
    await page.getByTestId('heatmap-toggle').check();
    await expect(page.getByTestId('heatmap-overlay').first()).toBeVisible();
    const coloured = await page
      .getByTestId('heatmap-overlay')
      .first()
      .evaluate((canvas: HTMLCanvasElement) => {
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n / (data.length / 4);
      });
    expect(coloured, 'share of the viewport the heat map covers').toBeGreaterThan(0.05);
    await shot(page, 'mono1-heatmap');
    await page.getByTestId('heatmap-toggle').uncheck();
    await expect(page.getByTestId('heatmap-overlay')).toHaveCount(0);
  });

  await test.step('swipe shows the restored image on one side of the divider only', async () => {
    await page.keyboard.press('s');
    await expect(page.getByTestId('viewer-stage')).toHaveAttribute('data-layout', 'swipe');
    await page.getByTestId('swipe-slider').fill('70');
    await expect(page.getByTestId('pane-restored')).toHaveCSS('clip-path', 'inset(0px 0px 0px 70%)');
    // The divider is drawn where the clip is, and dragging it moves the clip.
    const stage = (await page.getByTestId('viewer-stage').boundingBox())!;
    const divider = (await page.getByTestId('swipe-divider').boundingBox())!;
    expect(Math.abs(divider.x + divider.width / 2 - (stage.x + stage.width * 0.7))).toBeLessThan(3);
    await page.mouse.move(divider.x + divider.width / 2, stage.y + stage.height / 2);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width * 0.4, stage.y + stage.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect(page.getByTestId('pane-restored')).toHaveCSS(
      'clip-path',
      /inset\(0px 0px 0px 4\d(\.\d+)?%\)/,
    );
    await shot(page, 'mono1-swipe');
    await page.keyboard.press('c');
  });

  await test.step('a length measurement and the pixel probe work on the image', async () => {
    await page.keyboard.press('0');
    await page.keyboard.press('m');
    const box = (await original.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.55, { steps: 6 });
    await page.mouse.up();
    // Cornerstone draws annotations as SVG over the viewport, with the length as text.
    // This file has no pixel spacing, so the length is in pixels.
    await expect(original.locator('svg text').first()).toContainText(/\d+(\.\d+)? px/);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4);
    await expect(page.getByTestId('probe-readout')).toContainText(/original \(\d+, \d+\): \d+/);
    await shot(page, 'mono1-length');
    await page.keyboard.press('w');
  });

  await test.step('a running restoration can be cancelled and nothing is stored', async () => {
    await page.getByTestId('passes-select').selectOption('3');
    await page.getByTestId('analyse-again').click();
    await page.getByTestId('analysis-cancel').click();
    await expect(page.getByTestId('analysis-note')).toContainText('Cancelled');
    await expect(page.getByTestId('analyse-button')).toBeEnabled();
  });

  await test.step('the shortcut help opens and closes', async () => {
    await page.keyboard.press('?');
    await expect(page.getByTestId('viewer-help')).toBeVisible();
    await shot(page, 'help');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('viewer-help')).toHaveCount(0);
  });

  expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);
});
