import { parseArgs } from 'node:util';
import { type ConfigOverrides, loadRunConfig } from '../../training/config.ts';
import { type TrainProgress, train } from '../../training/run.ts';
import { loadPolicy } from '../../settings/index.ts';
import { AppError } from '../../util/errors.ts';
import { type CliCommand, UsageError } from '../command.ts';

const fmtLoss = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

function progressLine(p: TrainProgress): string {
  const rate =
    p.itPerSecond >= 1 ? `${p.itPerSecond.toFixed(2)} it/s` : `${(1 / p.itPerSecond).toFixed(1)} s/it`;
  // Paired runs show their terms (and, with the adversarial term, the discriminator's loss).
  const losses =
    'l1' in p.G
      ? `loss ${fmtLoss(p.G['total'])} (L1 ${fmtLoss(p.G['l1'])}, CE ${fmtLoss(p.G['ce'])}${'adv' in p.G ? `, adv ${fmtLoss(p.G['adv'])}; D ${fmtLoss(p.D['total'])}` : ''})`
      : `G ${fmtLoss(p.G['total'])}  D ${fmtLoss(p.D['total'])}`;
  return `step ${p.step}/${p.totalSteps}  ${losses}  lr ${p.lr.toExponential(2)}  ${p.itPerSecond > 0 ? rate : '--'}  ETA ${duration(p.etaSeconds)}`;
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a whole number >= 1, got '${value}'`);
  return n;
}

export const trainCommand: CliCommand = {
  name: 'train',
  summary:
    'train or fine-tune R2C-GAN on local images (resumes an interrupted run; Ctrl-C saves a checkpoint)',
  usage:
    'r2c train [--config <run.json>] [--data <folder|manifest.csv>] [--steps N] [--out <dir>] [--init-from <model.onnx>] [--real-poor <folder>] [--objective r2c-gan|paired] [--upsampling transposed|resize] [--stop-at N] [--json]\n' +
    '  --stop-at N ends the run at step N (at once when the checkpoint is past it) and exports the model so far.\n' +
    '  run.json keys (flags override): arch (operational|convolutional|convolutional-light), q, width, size (256),\n' +
    '  steps, lr (2e-4), decayStart (steps/2), seed, data, validation {seed, fraction}, augmentation (reference|scale-jitter),\n' +
    '  checkpointEvery, sampleEvery, logEvery, sampleCount, poolSize (50), threads (2), outDir, initFrom, realPoor,\n' +
    '  objective (r2c-gan | paired: supervised L1 + class fine-tuning on synthetic degradations of the same images),\n' +
    '  l1Weight (10), classWeight (1), cleanFraction (0.25) for the paired objective;\n' +
    '  upsampling (transposed: the reference | resize: nearest x2 + 3x3 conv, no checkerboard texture);\n' +
    '  paired only: cropSize + cropSteps (first cropSteps steps on cropSize crops, then full size),\n' +
    '  emaDecay (e.g. 0.999: export an exponential moving average of the weights),\n' +
    '  trainOnly (e.g. ["dec"]: train only these layers; the others, the class branch included, stay as initialised),\n' +
    '  adversarialWeight (e.g. 0.1: add a least-squares GAN term, pix2pix-style, against a PatchGAN discriminator\n' +
    '  trained alongside; trainOnly limits the generator only; not for r2c-gan, which has its own adversarial terms).\n' +
    '  Running it again on the same --out resumes from the checkpoint there (same config required).',
  async run(argv, io) {
    // The admin's policy may switch training and fine-tuning on this workstation off (as the app does).
    const policy = loadPolicy();
    if (policy.policy.fineTuningAllowed === false)
      throw new AppError(
        'forbidden',
        `training and fine-tuning are switched off by the policy file ${policy.location.path}`,
      );
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        data: { type: 'string' },
        steps: { type: 'string' },
        out: { type: 'string' },
        'init-from': { type: 'string' },
        'real-poor': { type: 'string' },
        objective: { type: 'string' },
        upsampling: { type: 'string' },
        'stop-at': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const overrides: ConfigOverrides = {
      data: values.data,
      steps: positiveInteger(values.steps, '--steps'),
      outDir: values.out,
      initFrom: values['init-from'],
      realPoor: values['real-poor'],
      objective: values.objective,
      upsampling: values.upsampling,
    };
    const config = await loadRunConfig(values.config, overrides);
    io.err(
      `training (${config.objective}) ${config.arch}${config.arch === 'operational' ? ` Q=${config.q}` : ''} width ${config.width}, ${config.upsampling} upsampling, at ${config.size}px${config.cropSize ? ` (${config.cropSize}px crops for ${config.cropSteps} steps)` : ''} for ${config.steps} steps in ${config.outDir}`,
    );
    let lastLine = 0;
    const stopAt = positiveInteger(values['stop-at'], '--stop-at');
    const result = await train(config, {
      ...(stopAt !== undefined ? { stopAt } : {}),
      signal: io.signal,
      log: (line) => io.err(line),
      onProgress: (p) => {
        if (p.phase !== 'training') return;
        if (io.isTty) {
          const now = Date.now();
          if (now - lastLine < 200 && p.step < p.totalSteps) return;
          lastLine = now;
          process.stderr.write(`\r${progressLine(p)}`.slice(0, 160).padEnd(100));
        } else if (p.step % config.logEvery === 0 || p.step === p.totalSteps) io.err(progressLine(p));
      },
    });
    if (io.isTty) process.stderr.write('\n');
    const { files } = result;
    if (values.json) io.out(JSON.stringify(result));
    else {
      io.out(`${result.status} at step ${result.step}/${result.totalSteps}`);
      io.out(`  checkpoint  ${files.checkpoint}`);
      io.out(`  metrics     ${files.metrics}`);
      io.out(`  losses      ${files.lossesSvg} (.png)`);
      io.out(`  samples     ${files.samples}`);
      if (result.status === 'finished')
        io.out(`  model       ${files.model}\n  model card  ${files.card} (draft)`);
      else io.out('  run the same command again to resume');
    }
    return result.status === 'cancelled' ? 130 : 0;
  },
};
