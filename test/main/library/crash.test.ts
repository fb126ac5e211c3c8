import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openLibrary } from '../../../main/library/index.ts';
import { sha256File, tempDir, writeSyntheticFolder } from './fixtures.ts';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** Runs the importing child and SIGKILLs it once it reports `killAfter` items done. */
function importAndKill(source: string, dataDir: string, killAfter: number): Promise<{ finished: boolean }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, source, dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let finished = false;
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line === 'finished') finished = true;
      const done = Number(line.split(' ')[1]);
      if (line.startsWith('progress') && done >= killAfter) proc.kill('SIGKILL');
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || finished) resolve({ finished });
      else reject(new Error(`import child exited with code ${code}`));
    });
  });
}

function storeFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'store'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) =>
      relative(dataDir, join(e.parentPath ?? '', e.name))
        .split(sep)
        .join('/'),
    );
}

test('an import killed with SIGKILL leaves every item complete or absent', async () => {
  const work = tempDir('lib-crash');
  const source = join(work.path, 'source');
  const dataDir = join(work.path, 'data');
  try {
    writeSyntheticFolder(source, 200, { patients: 4 });
    // Two crashes at different points, the second on top of the first one's leftovers.
    for (const killAfter of [40, 100]) {
      const { finished } = await importAndKill(source, dataDir, killAfter);
      assert.equal(finished, false, 'the child was killed before it finished');

      const raw = new Database(join(dataDir, 'library.sqlite'));
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(raw.pragma('foreign_key_check'), []);
      raw.close();

      const library = openLibrary({ dataDir }); // cleans orphans left by the crash
      await library.close();
      const db = new Database(join(dataDir, 'library.sqlite'), { readonly: true });
      const rows = db
        .prepare("SELECT file_path AS filePath, sha256 FROM instances WHERE storage = 'managed'")
        .all() as { filePath: string; sha256: string }[];
      const orphanSeries = db
        .prepare(
          'SELECT COUNT(*) FROM series s WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.series_ref = s.id)',
        )
        .pluck()
        .get();
      db.close();
      assert.ok(
        rows.length >= killAfter && rows.length < 200,
        `${rows.length} items imported before the kill`,
      );
      assert.equal(orphanSeries, 0, 'no series without instances (rows are written together)');
      for (const row of rows) {
        const path = join(dataDir, ...row.filePath.split('/'));
        assert.ok(existsSync(path), `store file of ${row.filePath} exists`);
        assert.equal(sha256File(path), row.sha256);
      }
      assert.deepEqual(
        storeFiles(dataDir).sort(),
        rows.map((r) => r.filePath).sort(),
        'no orphan or temp files',
      );
    }

    const library = openLibrary({ dataDir });
    try {
      const before = library.listStudies().reduce((n, s) => n + s.instanceCount, 0);
      const rest = await library.importPaths([source]);
      assert.deepEqual(
        { added: rest.added, duplicates: rest.duplicates, failed: rest.failed },
        { added: 200 - before, duplicates: before, failed: [] },
      );
    } finally {
      await library.close();
    }
  } finally {
    work.remove();
  }
});
