// Retention and deletion beside the reader studies (real review store, real library, one data folder):
// an open study's images are never removed; once the owner closes it they go like the rest, and the
// study's own data (answers, audit trail) stays in reader-studies.sqlite.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices } from '../../../main/app/services.ts';
import { repoRoot } from '../../helpers/paths.ts';
import { tempDir, writeSyntheticFolder } from './fixtures.ts';

test('an open reader study keeps its images through retention and deletion; closed, they go', async () => {
  const work = tempDir('retention-review');
  const policy = join(work.path, 'policy.json');
  writeFileSync(policy, JSON.stringify({ retentionDays: 30 }));
  const previous = process.env['R2C_POLICY_FILE'];
  process.env['R2C_POLICY_FILE'] = policy;
  const services = createServices({
    dataDir: join(work.path, 'data'),
    modelsDir: join(repoRoot, 'models', 'shipped'),
    workerTransport: threadTransport,
    logSource: 'test',
  });
  try {
    writeSyntheticFolder(join(work.path, 'in'), 6, { patients: 2 });
    await services.library.importPaths([join(work.path, 'in')]);
    const instances = services.library
      .listStudies()
      .flatMap((s) => services.library.listInstances({ studyId: s.id }));
    assert.equal(instances.length, 6);
    const inStudy = instances.slice(0, 2).map((i) => i.id);
    const study = services.review.createStudy({
      name: 'Pilot',
      images: inStudy.map((id) => ({ id: String(id) })),
      variants: [
        { id: 'v-orig', kind: 'original', label: 'Original image' },
        { id: 'v-gan', kind: 'restored', modelId: 'r2c-q3', passes: 1, label: 'R2C-GAN, 1 pass' },
      ],
      seed: 1,
    });
    assert.equal(services.settings.get().retentionDays.source, 'policy');

    assert.throws(() => services.library.delete([{ level: 'instance', id: inStudy[0]! }]), {
      code: 'forbidden',
      message: /open reader study 'Pilot'/,
    });
    const later = new Date(Date.now() + 31 * 24 * 60 * 60 * 1000);
    const first = services.applyRetention({ now: later });
    assert.equal(first.days, 30);
    assert.deepEqual([first.removed.instances, first.kept], [4, 2]);
    const left = services.library
      .listStudies()
      .flatMap((s) => services.library.listInstances({ studyId: s.id }));
    assert.deepEqual(
      left.map((i) => i.id).sort((a, b) => a - b),
      [...inStudy].sort((a, b) => a - b),
    );
    for (const id of inStudy) assert.ok(existsSync(services.library.getInstance(id).filePath));

    services.review.closeStudy(study.id);
    const second = services.applyRetention({ now: later });
    assert.deepEqual([second.removed.instances, second.kept], [2, 0]);
    assert.equal(services.review.getStudy(study.id).name, 'Pilot', 'the study itself is not touched');
    const events = services.log.read({ event: 'library.retention' });
    assert.equal(events.length, 2);
  } finally {
    await services.close();
    if (previous === undefined) delete process.env['R2C_POLICY_FILE'];
    else process.env['R2C_POLICY_FILE'] = previous;
    work.remove();
  }
});
