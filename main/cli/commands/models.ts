// `r2c models`: the installed models and the model registry from the command line — the same
// registry as the app's Models page (<data folder>/model-registry.sqlite), with the policy applied.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dataDir, localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import { defaultModel, listModels, readVerifiedModel } from '../../inference/index.ts';
import { createModelRegistry, type ModelRegistry, type ThresholdTarget } from '../../registry/index.ts';
import { resolveWorkstation } from '../../settings/index.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { AppError } from '../../util/errors.ts';
import { type CliCommand, type CliIo, UsageError } from '../command.ts';

const usage = `r2c models [list] [--json]                      installed models, status, threshold; checks files
  r2c models activate <id> [--version V] --reason TEXT [--confirm-unevaluated]
  r2c models rollback --reason TEXT                 the previous active model, in one step
  r2c models retire <id> [--version V] --reason TEXT
  r2c models history [--csv FILE] [--json]
  r2c models evaluation <id> <evaluation.json> [--purpose validation|calibration|other]
                                                    record an \`r2c eval --out\` result in the registry
  r2c models threshold <id> --evaluation N (--sensitivity X | --specificity X | --f1)
                        [--condition pooled|clean|degraded|restored] [--apply --reason TEXT] [--json]
  r2c models compare <evaluation N> <evaluation M> [...] [--condition degraded] [--roc FILE.svg] [--json]
  r2c models export <id> [--version V] --out FILE.r2cmodel [--sign KEY.pem]
  r2c models import <FILE.r2cmodel>
  r2c models keygen --out NAME                      NAME.key.pem (keep secret) and NAME.pub.pem (for the policy)`;

function openRegistry(): ModelRegistry {
  const { policy } = resolveWorkstation().policy;
  const folder = dataDir();
  return createModelRegistry({
    dataDir: folder,
    shippedDir: shippedModelsDir(),
    localDir: localModelsDir(folder),
    ...(policy.requireSignedPackages !== undefined
      ? { requireSignedPackages: policy.requireSignedPackages }
      : {}),
    ...(policy.trustedPublicKeys ? { trustedPublicKeys: policy.trustedPublicKeys } : {}),
    ...(policy.activeModel ? { pinnedActiveModel: policy.activeModel } : {}),
    ...(policy.fineTuningAllowed !== undefined ? { fineTuningAllowed: policy.fineTuningAllowed } : {}),
  });
}

const fixed = (v: number | null | undefined, digits = 3) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
const percent = (v: number | null) =>
  v === null || !Number.isFinite(v) ? 'n/a' : `${(100 * v).toFixed(1)}%`;

async function list(values: { json?: boolean }, io: CliIo): Promise<number> {
  const { models, problems } = await listModels(shippedModelsDir(), localModelsDir());
  const registry = openRegistry();
  try {
    const { versions } = await registry.list();
    const active = defaultModel(models);
    let bad = problems.length;
    for (const model of models) {
      const { card } = model;
      let fileStatus = 'ok';
      try {
        await readVerifiedModel(model);
      } catch (error) {
        fileStatus = (error as Error).message;
        bad += 1;
      }
      const v = versions.find(
        (r) => r.modelId === card.id && r.version === card.version && r.sha256 === card.sha256,
      );
      const status = v?.status ?? 'installed';
      if (values.json) {
        io.out(
          JSON.stringify({
            id: card.id,
            version: card.version,
            sha256: card.sha256,
            origin: model.origin,
            default: model === active,
            status,
            threshold: card.threshold,
            thresholdSource: model.thresholdSource.kind,
            file: fileStatus,
          }),
        );
      } else {
        const params = `${(card.architecture.parameters / 1e6).toFixed(2)}M params`;
        const source = model.thresholdSource.kind === 'registry' ? 'registry' : 'card';
        io.out(
          `${model === active ? '*' : ' '} ${card.id} ${card.version}  ${card.architecture.kind}${card.architecture.q ? ` Q=${card.architecture.q}` : ''}, ${params}, threshold ${fixed(card.threshold, 4)} (${source})  [${model.origin}, ${status}] ${fileStatus}`,
        );
      }
    }
    for (const p of problems) io.err(`model card ${p.file}: ${p.problem}`);
    if (models.length === 0) io.err(`no models installed in ${shippedModelsDir()}`);
    return bad > 0 || models.length === 0 ? 1 : 0;
  } finally {
    registry.close();
  }
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === '') throw new UsageError(`${what} is required`);
  return value;
}

