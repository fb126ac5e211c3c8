import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { listModels, readVerifiedModel } from '../../../main/inference/index.ts';
import { createModelRegistry } from '../../../main/registry/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import {
  calibrationImages,
  folderHashes,
  installLocal,
  shipDefault,
  workstation,
  writeEvaluationJson,
} from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-package-'));
after(() => rmSync(root, { recursive: true, force: true }));

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
};
const department = keyPair();
const stranger = keyPair();

const registryOf = (
  ws: ReturnType<typeof workstation>,
  extra: Partial<Parameters<typeof createModelRegistry>[0]> = {},
) =>
  createModelRegistry({
    dataDir: ws.dataDir,
    shippedDir: ws.shippedDir,
    localDir: ws.localDir,
    user: () => 'it-admin',
    ...extra,
  });

/** Workstation A with an evaluated fine-tune and a chosen threshold, exported to one package. */
async function exported(name: string, privateKeyPem?: string) {
  const a = workstation(root, `${name}-a`);
  shipDefault(a.shippedDir);
  const local = installLocal(a.localDir);
  const registry = registryOf(a);
  const evaluation = await registry.recordEvaluation({
    modelId: local.id,
    evaluationFile: writeEvaluationJson(join(a.base, 'cal.json'), local, calibrationImages),
    purpose: 'calibration',
  });
  await registry.recordEvaluation({
    modelId: local.id,
    evaluationFile: writeEvaluationJson(
      join(a.base, 'val.json'),
      local,
      calibrationImages,
      '/data/validation',
    ),
    purpose: 'validation',
  });
  await registry.setThreshold({
    modelId: local.id,
    evaluationId: evaluation.evaluationId,
    target: { kind: 'f1' },
    condition: 'clean',
    reason: 'F1',
  });
  const file = join(a.base, `${local.id}.r2cmodel`);
  const result = await registry.exportPackage({
    modelId: local.id,
    out: file,
    ...(privateKeyPem ? { privateKeyPem } : {}),
  });
  registry.close();
  return { file, local, result };
}

/** Workstation B: its own shipped model only. */
function otherWorkstation(name: string) {
  const b = workstation(root, `${name}-b`);
  shipDefault(b.shippedDir);
  return b;
}

const nothingInstalled = (b: ReturnType<typeof workstation>) =>
  assert.deepEqual(
    readdirSync(b.localDir).filter((f) => f.endsWith('.onnx') || f.endsWith('.model.json')),
    [],
    'nothing was installed',
  );

test('a package round trip between two data folders: same file, card, evaluations, lineage; verified by SHA-256', async () => {
  const { file, local, result } = await exported('roundtrip', department.privateKeyPem);
  assert.equal(result.signed, true);
  const b = otherWorkstation('roundtrip');
  const shippedBefore = folderHashes(b.shippedDir);
  const registry = registryOf(b, {
    requireSignedPackages: true,
    trustedPublicKeys: [department.publicKeyPem],
  });
  const imported = await registry.importPackage({ file });
  assert.equal(imported.modelId, local.id);
  assert.equal(imported.trusted, true);
  assert.equal(imported.alreadyInstalled, false);
  const { models } = await listModels(b.shippedDir, b.localDir);
  const model = models.find((m) => m.card.id === local.id)!;
  assert.equal(model.card.sha256, local.sha256);
  await readVerifiedModel(model); // the installed file matches its card
  const version = (await registry.list()).versions.find((v) => v.modelId === local.id)!;
  assert.equal(version.status, 'evaluated', 'its validation evaluation came with it');
  assert.equal(version.evaluations.length, 2);
  assert.equal(version.evaluations[0]!.origin, 'package');
  assert.equal(version.lineage.baseModel, 'shipped-a 1.0.0');
  assert.match(version.source, /imported from .*signed by key [0-9a-f]{16} \(trusted\)/);
  assert.equal(version.threshold, null, "the sending workstation's threshold is not imposed");
  const [event] = await registry.history();
  assert.equal(event?.action, 'imported');
  // Importing it again installs nothing new.
  assert.equal((await registry.importPackage({ file })).alreadyInstalled, true);
  assert.deepEqual(folderHashes(b.shippedDir), shippedBefore);
  registry.close();
});

