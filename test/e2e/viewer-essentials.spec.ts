// The viewer as a radiologist used to OHIF or Weasis tries it, against the real handler table and
// real files: whose image (overlay text and pixels, CJK name in the shipped font, orientation markers,
// scale bar), PHI hidden by one key, 1:1 zoom, a truthful preset label, the series strip, multi-frame
// scrolling and cine, measurements that survive a reload and come back from an exported SR, key
// images, and the SR viewer on the app's own classification SR.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import sharp from 'sharp';
import { writeClassificationReport } from '../../main/dicom/index.ts';
import { newUid } from '../helpers/dicom.ts';
import { multiFrameDicom, OVERLAY_PATIENT, overlayDicom } from '../main/viewer/fixtures.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const docsDir = join(repoRoot, 'docs', 'screenshots');
const hasDciodvfy = spawnSync('sh', ['-c', 'command -v dciodvfy']).status === 0;

async function shot(page: Page, name: string, docs = false) {
  await page.screenshot({ path: join(screenshotDir, `viewer-essentials-${name}.png`) });
  if (docs) await page.screenshot({ path: join(docsDir, `viewer-${name}.png`) });
}

/** Mean gray level of a region of an element's screenshot (what the user sees there). */
async function meanGray(
  locator: Locator,
  region?: { left: number; top: number; width: number; height: number },
) {
  const png = await locator.screenshot();
  let image = sharp(png).greyscale();
  if (region) image = image.extract(region);
  const { data } = await image.raw().toBuffer({ resolveWithObject: true });
  return data.reduce((s, v) => s + v, 0) / data.length;
}

/** Pixels that differ (by more than 24 gray levels) between two screenshots of one region. */
async function changedPixels(a: Buffer, b: Buffer) {
  const [x, y] = await Promise.all([a, b].map((png) => sharp(png).greyscale().raw().toBuffer()));
  let changed = 0;
  for (let i = 0; i < x!.length; i++) if (Math.abs(x![i]! - y![i]!) > 24) changed++;
  return changed;
}

