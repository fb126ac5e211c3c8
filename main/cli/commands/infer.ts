import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import { type BatchItem, collectInputs } from '../../inference/batch.ts';
import { createJobRunner, threadTransport } from '../../jobs/runner.ts';
import { type CliCommand, type CliIo, UsageError } from '../command.ts';
import { progressBar } from '../progress.ts';

const options = {
  model: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  passes: { type: 'string' },
  'working-size': { type: 'string' },
  format: { type: 'string' },
} as const;

function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

function summarize(item: BatchItem): string {
  if ('error' in item) return `FAILED  ${item.file}: ${item.error.message}`;
  const pct = (item.probabilities.covid * 100).toFixed(1);
  const label = item.label === 'covid' ? 'COVID-19' : 'normal';
  return `${label.padEnd(8)} p(COVID-19)=${pct}%  ${item.file}${item.output ? ` -> ${item.output}` : ''}`;
}

async function runBatch(argv: string[], io: CliIo, restore: boolean): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options });
  if (positionals.length === 0) throw new UsageError('no input files or folders given');
  if (restore && !values.out) throw new UsageError('--out <dir> is required');
  if (values.format && values.format !== 'png') {
    throw new UsageError(
      `--format ${values.format} is not available yet (png only until DICOM output lands)`,
    );
  }
  const passes = integer(values.passes, 'passes', 1, 3);
  const workingLongSide = integer(values['working-size'], 'working-size', 32, 16384);
  const { files, missing } = await collectInputs(positionals);
  for (const path of missing) io.err(`r2c: ${path}: no such file or folder`);
  if (files.length === 0) {
    io.err('r2c: no images found in the inputs');
    return 1;
  }
  if (values.out) await mkdir(values.out, { recursive: true });
  const runner = createJobRunner(threadTransport);
  const bar = progressBar(io, restore ? 'restoring' : 'classifying');
  try {
    const { items } = await runner.run(
      'processImages',
      {
        files,
        shippedDir: shippedModelsDir(),
        localDir: localModelsDir(),
        modelId: values.model,
        passes,
        workingLongSide,
        outDir: restore ? values.out : undefined,
      },
      { signal: io.signal, onProgress: (p) => bar.update(p.done, p.total, p.message) },
    );
    bar.finish();
    for (const item of items) io.out(values.json ? JSON.stringify(item) : summarize(item));
    const failed = items.filter((i) => 'error' in i);
    if (failed.length > 0 && !values.json) {
      io.err(`\n${failed.length} of ${files.length} input(s) failed:`);
      for (const f of failed) if ('error' in f) io.err(`  ${f.file}: ${f.error.message}`);
    }
    if (items.length < files.length) io.err(`r2c: stopped after ${items.length} of ${files.length} input(s)`);
    return failed.length > 0 || missing.length > 0 || items.length < files.length ? 1 : 0;
  } finally {
    await runner.close();
  }
}

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'restore (and classify) chest X-rays with an R2C-GAN model',
  usage:
    'r2c restore <files|folders...> --out <dir> [--model <id>] [--passes 1-3] [--working-size <px>] [--format png] [--json]',
  run: (argv, io) => runBatch(argv, io, true),
};

export const classifyCommand: CliCommand = {
  name: 'classify',
  summary: 'classify chest X-rays as COVID-19 or normal (decision support, not a diagnosis)',
  usage: 'r2c classify <files|folders...> [--model <id>] [--json]',
  run: (argv, io) => runBatch(argv, io, false),
};
