// `r2c models ...` end to end: the real CLI (bin/r2c.js) on a data folder and a models folder of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../helpers/paths.ts';
import {
  calibrationImages,
  folderHashes,
  installLocal,
  shipDefault,
  workstation,
  writeEvaluationJson,
} from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-models-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

function cli(ws: ReturnType<typeof workstation>, env: Record<string, string> = {}) {
  return (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), 'models', ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        R2C_DATA_DIR: ws.dataDir,
        R2C_MODELS_DIR: ws.shippedDir,
        R2C_POLICY_FILE: join(ws.base, 'no-policy.json'),
        ...env,
      },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
}

test('r2c models list, activate (refused unevaluated, then confirmed), history as CSV, rollback', () => {
  const ws = workstation(root, 'a');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const before = folderHashes(ws.shippedDir);
  const r2c = cli(ws);
  const list = r2c('list', '--json');
  assert.equal(list.code, 0, list.err);
  const rows = list.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; status: string; default: boolean });
  assert.deepEqual(
    rows.map((r) => [r.id, r.status, r.default]),
    [
      [shipped.id, 'active', true],
      [local.id, 'installed', false],
    ],
  );
  const refused = r2c('activate', local.id, '--reason', 'pilot');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /no evaluation on validation data.*confirm/);
  assert.equal(r2c('activate', local.id).code, 2, 'a reason is required');
  const ok = r2c('activate', local.id, '--reason', 'pilot on ward 3', '--confirm-unevaluated');
  assert.equal(ok.code, 0, ok.err);
  assert.match(r2c('list').out, new RegExp(`^\\* ${local.id} `, 'm'));
  const csvPath = join(ws.base, 'history.csv');
  assert.equal(r2c('history', '--csv', csvPath).code, 0);
  const csv = readFileSync(csvPath, 'utf8');
  assert.match(csv, /,activated,local-ward3,draft-step-20,[0-9a-f]{64},shipped-a,1\.0\.0,pilot on ward 3,/);
  const back = r2c('rollback', '--reason', 'too many false positives');
  assert.equal(back.code, 0, back.err);
  assert.match(back.out, /active: shipped-a 1\.0\.0/);
  assert.match(
    r2c('history').out,
    /rolled back shipped-a 1\.0\.0 \(was local-ward3 draft-step-20\) — too many false positives/,
  );
  assert.deepEqual(folderHashes(ws.shippedDir), before);
});

test('r2c models evaluation + threshold (preview, apply) + compare', () => {
  const ws = workstation(root, 'b');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const r2c = cli(ws);
  const recorded = r2c(
    'evaluation',
    shipped.id,
    writeEvaluationJson(join(ws.base, 'cal.json'), shipped, calibrationImages),
    '--purpose',
    'calibration',
    '--json',
  );
  assert.equal(recorded.code, 0, recorded.err);
  const evaluationId = (JSON.parse(recorded.out) as { evaluationId: number }).evaluationId;
  const preview = r2c(
    'threshold',
    shipped.id,
    '--evaluation',
    String(evaluationId),
    '--sensitivity',
    '0.8',
    '--condition',
    'clean',
  );
  assert.equal(preview.code, 0, preview.err);
  assert.match(
    preview.out,
    /^threshold 0\.3750: sensitivity 80\.0% \(95% CI 37\.6%–96\.4%, 4\/5\), specificity 80\.0%/,
  );
  assert.match(preview.out, /not stored/);
  assert.match(r2c('list').out, /shipped-a 1\.0\.0 .*threshold 0\.5000 \(card\)/);
  const applied = r2c(
    'threshold',
    shipped.id,
    '--evaluation',
    String(evaluationId),
    '--sensitivity',
    '0.8',
    '--condition',
    'clean',
    '--apply',
    '--reason',
    'screening',
  );
  assert.equal(applied.code, 0, applied.err);
  assert.match(r2c('list').out, /shipped-a 1\.0\.0 .*threshold 0\.3750 \(registry\)/);
  // Compare: the same labelled set evaluated for both models.
  const a = JSON.parse(
    r2c(
      'evaluation',
      shipped.id,
      writeEvaluationJson(join(ws.base, 'va.json'), shipped, calibrationImages),
      '--json',
    ).out,
  ) as { evaluationId: number };
  const b = JSON.parse(
    r2c(
      'evaluation',
      local.id,
      writeEvaluationJson(
        join(ws.base, 'vb.json'),
        local,
        calibrationImages.map((i) => ({ ...i, degraded: 1 - i.degraded })),
      ),
      '--json',
    ).out,
  ) as { evaluationId: number };
  const roc = join(ws.base, 'roc.svg');
  const compared = r2c('compare', String(a.evaluationId), String(b.evaluationId), '--roc', roc);
  assert.equal(compared.code, 0, compared.err);
  assert.match(compared.out, /shipped-a 1\.0\.0\s+local-ward3 draft-step-20/);
  assert.match(compared.out, /classification\.degraded\.auc\s+0\.8400\s+0\.1600/);
  assert.match(readFileSync(roc, 'utf8'), /^<svg/);
  assert.equal(r2c('compare', String(a.evaluationId)).code, 2);
});

test('r2c models keygen, export --sign, import on another workstation that requires signatures', () => {
  const a = workstation(root, 'exp');
  shipDefault(a.shippedDir);
  const local = installLocal(a.localDir);
  const key = join(a.base, 'dept');
  const keygen = cli(a)('keygen', '--out', key);
  assert.equal(keygen.code, 0, keygen.err);
  const pkg = join(a.base, 'ward3.r2cmodel');
  const exported = cli(a)('export', local.id, '--out', pkg, '--sign', `${key}.key.pem`);
  assert.equal(exported.code, 0, exported.err);
  assert.match(exported.out, /signed$/m);
  const unsigned = join(a.base, 'ward3-unsigned.r2cmodel');
  assert.equal(cli(a)('export', local.id, '--out', unsigned).code, 0);

  const b = workstation(root, 'imp');
  shipDefault(b.shippedDir);
  const policy = join(b.base, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      requireSignedPackages: true,
      trustedPublicKeys: [readFileSync(`${key}.pub.pem`, 'utf8')],
    }),
  );
  const r2c = cli(b, { R2C_POLICY_FILE: policy });
  const refused = r2c('import', unsigned);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /unsigned; nothing was installed/);
  assert.equal(existsSync(join(b.localDir, `${local.id}.onnx`)), false);
  const imported = r2c('import', pkg);
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /installed: local-ward3 draft-step-20 .*signed by key [0-9a-f]{16} \(trusted\)/);
  assert.match(r2c('list').out, /local-ward3 draft-step-20 .*\[local, installed\] ok/);
});
