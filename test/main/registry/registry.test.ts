import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { defaultModel, listModels } from '../../../main/inference/model-store.ts';
import { createInferenceService } from '../../../main/inference/service.ts';
import { registryMigrations } from '../../../main/registry/database.ts';
import { createModelRegistry } from '../../../main/registry/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { requireSharedData } from '../../helpers/paths.ts';
import {
  calibrationImages,
  folderHashes,
  installLocal,
  shipDefault,
  workstation,
  writeEvaluationJson,
} from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-registry-'));
after(() => rmSync(root, { recursive: true, force: true }));

const isCode = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof AppError && e.code === code && (pattern ? pattern.test(e.message) : true);

function open(
  ws: ReturnType<typeof workstation>,
  extra: Partial<Parameters<typeof createModelRegistry>[0]> = {},
) {
  let clock = Date.parse('2026-12-01T10:00:00Z');
  return createModelRegistry({
    dataDir: ws.dataDir,
    shippedDir: ws.shippedDir,
    localDir: ws.localDir,
    user: () => 'it-admin',
    now: () => {
      clock += 60_000;
      return new Date(clock);
    },
    ...extra,
  });
}

test('migrations: a new database gets the schema; reopening keeps it; a newer database is refused', async () => {
  const ws = workstation(root, 'migrate');
  shipDefault(ws.shippedDir);
  const registry = open(ws);
  await registry.sync();
  registry.close();
  const path = join(ws.dataDir, 'model-registry.sqlite');
  const db = new Database(path);
  assert.equal(db.pragma('user_version', { simple: true }), registryMigrations.length);
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((t) => t.name);
  assert.deepEqual(tables, ['evaluations', 'events', 'model_versions', 'thresholds']);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM model_versions').get() as { n: number }).n, 1);
  db.close();
  // Reopening neither re-applies a migration nor registers the model twice.
  const again = open(ws);
  await again.sync();
  const { versions } = await again.list();
  assert.equal(versions.length, 1);
  again.close();
  const newer = new Database(path);
  newer.pragma(`user_version = ${registryMigrations.length + 1}`);
  newer.close();
  assert.throws(() => open(ws), isCode('unsupported', /newer version/));
});

test('every installed version is registered with status, lineage and history; shipped files never change', async () => {
  const ws = workstation(root, 'list');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const before = folderHashes(ws.shippedDir);
  const registry = open(ws);
  const { versions, active } = await registry.list();
  assert.equal(versions.length, 2);
  const s = versions.find((v) => v.modelId === shipped.id)!;
  const l = versions.find((v) => v.modelId === local.id)!;
  assert.equal(s.status, 'active', 'the shipped default is active before anyone chose');
  assert.equal(active?.modelId, shipped.id);
  assert.equal(s.sha256, shipped.sha256);
  assert.equal(s.evaluations[0]?.origin, 'card');
  assert.equal(l.status, 'installed', 'a fresh fine-tune is not evaluated');
  assert.equal(l.lineage.baseModel, 'shipped-a 1.0.0');
  assert.equal(l.lineage.steps, 20);
  assert.match(l.lineage.recipe ?? '', /paired/);
  const history = await registry.history();
  assert.deepEqual(
    history.map((e) => e.action),
    ['installed', 'installed'],
  );
  assert.deepEqual(folderHashes(ws.shippedDir), before);
  registry.close();
});

