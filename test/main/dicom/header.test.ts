// Header summary: fields, character sets, raw (no meta) files, non-image objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dicomParser from 'dicom-parser';
import { readDicomHeader } from '../../../main/dicom/index.ts';
import { SECONDARY_CAPTURE, syntheticDicom } from '../../helpers/dicom.ts';
import { readDicom } from './helpers.ts';

describe('readDicomHeader', () => {
  test('JPEG 2000 chest CR: image attributes, windows, transfer syntax', () => {
    const h = readDicomHeader(readDicom('dicom-test-files/RG1_J2KI'));
    assert.equal(h.modality, 'CR');
    assert.deepEqual([h.columns, h.rows], [1841, 1955]);
    assert.deepEqual([h.bitsAllocated, h.bitsStored, h.highBit, h.pixelRepresentation], [16, 15, 14, 0]);
    assert.equal(h.photometricInterpretation, 'MONOCHROME1');
    assert.equal(h.transferSyntaxUid, '1.2.840.10008.1.2.4.91');
    assert.equal(h.transferSyntaxName, 'JPEG 2000');
    assert.equal(h.lossyTransferSyntax, true);
    assert.deepEqual(h.windows, [{ center: 15000, width: 30000 }]);
    assert.deepEqual(h.decodable, { ok: true });
    assert.ok(h.sopInstanceUid && h.studyInstanceUid && h.seriesInstanceUid);
  });

  test('raw implicit VR data set without preamble or meta (ACR-NEMA style)', () => {
    const h = readDicomHeader(readDicom('fo-dicom/CR-MONO1-10-chest'));
    assert.equal(h.hasFileMeta, false);
    assert.equal(h.transferSyntaxUid, '1.2.840.10008.1.2');
    assert.deepEqual([h.columns, h.rows, h.bitsStored], [440, 440, 10]);
    assert.deepEqual(h.decodable, { ok: true });
  });

  test('ISO 2022 character sets are decoded (Japanese, Korean)', () => {
    const japanese = readDicomHeader(readDicom('fo-dicom/chrJapMulti.dcm'));
    assert.equal(japanese.patientName, 'やまだ^たろう');
    const korean = readDicomHeader(readDicom('fo-dicom/chrKoreanMulti.dcm'));
    assert.match(korean.patientName ?? '', /[\uac00-\ud7a3]/, 'expected Hangul');
  });

  test('a non-image object has no pixel data and is not decodable', () => {
    const h = readDicomHeader(readDicom('dicom-test-files/ExplVR_LitEndNoMeta.dcm'));
    assert.equal(h.hasPixelData, false);
    assert.equal(h.rows, 0);
    assert.equal(h.decodable.ok, false);
  });

  test('multi-frame, deflated and big endian files', () => {
    assert.equal(readDicomHeader(readDicom('dicom-test-files/emri_small.dcm')).numberOfFrames, 10);
    const deflated = readDicomHeader(readDicom('dicom-test-files/image_dfl.dcm'));
    assert.equal(deflated.transferSyntaxName, 'Deflated Explicit VR Little Endian');
    assert.deepEqual([deflated.columns, deflated.rows], [512, 512]);
    const big = readDicomHeader(readDicom('dicom-test-files/MR_small_bigendian.dcm'));
    assert.deepEqual([big.columns, big.rows, big.pixelRepresentation], [64, 64, 1]);
  });

  test('12-bit JPEG, sequential and progressive, is decodable', () => {
    assert.deepEqual(readDicomHeader(readDicom('dicom-test-files/RG3_JPLY')).decodable, { ok: true });
    const progressive =
      'cornerstoneWADOImageLoader/CTImage.dcm_JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53.dcm';
    assert.deepEqual(readDicomHeader(readDicom(progressive)).decodable, { ok: true });
  });

  test('valid but unsupported pixel formats are reported with a reason', () => {
    // Formats the generator does not write: the attributes override what it generates.
    const make = (extra: Record<string, unknown>) =>
      readDicomHeader(
        syntheticDicom({
          modality: 'OT',
          sopClassUid: SECONDARY_CAPTURE,
          rows: 2,
          columns: 2,
          extra: {
            BitsAllocated: 32,
            BitsStored: 32,
            HighBit: 31,
            PixelRepresentation: 0,
            PixelData: new Uint32Array(4).buffer,
            _vrMap: { PixelData: 'OW' },
            ...extra,
          },
        }).bytes,
      );
    const bits32 = make({});
    assert.match(!bits32.decodable.ok ? bits32.decodable.reason : '', /Bits Allocated 32 is not supported/);
    const palette = make({
      BitsAllocated: 8,
      BitsStored: 8,
      HighBit: 7,
      PhotometricInterpretation: 'PALETTE COLOR',
    });
    assert.match(!palette.decodable.ok ? palette.decodable.reason : '', /PALETTE COLOR/);
  });

  test('garbage and tiny inputs are rejected with bad_input', () => {
    assert.throws(() => readDicomHeader(new Uint8Array(3)), { code: 'bad_input', message: /only 3 bytes/ });
    assert.throws(() => readDicomHeader(new Uint8Array(200).fill(0x41)), { code: 'bad_input' });
  });
});

test('absurd image sizes are refused before any allocation', () => {
  // A compressed file whose Rows/Columns are patched to 16384: refused by size, nothing decoded.
  const bytes = new Uint8Array(readDicom('dicom-test-files/MR_small_jp2klossless.dcm'));
  const ds = dicomParser.parseDicom(bytes);
  const view = new DataView(bytes.buffer);
  view.setUint16(ds.elements['x00280010']!.dataOffset, 16384, true);
  view.setUint16(ds.elements['x00280011']!.dataOffset, 16384, true);
  assert.throws(() => readDicomHeader(bytes), {
    code: 'bad_input',
    message: /image too large: Rows \(0028,0010\) 16384 × Columns \(0028,0011\) 16384/,
  });
});
