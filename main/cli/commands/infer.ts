import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import { collectImageInputs } from '../../data/input/index.ts';
import type { BatchItem } from '../../inference/index.ts';
import { type AppJobs, threadTransport } from '../../app/jobs.ts';
import { createJobRunner } from '../../jobs/runner.ts';
import { type CliCommand, type CliIo, UsageError } from '../command.ts';
import { progressBar } from '../progress.ts';

const options = {
  model: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  passes: { type: 'string' },
  'working-size': { type: 'string' },
  format: { type: 'string' },
  'tile-pixels': { type: 'string' },
  'override-intended-use': { type: 'boolean' },
  'override-reason': { type: 'string' },
} as const;

function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

const pct = (p: number, digits = 1) => `${(p * 100).toFixed(digits)}%`;

function summarize(item: BatchItem): string {
  if ('error' in item) return `${item.refused ? 'REFUSED' : 'FAILED '} ${item.file}: ${item.error.message}`;
  const band = item.indeterminate
    ? `, indeterminate ${pct(item.indeterminate.low)}-${pct(item.indeterminate.high)}`
    : ', no indeterminate band (uncalibrated model)';
  const validation = item.validation
    ? `; validation sensitivity ${pct(item.validation.sensitivity, 0)}, specificity ${pct(item.validation.specificity, 0)}`
    : '';
  const override = item.intendedUse.override ? ' [classified on override: outside the intended use]' : '';
  const outputs = [item.output, item.report].filter(Boolean).join(', ');
  return (
    `${item.decisionText}: p(COVID-19)=${pct(item.probabilities.covid)} (threshold ${pct(item.threshold)}${band}${validation})${override}  ` +
    `${item.file}${outputs ? ` -> ${outputs}` : ''}  [${item.model.id} ${item.model.version} sha256:${item.model.sha256.slice(0, 12)}]`
  );
}

async function runBatch(argv: string[], io: CliIo, restore: boolean): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options });
  if (positionals.length === 0) throw new UsageError('no input files or folders given');
  if (restore && !values.out) throw new UsageError('--out <dir> is required');
  const format = values.format;
  if (format !== undefined && format !== 'png' && format !== 'dicom')
    throw new UsageError(`--format must be dicom or png, got ${format}`);
  if (values['override-reason'] !== undefined && !values['override-intended-use'])
    throw new UsageError('--override-reason goes with --override-intended-use');
  if (!restore && (format || values.passes || values.out))
    throw new UsageError('--out, --passes and --format belong to r2c restore');
  const passes = integer(values.passes, 'passes', 1, 3);
  const workingLongSide = integer(values['working-size'], 'working-size', 32, 16384);
  const tilePixelBudget = integer(values['tile-pixels'], 'tile-pixels', 128 * 128, 16384 * 16384);
  const { files, failed: unreadable } = await collectImageInputs(positionals);
  for (const { path, reason } of unreadable) io.err(`r2c: ${path}: ${reason}`);
  if (files.length === 0) {
    io.err('r2c: no images found in the inputs');
    return 1;
  }
  if (values.out) await mkdir(values.out, { recursive: true });
  const runner = createJobRunner<AppJobs>(threadTransport);
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
        format,
        tilePixelBudget,
        ...(values['override-intended-use']
          ? {
              overrideIntendedUse: {
                by: 'CLI --override-intended-use',
                ...(values['override-reason'] ? { reason: values['override-reason'] } : {}),
              },
            }
          : {}),
      },
      { signal: io.signal, onProgress: (p) => bar.update(p.done, p.total, p.message) },
    );
    bar.finish();
    for (const item of items) io.out(values.json ? JSON.stringify(item) : summarize(item));
    if (!values.json && items.some((i) => !('error' in i)))
      io.out('\nDecision support for research use only; not a diagnosis.');
    const failed = items.filter((i) => 'error' in i);
    if (failed.length > 0 && !values.json) {
      io.err(`\n${failed.length} of ${files.length} input(s) failed:`);
      for (const f of failed) if ('error' in f) io.err(`  ${f.file}: ${f.error.message}`);
    }
    if (items.length < files.length) io.err(`r2c: stopped after ${items.length} of ${files.length} input(s)`);
    return failed.length > 0 || unreadable.length > 0 || items.length < files.length ? 1 : 0;
  } finally {
    await runner.close();
  }
}

const OVERRIDE_USAGE =
  "  Images outside the model's intended use (DICOM Modality, Body Part, View Position or age other than\n" +
  '  adult frontal chest CR/DX, or an image unlike a chest radiograph) are refused; --override-intended-use\n' +
  '  classifies them anyway and records the override in every output.';

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'restore (and classify) chest X-rays with an R2C-GAN model',
  usage:
    'r2c restore <files|folders...> --out <dir> [--model <id>] [--passes 1-3] [--format dicom|png] [--working-size <px>] [--tile-pixels <n>] [--override-intended-use [--override-reason <text>]] [--json]\n' +
    '  Inputs: PNG/JPEG/TIFF, DICOM with or without the 128-byte preamble (first frame), folders, DICOMDIRs.\n' +
    '  --format: dicom (default for DICOM inputs: derived Secondary Capture + classification SR) or png.\n' +
    '  --working-size: long side restored at (default from the model card, up to native size).\n' +
    '  --tile-pixels: restore in tiles above this many working pixels (default 1048576).\n' +
    "  The restored image keeps the original's size and pixel spacing, marked 'AI restored - not for primary diagnosis'.\n" +
    OVERRIDE_USAGE,
  run: (argv, io) => runBatch(argv, io, true),
};

export const classifyCommand: CliCommand = {
  name: 'classify',
  summary: 'classify chest X-rays as COVID-19 or normal (decision support, not a diagnosis)',
  usage:
    'r2c classify <files|folders...> [--model <id>] [--override-intended-use [--override-reason <text>]] [--json]\n' +
    '  Results: positive / negative / indeterminate (inside the calibrated band around the threshold),\n' +
    '  with the validation sensitivity and specificity at the threshold.\n' +
    OVERRIDE_USAGE,
  run: (argv, io) => runBatch(argv, io, false),
};
