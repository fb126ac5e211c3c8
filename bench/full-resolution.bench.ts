// Full-resolution restored output (issue 15): the model restores at its working size (512 px long
// side); the output keeps the original's matrix by adding the upsampled working-size correction to
// the full-resolution input (transferCorrection). Measured on synthetic degradations (main/data
// degrade, seeded per file) of the shared chest DICOMs at their native size, against the clean
// original: PSNR/SSIM of the degraded input, of the plain upsampled model output, and of the
// correction transfer; and the time of the working-size path (decode, model, write at 512 px) against
// the full-resolution path (the same plus the transfer and a full-size write), through processImages.
// Also writes 100% crops (docs/screenshots/full-resolution-crops.png): clean | degraded | upsampled | transferred.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { degrade } from '../main/data/degrade.ts';
import { readModelInput } from '../main/data/input/index.ts';
import { psnr, ssim } from '../main/evaluation/index.ts';
import { processImages } from '../main/inference/batch.ts';
import { transferCorrection, upsampleRestored } from '../main/inference/full-resolution.ts';
import { createInferenceService } from '../main/inference/service.ts';
import { cropGray } from '../main/util/resize.ts';
import type { GrayImage } from '../main/util/image.ts';
import { median, round, threads } from './measure.ts';
import type { BenchContext } from './types.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const shippedDir = join(repo, 'models/shipped');
const dicomDir = join(repo, '../shared/data/dicom');
const FILES = [
  'orthanc-tests/Monochrome1-Jpeg.dcm',
  'dicom-test-files/RG1_J2KI',
  'torchxrayvision/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
  'covid-chest-imaging-database/1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm',
];
const MODELS = ['r2c-q3', 'r2c-q3-reference'];

async function cropsPng(rows: GrayImage[][], path: string): Promise<void> {
  const side = rows[0]![0]!.width;
  const gap = 6;
  const columns = rows[0]!.length;
  const width = columns * side + (columns - 1) * gap;
  const height = rows.length * side + (rows.length - 1) * gap;
  const out = new Uint8Array(width * height).fill(40);
  for (const [r, row] of rows.entries())
    for (const [c, img] of row.entries())
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++)
          out[(r * (side + gap) + y) * width + c * (side + gap) + x] = Math.round(
            Math.min(1, Math.max(0, img.data[y * side + x]!)) * 255,
          );
  await sharp(out, { raw: { width, height, channels: 1 } })
    .png()
    .toFile(path);
}

export default async function run(context: BenchContext) {
  const service = createInferenceService({ shippedDir, threads });
  const quality: Record<string, unknown>[] = [];
  const cropRows: GrayImage[][] = [];
  try {
    for (const file of FILES) {
      const { image: clean } = await readModelInput(join(dicomDir, file));
      const { image: degraded, artifacts } = degrade(clean, `full-resolution/${file}`, {
        minArtifacts: 1,
        maxArtifacts: 2,
      });
      const row: Record<string, unknown> = {
        file,
        size: `${clean.width}x${clean.height}`,
        artifacts: artifacts.map((a) => a.type).join('+'),
        degraded: { psnr: round(psnr(clean, degraded), 2), ssim: round(ssim(clean, degraded), 4) },
      };
      for (const modelId of MODELS) {
        const result = await service.infer(degraded, { modelId, passes: 1, what: file });
        const working = result.restored[0]!;
        const plain = upsampleRestored(degraded, working);
        const transferred = transferCorrection(degraded, working);
        row[modelId] = {
          working: `${working.width}x${working.height}`,
          upsampled: { psnr: round(psnr(clean, plain), 2), ssim: round(ssim(clean, plain), 4) },
          transferred: { psnr: round(psnr(clean, transferred), 2), ssim: round(ssim(clean, transferred), 4) },
        };
        if (modelId === 'r2c-q3' && cropRows.length < 2) {
          // A 256 px crop at 100% from the image centre (lung field / mediastinum border).
          const x = Math.floor(clean.width * 0.3);
          const y = Math.floor(clean.height * 0.35);
          cropRows.push([clean, degraded, plain, transferred].map((img) => cropGray(img, x, y, 256, 256)));
        }
      }
      context.log(JSON.stringify(row));
      quality.push(row);
    }
  } finally {
    await service.close();
  }
  const cropsPath = join(repo, 'docs/screenshots/full-resolution-crops.png');
  mkdirSync(join(repo, 'docs/screenshots'), { recursive: true });
  await cropsPng(cropRows, cropsPath);

  // Time: the whole batch path for one large DICOM, working-size output vs full-resolution output.
  const outDir = mkdtempSync(join(tmpdir(), 'r2c-bench-fullres-'));
  const timing: Record<string, unknown> = {};
  try {
    const input = join(dicomDir, FILES[0]!);
    const job = { signal: new AbortController().signal, progress: () => {} };
    const base = { files: [input], shippedDir, threads, outDir, passes: 1 };
    await processImages({ ...base, workingSizeOutput: true }, job); // warm-up: sessions loaded
    for (const [name, workingSizeOutput] of [
      ['workingSize', true],
      ['fullResolution', false],
    ] as const) {
      const totals: number[] = [];
      const writes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const item = (await processImages({ ...base, workingSizeOutput }, job)).items[0]!;
        if ('error' in item) throw new Error(item.error.message);
        totals.push(item.timings['totalMs']!);
        writes.push(item.timings['writeMs']!);
      }
      timing[name] = {
        totalMsMedian: round(median(totals)),
        writeMsMedian: round(median(writes)),
        runs: totals.map((t) => round(t)),
      };
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  context.log(JSON.stringify(timing));
  return {
    model: 'r2c-q3 (default) and r2c-q3-reference, CPU, 2 threads',
    quality,
    timing,
    crops: 'docs/screenshots/full-resolution-crops.png',
  };
}