test('a tampered package is refused with a clear message and nothing is installed', async () => {
  const { file } = await exported('tamper');
  const entries = unzipSync(readFileSync(file));
  const model = entries['model.onnx']!;
  model[model.length - 10] = model[model.length - 10]! ^ 0xff;
  const tampered = join(root, 'tampered.r2cmodel');
  writeFileSync(tampered, zipSync(entries));
  const b = otherWorkstation('tamper');
  const registry = registryOf(b);
  await assert.rejects(
    registry.importPackage({ file: tampered }),
    (e: unknown) =>
      e instanceof AppError &&
      e.code === 'integrity' &&
      /model.onnx does not match its SHA-256.*nothing was installed/.test(e.message),
  );
  nothingInstalled(b);
  // A manifest rewritten to the new hash no longer matches the card's SHA-256.
  const manifest = JSON.parse(strFromU8(entries['manifest.json']!)) as { files: Record<string, string> };
  manifest.files['model.onnx'] = createHash('sha256').update(model).digest('hex');
  entries['manifest.json'] = strToU8(JSON.stringify(manifest));
  writeFileSync(tampered, zipSync(entries));
  await assert.rejects(
    registry.importPackage({ file: tampered }),
    (e: unknown) => e instanceof AppError && /does not match its model card/.test(e.message),
  );
  nothingInstalled(b);
  // Not a zip at all.
  writeFileSync(tampered, 'not a package');
  await assert.rejects(
    registry.importPackage({ file: tampered }),
    (e: unknown) =>
      e instanceof AppError && e.code === 'integrity' && /not a readable model package/.test(e.message),
  );
  nothingInstalled(b);
  assert.equal(
    (await registry.history()).some((e) => e.action === 'imported'),
    false,
  );
  registry.close();
});

test('signing required: unsigned and foreign-signed packages are refused, a signature broken by an edit too', async () => {
  const b = otherWorkstation('signed');
  const registry = registryOf(b, {
    requireSignedPackages: true,
    trustedPublicKeys: [department.publicKeyPem],
  });
  const unsigned = await exported('unsigned');
  await assert.rejects(
    registry.importPackage({ file: unsigned.file }),
    (e: unknown) => e instanceof AppError && e.code === 'forbidden' && /unsigned/.test(e.message),
  );
  nothingInstalled(b);
  const foreign = await exported('foreign', stranger.privateKeyPem);
  await assert.rejects(
    registry.importPackage({ file: foreign.file }),
    (e: unknown) =>
      e instanceof AppError &&
      e.code === 'forbidden' &&
      /not one of this workstation's trusted keys/.test(e.message),
  );
  nothingInstalled(b);
  // Signed by the department, then an evaluation edited (manifest re-hashed): the signature fails.
  const signed = await exported('resigned', department.privateKeyPem);
  const entries = unzipSync(readFileSync(signed.file));
  const evaluations = strFromU8(entries['evaluations.json']!).replace('"validation"', '"other"');
  entries['evaluations.json'] = strToU8(evaluations);
  const manifest = JSON.parse(strFromU8(entries['manifest.json']!)) as { files: Record<string, string> };
  manifest.files['evaluations.json'] = createHash('sha256').update(entries['evaluations.json']).digest('hex');
  entries['manifest.json'] = strToU8(JSON.stringify(manifest, null, 1));
  const edited = join(root, 'edited.r2cmodel');
  writeFileSync(edited, zipSync(entries));
  await assert.rejects(
    registryOf(b).importPackage({ file: edited }),
    (e: unknown) =>
      e instanceof AppError && e.code === 'integrity' && /signature does not match/.test(e.message),
  );
  nothingInstalled(b);
  // Without the policy an unsigned package is accepted and says so.
  const open = registryOf(otherWorkstation('open'));
  assert.equal((await open.importPackage({ file: unsigned.file })).signer, null);
  open.close();
  registry.close();
});

test('a package whose model id is taken by a different model is refused; a missing file is a clear error', async () => {
  const { file, local } = await exported('clash');
  const b = otherWorkstation('clash');
  // Another model under the same id (different bytes, its own valid card).
  const other = Buffer.from('a different model file under the same id');
  writeFileSync(join(b.localDir, `${local.id}.onnx`), other);
  writeFileSync(
    join(b.localDir, `${local.id}.model.json`),
    JSON.stringify({
      ...local,
      sha256: createHash('sha256').update(other).digest('hex'),
      bytes: other.length,
    }),
  );
  const before = folderHashes(b.localDir);
  const registry = registryOf(b);
  await assert.rejects(
    registry.importPackage({ file }),
    (e: unknown) =>
      e instanceof AppError &&
      e.code === 'bad_input' &&
      /a different model 'local-ward3'.*already installed; nothing was installed/.test(e.message),
  );
  assert.deepEqual(folderHashes(b.localDir), before);
  await assert.rejects(
    registry.importPackage({ file: join(root, 'missing.r2cmodel') }),
    (e: unknown) => e instanceof AppError && e.code === 'not_found',
  );
  assert.equal(existsSync(join(b.localDir, 'missing.onnx')), false);
  registry.close();
});