test('activation refuses an unevaluated model unless confirmed, and records who, when and why', async () => {
  const ws = workstation(root, 'activate');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const shippedBefore = folderHashes(ws.shippedDir);
  const localBefore = folderHashes(ws.localDir);
  const registry = open(ws);
  await assert.rejects(
    registry.activate({ modelId: local.id, reason: 'ward 3 pilot' }),
    isCode('forbidden', /no evaluation on validation data/),
  );
  // Nothing changed: the shipped default is still what inference uses.
  assert.equal(defaultModel((await listModels(ws.shippedDir, ws.localDir)).models)?.card.id, shipped.id);
  await assert.rejects(registry.activate({ modelId: local.id, reason: '  ' }), isCode('bad_input', /reason/));
  const activated = await registry.activate({
    modelId: local.id,
    reason: 'ward 3 pilot',
    confirmUnevaluated: true,
  });
  assert.equal(activated.status, 'active');
  const [event] = await registry.history();
  assert.equal(event?.action, 'activated');
  assert.equal(event?.user, 'it-admin');
  assert.equal(event?.reason, 'ward 3 pilot');
  assert.equal(event?.modelId, local.id);
  assert.equal(event?.previousModelId, shipped.id);
  assert.match(event?.detail ?? '', /without an evaluation/);
  assert.match(event?.at ?? '', /^2026-12-01T10:\d\d:00\.000Z$/);
  // The model store (and so inference in any process) now uses it.
  const { models } = await listModels(ws.shippedDir, ws.localDir);
  assert.equal(defaultModel(models)?.card.id, local.id);
  assert.equal(models.filter((m) => m.active).length, 1, 'one active model per workstation');
  // An evaluated model needs no confirmation.
  await registry.recordEvaluation({
    modelId: local.id,
    evaluationFile: writeEvaluationJson(
      join(ws.base, 'eval.json'),
      { id: local.id, version: local.version },
      calibrationImages,
    ),
    purpose: 'validation',
  });
  const listed = await registry.list();
  assert.equal(listed.versions.find((v) => v.modelId === local.id)?.status, 'active');
  await registry.activate({ modelId: shipped.id, reason: 'back to the shipped model' });
  assert.equal(listed.versions.find((v) => v.modelId === local.id)?.evaluations.length, 1);
  assert.equal((await registry.list()).versions.find((v) => v.modelId === local.id)?.status, 'evaluated');
  assert.deepEqual(folderHashes(ws.shippedDir), shippedBefore, 'no shipped model file or card changed');
  assert.deepEqual(folderHashes(ws.localDir), localBefore, 'no local model file or card changed');
  registry.close();
});

test('rollback restores the previous active model in one step and the results name it', async () => {
  const ws = workstation(root, 'rollback');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const registry = open(ws);
  await assert.rejects(registry.rollback({ reason: 'x' }), isCode('bad_input', /no previous/));
  await registry.activate({ modelId: local.id, reason: 'trial', confirmUnevaluated: true });
  const image = await readGrayImage(join(requireSharedData(), 'cxr/covid/cxrdb_COVID-2001.png'));
  const run = async () => {
    const service = createInferenceService({
      shippedDir: ws.shippedDir,
      localDir: ws.localDir,
      providers: ['cpu'],
    });
    try {
      return (await service.infer(image, { passes: 0 })).model;
    } finally {
      await service.close();
    }
  };
  assert.deepEqual(await run(), { id: local.id, version: local.version, sha256: local.sha256 });
  const back = await registry.rollback({ reason: 'false positives on portables' });
  assert.equal(back.modelId, shipped.id);
  assert.deepEqual(await run(), { id: shipped.id, version: shipped.version, sha256: shipped.sha256 });
  const [event] = await registry.history();
  assert.equal(event?.action, 'rolled back');
  assert.equal(event?.previousModelId, local.id);
  assert.equal(event?.reason, 'false positives on portables');
  // Rolling back again goes forward to the model before the rollback (one step each time).
  assert.equal((await registry.rollback({ reason: 'undo' })).modelId, local.id);
  registry.close();
});

test('retire: not activatable, not the default; the active model cannot be retired', async () => {
  const ws = workstation(root, 'retire');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const registry = open(ws);
  await assert.rejects(
    registry.retire({ modelId: shipped.id, reason: 'x' }),
    isCode('bad_input', /active model/),
  );
  const retired = await registry.retire({ modelId: local.id, reason: 'superseded' });
  assert.equal(retired.status, 'retired');
  await assert.rejects(
    registry.activate({ modelId: local.id, reason: 'x', confirmUnevaluated: true }),
    isCode('bad_input', /retired/),
  );
  const { models } = await listModels(ws.shippedDir, ws.localDir);
  assert.equal(models.find((m) => m.card.id === local.id)?.retired, true);
  registry.close();
});

