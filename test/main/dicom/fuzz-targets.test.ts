// The fast seeded subset of `npm run fuzz` (scripts/fuzz.ts runs ≥ 10,000 of these cases, each in a
// child process with a watchdog): the same case definitions, a few per target, run in this process.
// Every case must be accepted or rejected with an AppError that names the problem.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  caseInput,
  fuzzTargets,
  loadSeeds,
  runCase,
  type Seeds,
  seedsFor,
} from '../../../scripts/fuzz-cases.ts';

const work = mkdtempSync(join(tmpdir(), 'r2c-fuzz-subset-'));
after(() => rmSync(work, { recursive: true, force: true }));

const casesPerTarget: Record<(typeof fuzzTargets)[number], number> = {
  header: 120,
  decode: 80,
  render: 40,
  'model-input': 40,
  zip: 150,
};

let seeds: Seeds | undefined;

for (const target of fuzzTargets) {
  test(`fuzz subset: ${casesPerTarget[target]} ${target} cases are accepted or rejected with a named problem`, {
    timeout: 300_000,
  }, async () => {
    seeds ??= await loadSeeds();
    const seedCount = seedsFor(seeds, target).length;
    const tally = { accepted: 0, rejected: 0 };
    for (let i = 0; i < casesPerTarget[target]; i++) {
      const c = { target, seed: i % seedCount, case: Math.floor(i / seedCount) };
      const result = await runCase(seeds, c, join(work, target));
      if (result.outcome === 'failed')
        assert.fail(`${target}:${c.seed}:${c.case} (${result.what}): ${result.error}`);
      tally[result.outcome] += 1;
    }
    // Both outcomes must occur, or the mutations exercise nothing.
    assert.ok(tally.accepted > 0, `no ${target} case was accepted`);
    assert.ok(tally.rejected > 0, `no ${target} case was rejected`);
  });
}

test('fuzz cases are reproducible from (target, seed, case)', async () => {
  seeds ??= await loadSeeds();
  const a = caseInput(seeds, { target: 'zip', seed: 1, case: 17 });
  const b = caseInput(seeds, { target: 'zip', seed: 1, case: 17 });
  const other = caseInput(seeds, { target: 'zip', seed: 1, case: 18 });
  assert.deepEqual(a.bytes, b.bytes);
  assert.equal(a.what, b.what);
  assert.notDeepEqual([other.what, other.bytes], [a.what, a.bytes]);
});
