// End-to-end inference with the shipped default model (r2c-q3) on CPU, 2 intra-op threads: per image
// decode, preprocess, model, postprocess and write at working sizes 256, 512, 1024 and 2048 (2048 is
// above the 1024x1024 pixel budget, so it runs tiled), peak memory per size, the fraction of time
// outside onnxruntime, and the model part as GFLOP/s against a MatMul ceiling measured in the same run.
// R2C_BENCH_UNTILED=1 also runs 2048 untiled (memory and time of tiling, tiled/untiled parity; adds
// about two minutes on a 2-core machine).
//
// Each size runs in its own child process, so maxRSS (a process-lifetime high-water mark) is that
// size's peak. Inputs are PNGs made by resizing a real chest radiograph (DICOM, decoded by our
// pipeline) to the working size, so no resampling happens inside the measured run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNetworkModel, readWeightsFromOnnx } from '../models/inference.ts';
import { networkFromConfig } from '../models/nets.ts';
import { processImages, readInput } from '../main/inference/batch.ts';
import { resizeGray } from '../main/util/resize.ts';
import { readGrayImage, writeGrayPng } from '../main/util/image-io.ts';
import { matMulCeiling, round, threads } from './measure.ts';
import type { BenchContext } from './types.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const shippedDir = join(repo, 'models/shipped');
const modelFile = join(shippedDir, 'r2c-q3.onnx');
const source = join(
  repo,
  '../shared/data/dicom/torchxrayvision/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
);
const MiB = 2 ** 20;

interface ChildResult {
  size: number;
  tiles: number;
  timings: Record<string, number>;
  maxRssMiB: number;
  rssBeforeMiB: number;
  output: string;
}

/** Child mode: one working size, one warm-up at 256 px (loads the sessions), one measured image. */
async function child(size: number, input: string, outDir: string, tilePixelBudget?: number): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const base = { shippedDir, threads, outDir, passes: 1, tilePixelBudget };
  const context = { signal: new AbortController().signal, progress: () => {} };
  const warm = await processImages({ ...base, files: [input], workingLongSide: 256 }, context);
  if ('error' in warm.items[0]!) throw new Error(warm.items[0].error.message);
  const rssBefore = process.memoryUsage().rss;
  const { items } = await processImages({ ...base, files: [input], workingLongSide: size }, context);
  const item = items[0]!;
  if ('error' in item) throw new Error(item.error.message);
  const result: ChildResult = {
    size,
    tiles: item.tiles ?? 1,
    timings: item.timings,
    maxRssMiB: round((process.resourceUsage().maxRSS * 1024) / MiB),
    rssBeforeMiB: round(rssBefore / MiB),
    output: item.output!,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(size: number, input: string, outDir: string, tilePixelBudget?: number): ChildResult {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(size), input, outDir];
  if (tilePixelBudget) args.push(String(tilePixelBudget));
  const r = spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`child for ${size} px failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

function modelFlops(width: number, height: number): number {
  const { config, weights } = readWeightsFromOnnx(new Uint8Array(readFileSync(modelFile)));
  const net = networkFromConfig(config);
  const pad = (v: number) => Math.max(4, Math.ceil(v / 2) * 2);
  return buildNetworkModel(net, weights, { shape: [1, 1, pad(height), pad(width)] }).flops;
}

async function bench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'r2c-bench-infer-'));
  try {
    const { image } = await readInput(source);
    ctx.log(`source chest X-ray ${image.width}x${image.height}`);
    const ceilingBefore = (await matMulCeiling(1024, 3)).bestGflops;
    const classifyFlops = modelFlops(256, 256);
    const rows: Record<string, unknown>[] = [];
    const run = async (size: number, label: string, tilePixelBudget?: number) => {
      const scale = size / Math.max(image.width, image.height);
      const w = Math.round(image.width * scale);
      const h = Math.round(image.height * scale);
      const input = join(dir, `chest-${size}.png`);
      await writeGrayPng(input, resizeGray(image, w, h));
      const r = runChild(size, input, join(dir, label), tilePixelBudget);
      const t = r.timings;
      const total = t['totalMs']!;
      const model = t['modelMs']!;
      const flops = (size === 256 ? 0 : modelFlops(w, h)) + classifyFlops;
      const row = {
        label,
        size: `${w}x${h}`,
        tiles: r.tiles,
        ms: {
          total: round(total),
          decode: round(t['decodeMs']!),
          preprocess: round(t['preprocessMs']!),
          model: round(model),
          // restore + classify minus model runs: crop/clamp, CAM upsampling, tile cutting and blending.
          postprocess: round(t['classifyMs']! + t['restoreMs']! - model),
          write: round(t['writeMs']!),
        },
        fractionOutsideModel: round(1 - model / total, 3),
        // Whole-image FLOPs (restoration + 256 px classification); tiled runs do more work than this.
        effectiveGflops: round(flops / model / 1e6),
        fractionOfCeiling: round(flops / model / 1e6 / ceilingBefore, 3),
        maxRssMiB: r.maxRssMiB,
        rssBeforeMiB: r.rssBeforeMiB,
        output: r.output,
      };
      ctx.log(JSON.stringify(row));
      rows.push(row);
      return r;
    };
    for (const size of [256, 512, 1024]) await run(size, String(size));
    const tiled = await run(2048, '2048-tiled');
    let untiled: Record<string, unknown> = { skipped: 'set R2C_BENCH_UNTILED=1 to compare' };
    if (process.env['R2C_BENCH_UNTILED'] === '1') {
      const whole = await run(2048, '2048-untiled', 4096 * 4096);
      const a = await readGrayImage(tiled.output);
      const b = await readGrayImage(whole.output);
      let maxDiff = 0;
      for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i]! - b.data[i]!));
      untiled = {
        maxAbsDiff8bit: round(maxDiff * 255, 2),
        note: 'restored PNGs, in 8-bit levels',
        timeRatio: round(tiled.timings['totalMs']! / whole.timings['totalMs']!, 2),
        maxRssRatio: round(tiled.maxRssMiB / whole.maxRssMiB, 2),
      };
    }
    const ceilingAfter = (await matMulCeiling(1024, 3)).bestGflops;
    return {
      note: 'shipped r2c-q3, CPU, 2 threads, passes 1, PNG in/out; one warm-up image at 256 px per child process, then one measured image; shared 2-core machine (other developers running), so read ratios rather than absolute times',
      matMulCeilingGflops: { before: round(ceilingBefore), after: round(ceilingAfter), n: 1024 },
      rows,
      tiledVsUntiled2048: untiled,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const [size, input, outDir, budget] = process.argv.slice(childAt + 1);
  await child(Number(size), input!, outDir!, budget ? Number(budget) : undefined);
}

export default bench;