test('a threshold chosen on a calibration evaluation is stored per version and used by inference; the card is not edited', async () => {
  const ws = workstation(root, 'threshold');
  const shipped = shipDefault(ws.shippedDir);
  const before = folderHashes(ws.shippedDir);
  const registry = open(ws);
  const evaluation = await registry.recordEvaluation({
    modelId: shipped.id,
    evaluationFile: writeEvaluationJson(
      join(ws.base, 'cal.json'),
      { id: shipped.id, version: shipped.version },
      calibrationImages,
    ),
    purpose: 'calibration',
  });
  assert.equal(evaluation.count, 10);
  assert.equal(evaluation.hasScores, true);
  const preview = registry.previewThreshold({
    evaluationId: evaluation.evaluationId,
    target: { kind: 'sensitivity', value: 0.8 },
    condition: 'clean',
  });
  assert.ok(Math.abs(preview.threshold - 0.375) < 1e-9);
  const { threshold } = await registry.setThreshold({
    modelId: shipped.id,
    evaluationId: evaluation.evaluationId,
    target: { kind: 'sensitivity', value: 0.8 },
    condition: 'clean',
    reason: 'screening: miss at most 1 in 5',
  });
  assert.ok(Math.abs(threshold.value - 0.375) < 1e-9);
  assert.match(threshold.method, /target sensitivity 0.8 on calibration evaluation/);
  const { models } = await listModels(ws.shippedDir, ws.localDir);
  const model = models.find((m) => m.card.id === shipped.id)!;
  assert.ok(
    Math.abs(model.card.threshold - 0.375) < 1e-9,
    'the card handed out carries the effective threshold',
  );
  assert.equal(model.thresholdSource.kind, 'registry');
  assert.equal(model.thresholdSource.kind === 'registry' && model.thresholdSource.cardThreshold, 0.5);
  assert.deepEqual(folderHashes(ws.shippedDir), before, 'the shipped card is unchanged');
  const onDisk = JSON.parse(readFileSync(join(ws.shippedDir, `${shipped.id}.model.json`), 'utf8')) as {
    threshold: number;
  };
  assert.equal(onDisk.threshold, 0.5);
  // Inference decides with it: a probability between 0.375 and 0.5 is now COVID-19.
  const service = createInferenceService({
    shippedDir: ws.shippedDir,
    localDir: ws.localDir,
    providers: ['cpu'],
  });
  const image = await readGrayImage(join(requireSharedData(), 'cxr/covid/cxrdb_COVID-2001.png'));
  const result = await service.infer(image, { passes: 0 });
  await service.close();
  assert.equal(result.label, result.probabilities.covid > 0.375 ? 'covid' : 'normal');
  // The card's summary has no per-image scores: no threshold can be chosen from it.
  const cardEvaluation = (await registry.list()).versions[0]!.evaluations.find((e) => e.origin === 'card')!;
  assert.throws(
    () => registry.previewThreshold({ evaluationId: cardEvaluation.evaluationId, target: { kind: 'f1' } }),
    isCode('bad_input', /no per-image scores/),
  );
  // An evaluation of another model is refused.
  writeFileSync(
    join(ws.base, 'other.json'),
    readFileSync(join(ws.base, 'cal.json'), 'utf8').replace(shipped.id, 'someone-else'),
  );
  await assert.rejects(
    registry.recordEvaluation({
      modelId: shipped.id,
      evaluationFile: join(ws.base, 'other.json'),
      purpose: 'validation',
    }),
    isCode('bad_input', /evaluates someone-else/),
  );
  registry.close();
});

test('history as CSV: one row per event, quoted, formula-safe', async () => {
  const ws = workstation(root, 'csv');
  shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const registry = open(ws);
  await registry.activate({ modelId: local.id, reason: '=HYPERLINK("x"), pilot', confirmUnevaluated: true });
  const csv = await registry.historyCsv();
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(
    lines[0],
    'time,user,action,model,version,sha256,previous model,previous version,reason,detail',
  );
  assert.equal(lines.length, 4);
  assert.match(
    lines[3]!,
    /^2026-12-01T10:0\d:00.000Z,it-admin,activated,local-ward3,draft-step-20,[0-9a-f]{64},shipped-a,1.0.0,"'=HYPERLINK\(""x""\), pilot",activated without/,
  );
  registry.close();
});

