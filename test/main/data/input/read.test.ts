// The bounded read every command uses: the first bytes decide, a file is read whole only when they
// say it is an image, and a symbolic link loop is called one.
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  collectImageInputs,
  expandPaths,
  readImageFile,
  readModelInput,
  sniffFile,
  walkFolder,
} from '../../../../main/data/input/index.ts';
import { AppError } from '../../../../main/util/errors.ts';
import { part10Bytes, pngBytes } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-input-read-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `size` bytes starting with `head`: large on paper, a few KB on disk. */
function sparseFile(name: string, head: Uint8Array, size: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  writeSync(fd, head, 0, head.length, 0);
  writeSync(fd, new Uint8Array([1]), 0, 1, size - 1);
  closeSync(fd);
  return path;
}

const junkHead = new TextEncoder().encode('%PDF-1.4 this is not an image');

test('sniffFile: kind from the first bytes (or only then the name), with the size', async () => {
  const png = join(dir, 'a.bin');
  writeFileSync(png, await pngBytes());
  assert.deepEqual(await sniffFile(png), { kind: 'png', byContent: true, size: (await pngBytes()).length });
  const named = join(dir, 'junk.dcm');
  writeFileSync(named, junkHead);
  assert.deepEqual(await sniffFile(named), { kind: 'dicom', byContent: false, size: junkHead.length });
  await assert.rejects(sniffFile(join(dir, 'missing')), /cannot open: no such file or folder/);
});

test('readImageFile: a 3 GiB junk file is refused from its first bytes (no 2 GiB read error)', async () => {
  const path = sparseFile('huge.bin', junkHead, 3 * 1024 ** 3);
  await assert.rejects(readImageFile(path), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'unsupported');
    assert.match(error.message, /^not a PNG, JPEG, TIFF or DICOM file/);
    return true;
  });
  // The model-input path (restore, classify, eval) gives the same answer.
  await assert.rejects(readModelInput(path), /huge\.bin: not a PNG, JPEG, TIFF or DICOM file/);
});

test("readImageFile: junk named .dcm gets the DICOM reader's words from the first bytes; junk named .png is refused", async () => {
  const dcm = sparseFile('huge.dcm', junkHead, 3 * 1024 ** 3);
  await assert.rejects(readImageFile(dcm), /^AppError: not a DICOM file: no "DICM" prefix at byte 128/);
  const png = join(dir, 'fake.png');
  writeFileSync(png, junkHead);
  await assert.rejects(
    readImageFile(png),
    /named like a PNG file \(fake\.png\) but its first bytes are not one/,
  );
});

test('readImageFile: real images are read whole; a kind not accepted and a file over the size limit are refused', async () => {
  const dicom = join(dir, 'image.dcm');
  const bytes = await part10Bytes();
  writeFileSync(dicom, bytes);
  const read = await readImageFile(dicom);
  assert.equal(read.kind, 'dicom');
  assert.deepEqual(Buffer.from(read.bytes), Buffer.from(bytes));
  const png = join(dir, 'image.png');
  writeFileSync(png, await pngBytes());
  await assert.rejects(readImageFile(png, { accept: ['dicom'] }), /a PNG image, not dicom/);
  await assert.rejects(
    readImageFile(dicom, { maxBytes: 100 }),
    /file is too large \(\d+ bytes; the limit is 100\)/,
  );
});

test('a symbolic link loop is named as such: given directly, and met inside a folder', async () => {
  const loops = join(dir, 'loops');
  mkdirSync(loops);
  symlinkSync(join(loops, 'b'), join(loops, 'a'));
  symlinkSync(join(loops, 'a'), join(loops, 'b'));
  writeFileSync(join(loops, 'image.png'), await pngBytes());

  const direct = await expandPaths([join(loops, 'a')]);
  assert.deepEqual(direct.inputs, []);
  assert.equal(direct.failed.length, 1);
  assert.match(direct.failed[0]!.reason, /^cannot open: symbolic link loop/);

  const inFolder = await expandPaths([loops]);
  assert.deepEqual(
    inFolder.inputs.map((i) => i.path),
    [join(loops, 'image.png')],
  );
  assert.deepEqual(
    inFolder.failed.map((f) => [f.path, f.reason.split(' (')[0]]),
    [
      [join(loops, 'a'), 'cannot open: symbolic link loop'],
      [join(loops, 'b'), 'cannot open: symbolic link loop'],
    ],
  );
  // The commands' collector reports the same, and the images still go through.
  const collected = await collectImageInputs([loops]);
  assert.deepEqual(collected.files, [join(loops, 'image.png')]);
  assert.equal(collected.failed.length, 2);
  // Without a failure callback a walk skips such links rather than failing the whole folder.
  assert.deepEqual(await walkFolder(loops), [join(loops, 'image.png')]);
});
