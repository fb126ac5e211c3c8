// Deleting and retention at library scale: 1000 generated DICOM files imported (copies), each with
// an analysis folder; one study deleted, then retention removes the rest in batches of 500.
// Also the activity log's cost per line (appendFileSync, the line on disk before the call returns).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLibrary } from '../main/library/index.ts';
import { openActivityLog } from '../main/settings/index.ts';
import { tempDir, writeSyntheticFolder } from '../test/main/library/fixtures.ts';
import type { BenchContext } from './types.ts';

const fileCount = 1000;

export default async function bench(context: BenchContext): Promise<Record<string, unknown>> {
  const work = tempDir('bench-retention');
  const dataDir = join(work.path, 'data');
  const library = openLibrary({ dataDir });
  try {
    writeSyntheticFolder(join(work.path, 'in'), fileCount, { patients: 10 });
    await library.importPaths([join(work.path, 'in')]);
    const studies = library.listStudies();
    const instances = studies.flatMap((s) => library.listInstances({ studyId: s.id, limit: 100000 }));
    for (const i of instances) {
      const { sha256 } = library.getInstance(i.id);
      const dir = join(dataDir, 'results', sha256, 'model-a');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'record.json'), '{}');
      library.putResult(i.id, 'model-a', { label: 'normal' });
    }
    context.log(`imported ${instances.length} instances in ${studies.length} studies`);

    let start = performance.now();
    const one = library.delete([{ level: 'study', id: studies[0]!.id }]);
    const deleteStudySeconds = (performance.now() - start) / 1000;

    start = performance.now();
    const preview = library.applyRetention({
      days: 1,
      now: new Date(Date.now() + 2 * 86400000),
      dryRun: true,
    });
    const dryRunSeconds = (performance.now() - start) / 1000;
    start = performance.now();
    const all = library.applyRetention({ days: 1, now: new Date(Date.now() + 2 * 86400000) });
    const retentionSeconds = (performance.now() - start) / 1000;

    const log = openActivityLog({ dataDir: join(work.path, 'log'), source: 'test' });
    const lines = 2000;
    start = performance.now();
    for (let i = 0; i < lines; i++) log.info('import', { mode: 'copy', total: 1, added: 1, n: i });
    const logLineMicroseconds = ((performance.now() - start) * 1000) / lines;

    return {
      instances: instances.length,
      deleteOneStudy: { instances: one.instances, seconds: deleteStudySeconds },
      retentionDryRun: { due: preview.due, seconds: dryRunSeconds },
      retention: {
        instances: all.removed.instances,
        storeFiles: all.removed.storeFiles,
        resultFolders: all.removed.resultFolders,
        seconds: retentionSeconds,
        instancesPerSecond: all.removed.instances / retentionSeconds,
      },
      activityLog: { lines, microsecondsPerLine: logLineMicroseconds },
    };
  } finally {
    await library.close();
    work.remove();
  }
}
