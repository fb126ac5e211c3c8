// Plots the loss curves of a GPU training run (scripts/gpu/train.py's metrics.jsonl) next to it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { lineChartSvg, thin } from '../main/training/plot.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: plot-gpu-run.ts <run folder with metrics.jsonl>');
const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Record<string, number>);
const series = (name: string, key: string) => ({
  name,
  points: thin(rows.map((r) => ({ x: r['step']!, y: r[key]! }))),
});
const svg = lineChartSvg({
  title: 'R2C-GAN Q=3 training on the GPU (batch 4)',
  xLabel: 'step',
  yLabel: 'loss',
  series: [
    series('generator total', 'g_total'),
    series('discriminator total', 'd_total'),
    series('cycle L1 A→B→A', 'A2B2A_cycle_loss'),
    series('class CE A→B', 'A2B_c_loss'),
  ],
  logY: true,
});
writeFileSync(join(dir, 'losses.svg'), svg);
await sharp(Buffer.from(svg)).png().toFile(join(dir, 'losses.png'));
console.log(`wrote ${join(dir, 'losses.svg')} and losses.png`);
