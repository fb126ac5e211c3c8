// `npm run demo`: restores and classifies the bundled sample chest X-rays with the shipped default
// model and writes a side-by-side report to demo-output/ (report.html plus one PNG per image).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedModelsDir } from '../main/app/paths.ts';
import { comparisonPng, htmlReport, type ReportEntry } from '../main/inference/report.ts';
import { createInferenceService } from '../main/inference/service.ts';
import { readGrayImage } from '../main/util/image-io.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const samplesDir = join(root, 'samples');
const outDir = join(root, 'demo-output');
mkdirSync(outDir, { recursive: true });

const service = createInferenceService({ shippedDir: shippedModelsDir() });
const entries: ReportEntry[] = [];
let modelName = '';
let provider = '';
for (const file of readdirSync(samplesDir)
  .filter((f) => f.endsWith('.png'))
  .sort()) {
  const image = await readGrayImage(join(samplesDir, file));
  const result = await service.infer(image, { what: file });
  const png = await comparisonPng(image, result.restored.at(-1)!, result.heatmap);
  writeFileSync(join(outDir, `${basename(file, extname(file))}_comparison.png`), png);
  entries.push({
    name: file,
    png,
    covid: result.probabilities.covid,
    label: result.label,
    threshold: result.threshold,
  });
  modelName = `${result.model.id} ${result.model.version}`;
  provider = result.provider;
  console.log(`${file}: p(COVID-19) = ${(result.probabilities.covid * 100).toFixed(1)}% → ${result.label}`);
}
await service.close();
writeFileSync(join(outDir, 'report.html'), htmlReport('R2C Workstation demo', modelName, provider, entries));
console.log(`report: ${join(outDir, 'report.html')}`);