test('compare: evaluations on the same labelled set side by side with overlaid ROC; different sets are refused', async () => {
  const ws = workstation(root, 'compare');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const registry = open(ws);
  const worse = calibrationImages.map((i) => ({ ...i, degraded: i.covid ? i.degraded * 0.6 : i.degraded }));
  const a = await registry.recordEvaluation({
    modelId: shipped.id,
    evaluationFile: writeEvaluationJson(join(ws.base, 'a.json'), shipped, calibrationImages),
    purpose: 'validation',
  });
  const b = await registry.recordEvaluation({
    modelId: local.id,
    evaluationFile: writeEvaluationJson(join(ws.base, 'b.json'), local, worse),
    purpose: 'validation',
  });
  const comparison = registry.compare({ evaluationIds: [a.evaluationId, b.evaluationId] });
  assert.deepEqual(
    comparison.models.map((m) => m.modelId),
    [shipped.id, local.id],
  );
  const auc = comparison.rows.find((r) => r.metric === 'classification.degraded.auc')!;
  assert.ok(auc.values[0]! > auc.values[1]!, 'the degraded scores of the second model separate worse');
  for (const name of [
    'classification.clean.f1',
    'classification.degraded.sensitivity',
    'restoration.restored.psnrGain',
  ])
    assert.ok(
      comparison.rows.some((r) => r.metric === name),
      `${name} is compared`,
    );
  assert.match(comparison.rocSvg, /^<svg/);
  assert.ok(comparison.rocSvg.includes(`${local.id} ${local.version}`));
  const c = await registry.recordEvaluation({
    modelId: local.id,
    evaluationFile: writeEvaluationJson(join(ws.base, 'c.json'), local, calibrationImages.slice(0, 8)),
    purpose: 'validation',
  });
  assert.throws(
    () => registry.compare({ evaluationIds: [a.evaluationId, c.evaluationId] }),
    isCode('bad_input', /not on the same labelled set/),
  );
  assert.throws(() => registry.compare({ evaluationIds: [a.evaluationId] }), isCode('bad_input'));
  registry.close();
});

test('policy: a pinned active model refuses another; fine-tuning can be switched off', async () => {
  const ws = workstation(root, 'policy');
  shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const registry = open(ws, { pinnedActiveModel: 'shipped-a', fineTuningAllowed: false });
  await assert.rejects(
    registry.activate({ modelId: local.id, reason: 'x', confirmUnevaluated: true }),
    isCode('forbidden', /pins the active model/),
  );
  assert.throws(() => registry.assertFineTuningAllowed(), isCode('forbidden', /fine-tuning/));
  registry.close();
});

test('provenance: a result names its exact model; a retired or unknown model says so', async () => {
  const ws = workstation(root, 'provenance');
  const shipped = shipDefault(ws.shippedDir);
  const local = installLocal(ws.localDir);
  const registry = open(ws);
  await registry.sync();
  const key = (c: typeof local) => ({ id: c.id, version: c.version, sha256: c.sha256 });
  assert.deepEqual(registry.provenance(key(shipped)), {
    known: true,
    status: 'active',
    present: true,
    note: 'from shipped-a 1.0.0 (active)',
  });
  await registry.retire({ modelId: local.id, reason: 'superseded' });
  const retired = registry.provenance(key(local));
  assert.equal(retired.status, 'retired');
  assert.match(retired.note, /retired on \d{4}-\d\d-\d\d: the model is no longer in use/);
  const unknown = registry.provenance({ ...key(local), sha256: '0'.repeat(64) });
  assert.equal(unknown.known, false);
  assert.match(unknown.note, /not in this workstation's model registry/);
  registry.close();
});
