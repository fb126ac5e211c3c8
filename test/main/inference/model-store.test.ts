import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ModelCard } from '../../../main/inference/model-card.ts';
import {
  defaultModel,
  findModel,
  listModels,
  REGISTRY_STATE_FILE,
  readVerifiedModel,
} from '../../../main/inference/model-store.ts';
import { AppError } from '../../../main/util/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'r2c-models-'));
after(() => rmSync(root, { recursive: true, force: true }));

function install(dir: string, id: string, bytes: Buffer, extra: Partial<ModelCard> = {}): ModelCard {
  const card: ModelCard = {
    format: 'r2c-model-card/1',
    id,
    version: '1.0.0',
    name: `Test model ${id}`,
    file: `${id}.onnx`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    architecture: { kind: 'operational', q: 3, parameters: 900_000 },
    threshold: 0.5,
    input: { classificationSize: 256, workingLongSide: 512 },
    intendedUse: 'research',
    limitations: ['test'],
    ...extra,
  };
  writeFileSync(join(dir, card.file), bytes);
  writeFileSync(join(dir, `${id}.model.json`), JSON.stringify(card));
  return card;
}

test('lists shipped and local models, picks the default, reports broken cards', async () => {
  const shipped = mkdtempSync(join(root, 'shipped-'));
  const local = mkdtempSync(join(root, 'local-'));
  install(shipped, 'compact', Buffer.from('a'));
  install(shipped, 'q3', Buffer.from('b'), { default: true });
  install(local, 'q3-finetuned', Buffer.from('c'));
  writeFileSync(join(shipped, 'broken.model.json'), '{"format": "r2c-model-card/1", "id": "Bad Id"}');
  const { models, problems } = await listModels(shipped, local);
  assert.deepEqual(
    models.map((m) => `${m.origin}:${m.card.id}`),
    ['shipped:compact', 'shipped:q3', 'local:q3-finetuned'],
  );
  assert.equal(defaultModel(models)?.card.id, 'q3');
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.file, 'broken.model.json');
  assert.match(problems[0]?.problem ?? '', /id/);
  assert.throws(
    () => findModel(models, 'nope'),
    /no model 'nope' is installed \(installed: compact, q3, q3-finetuned\)/,
  );
});

test('a model file that matches its card is read', async () => {
  const dir = mkdtempSync(join(root, 'ok-'));
  install(dir, 'good', Buffer.from('model bytes'));
  const { models } = await listModels(dir);
  const bytes = await readVerifiedModel(findModel(models, 'good'));
  assert.equal(Buffer.from(bytes).toString(), 'model bytes');
});

test('a tampered, truncated or missing model file is refused with the reason', async () => {
  const dir = mkdtempSync(join(root, 'bad-'));
  install(dir, 'tampered', Buffer.from('original!'));
  writeFileSync(join(dir, 'tampered.onnx'), 'modified!');
  install(dir, 'truncated', Buffer.from('0123456789'));
  writeFileSync(join(dir, 'truncated.onnx'), '01234');
  install(dir, 'missing', Buffer.from('x'));
  rmSync(join(dir, 'missing.onnx'));
  const { models } = await listModels(dir);
  const refusal = (pattern: RegExp, code: string) => (e: unknown) =>
    e instanceof AppError && e.code === code && pattern.test(e.message);
  await assert.rejects(
    readVerifiedModel(findModel(models, 'tampered')),
    refusal(/tampered\.onnx does not match its model card \(SHA-256/, 'integrity'),
  );
  await assert.rejects(
    readVerifiedModel(findModel(models, 'truncated')),
    refusal(/truncated\.onnx is 5 bytes but its model card says 10/, 'integrity'),
  );
  await assert.rejects(
    readVerifiedModel(findModel(models, 'missing')),
    refusal(/missing\.onnx .* is missing/, 'not_found'),
  );
});

test("the registry's state: the active model, the effective threshold with its source, retired versions; cards on disk unchanged", async () => {
  const shipped = mkdtempSync(join(root, 'state-shipped-'));
  const local = mkdtempSync(join(root, 'state-local-'));
  const q3 = install(shipped, 'q3', Buffer.from('b'), { default: true });
  const compact = install(shipped, 'compact', Buffer.from('a'));
  const tuned = install(local, 'q3-tuned', Buffer.from('c'));
  const cardText = readFileSync(join(shipped, 'q3.model.json'), 'utf8');
  const key = (c: ModelCard) => ({ id: c.id, version: c.version, sha256: c.sha256 });
  const state = {
    format: 'r2c-model-registry-state/1',
    active: key(tuned),
    versions: [
      {
        ...key(q3),
        retired: false,
        threshold: {
          value: 0.31,
          method: 'target sensitivity 0.9',
          chosenAt: '2026-12-01T10:00:00Z',
          chosenBy: 'admin',
        },
      },
      { ...key(compact), retired: true, threshold: null },
      // A version whose file changed since (another SHA-256) is not this file: its threshold does not apply.
      {
        ...key(tuned),
        sha256: 'f'.repeat(64),
        retired: false,
        threshold: { value: 0.9, method: 'x', chosenAt: 'x', chosenBy: 'x' },
      },
    ],
  };
  writeFileSync(join(local, REGISTRY_STATE_FILE), JSON.stringify(state));
  const { models } = await listModels(shipped, local);
  const by = (id: string) => models.find((m) => m.card.id === id)!;
  assert.equal(defaultModel(models)?.card.id, 'q3-tuned', 'the active model is the default');
  assert.equal(by('q3').card.threshold, 0.31);
  assert.deepEqual(by('q3').thresholdSource, {
    kind: 'registry',
    cardThreshold: 0.5,
    method: 'target sensitivity 0.9',
    chosenAt: '2026-12-01T10:00:00Z',
    chosenBy: 'admin',
  });
  assert.equal(by('q3-tuned').card.threshold, 0.5);
  assert.deepEqual(by('q3-tuned').thresholdSource, { kind: 'card' });
  assert.equal(by('compact').retired, true);
  assert.equal(readFileSync(join(shipped, 'q3.model.json'), 'utf8'), cardText, 'the card file is not edited');
  // Without an active choice: the shipped default, never a retired model.
  writeFileSync(
    join(local, REGISTRY_STATE_FILE),
    JSON.stringify({ ...state, active: null, versions: [{ ...key(q3), retired: true, threshold: null }] }),
  );
  assert.equal(defaultModel((await listModels(shipped, local)).models)?.card.id, 'compact');
  // A damaged state file is an integrity error (the registry rewrites it on open).
  writeFileSync(join(local, REGISTRY_STATE_FILE), '{"format": "r2c-model-registry-state/1", "active": 3');
  await assert.rejects(
    listModels(shipped, local),
    (e: unknown) =>
      e instanceof AppError && e.code === 'integrity' && /registry-state\.json is unreadable/.test(e.message),
  );
});
