// `npm run demo`: restores and classifies the bundled sample chest X-rays with the shipped default
// model and writes a side-by-side report to demo-output/ (report.html plus one PNG per image).
// Every image goes through the input gate first: one the gate refuses is listed, not classified.
// Results say positive / negative / indeterminate with the threshold, the indeterminate band and
// the validation sensitivity/specificity, and name the exact model (id, version, SHA-256).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedModelsDir } from '../main/app/paths.ts';
import { IntendedUseRefusal } from '../main/inference/intended-use.ts';
import {
  comparisonPng,
  htmlReport,
  type RefusedEntry,
  type ReportEntry,
  type ReportModel,
  resultText,
} from '../main/inference/report.ts';
import { createInferenceService } from '../main/inference/service.ts';
import { readGrayImage } from '../main/util/image-io.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const samplesDir = join(root, 'samples');
const outDir = join(root, 'demo-output');
mkdirSync(outDir, { recursive: true });

const service = createInferenceService({ shippedDir: shippedModelsDir() });
const entries: ReportEntry[] = [];
const refused: RefusedEntry[] = [];
const card = (await service.resolve(undefined)).card;
let model: ReportModel = {
  id: card.id,
  version: card.version,
  sha256: card.sha256,
  name: card.name,
  heatmapScale: card.calibration?.heatmapScale ?? 'per-image',
};
let provider = '';
for (const file of readdirSync(samplesDir)
  .filter((f) => f.endsWith('.png'))
  .sort()) {
  const image = await readGrayImage(join(samplesDir, file));
  let result: Awaited<ReturnType<typeof service.infer>>;
  try {
    result = await service.infer(image, { what: file, gate: {} });
  } catch (error) {
    if (!(error instanceof IntendedUseRefusal)) throw error;
    refused.push({ name: file, reason: error.message });
    console.log(`${file}: REFUSED — ${error.message}`);
    continue;
  }
  const png = await comparisonPng(image, result.restored.at(-1)!, result.heatmap);
  writeFileSync(join(outDir, `${basename(file, extname(file))}_comparison.png`), png);
  const entry: ReportEntry = {
    name: file,
    png,
    covid: result.probabilities.covid,
    label: result.label,
    threshold: result.threshold,
    decision: result.certainty.decision,
    ...(result.certainty.indeterminate ? { indeterminate: result.certainty.indeterminate } : {}),
    ...(result.certainty.validation ? { validation: result.certainty.validation } : {}),
  };
  entries.push(entry);
  model = { ...model, ...result.model, heatmapScale: result.heatmapScale };
  provider = result.provider;
  console.log(`${file}: ${resultText(entry)}`);
}
await service.close();
writeFileSync(
  join(outDir, 'report.html'),
  htmlReport('R2C Workstation demo', model, provider, entries, refused),
);
console.log(`model ${model.id} ${model.version} sha256:${model.sha256}`);
console.log('Decision support for research use only; not a diagnosis.');
console.log(`report: ${join(outDir, 'report.html')}`);
