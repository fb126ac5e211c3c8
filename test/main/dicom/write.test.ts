// Writing: derived Secondary Capture, SC import from PNG, de-identification, classification sidecar.
// Output is read back with our reader (pixel-identical), parsed by dcmtk, and validated with dciodvfy
// when it is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import dicomParser from 'dicom-parser';
import sharp from 'sharp';
import {
  COMPREHENSIVE_SR_SOP_CLASS,
  classificationSidecar,
  createSecondaryCapture,
  decodeFrame,
  readDicomHeader,
  renderDisplay,
  replaceUid,
  SECONDARY_CAPTURE_SOP_CLASS,
  saveDicom,
  toModelInput,
  writeClassificationReport,
  writeClassificationSidecar,
  writeDerivedImage,
} from '../../../main/dicom/index.ts';
import { dcm2pnm, haveDcmtk, hasTool, readDicom, withTempDirAsync } from './helpers.ts';

const haveDciodvfy = hasTool('dciodvfy');

/** dciodvfy (dicom3tools) when installed: no "Error" lines. dcmtk must parse it without warnings. */
function validateWithTools(bytes: Uint8Array, dir: string): void {
  const file = join(dir, 'out.dcm');
  writeFileSync(file, bytes);
  if (haveDcmtk) {
    const dump = spawnSync('dcmdump', ['-q', file], { encoding: 'latin1' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.equal(dump.stderr.trim(), '', `dcmdump warnings: ${dump.stderr}`);
  }
  if (haveDciodvfy) {
    const result = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
    const errors = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => /^Error/.test(l));
    assert.deepEqual(errors, [], 'dciodvfy reported errors');
  }
}

/**
 * Required attributes of the IODs we write (PS3.3 A.8.1 Secondary Capture, A.35.3 Comprehensive SR):
 * Type 1 present and non-empty, Type 2 present (may be empty). A stand-in for dciodvfy, which is not
 * installed here; it does not check values against their VRs or enumerations.
 */
const commonType1 = ['x00080016', 'x00080018', 'x0020000d', 'x00080060', 'x0020000e'];
const commonType2 = [
  'x00100010',
  'x00100020',
  'x00100030',
  'x00100040',
  'x00080020',
  'x00080030',
  'x00080090',
  'x00200010',
  'x00080050',
  'x00200011',
];
const scType1 = [
  ...commonType1,
  'x00080064', // Conversion Type
  'x00280002',
  'x00280004',
  'x00280010',
  'x00280011',
  'x00280100',
  'x00280101',
  'x00280102',
  'x00280103',
  'x7fe00010',
];
const scType2 = [...commonType2, 'x00200013', 'x00200020', 'x00200060'];
const srType1 = [
  ...commonType1,
  'x00200013',
  'x0040a491',
  'x0040a493',
  'x00080023',
  'x00080033',
  'x0040a040',
  'x0040a043',
  'x0040a050',
];
const srType2 = [...commonType2, 'x00081111', 'x0040a372'];

function assertIod(bytes: Uint8Array, type1: string[], type2: string[]): void {
  const ds = dicomParser.parseDicom(bytes);
  for (const tag of type1) {
    const e = ds.elements[tag];
    assert.ok(e && (e.length > 0 || (e.items?.length ?? 0) > 0), `Type 1 attribute ${tag} missing or empty`);
  }
  for (const tag of type2) assert.ok(ds.elements[tag], `Type 2 attribute ${tag} missing`);
  if (ds.uint16('x00280002') === 3) assert.ok(ds.elements['x00280006'], 'Planar Configuration missing');
}

function element(bytes: Uint8Array, tag: string): string | undefined {
  return dicomParser.parseDicom(bytes).string(tag);
}

async function modelInputOf(relative: string) {
  const source = readDicom(relative);
  const header = readDicomHeader(source);
  const frame = await decodeFrame(source, header, 0);
  return { source, header, frame, image: toModelInput(source, frame, header) };
}

describe('writeDerivedImage', () => {
  test('MONOCHROME1 16/10 source: attributes, read back pixel-identical, round trip to source values', async () => {
    const { source, header, frame, image } = await modelInputOf('dwv/gdcm-CR-MONO1-10-chest.dcm');
    const written = await writeDerivedImage({ source, image, model: { name: 'R2C-GAN', version: '1.0' } });
    const back = readDicomHeader(written.bytes);
    assert.equal(back.sopClassUid, SECONDARY_CAPTURE_SOP_CLASS);
    assert.equal(back.studyInstanceUid, header.studyInstanceUid);
    assert.notEqual(back.seriesInstanceUid, header.seriesInstanceUid);
    assert.notEqual(back.sopInstanceUid, header.sopInstanceUid);
    assert.equal(back.patientName, header.patientName);
    assert.equal(back.patientId, header.patientId);
    assert.equal(back.studyDate, header.studyDate);
    assert.equal(back.accessionNumber, header.accessionNumber);
    assert.equal(back.referringPhysicianName, header.referringPhysicianName);
    assert.equal(back.studyId, header.studyId);
    assert.match(back.seriesDescription ?? '', /R2C-GAN 1\.0/);
    assert.equal(back.photometricInterpretation, 'MONOCHROME1');
    assert.deepEqual([back.bitsAllocated, back.bitsStored, back.pixelRepresentation], [16, 10, 0]);
    assert.equal(element(written.bytes, 'x00080008'), 'DERIVED\\SECONDARY');
    const ds = dicomParser.parseDicom(written.bytes);
    const reference = ds.elements['x00082112']?.items?.[0]?.dataSet;
    assert.equal(reference?.string('x00081155'), header.sopInstanceUid);
    assert.equal(reference?.string('x00081150'), header.sopClassUid);

    assertIod(written.bytes, scType1, scType2);
    const decoded = await decodeFrame(written.bytes, back, 0);
    assert.deepEqual(decoded.stored, written.stored, 'read back differs from what was written');
    // The model input of the source, written back, reproduces the source's stored values wherever
    // they lie inside the window (outside it the model input is clipped).
    const { center, width } = header.windows[0]!;
    let compared = 0;
    for (let i = 0; i < frame.stored.length; i++) {
      const v = frame.stored[i]!;
      if (v > center - width / 2 + 1 && v < center + width / 2 - 1) {
        assert.equal(decoded.stored[i], v, `pixel ${i}`);
        compared++;
      }
    }
    assert.ok(compared > frame.stored.length / 2);
    await withTempDirAsync(async (dir) => validateWithTools(written.bytes, dir));
  });

  test('display of the derived image matches dcm2pnm', {
    skip: haveDcmtk ? false : 'dcmtk missing',
  }, async () => {
    const { source, image } = await modelInputOf('torchxrayvision/Fake_MONOHR1.dcm');
    const written = await writeDerivedImage({ source, image, model: { name: 'R2C-GAN' } });
    await withTempDirAsync(async (dir) => {
      const file = join(dir, 'derived.dcm');
      writeFileSync(file, written.bytes);
      const header = readDicomHeader(written.bytes);
      const frame = await decodeFrame(written.bytes, header, 0);
      const theirs = dcm2pnm(file, ['+Wi', '1'], dir);
      assert.deepEqual(renderDisplay(written.bytes, frame, header).data, new Uint8Array(theirs.data));
      validateWithTools(written.bytes, dir);
    });
  });

  test('colour source is written as RGB with equal channels', async () => {
    const { source, image } = await modelInputOf('dicom-test-files/SC_rgb.dcm');
    const written = await writeDerivedImage({ source, image, model: { name: 'R2C-GAN' } });
    const back = readDicomHeader(written.bytes);
    assertIod(written.bytes, scType1, scType2);
    assert.equal(back.photometricInterpretation, 'RGB');
    const decoded = await decodeFrame(written.bytes, back, 0);
    assert.deepEqual(decoded.stored, written.stored);
    for (let i = 0; i < decoded.stored.length; i += 3) {
      assert.equal(decoded.stored[i], decoded.stored[i + 1]);
      assert.equal(decoded.stored[i], decoded.stored[i + 2]);
    }
  });

  test('source file bytes are not modified', async () => {
    const { source, image } = await modelInputOf('dicom-test-files/MR_small.dcm');
    const before = Buffer.from(source);
    await writeDerivedImage({ source, image, model: { name: 'R2C-GAN' } });
    assert.ok(before.equals(source));
  });

  test('de-identification (PS3.15 Annex E basic profile)', async () => {
    const { source, header, image } = await modelInputOf('fo-dicom/CR-MONO1-10-chest');
    const deidentify = { uidSalt: 'export-42' };
    const a = await writeDerivedImage({ source, image, model: { name: 'R2C-GAN' }, deidentify });
    const b = await writeDerivedImage({ source, image, model: { name: 'R2C-GAN' }, deidentify });
    const back = readDicomHeader(a.bytes);
    assertIod(a.bytes, scType1, scType2);
    assert.equal(back.patientName, undefined);
    assert.equal(back.patientId, undefined);
    assert.equal(back.patientBirthDate, undefined);
    assert.equal(back.studyDate, undefined);
    assert.equal(back.accessionNumber, undefined);
    assert.equal(back.studyDescription, undefined);
    assert.equal(element(a.bytes, 'x00120062'), 'YES');
    assert.match(
      element(a.bytes, 'x00120063') ?? '',
      /Annex E Basic Application Level Confidentiality Profile/,
    );
    const code = dicomParser.parseDicom(a.bytes).elements['x00120064']?.items?.[0]?.dataSet;
    assert.equal(code?.string('x00080100'), '113100');
    // UIDs replaced, consistently within the export, and not the original
    assert.notEqual(back.studyInstanceUid, header.studyInstanceUid);
    assert.equal(back.studyInstanceUid, replaceUid(header.studyInstanceUid, 'export-42'));
    assert.equal(readDicomHeader(b.bytes).studyInstanceUid, back.studyInstanceUid);
    const reference = dicomParser.parseDicom(a.bytes).elements['x00082112']?.items?.[0]?.dataSet;
    assert.equal(reference?.string('x00081155'), replaceUid(header.sopInstanceUid, 'export-42'));
    assert.ok(back.studyInstanceUid.length <= 64 && /^2\.25\.[1-9]\d*$/.test(back.studyInstanceUid));
    // No original identifier left anywhere in the file
    const text = Buffer.from(a.bytes).toString('latin1');
    for (const value of [
      header.patientName,
      header.patientId,
      header.studyInstanceUid,
      header.sopInstanceUid,
    ]) {
      if (value) assert.ok(!text.includes(value), `original value still present`);
    }
    await withTempDirAsync(async (dir) => validateWithTools(a.bytes, dir));
  });

  test('rejects an image that does not fit DICOM', async () => {
    const source = readDicom('dicom-test-files/MR_small.dcm');
    await assert.rejects(
      writeDerivedImage({
        source,
        image: { width: 2, height: 2, data: new Float32Array(3) },
        model: { name: 'x' },
      }),
      /image data has 3 values for 2x2/,
    );
  });
});

describe('createSecondaryCapture', () => {
  test('imports a PNG as 8-bit MONOCHROME2, pixel-identical on read back', async () => {
    const width = 37;
    const height = 23;
    const gray = new Uint8Array(width * height);
    for (let i = 0; i < gray.length; i++) gray[i] = (i * 7) % 256;
    const png = await sharp(gray, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer();
    const written = await createSecondaryCapture({
      image: png,
      patient: { name: 'Test^Patient', id: 'T1' },
      seriesDescription: 'Imported PNG',
      now: new Date('2026-01-02T03:04:05Z'),
    });
    const back = readDicomHeader(written.bytes);
    assertIod(written.bytes, scType1, scType2);
    assert.deepEqual([back.columns, back.rows, back.bitsStored], [width, height, 8]);
    assert.equal(back.photometricInterpretation, 'MONOCHROME2');
    assert.equal(back.patientName, 'Test^Patient');
    assert.equal(back.studyDate, '20260102');
    const decoded = await decodeFrame(written.bytes, back, 0);
    assert.deepEqual(new Uint8Array(decoded.stored), gray);
    await withTempDirAsync(async (dir) => {
      validateWithTools(written.bytes, dir);
      const path = join(dir, 'saved.dcm');
      await saveDicom(path, written);
      assert.ok(Buffer.from(written.bytes).equals(readFileSync(path)));
    });
  });

  test('joins an existing study when its UID is given', async () => {
    const written = await createSecondaryCapture({
      image: { width: 2, height: 1, data: new Float32Array([0, 1]) },
      study: { studyInstanceUid: '1.2.3.4' },
    });
    assert.equal(readDicomHeader(written.bytes).studyInstanceUid, '1.2.3.4');
    assert.deepEqual(Array.from(written.stored), [0, 255]);
  });
});

describe('classification report (Comprehensive SR)', () => {
  test('content tree, references, dcmtk dsrdump reads it without errors', async () => {
    const source = readDicom('dwv/gdcm-CR-MONO1-10-chest.dcm');
    const header = readDicomHeader(source);
    const written = writeClassificationReport(source, {
      probabilities: { covid: 0.82, normal: 0.18 },
      model: { name: 'R2C-GAN', version: '1.0' },
    });
    assertIod(written.bytes, srType1, srType2);
    const ds = dicomParser.parseDicom(written.bytes);
    assert.equal(ds.string('x00080016'), COMPREHENSIVE_SR_SOP_CLASS);
    assert.equal(ds.string('x00080060'), 'SR');
    assert.equal(ds.string('x0020000d'), header.studyInstanceUid);
    assert.equal(ds.string('x00100010'), header.patientName);
    const items = ds.elements['x0040a730']?.items?.map((i) => i.dataSet!) ?? [];
    assert.deepEqual(
      items.map((i) => i.string('x0040a040')),
      ['IMAGE', 'TEXT', 'NUM', 'NUM', 'CODE'],
    );
    assert.equal(
      items[0]!.elements['x00081199']?.items?.[0]?.dataSet?.string('x00081155'),
      header.sopInstanceUid,
    );
    const covid = items[2]!.elements['x0040a300']?.items?.[0]?.dataSet;
    assert.equal(covid?.string('x0040a30a'), '0.82');
    assert.equal(items[4]!.elements['x0040a168']?.items?.[0]?.dataSet?.string('x00080100'), 'covid');
    if (hasTool('dsrdump')) {
      await withTempDirAsync(async (dir) => {
        const file = join(dir, 'sr.dcm');
        writeFileSync(file, written.bytes);
        const result = spawnSync('dsrdump', [file], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stderr);
        assert.doesNotMatch(result.stderr, /^(E|F):/m);
        assert.match(result.stdout, /<contains NUM:\(,,"Probability of covid"\)="0.82"/);
        validateWithTools(written.bytes, dir);
      });
    }
  });

  test('de-identified report carries no original identifiers', () => {
    const source = readDicom('dwv/gdcm-CR-MONO1-10-chest.dcm');
    const header = readDicomHeader(source);
    const written = writeClassificationReport(
      source,
      { probabilities: { covid: 0.4, normal: 0.6 }, model: { name: 'R2C-GAN' } },
      { deidentify: { uidSalt: 's' } },
    );
    const text = Buffer.from(written.bytes).toString('latin1');
    for (const value of [
      header.patientName,
      header.studyInstanceUid,
      header.sopInstanceUid,
      header.seriesInstanceUid,
    ]) {
      if (value) assert.ok(!text.includes(value));
    }
    assert.equal(dicomParser.parseDicom(written.bytes).string('x00120062'), 'YES');
  });
});

describe('classification sidecar', () => {
  test('records the source, model and probabilities; rejects bad probabilities', async () => {
    const header = readDicomHeader(readDicom('dwv/gdcm-CR-MONO1-10-chest.dcm'));
    const sidecar = classificationSidecar(header, {
      probabilities: { covid: 0.8, normal: 0.2 },
      model: { name: 'R2C-GAN', version: '1.0' },
    });
    assert.equal(sidecar.predicted, 'covid');
    assert.equal(sidecar.source.sopInstanceUid, header.sopInstanceUid);
    assert.throws(
      () => classificationSidecar(header, { probabilities: { covid: 1.5 }, model: { name: 'x' } }),
      /not in \[0,1\]/,
    );
    await withTempDirAsync(async (dir) => {
      const path = join(dir, 'result.json');
      await writeClassificationSidecar(path, sidecar);
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), sidecar);
    });
  });
});

test('dciodvfy availability is reported', {
  skip: haveDciodvfy ? false : 'dciodvfy (dicom3tools) is not installed here; IOD validation skipped',
}, () => {
  assert.ok(haveDciodvfy);
});