test('overlays, navigation, measurements and reports as a clinical viewer has them', async ({
  page,
  app,
}) => {
  test.setTimeout(240_000);
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  const study = newUid();
  const overlayFile = join(app.dataDir, 'overlay.dcm');
  const cineFile = join(app.dataDir, 'cine.dcm');
  const overlay = overlayDicom(study);
  writeFileSync(overlayFile, overlay.bytes);
  writeFileSync(cineFile, multiFrameDicom(5, study).bytes);
  // The app's own classification SR of the overlay image, in the same study.
  const srFile = join(app.dataDir, 'classification-sr.dcm');
  writeFileSync(
    srFile,
    writeClassificationReport(overlay.bytes, {
      probabilities: { covid: 0.81, normal: 0.19 },
      model: { name: 'r2c-q3', version: '1.0.0' },
    }).bytes,
  );
  await app.services.library.importPaths([overlayFile, cineFile, srFile]);
  const instances = app.services.library.listInstances({});
  const image = instances.find((i) => i.numberOfFrames === 1 && i.decodable)!;
  const cine = instances.find((i) => i.numberOfFrames === 5)!;
  const sr = instances.find((i) => !i.decodable)!;
  await page.setViewportSize({ width: 1500, height: 950 });
  await app.open(page, `#/viewer?instance=${image.id}`);
  const viewport = page.getByTestId('viewport-original');
  const pane = page.getByTestId('pane-original');

  await test.step('the overlay shows whose image and which study, read from the DICOM', async () => {
    await expect(page.getByTestId('overlay-patient-name')).toHaveText('山田, 太郎');
    await expect(page.getByTestId('overlay-patient-id')).toHaveText(`ID ${OVERLAY_PATIENT.id}`);
    const born = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }).format(
      new Date(Date.UTC(1970, 0, 2)),
    );
    await expect(page.getByTestId('overlay-patient-sex-birth')).toHaveText(`M · born ${born}`);
    const studyDay = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }).format(
      new Date(Date.UTC(2024, 2, 15)),
    );
    await expect(page.getByTestId('overlay-study-date')).toHaveText(`${studyDay} 09:30:00`);
    await expect(page.getByTestId('overlay-accession')).toHaveText(`Acc ${OVERLAY_PATIENT.accession}`);
    await expect(page.getByTestId('overlay-series')).toHaveText('Se 3 · Chest PA');
    await expect(page.getByTestId('overlay-instance')).toContainText('Im 7');
    await expect(page.getByTestId('overlay-modality')).toContainText('DX PA R');
    await expect(page.getByTestId('wl-readout')).toHaveText('W 4096 L 2048');
    // Patient Orientation L\F: rows run to the patient's left, columns to the feet.
    for (const [edge, letter] of [
      ['right', 'L'],
      ['left', 'R'],
      ['bottom', 'F'],
      ['top', 'H'],
    ])
      await expect(page.getByTestId(`marker-${edge}`)).toHaveText(letter!);
    await expect(page.getByTestId('scale-bar')).toHaveAttribute('data-calibrated', 'true');
    await expect(page.getByTestId('scale-label')).toHaveText(/^\d+ (mm|cm)$/);
    // The CJK name is drawn with the shipped font (no system CJK font on the test machine).
    const fontFaces = await page.evaluate(async () =>
      (await document.fonts.load('13px "R2C CJK"', '山田太郎')).map((f) => f.family.replace(/"/g, '')),
    );
    expect(fontFaces).toContain('R2C CJK');
    await page.waitForTimeout(400);
    await shot(page, 'overlay', true);
  });

  await test.step('one key hides the patient data (text and pixels), and brings it back', async () => {
    const box = (await pane.boundingBox())!;
    const corner = { x: box.x, y: box.y, width: 260, height: 90 };
    const before = await page.screenshot({ clip: corner });
    await page.keyboard.press('a');
    await expect(page.getByTestId('overlay-phi-hidden')).toBeVisible();
    const text = await page.locator('body').innerText();
    for (const value of ['山田', OVERLAY_PATIENT.id, OVERLAY_PATIENT.accession])
      expect(text, `${value} still on the page`).not.toContain(value);
    const after = await page.screenshot({ clip: corner });
    expect(await changedPixels(before, after), 'pixels changed where the name was').toBeGreaterThan(200);
    await shot(page, 'phi-hidden', true);
    await page.keyboard.press('a');
    await expect(page.getByTestId('overlay-patient-name')).toBeVisible();
  });

  await test.step('markers follow a flip; 1:1 sits next to fit; the preset label tells the truth', async () => {
    await page.keyboard.press('l');
    await expect(page.getByTestId('marker-right')).toHaveText('R');
    await expect(page.getByTestId('marker-left')).toHaveText('L');
    await page.keyboard.press('l');
    await page.getByTestId('one-to-one').click();
    await expect(page.getByTestId('zoom-readout')).toHaveText('Zoom 100% (1:1)');
    // The 256-pixel image is drawn 256 device pixels high (one image pixel per screen pixel).
    await page.getByTestId('fit').click();
    await expect(page.getByTestId('zoom-readout')).not.toContainText('1:1');
    await page.keyboard.press('2');
    const second = await page.getByTestId('preset-select').locator('option').nth(1).textContent();
    await expect(page.getByTestId('overlay-preset')).toHaveText(second!.replace(/^2\. /, ''));
    await expect(page.getByTestId('preset-select')).not.toHaveValue('custom');
    const box = (await viewport.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 40, { steps: 5 });
    await page.mouse.up();
    await expect(page.getByTestId('overlay-preset')).toHaveText('Custom window');
    await expect(page.getByTestId('preset-select')).toHaveValue('custom');
    // Chosen from the menu, the preset is applied and named.
    const third = page.getByTestId('preset-select').locator('option').nth(2);
    await page.getByTestId('preset-select').selectOption((await third.getAttribute('value'))!);
    await expect(page.getByTestId('overlay-preset')).toHaveText(
      ((await third.textContent()) ?? '').replace(/^3\. /, ''),
    );
    await page.keyboard.press('1');
  });

  await test.step('the series strip lists the study and switches to another series', async () => {
    await expect(page.getByTestId('series-tile')).toHaveCount(3);
    await page.locator(`[data-testid="series-tile"][data-series-id="${cine.seriesId}"]`).click();
    await expect(page).toHaveURL(new RegExp(`instance=${cine.id}$`));
    await expect(page.getByTestId('frame-readout')).toHaveText('Frame 1 / 5');
    await expect(page.getByTestId('overlay-series')).toHaveText('Se 4');
  });

  await test.step('multi-frame: the wheel and the keys show different frames; cine plays them', async () => {
    await page.waitForTimeout(300);
    const first = await meanGray(viewport);
    const box = (await viewport.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    await expect(page.getByTestId('frame-readout')).toHaveText('Frame 2 / 5');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect(page.getByTestId('frame-readout')).toHaveText('Frame 4 / 5');
    await page.waitForTimeout(300);
    const fourth = await meanGray(viewport);
    // Frame f is filled with 500 (f + 1) under a 4000-wide window: frame 4 is much brighter than frame 1.
    expect(
      fourth - first,
      `mean gray frame 1 ${first.toFixed(1)}, frame 4 ${fourth.toFixed(1)}`,
    ).toBeGreaterThan(20);
    await shot(page, 'multiframe', true);
    await page.getByTestId('cine-fps').fill('20');
    await page.getByTestId('cine-toggle').click();
    await expect(page.getByTestId('overlay-cine')).toHaveText(' · cine 20 fps');
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      seen.add((await page.getByTestId('frame-readout').textContent()) ?? '');
      await page.waitForTimeout(60);
    }
    expect(seen.size, `frames seen during cine: ${[...seen].join(', ')}`).toBeGreaterThan(2);
    await page.getByTestId('cine-toggle').click();
    await expect(page.getByTestId('overlay-cine')).toHaveCount(0);
  });

  await test.step('a length measurement is stored and survives a reload', async () => {
    await page.keyboard.press('PageUp');
    await expect(page).toHaveURL(new RegExp(`instance=${image.id}$`));
    await expect(page.getByTestId('overlay-patient-name')).toBeVisible();
    await page.keyboard.press('m');
    const box = (await viewport.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.4);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.55, { steps: 6 });
    await page.mouse.up();
    await expect(page.getByTestId('measurement-item')).toHaveCount(1);
    await expect(page.getByTestId('measurement-value')).toHaveText(/^\d+\.\d mm$/);
    const value = await page.getByTestId('measurement-value').textContent();
    await expect.poll(() => app.services.viewer.annotations(image.id).then((a) => a.stored.length)).toBe(1);
    await page.reload();
    await expect(page.getByTestId('measurement-item')).toHaveCount(1);
    await expect(page.getByTestId('measurement-value')).toHaveText(value!);
    // Cornerstone draws the restored measurement again (an SVG line over the image).
    await expect(viewport.locator('svg line').first()).toBeAttached();
    await page.waitForTimeout(300);
    await shot(page, 'measurement', true);
  });

  await test.step('exported as a TID 1500 SR (dciodvfy clean), it shows again from the library', async () => {
    const download = page.waitForEvent('download');
    await page.getByTestId('export-sr').click();
    const file = join(app.dataDir, (await download).suggestedFilename());
    await (await download).saveAs(file);
    expect(file).toMatch(/measurements-sr-anon-\d{8}-\d{6}\.dcm$/);
    if (hasDciodvfy) {
      const result = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
      const errors = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => /^Error/.test(l));
      expect(errors).toEqual([]);
    }
    // Exported without patient data, it lands in a study of its own once imported: the anonymised
    // copy refers to a de-identified image. With patient data it joins this study.
    await page.getByTestId('export-with-phi').check();
    const withPhi = page.waitForEvent('download');
    await page.getByTestId('export-sr').click();
    const phiFile = join(app.dataDir, 'measurements-with-phi.dcm');
    await (await withPhi).saveAs(phiFile);
    expect(readFileSync(phiFile).includes(Buffer.from(OVERLAY_PATIENT.id))).toBe(true);
    expect(readFileSync(file).includes(Buffer.from(OVERLAY_PATIENT.id))).toBe(false);
    await app.services.library.importPaths([phiFile]);
    await page.reload();
    await expect(page.getByTestId('measurements-from-reports')).toHaveText(/1 more from reports/);
  });

  await test.step('key images export with and without patient lines', async () => {
    const grab = async (withPhi: boolean) => {
      if (withPhi) await page.getByTestId('export-with-phi').check();
      else await page.getByTestId('export-with-phi').uncheck();
      const download = page.waitForEvent('download');
      await page.getByTestId('key-image-png').click();
      const path = join(app.dataDir, `key-${withPhi}.png`);
      await (await download).saveAs(path);
      return { path, name: (await download).suggestedFilename() };
    };
    const anon = await grab(false);
    const named = await grab(true);
    expect(anon.name).toMatch(/-anon\.png$/);
    const meta = await sharp(anon.path).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(200);
    const region = { left: 0, top: 0, width: 240, height: 70 };
    const [a, b] = await Promise.all(
      [anon.path, named.path].map((p) => sharp(p).extract(region).greyscale().raw().toBuffer()),
    );
    let differ = 0;
    for (let i = 0; i < a!.length; i++) if (Math.abs(a![i]! - b![i]!) > 24) differ++;
    expect(differ, 'the patient lines are in one key image only').toBeGreaterThan(100);
  });

  await test.step('the app’s own classification SR opens as a readable report', async () => {
    await page.locator(`[data-testid="series-tile"][data-series-id="${sr.seriesId}"]`).click();
    await expect(page.getByTestId('sr-view')).toBeVisible();
    await expect(page.getByTestId('sr-title')).toHaveText('Findings');
    await expect(page.getByTestId('sr-view')).toContainText('Probability of covid:');
    await expect(page.getByTestId('sr-view')).toContainText('0.81');
    await expect(page.getByTestId('sr-view')).toContainText('Algorithm Name:');
    await expect(page.getByTestId('sr-view')).toContainText('r2c-q3 1.0.0');
    await expect(page.getByTestId('viewer-load-error')).toHaveCount(0);
    await shot(page, 'sr', true);
  });
  await test.step('the CJK name is drawn with the shipped font in the library too', async () => {
    await app.open(page, '#/library');
    await expect(page.getByText('山田, 太郎').first()).toBeVisible();
    await page.waitForTimeout(1000);
    // The fonts Chromium used for the name's glyphs (DevTools protocol): the shipped one, not boxes
    // from a system font.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', {
      nodeId: root.nodeId,
      selector: 'td button',
    });
    const used = await Promise.all(
      nodeIds.map((nodeId) => cdp.send('CSS.getPlatformFontsForNode', { nodeId })),
    );
    const cjk = used.flatMap((u) => u.fonts).filter((f) => f.isCustomFont);
    expect(cjk.map((f) => f.familyName).join(', ')).toMatch(/Noto Sans SC/);
    await shot(page, 'library-cjk');
  });
  expect(consoleErrors).toEqual([]);
});
