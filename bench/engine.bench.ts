// Model engine throughput on onnxruntime-node (CPU, 2 intra-op threads): inference per architecture
// at 256/512/1024 px, one full R2C-GAN iteration (G step + D step) at 128/256 px, and the same run's
// large square MatMul as the ceiling every GFLOP/s figure is a fraction of.
// FLOP = 2 x multiply-adds of Conv/ConvTranspose/MatMul/Gemm, from the graphs' static shapes.
import * as ort from 'onnxruntime-node';
import {
  type ArchKind,
  buildInferenceModel,
  buildNetworkModel,
  initWeights,
  type Network,
  R2CGanTrainer,
  r2cGanNetworks,
} from '../models/index.ts';
import { matMulCeiling, round, threads, timeRuns } from './measure.ts';
import type { BenchContext } from './types.ts';

interface Arch {
  name: string;
  kind: ArchKind;
  q?: number;
}
const archs: Arch[] = [
  { name: 'operational Q=1', kind: 'operational', q: 1 },
  { name: 'operational Q=2', kind: 'operational', q: 2 },
  { name: 'operational Q=3', kind: 'operational', q: 3 },
  { name: 'CNN (ResNet-9)', kind: 'convolutional' },
  { name: 'compact CNN', kind: 'convolutional-light' },
];

export default async function bench(context: BenchContext): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const ceiling = await matMulCeiling(2048);
  context.log(`MatMul 2048^2 ceiling: ${ceiling.gflops} GFLOP/s median (best ${ceiling.bestGflops})`);
  // The machine is shared: a quick 1024^2 MatMul (best of 3) right before each measurement gives the
  // ceiling under the load of that moment; fractions use it.
  const localCeiling = async () => (await matMulCeiling(1024, 3)).bestGflops;

  // Inference: the deployable model (restored + probabilities + cam), batch 1, random weights.
  const inference: Record<string, unknown>[] = [];
  const plan = [
    { size: 256, warmup: 1, runs: 3 },
    { size: 512, warmup: 0, runs: 2 },
    { size: 1024, warmup: 0, runs: 1 },
  ];
  for (const arch of archs) {
    const { generator } = r2cGanNetworks(arch.kind, { q: arch.q ?? 3 });
    const weights = initWeights(generator, 1);
    const session = await ort.InferenceSession.create(buildInferenceModel(generator, weights), {
      intraOpNumThreads: threads,
    });
    for (const { size, warmup, runs } of plan) {
      const flop = forwardFlops(generator, weights, size);
      const x = Float32Array.from({ length: size * size }, (_, i) => Math.sin(i * 0.001));
      const feeds = { image: new ort.Tensor('float32', x, [1, 1, size, size]) };
      const local = await localCeiling();
      const ms = await timeRuns(runs, warmup, () => session.run(feeds));
      const best = Math.min(...ms);
      const gflops = flop / best / 1e6;
      const row = {
        arch: arch.name,
        size,
        gflop: round(flop / 1e9, 2),
        ms: ms.map((v) => round(v)),
        bestMs: round(best),
        gflops: round(gflops),
        ceilingGflops: local,
        fractionOfCeiling: round(gflops / local, 3),
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      };
      inference.push(row);
      context.log(
        `${arch.name} ${size}px: ${row.bestMs} ms, ${row.gflops} GFLOP/s (${row.fractionOfCeiling} of ceiling)`,
      );
    }
    await session.release();
  }

  // Training: one reference iteration (generator step, image pools, discriminator step), batch 1.
  const training: Record<string, unknown>[] = [];
  const trainPlan: { arch: Arch; size: number; runs: number }[] = [
    { arch: archs[2] as Arch, size: 128, runs: 3 },
    { arch: archs[2] as Arch, size: 256, runs: 2 },
    { arch: archs[4] as Arch, size: 128, runs: 3 },
    { arch: archs[4] as Arch, size: 256, runs: 2 },
    { arch: archs[3] as Arch, size: 128, runs: 1 },
  ];
  for (const { arch, size, runs } of trainPlan) {
    const c0 = performance.now();
    const trainer = await R2CGanTrainer.create({ kind: arch.kind, q: arch.q ?? 3, size }, undefined, {
      threads,
    });
    const createMs = performance.now() - c0;
    const img = (s: number) => Float32Array.from({ length: size * size }, (_, i) => Math.sin(i * 0.01 + s));
    let k = 0;
    const local = await localCeiling();
    const ms = await timeRuns(runs, 1, () =>
      trainer.step({ A: img(k++), B: img(k++), labelA: 1, labelB: 0 }),
    );
    const best = Math.min(...ms);
    const gflops = trainer.flopsPerIteration / best / 1e6;
    const row = {
      arch: arch.name,
      size,
      gflopPerIteration: round(trainer.flopsPerIteration / 1e9, 1),
      buildAndLoadMs: round(createMs),
      ms: ms.map((v) => round(v)),
      bestMs: round(best),
      gflops: round(gflops),
      ceilingGflops: local,
      fractionOfCeiling: round(gflops / local, 3),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
    training.push(row);
    context.log(
      `train ${arch.name} ${size}px: ${row.bestMs} ms/iteration, ${row.gflops} GFLOP/s (${row.fractionOfCeiling} of ${local})`,
    );
    await trainer.release();
  }
  const ceilingAfter = await matMulCeiling(2048);
  context.log(`MatMul ceiling again: ${ceilingAfter.gflops} GFLOP/s`);
  return {
    threads,
    executionProvider: 'cpu',
    note: 'batch 1, random weights; GFLOP/s from the best run; fractionOfCeiling against a 1024^2 MatMul measured just before each row (shared machine); 2048^2 ceiling before and after the run',
    ceiling,
    ceilingAfter,
    inference,
    training,
    totalSeconds: round((performance.now() - t0) / 1000),
  };
}

function forwardFlops(net: Network, weights: ReturnType<typeof initWeights>, size: number): number {
  return buildNetworkModel(net, weights, { shape: [1, 1, size, size] }).flops;
}
