// Sample restorations for a model card, to look at at 100% zoom: for each synthetic artifact type,
// four validation images (the same degradations `r2c eval` uses) as rows of poor | restored | clean,
// one 256 px image pixel per PNG pixel. Cases with that artifact alone come first.
// Usage: node --import tsx scripts/sample-comparisons.ts <model id | file.onnx> <out dir>
//          [--data ../shared/data/MANIFEST.csv] [--validation-seed 20261126] [--degrade r2c-eval]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localModelsDir, shippedModelsDir } from '../main/app/paths.ts';
import { loadEvaluationItems } from '../main/evaluation/evaluation-run.ts';
import { readDicomAsModelInput } from '../main/inference/batch.ts';
import { adHocModel } from '../main/inference/model-store.ts';
import { createInferenceService } from '../main/inference/service.ts';
import { prepareForTest } from '../main/data/augment.ts';
import { loadItemImage } from '../main/data/dataset.ts';
import { artifactTypes, degrade } from '../main/data/degrade.ts';
import { Rng } from '../main/data/random.ts';
import { createGray, type GrayImage } from '../main/util/image.ts';
import { writeGrayPng } from '../main/util/image-io.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: '../shared/data/MANIFEST.csv' },
    'validation-seed': { type: 'string', default: '20261126' },
    degrade: { type: 'string', default: 'r2c-eval' },
  },
});
const [model, outDir] = positionals;
if (!model || !outDir) throw new Error('usage: sample-comparisons.ts <model id | file.onnx> <out dir>');
const perType = 4;
const size = 256;
const gap = 4;

const extraModels = model.endsWith('.onnx')
  ? [await adHocModel(model, { kind: 'operational', parameters: 1 })]
  : [];
const modelId = extraModels[0]?.card.id ?? model;
const service = createInferenceService({
  shippedDir: shippedModelsDir(),
  localDir: localModelsDir(),
  extraModels,
});
const items = await loadEvaluationItems(values.data, { validationSeed: Number(values['validation-seed']) });

// Degrade every validation image exactly as `r2c eval` does (seed, 'evaluate', image id).
const cases = [];
for (const item of items) {
  const clean = prepareForTest(await loadItemImage(item, { readDicom: readDicomAsModelInput }), size);
  const { image: poor, artifacts } = degrade(clean, new Rng(values.degrade, 'evaluate', item.id));
  cases.push({ id: item.id, clean, poor, types: artifacts.map((a) => a.type) });
}

mkdirSync(outDir, { recursive: true });
for (const type of artifactTypes) {
  const withType = cases.filter((c) => c.types.includes(type));
  const chosen = [
    ...withType.filter((c) => c.types.length === 1),
    ...withType.filter((c) => c.types.length > 1),
  ].slice(0, perType);
  if (chosen.length === 0) continue;
  const sheet = createGray(3 * size + 2 * gap, chosen.length * size + (chosen.length - 1) * gap);
  sheet.data.fill(1);
  for (const [row, c] of chosen.entries()) {
    const r = await service.infer(c.poor, { modelId, passes: 1, workingLongSide: size });
    const restored = r.restored[0] as GrayImage;
    for (const [col, image] of [c.poor, restored, c.clean].entries())
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          sheet.data[(row * (size + gap) + y) * sheet.width + col * (size + gap) + x] = Math.min(
            1,
            Math.max(0, image.data[y * size + x] as number),
          );
    console.log(`${type}: ${c.id} (${c.types.join(' + ')})`);
  }
  await writeGrayPng(join(outDir, `${type}.png`), sheet);
}
await service.close();
console.log(`poor | restored | clean sheets written to ${outDir}`);