function evaluationNumber(text: string | undefined, what = '--evaluation'): number {
  const n = Number(need(text, what));
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${what} must be an evaluation number (see r2c models list --json / history)`);
  return n;
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'installed models and the model registry: activate, roll back, thresholds, compare, packages',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        reason: { type: 'string' },
        version: { type: 'string' },
        'confirm-unevaluated': { type: 'boolean' },
        csv: { type: 'string' },
        purpose: { type: 'string' },
        evaluation: { type: 'string' },
        sensitivity: { type: 'string' },
        specificity: { type: 'string' },
        f1: { type: 'boolean' },
        condition: { type: 'string' },
        apply: { type: 'boolean' },
        roc: { type: 'string' },
        out: { type: 'string' },
        sign: { type: 'string' },
      },
    });
    const [sub = 'list', ...args] = positionals;
    if (sub === 'list') return list(values, io);
    if (sub === 'keygen') {
      const base = resolve(need(values.out, '--out NAME'));
      if (existsSync(`${base}.key.pem`))
        throw new AppError('bad_input', `${base}.key.pem exists; not overwriting a key`);
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      await writeFile(`${base}.key.pem`, privateKey.export({ format: 'pem', type: 'pkcs8' }), {
        mode: 0o600,
        flag: 'wx',
      });
      await writeFileAtomic(`${base}.pub.pem`, publicKey.export({ format: 'pem', type: 'spki' }).toString());
      io.out(
        `private key ${base}.key.pem (keep it secret); public key ${base}.pub.pem (add it to trustedPublicKeys in the policy)`,
      );
      return 0;
    }
    const registry = openRegistry();
    try {
      switch (sub) {
        case 'activate': {
          const v = await registry.activate({
            modelId: need(args[0], 'the model id'),
            ...(values.version ? { version: values.version } : {}),
            reason: need(values.reason, '--reason'),
            confirmUnevaluated: values['confirm-unevaluated'] ?? false,
          });
          io.out(values.json ? JSON.stringify(v) : `active: ${v.modelId} ${v.version}`);
          return 0;
        }
        case 'rollback': {
          const v = await registry.rollback({ reason: need(values.reason, '--reason') });
          io.out(values.json ? JSON.stringify(v) : `rolled back; active: ${v.modelId} ${v.version}`);
          return 0;
        }
        case 'retire': {
          const v = await registry.retire({
            modelId: need(args[0], 'the model id'),
            ...(values.version ? { version: values.version } : {}),
            reason: need(values.reason, '--reason'),
          });
          io.out(`retired: ${v.modelId} ${v.version}`);
          return 0;
        }
        case 'history': {
          await registry.sync();
          if (values.csv) {
            await writeFileAtomic(resolve(values.csv), await registry.historyCsv());
            io.out(`history written to ${resolve(values.csv)}`);
            return 0;
          }
          for (const e of await registry.history()) {
            if (values.json) io.out(JSON.stringify(e));
            else
              io.out(
                `${e.at}  ${e.user}  ${e.action} ${e.modelId ?? ''} ${e.version ?? ''}${e.previousModelId ? ` (was ${e.previousModelId} ${e.previousVersion})` : ''}${e.reason ? ` — ${e.reason}` : ''}${e.detail ? ` [${e.detail}]` : ''}`,
              );
          }
          return 0;
        }
        case 'evaluation': {
          const purpose = values.purpose ?? 'validation';
          if (purpose !== 'validation' && purpose !== 'calibration' && purpose !== 'other')
            throw new UsageError('--purpose must be validation, calibration or other');
          const e = await registry.recordEvaluation({
            modelId: need(args[0], 'the model id'),
            ...(values.version ? { version: values.version } : {}),
            evaluationFile: resolve(need(args[1], 'the evaluation.json file')),
            purpose,
          });
          io.out(
            values.json
              ? JSON.stringify(e)
              : `recorded as evaluation ${e.evaluationId} (${e.purpose}, ${e.count} images)`,
          );
          return 0;
        }
        case 'threshold': {
          const targets = [values.sensitivity, values.specificity, values.f1].filter((v) => v !== undefined);
          if (targets.length !== 1)
            throw new UsageError('give exactly one of --sensitivity X, --specificity X, --f1');
          const target: ThresholdTarget = values.f1
            ? { kind: 'f1' }
            : values.sensitivity !== undefined
              ? { kind: 'sensitivity', value: Number(values.sensitivity) }
              : { kind: 'specificity', value: Number(values.specificity) };
          const condition = (values.condition ?? 'pooled') as 'pooled' | 'clean' | 'degraded' | 'restored';
          if (!['pooled', 'clean', 'degraded', 'restored'].includes(condition))
            throw new UsageError('--condition must be pooled, clean, degraded or restored');
          const evaluationId = evaluationNumber(values.evaluation);
          const modelId = need(args[0], 'the model id');
          const chosen = values.apply
            ? (
                await registry.setThreshold({
                  modelId,
                  ...(values.version ? { version: values.version } : {}),
                  evaluationId,
                  target,
                  condition,
                  reason: need(values.reason, '--reason (with --apply)'),
                })
              ).chosen
            : registry.previewThreshold({ evaluationId, target, condition });
          if (values.json) io.out(JSON.stringify({ ...chosen, applied: values.apply ?? false }));
          else {
            const ci = (i: typeof chosen.sensitivity) =>
              `${percent(i.estimate)} (95% CI ${percent(i.low)}–${percent(i.high)}, ${i.successes}/${i.trials})`;
            io.out(
              `threshold ${chosen.threshold.toFixed(4)}: sensitivity ${ci(chosen.sensitivity)}, specificity ${ci(chosen.specificity)}, F1 ${fixed(chosen.f1)}`,
            );
            io.out(
              values.apply
                ? `stored for ${modelId} in the registry (the model card is unchanged)`
                : 'not stored: add --apply --reason TEXT to use it',
            );
          }
          return 0;
        }
        case 'compare': {
          if (args.length < 2) throw new UsageError('compare needs two or more evaluation numbers');
          const condition = (values.condition ?? 'degraded') as 'clean' | 'degraded' | 'restored';
          const result = registry.compare({
            evaluationIds: args.map((a) => evaluationNumber(a, 'an evaluation number')),
            condition,
          });
          if (values.roc) {
            await writeFileAtomic(resolve(values.roc), result.rocSvg);
            io.err(`ROC curves written to ${resolve(values.roc)}`);
          }
          if (values.json) {
            const { rocSvg: _svg, ...rest } = result;
            io.out(JSON.stringify(rest));
            return 0;
          }
          const names = result.models.map((m) => `${m.modelId} ${m.version}`);
          const width = Math.max(...result.rows.map((r) => r.metric.length), 6);
          io.out(`${result.dataLabel} (${result.count} images)`);
          io.out([''.padEnd(width), ...names.map((n) => n.padStart(Math.max(12, n.length)))].join('  '));
          for (const row of result.rows)
            io.out(
              [
                row.metric.padEnd(width),
                ...row.values.map((v, i) => fixed(v, 4).padStart(Math.max(12, names[i]!.length))),
              ].join('  '),
            );
          return 0;
        }
        case 'export': {
          const r = await registry.exportPackage({
            modelId: need(args[0], 'the model id'),
            ...(values.version ? { version: values.version } : {}),
            out: resolve(need(values.out, '--out FILE')),
            ...(values.sign ? { signingKeyFile: resolve(values.sign) } : {}),
          });
          io.out(
            values.json
              ? JSON.stringify(r)
              : `${r.file}: ${r.bytes} bytes, SHA-256 ${r.sha256}${r.signed ? ', signed' : ', unsigned'}`,
          );
          return 0;
        }
        case 'import': {
          const r = await registry.importPackage({ file: resolve(need(args[0], 'the package file')) });
          io.out(
            values.json
              ? JSON.stringify(r)
              : `${r.alreadyInstalled ? 'already installed' : 'installed'}: ${r.modelId} ${r.version} (SHA-256 ${r.sha256.slice(0, 12)}…), ${r.signer ? `signed by key ${r.signer}${r.trusted ? ' (trusted)' : ' (not a trusted key)'}` : 'unsigned'}; not active until activated`,
          );
          return 0;
        }
        default:
          throw new UsageError(`unknown models sub-command '${sub}'`);
      }
    } finally {
      registry.close();
    }
  },
};
