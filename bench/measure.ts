// Shared measuring helpers for the benchmarks: timing and the MatMul ceiling every GFLOP/s figure
// is reported against (a large square MatMul on the same onnxruntime build and thread count).
import * as ort from 'onnxruntime-node';
import { Graph } from '../models/index.ts';

export const threads = 2;
export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function timeRuns(runs: number, warmup: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function matMulCeiling(
  n: number,
  runs = 5,
): Promise<{ n: number; ms: number[]; gflops: number; bestGflops: number }> {
  const g = new Graph('float32');
  const out = g.matMul(g.input('a', [n, n]), g.input('b', [n, n]));
  const model = g.toOnnx([g.named(out, 'y')]);
  const s = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: threads });
  const data = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = { a: new ort.Tensor('float32', data, [n, n]), b: new ort.Tensor('float32', data, [n, n]) };
  const ms = await timeRuns(runs, 1, () => s.run(feeds));
  await s.release();
  const flop = 2 * n ** 3;
  return {
    n,
    ms: ms.map((x) => round(x)),
    gflops: round(flop / median(ms) / 1e6),
    bestGflops: round(flop / Math.min(...ms) / 1e6),
  };
}
