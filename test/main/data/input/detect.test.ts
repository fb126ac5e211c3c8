import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { zipSync } from 'fflate';
import {
  detectFile,
  detectFiles,
  detectKind,
  HEADER_BYTES,
  readHeader,
  unsupportedReason,
} from '../../../../main/data/input/index.ts';
import { requireSharedData } from '../../../helpers/paths.ts';
import { fileMetaHeader, jpegBytes, part10Bytes, pngBytes, tiffBytes, withoutFileMeta } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-input-detect-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = requireSharedData();
const shared = (path: string) => new Uint8Array(readFileSync(join(data, path)));
const MEDIA_DIRECTORY = '1.2.840.10008.1.3.10';

test('DICOM with the preamble and DICM, and without them (raw data sets), from the bytes alone', async () => {
  assert.equal(detectKind(shared('dicom/dwv/gdcm-CR-MONO1-10-chest.dcm')), 'dicom');
  // The same chest image with no preamble and no File Meta Information (implicit VR little endian).
  const raw = shared('dicom/fo-dicom/CR-MONO1-10-chest');
  assert.notEqual(Buffer.from(raw.subarray(128, 132)).toString('latin1'), 'DICM');
  assert.equal(detectKind(raw), 'dicom');
  assert.equal(detectKind(raw, 'CR-MONO1-10-chest'), 'dicom', 'no extension needed');
  // Explicit VR little endian without the meta (pydicom's ExplVR_LitEndNoMeta and a generated one).
  assert.equal(detectKind(shared('dicom/dicom-test-files/ExplVR_LitEndNoMeta.dcm')), 'dicom');
  const generated = await part10Bytes();
  assert.equal(detectKind(generated), 'dicom');
  assert.equal(detectKind(withoutFileMeta(generated)), 'dicom');
  // Extension-less Part 10 files (the NEMA WG04 set).
  assert.equal(detectKind(shared('dicom/dicom-test-files/RG1_J2KI'), 'RG1_J2KI'), 'dicom');
});

test('PNG, JPEG, TIFF (both byte orders, BigTIFF) and zip by signature; DICM at 128 wins', async () => {
  assert.equal(detectKind(await pngBytes()), 'png');
  assert.equal(detectKind(await jpegBytes()), 'jpeg');
  assert.equal(detectKind(shared('cxr/covid/cxrdb_COVID-2001.png')), 'png');
  const tiff = await tiffBytes();
  assert.equal(detectKind(tiff), 'tiff');
  assert.equal(detectKind(new Uint8Array([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8])), 'tiff', 'big-endian');
  assert.equal(detectKind(new Uint8Array([0x49, 0x49, 0x2b, 0x00, 8, 0, 0, 0])), 'tiff', 'BigTIFF');
  assert.equal(detectKind(zipSync({ 'a.txt': new Uint8Array([1, 2, 3]) })), 'zip');
  // A DICOM file whose preamble holds a TIFF header (allowed by PS3.10) is DICOM.
  const dual = await part10Bytes();
  dual.set(tiff.subarray(0, 8), 0);
  assert.equal(detectKind(dual), 'dicom');
});

test('DICOMDIR by its Media Storage SOP Class or by name', () => {
  const header = fileMetaHeader(MEDIA_DIRECTORY);
  assert.equal(detectKind(header), 'dicomdir');
  assert.equal(detectKind(header, '/media/cd/INDEX'), 'dicomdir');
  // Another SOP class that merely starts with the same digits is not a DICOMDIR.
  assert.equal(detectKind(fileMetaHeader(`${MEDIA_DIRECTORY}5`)), 'dicom');
  assert.equal(detectKind(fileMetaHeader('1.2.840.10008.5.1.4.1.1.7')), 'dicom');
  assert.equal(detectKind(fileMetaHeader('1.2.840.10008.5.1.4.1.1.7'), '/media/cd/DICOMDIR'), 'dicomdir');
});

test('unknown bytes: the extension decides only when the bytes say nothing', async () => {
  const text = new TextEncoder().encode('plain text, not an image');
  assert.equal(detectKind(text), 'unknown');
  assert.equal(detectKind(text, 'README'), 'unknown');
  assert.equal(detectKind(text, 'notes.txt'), 'unknown');
  // A damaged file goes to its decoder, which names the problem.
  assert.equal(detectKind(text, 'broken.png'), 'png');
  assert.equal(detectKind(text, 'broken.JPG'), 'jpeg');
  assert.equal(detectKind(text, 'broken.tif'), 'tiff');
  assert.equal(detectKind(text, 'broken.dcm'), 'dicom');
  // Content wins over the name.
  assert.equal(detectKind(await pngBytes(), 'mislabelled.dcm'), 'png');
  assert.equal(detectKind(new Uint8Array(0)), 'unknown');
  assert.equal(detectKind(new Uint8Array(0), 'x.png'), 'png', 'name only (manifest without file checks)');
  // Odd groups, group 0 and groups above the image attributes are not a data set's first element.
  for (const start of [
    [0x09, 0x00, 0x10, 0x00],
    [0x00, 0x00, 0x10, 0x00],
    [0xe0, 0x7f, 0x10, 0x00],
  ]) {
    assert.equal(detectKind(new Uint8Array([...start, 0x4f, 0x42, 0, 0, 0, 0, 0, 0])), 'unknown');
  }
  // Implicit VR with an implausible first length.
  assert.equal(detectKind(new Uint8Array([0x08, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0x00])), 'unknown');
});

test('one wording for what no command takes', () => {
  assert.match(unsupportedReason('unknown'), /^not a PNG, JPEG, TIFF or DICOM file/);
  assert.match(unsupportedReason('zip'), /zip archive, not an image/);
  assert.match(unsupportedReason('dicomdir'), /DICOMDIR .*not an image/);
});

test('files: only the first bytes are read; unreadable files are undefined in bulk', async () => {
  const big = join(dir, 'big.dcm');
  const bytes = new Uint8Array(5 * HEADER_BYTES);
  bytes.set(await part10Bytes(), 0);
  writeFileSync(big, bytes);
  assert.equal((await readHeader(big)).length, HEADER_BYTES);
  const small = join(dir, 'small');
  writeFileSync(small, new Uint8Array([0x89, 0x50]));
  assert.equal((await readHeader(small)).length, 2);
  assert.equal(await detectFile(small), 'unknown', 'a truncated signature is not a PNG');
  const raw = join(dir, 'raw-no-extension');
  writeFileSync(raw, withoutFileMeta(await part10Bytes()));
  assert.equal(await detectFile(raw), 'dicom');
  await assert.rejects(detectFile(join(dir, 'missing.png')), /ENOENT/);
  assert.deepEqual(await detectFiles([big, join(dir, 'missing.png'), raw, dir]), [
    'dicom',
    undefined,
    'dicom',
    undefined,
  ]);
});
