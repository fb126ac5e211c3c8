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
import { buildNetworkModel, loadInferenceModel, readWeightsFromOnnx } from '../models/inference.ts';
import { networkFromConfig } from '../models/nets.ts';
import { processImages, readInput } from '../main/inference/batch.ts';
import { resizeGray } from '../main/util/resize.ts';
import { readGrayImage, writeGrayPng } from '../main/util/image-io.ts';
import { matMulCeiling, round, threads } from './measure.ts';
import type { BenchContext } from './types.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const shippedDir = join(repo, 'models/shipped');
const modelFile = join(shippedDir, 'r2c-q3.onnx');
// The default before r2c-q3 0.2.0 (transposed output layer); the issue asks for the default's cost as a ratio to it.
const referenceFile = join(shippedDir, 'r2c-q3-reference.onnx');
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

/**
 * Model-only time of the default against the reference model at the same size, interleaved in one
 * process (A B A B ...) so machine load hits both alike; medians and their ratio.
 */
async function againstReference(size: number, repeats = 7): Promise<Record<string, unknown>> {
  const image = new Float32Array(size * size);
  for (let i = 0; i < image.length; i++) image[i] = Math.sin(i * 0.013) * 0.8;
  const dims = [1, 1, size, size];
  const runners = {
    default: await loadInferenceModel(new Uint8Array(readFileSync(modelFile)), { threads }),
    reference: await loadInferenceModel(new Uint8Array(readFileSync(referenceFile)), { threads }),
  };
  const times: Record<keyof typeof runners, number[]> = { default: [], reference: [] };
  try {
    for (const r of Object.values(runners)) await r.run(image, dims);
    for (let i = 0; i < repeats; i++)
      for (const [name, r] of Object.entries(runners) as [
        keyof typeof runners,
        (typeof runners)['default'],
      ][]) {
        const t0 = performance.now();
        await r.run(image, dims);
        times[name].push(performance.now() - t0);
      }
  } finally {
    for (const r of Object.values(runners)) await r.release();
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  return {
    size: `${size}x${size}`,
    repeats,
    medianMs: { default: round(median(times.default)), reference: round(median(times.reference)) },
    ratio: round(median(times.default) / median(times.reference), 3),
  };
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
    const vsReference = [];
    for (const size of [256, 512, 1024]) {
      const row = await againstReference(size);
      ctx.log(`against r2c-q3-reference: ${JSON.stringify(row)}`);
      vsReference.push(row);
    }
    const ceilingAfter = (await matMulCeiling(1024, 3)).bestGflops;
    return {
      note: 'shipped r2c-q3, CPU, 2 threads, passes 1, PNG in/out; one warm-up image at 256 px per child process, then one measured image; shared 2-core machine (other developers running), so read ratios rather than absolute times',
      matMulCeilingGflops: { before: round(ceilingBefore), after: round(ceilingAfter), n: 1024 },
      rows,
      defaultVsReferenceModel: {
        note: 'model run only (onnxruntime), default r2c-q3 vs r2c-q3-reference (the default before 0.2.0), interleaved in one process',
        rows: vsReference,
      },
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
