// Every shipped card points to the committed training log of each of its stages: a card whose
// "run" names a scratch folder (e.g. 'out') leaves a reader no way to check how the model was made.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const repo = join(import.meta.dirname, '..', '..');
const shipped = join(repo, 'models', 'shipped');

test('each shipped card names training-run folders that are committed, with their loss log', () => {
  const cards = readdirSync(shipped).filter((f) => f.endsWith('.model.json'));
  assert.ok(cards.length > 0, 'no shipped cards found');
  for (const file of cards) {
    const training = JSON.parse(readFileSync(join(shipped, file), 'utf8')).training ?? {};
    const runs = [training.run, ...(training.previousStages ?? []).map((s: { run?: string }) => s.run)];
    assert.ok(typeof training.run === 'string', `${file}: training.run is missing`);
    for (const run of runs.filter((r): r is string => typeof r === 'string')) {
      assert.match(run, /^models\/training-runs\/[^/]+$/, `${file}: ${run} is not a training-runs folder`);
      const dir = join(repo, run);
      assert.ok(existsSync(dir) && statSync(dir).isDirectory(), `${file}: ${run} does not exist`);
      assert.ok(existsSync(join(dir, 'metrics.jsonl')), `${file}: ${run} has no metrics.jsonl`);
    }
  }
});
