// Shared by the GPU kit's tests: finding a Python that can run the kit, and a tiny packed data set.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { NetConfig, WeightMap } from '../../../models/nets.ts';
import { encodeWeights } from '../../../scripts/gpu/export-weights.ts';

/** A Python that imports `modules` (e.g. 'torch, numpy'): R2C_TORCH_PYTHON first, then the usual names. */
export function findPython(modules: string): string | undefined {
  for (const py of [process.env['R2C_TORCH_PYTHON'], 'python3', '/usr/bin/python3', 'python']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', `import ${modules}`], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** 8 synthetic 40x40 gray images in pack-data.ts's layout, 4 per domain, both classes. */
export async function writeTinyData(dir: string): Promise<void> {
  await mkdir(join(dir, 'images'), { recursive: true });
  const lines = ['file,label,class_index,domain,id'];
  for (let i = 0; i < 8; i++) {
    const px = Buffer.alloc(40 * 40);
    for (let j = 0; j < px.length; j++) px[j] = (j * (i + 3) + i * 17) % 256;
    const file = `images/${i}.png`;
    await sharp(px, { raw: { width: 40, height: 40, channels: 1 } })
      .png()
      .toFile(join(dir, file));
    const cls = i % 2;
    lines.push(`${file},${cls ? 'COVID-19' : 'normal'},${cls},${i < 4 ? 'poor' : 'good'},s${i}`);
  }
  await writeFile(join(dir, 'labels.csv'), `${lines.join('\n')}\n`);
}

/** Writes `weights` as a kit init (init.json + init.bin, export-weights.ts's format) in dir; returns init.json. */
export async function writeInitWeights(dir: string, config: NetConfig, weights: WeightMap): Promise<string> {
  const { meta, bin } = encodeWeights(config, weights);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'init.bin'), bin);
  await writeFile(join(dir, 'init.json'), JSON.stringify(meta));
  return join(dir, 'init.json');
}
