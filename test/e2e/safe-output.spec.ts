// Safe AI output in the viewer (issue 15), against the real handler table and the shipped model:
// a brain MR is refused as outside the model's intended use (naming Modality), "Classify anyway"
// classifies it with the override recorded; a chest radiograph is classified with its decision
// (positive / negative / indeterminate), the indeterminate band, the validation sensitivity and
// specificity at the threshold, the model's SHA-256 and the heat map's scale.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import type { Envelope, Output } from '../../main/contract/types.ts';
import { expect, repoRoot, screenshotDir, test } from './harness.ts';

mkdirSync(screenshotDir, { recursive: true });
const dicomDir = join(repoRoot, '..', 'shared', 'data', 'dicom');
const mrFile = join(dicomDir, 'dicom-test-files', 'MR_small.dcm');
const chestFile = join(
  dicomDir,
  'torchxrayvision',
  '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
);

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(screenshotDir, `safe-output-${name}.png`) });
}

type AnalyseEnvelope = Envelope<Output<'analyseImages'>>;

test('a brain MR is refused naming the attribute; the override is recorded; a chest X-ray shows how sure the result is', async ({
  page,
  app,
}) => {
  test.skip(!existsSync(mrFile) || !existsSync(chestFile), 'shared DICOM samples not found');
  test.setTimeout(300_000);
  await app.services.library.importPaths([mrFile, chestFile]);
  const instances = app.services.library.listInstances({});
  const byModality = async (modality: string) => {
    for (const i of instances) {
      const study = await app.services.viewer.study(i.id);
      const series = study.series.find((s) => s.instances.some((x) => x.id === i.id));
      if (series?.modality === modality) return i.id;
    }
    throw new Error(`no ${modality} instance imported`);
  };
  const mrId = await byModality('MR');
  const chestId = await byModality('CR');
  const lastAnalysis = () =>
    app.responses.filter((r) => r.channel === 'analyseImages').at(-1)!.envelope as AnalyseEnvelope;

  await test.step('MR: refused as outside the intended use, naming Modality', async () => {
    await app.open(page, `#/viewer?instance=${mrId}`);
    await page.getByTestId('analyse-button').click();
    const note = page.getByTestId('analysis-note');
    await expect(note).toContainText("outside the model's intended use", { timeout: 120_000 });
    await expect(note).toContainText('Modality is MR (expected CR or DX)');
    await expect(page.getByTestId('classification-panel')).toHaveCount(0);
    await shot(page, 'mr-refused');
  });

  await test.step('MR: "Classify anyway" classifies it and the override shows with the result', async () => {
    await page.getByTestId('analyse-anyway').click();
    await expect(page.getByTestId('classification-panel')).toBeVisible({ timeout: 120_000 });
    const response = lastAnalysis();
    expect(response.ok).toBe(true);
    const item = response.ok ? response.value.items[0] : undefined;
    expect(item?.ok, JSON.stringify(item)).toBe(true);
    const analysis = item?.ok ? item.analysis : undefined;
    expect(analysis?.intendedUse?.accepted).toBe(false);
    expect(analysis?.intendedUse?.override?.by).toBe('viewer: classify anyway');
    await expect(page.getByTestId('intended-use-override')).toContainText('Modality MR');
    await page.waitForTimeout(500);
    await shot(page, 'mr-override');
  });

  await test.step('chest: decision, band, validation figures, model SHA-256, heat-map scale', async () => {
    await app.open(page, `#/viewer?instance=${chestId}`);
    await page.getByTestId('analyse-button').click();
    await expect(page.getByTestId('classification-panel')).toBeVisible({ timeout: 120_000 });
    const response = lastAnalysis();
    const item = response.ok ? response.value.items[0] : undefined;
    expect(item?.ok, JSON.stringify(item)).toBe(true);
    const analysis = item?.ok ? item.analysis : undefined;
    expect(analysis?.intendedUse?.accepted).toBe(true);
    const decision = analysis!.certainty!.decision;
    await expect(page.getByTestId('classification-label')).toHaveAttribute('data-decision', decision);
    await expect(page.getByTestId('classification-label')).toHaveText(
      decision === 'indeterminate'
        ? /Indeterminate/
        : decision === 'positive'
          ? 'COVID-19 pattern suggested'
          : 'No COVID-19 pattern suggested',
    );
    const band = analysis!.certainty!.indeterminate;
    await expect(page.getByTestId('classification-band')).toHaveText(
      band
        ? `${(100 * band.low).toFixed(1)}% – ${(100 * band.high).toFixed(1)}%`
        : 'no calibrated band for this model',
    );
    const validation = analysis!.certainty!.validation;
    if (validation)
      await expect(page.getByTestId('classification-validation')).toContainText(
        `sensitivity ${Math.round(100 * validation.sensitivity)}%, specificity ${Math.round(100 * validation.specificity)}%`,
      );
    await expect(page.getByTestId('classification-model-sha256')).toContainText(
      analysis!.modelSha256!.slice(0, 16),
    );
    // The result says what its exact model is on this workstation now (the model registry).
    await expect(page.getByTestId('classification-model-provenance')).toContainText(
      `from ${analysis!.model.id} ${analysis!.model.version}`,
    );
    const scale = analysis!.heatmapScale;
    await expect(page.getByTestId('heatmap-scale')).toContainText(
      scale && scale !== 'per-image' ? `≥ ${scale.max} (fixed scale for this model)` : 'scaled per image',
    );
    await page.waitForTimeout(800);
    await shot(page, 'chest-result');
  });
});
