// Every row of the shared synthetic-data table (test/helpers/dicom.ts) through our reader: the header
// says what was written, and the decoded stored values (and, for CT, modality values) are the ones
// written. dcmtk, where installed, reads each file too, so the generator itself is checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeFrame, readDicomHeader } from '../../../main/dicom/index.ts';
import { syntheticCases, syntheticDicom } from '../../helpers/dicom.ts';
import { haveDcmtk, withTempDir } from './helpers.ts';

describe('synthetic DICOM table', () => {
  for (const { name, spec } of syntheticCases) {
    test(name, async () => {
      const file = syntheticDicom(spec);
      const header = readDicomHeader(file.bytes);
      assert.deepEqual(header.decodable, { ok: true });
      assert.equal(header.transferSyntaxUid, file.transferSyntaxUid);
      assert.equal(header.modality, spec.modality);
      assert.equal(header.sopInstanceUid, file.sopInstanceUid);
      assert.deepEqual(
        [header.rows, header.columns, header.bitsAllocated, header.bitsStored, header.pixelRepresentation],
        [spec.rows, spec.columns, spec.bitsAllocated, spec.bitsStored, spec.pixelRepresentation],
      );
      assert.equal(header.photometricInterpretation, spec.photometric);

      const frame = await decodeFrame(file.bytes, header, 0);
      assert.equal(frame.signed, spec.pixelRepresentation === 1);
      assert.deepEqual(Array.from(frame.stored), Array.from(file.stored));
      if (spec.modality === 'CT') assert.equal(frame.modality?.[0], file.stored[0]! - 1024);
    });
  }

  test('the table covers each format dimension', () => {
    const values = (key: keyof (typeof syntheticCases)[number]['spec']) =>
      new Set(syntheticCases.map((c) => c.spec[key]));
    assert.deepEqual([...values('transferSyntax')].sort(), [
      'deflated',
      'explicit-be',
      'explicit-le',
      'implicit-le',
      'rle',
    ]);
    assert.deepEqual([...values('photometric')].sort(), ['MONOCHROME1', 'MONOCHROME2', 'RGB']);
    assert.deepEqual([...values('bitsAllocated')].sort(), [16, 8]);
    assert.deepEqual([...values('pixelRepresentation')].sort(), [0, 1]);
    assert.deepEqual([...values('preamble')].sort(), [false, true]);
    assert.ok(values('modality').size >= 5);
  });

  test('dcmtk reads every Part 10 file of the table', { skip: !haveDcmtk && 'dcmtk not installed' }, () => {
    withTempDir((dir) => {
      for (const { name, spec } of syntheticCases) {
        if (spec.preamble === false) continue;
        const path = join(dir, 'file.dcm');
        writeFileSync(path, syntheticDicom(spec).bytes);
        const result = spawnSync('dcmdump', ['-q', '+P', '0028,0010', path], { encoding: 'latin1' });
        assert.equal(result.status, 0, `${name}: ${result.stderr}`);
        assert.match(result.stdout, new RegExp(`\\(0028,0010\\) US ${spec.rows}\\b`), name);
      }
    });
  });
});
