import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { zipSync } from 'fflate';
import {
  collectImageInputs,
  detectFile,
  expandPaths,
  walkFolder,
} from '../../../../main/data/input/index.ts';
import { newUid, syntheticDicom } from '../../library/fixtures.ts';
import { jpegBytes, part10Bytes, pngBytes, tiffBytes, withoutFileMeta } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-input-walk-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tree = join(dir, 'tree');
const at = (...parts: string[]) => join(tree, ...parts);

before(async () => {
  mkdirSync(at('b', 'deep'), { recursive: true });
  mkdirSync(at('.hidden'), { recursive: true });
  mkdirSync(at('__MACOSX'), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'), { recursive: true });
  writeFileSync(at('a.png'), await pngBytes());
  writeFileSync(at('b', 'c.jpg'), await jpegBytes());
  writeFileSync(at('b', 'deep', 'd.tif'), await tiffBytes());
  writeFileSync(at('b', 'RAW0001'), withoutFileMeta(await part10Bytes()));
  writeFileSync(at('b', 'IM0001'), await part10Bytes());
  writeFileSync(at('b', 'broken.png'), 'not a PNG at all');
  writeFileSync(at('b', 'notes.txt'), 'not an image');
  writeFileSync(at('b', 'exam.zip'), zipSync({ 'x.dcm': await part10Bytes() }));
  writeFileSync(at('DICOMDIR'), 'an index, never walked into');
  writeFileSync(at('.DS_Store'), 'x');
  writeFileSync(at('._a.png'), 'AppleDouble');
  writeFileSync(at('Thumbs.db'), 'x');
  writeFileSync(at('.hidden', 'e.png'), await pngBytes());
  writeFileSync(at('__MACOSX', 'f.png'), await pngBytes());
  writeFileSync(join(dir, 'elsewhere', 'linked.png'), await pngBytes());
  symlinkSync(join(dir, 'elsewhere', 'linked.png'), at('link.png'));
  symlinkSync(join(dir, 'elsewhere'), at('folder-link'));
});

test('walkFolder: depth-first, sorted, hidden/system files and DICOMDIRs skipped, file links followed', async () => {
  assert.deepEqual(await walkFolder(tree), [
    at('a.png'),
    at('b', 'IM0001'),
    at('b', 'RAW0001'),
    at('b', 'broken.png'),
    at('b', 'c.jpg'),
    at('b', 'deep', 'd.tif'),
    at('b', 'exam.zip'),
    at('b', 'notes.txt'),
    at('link.png'),
  ]);
  await assert.rejects(walkFolder(join(dir, 'no-such-folder')), /cannot read folder: no such file or folder/);
  const failures: string[] = [];
  assert.deepEqual(
    await walkFolder(join(dir, 'no-such-folder'), { onUnreadable: (f) => failures.push(f.reason) }),
    [],
  );
  assert.equal(failures.length, 1);
  const aborted = AbortSignal.abort();
  await assert.rejects(walkFolder(tree, { signal: aborted, what: 'import' }), /import was cancelled/);
});

test('collectImageInputs: in folders only images (by content, or a damaged file by its extension); named files always', async () => {
  const readme = join(dir, 'README');
  writeFileSync(readme, 'plain text');
  const { files, failed } = await collectImageInputs([tree, readme, join(dir, 'missing.png')]);
  assert.deepEqual(files, [
    readme,
    at('a.png'),
    at('b', 'IM0001'),
    at('b', 'RAW0001'),
    at('b', 'broken.png'),
    at('b', 'c.jpg'),
    at('b', 'deep', 'd.tif'),
    at('link.png'),
  ]);
  assert.deepEqual(failed, [
    { path: join(dir, 'missing.png'), reason: 'cannot open: no such file or folder' },
  ]);
});

test('expandPaths: the same file once; a DICOMDIR (made by dcmtk) expands to the files it lists', async (t) => {
  const { inputs } = await expandPaths([at('a.png'), tree, at('a.png')]);
  assert.equal(inputs.filter((i) => i.path === at('a.png')).length, 1);
  assert.equal(inputs[0]!.found, false, 'named by the user');
  assert.ok(inputs.slice(1).every((i) => i.found));

  if (spawnSync('dcmmkdir', ['--version']).error) {
    t.skip('dcmtk dcmmkdir is not installed (apt install dcmtk)');
    return;
  }
  const media = join(dir, 'media');
  mkdirSync(join(media, 'DIR1'), { recursive: true });
  const [study, series] = [newUid(), newUid()];
  for (let i = 0; i < 2; i++) {
    const instance = {
      patientId: 'P',
      studyInstanceUid: study,
      seriesInstanceUid: series,
      instanceNumber: i + 1,
    };
    writeFileSync(join(media, 'DIR1', `IMG${i}`), syntheticDicom(instance).bytes);
  }
  const made = spawnSync('dcmmkdir', ['+I', '--recurse', 'DIR1'], { cwd: media, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  writeFileSync(join(media, 'DIR1', 'EXTRA'), await part10Bytes());
  assert.equal(await detectFile(join(media, 'DICOMDIR')), 'dicomdir');
  // Under another name (here a link) it is still recognised by its content.
  symlinkSync(join(media, 'DICOMDIR'), join(media, 'INDEX.LNK'));
  for (const given of [join(media, 'DICOMDIR'), join(media, 'INDEX.LNK')]) {
    const expanded = await collectImageInputs([given]);
    assert.deepEqual(expanded.files, [join(media, 'DIR1', 'IMG0'), join(media, 'DIR1', 'IMG1')], given);
    assert.deepEqual(expanded.failed, []);
  }
  // Walking the folder skips the index and finds every image, listed or not.
  assert.deepEqual((await collectImageInputs([media])).files, [
    join(media, 'DIR1', 'EXTRA'),
    join(media, 'DIR1', 'IMG0'),
    join(media, 'DIR1', 'IMG1'),
  ]);
});
