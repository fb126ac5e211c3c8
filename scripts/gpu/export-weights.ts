// Exports an engine model's generator weights in the GPU kit's weights format, so a GPU run can
// start from a shipped model (scripts/gpu/train.py --init, run-on-device.sh INIT=...):
//
//   node --import tsx scripts/gpu/export-weights.ts --model models/shipped/r2c-q3.onnx --out scratch/gpu-init
//
// Writes OUT/init.json + OUT/init.bin (format r2c-gan-weights/1, the layout import-weights.ts reads:
// config incl. `upsampling` when 'resize', params in engine order, float32 little-endian, sha256).
// A transposed model may start a resize run: train.py converts its upsampling kernels to the closest
// resize kernels (nets.ts transposedToResizeKernel, ported and parity-checked).
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readWeightsFromOnnx } from '../../models/inference.ts';
import { type NetConfig, networkFromConfig, type WeightMap } from '../../models/nets.ts';
import { AppError } from '../../main/util/errors.ts';
import { writeFileAtomic } from '../../main/util/image-io.ts';
import { WEIGHTS_FORMAT } from './import-weights.ts';

export interface ExportResult {
  jsonPath: string;
  binPath: string;
  config: NetConfig;
  parameters: number;
  bytes: number;
}

/** The weights file pair for `weights` of the network `config` describes (engine parameter order). */
export function encodeWeights(
  config: NetConfig,
  weights: WeightMap,
  extra: Record<string, unknown> = {},
  name = 'init',
): { meta: Record<string, unknown>; bin: Buffer } {
  const net = networkFromConfig(config);
  const rows: { name: string; shape: number[]; offset: number; length: number }[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const p of net.params) {
    const values = weights.get(p.name);
    const expected = p.shape.reduce((a, b) => a * b, 1);
    if (!values || values.length !== expected)
      throw new AppError(
        'integrity',
        `parameter ${p.name} is missing or has ${values?.length ?? 0} values, not ${expected}`,
      );
    const b = Buffer.alloc(values.length * 4);
    for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i] as number, i * 4);
    rows.push({ name: p.name, shape: p.shape, offset, length: values.length });
    chunks.push(b);
    offset += b.length;
  }
  const bin = Buffer.concat(chunks);
  const meta = {
    format: WEIGHTS_FORMAT,
    net: 'G',
    config: net.config,
    dtype: 'float32',
    byteOrder: 'little',
    bin: `${name}.bin`,
    totalBytes: bin.length,
    sha256: createHash('sha256').update(bin).digest('hex'),
    steps: 0,
    seconds: 0,
    ...extra,
    params: rows,
  };
  return { meta, bin };
}

/** Reads an inference model (.onnx) and writes OUT/init.json + init.bin. */
export async function exportModelWeights(modelPath: string, outDir: string): Promise<ExportResult> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(modelPath));
  } catch {
    throw new AppError('not_found', `model ${modelPath} does not exist or cannot be read`);
  }
  const { config, weights } = readWeightsFromOnnx(bytes, `model ${basename(modelPath)}`);
  if (config.role !== 'generator')
    throw new AppError('bad_input', `${modelPath} holds a ${config.role}, not a generator`);
  const { meta, bin } = encodeWeights(config, weights, {
    source: basename(modelPath),
    sourceSha256: createHash('sha256').update(bytes).digest('hex'),
  });
  await mkdir(resolve(outDir), { recursive: true });
  const binPath = join(outDir, 'init.bin');
  const jsonPath = join(outDir, 'init.json');
  await writeFileAtomic(binPath, bin);
  await writeFileAtomic(jsonPath, `${JSON.stringify(meta, null, 1)}\n`);
  const parameters = (meta.params as { length: number }[]).reduce((a, r) => a + r.length, 0);
  return { jsonPath, binPath, config: meta.config as NetConfig, parameters, bytes: bin.length };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || !values.model || !values.out) {
    console.log('usage: node --import tsx scripts/gpu/export-weights.ts --model MODEL.onnx --out DIR');
    return values.help ? 0 : 2;
  }
  const r = await exportModelWeights(values.model, values.out);
  console.log(
    `wrote ${r.jsonPath} + ${basename(r.binPath)}: ${r.parameters} parameters (${r.bytes} bytes), ${r.config.kind} q=${r.config.q} width=${r.config.width} upsampling=${r.config.upsampling ?? 'transposed'}`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof AppError ? `error (${e.code}): ${e.message}` : e);
      process.exit(1);
    },
  );
}
