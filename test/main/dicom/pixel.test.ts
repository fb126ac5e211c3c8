// The grayscale pipeline: VOI functions, several windows, VOI LUT Sequence, MONOCHROME1 and the model
// input, checked against the formulas of PS3.3 C.11.2.1.2 and against dcm2pnm on synthetic files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  decodeFrame,
  readDicomHeader,
  renderDisplay,
  toModelInput,
  windowValue,
} from '../../../main/dicom/index.ts';
import { type Photometric, SECONDARY_CAPTURE, syntheticDicom } from '../../helpers/dicom.ts';
import { dcm2pnm, haveDcmtk, readDicom, withTempDirAsync } from './helpers.ts';

/** A small synthetic 16-bit CT-like image (ramp of signed values) with extra attributes. */
function syntheticCt(extra: Record<string, unknown>, photometric: Photometric = 'MONOCHROME2'): Uint8Array {
  const width = 64;
  const height = 32;
  const pixels = Array.from(
    { length: width * height },
    (_, i) => -1000 + Math.round((i * 3000) / (width * height)),
  );
  return syntheticDicom({
    modality: 'OT',
    sopClassUid: SECONDARY_CAPTURE,
    rows: height,
    columns: width,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 1,
    photometric,
    pixels,
    extra,
  }).bytes;
}

async function decoded(bytes: Uint8Array) {
  const header = readDicomHeader(bytes);
  return { header, frame: await decodeFrame(bytes, header, 0) };
}

describe('VOI functions (PS3.3 C.11.2.1.2)', () => {
  test('LINEAR: edges and centre', () => {
    const w = { center: 40, width: 400 };
    assert.equal(windowValue(40 - 0.5 - 399 / 2, w, 'LINEAR'), 0);
    assert.equal(windowValue(40 - 0.5 + 399 / 2 + 0.001, w, 'LINEAR'), 1);
    assert.equal(windowValue(39.5, w, 'LINEAR'), 0.5);
  });
  test('LINEAR_EXACT and SIGMOID', () => {
    assert.equal(windowValue(40, { center: 40, width: 400 }, 'LINEAR_EXACT'), 0.5);
    assert.equal(windowValue(-160, { center: 40, width: 400 }, 'LINEAR_EXACT'), 0);
    assert.equal(windowValue(40, { center: 40, width: 400 }, 'SIGMOID'), 0.5);
    assert.ok(
      Math.abs(windowValue(240, { center: 40, width: 400 }, 'SIGMOID') - 1 / (1 + Math.exp(-2))) < 1e-12,
    );
  });
});

describe('renderDisplay vs dcm2pnm on synthetic files', { skip: haveDcmtk ? false : 'dcmtk missing' }, () => {
  test('several windows: the second one (+Wi 2), with rescale', async () => {
    const bytes = syntheticCt({
      WindowCenter: ['40', '-600'],
      WindowWidth: ['400', '1500'],
      WindowCenterWidthExplanation: ['SOFT', 'LUNG'],
      RescaleIntercept: '-24',
      RescaleSlope: '1',
      RescaleType: 'HU',
    });
    const { header, frame } = await decoded(bytes);
    assert.deepEqual(
      header.windows.map((w) => [w.center, w.width, w.explanation]),
      [
        [40, 400, 'SOFT'],
        [-600, 1500, 'LUNG'],
      ],
    );
    await withTempDirAsync(async (dir) => {
      const file = join(dir, 'windows.dcm');
      writeFileSync(file, bytes);
      for (const index of [0, 1]) {
        const ours = renderDisplay(bytes, frame, header, { windowIndex: index });
        const theirs = dcm2pnm(file, ['+Wi', String(index + 1)], dir);
        assert.deepEqual(ours.data, new Uint8Array(theirs.data), `window ${index + 1}`);
      }
    });
  });

  test('VOI LUT Sequence (+Wl 1) when there is no window', async () => {
    const entries = 2048;
    const lut = new Uint16Array(entries);
    for (let i = 0; i < entries; i++) lut[i] = Math.round(4095 * Math.sqrt(i / (entries - 1)));
    const bytes = syntheticCt({
      VOILUTSequence: [
        {
          LUTDescriptor: [entries, 64536, 12], // first mapped value -1000 as unsigned 16-bit
          LUTExplanation: 'SQRT',
          LUTData: Array.from(lut),
          _vrMap: { LUTDescriptor: 'SS', LUTData: 'US' },
        },
      ],
    });
    const { header, frame } = await decoded(bytes);
    assert.equal(header.hasVoiLutSequence, true);
    const ours = renderDisplay(bytes, frame, header);
    assert.equal(ours.voi?.kind, 'lut');
    await withTempDirAsync(async (dir) => {
      const file = join(dir, 'voilut.dcm');
      writeFileSync(file, bytes);
      const theirs = dcm2pnm(file, ['+Wl', '1'], dir);
      const diffs = ours.data.filter((v, i) => Math.abs(v - theirs.data[i]!) > 1).length;
      assert.equal(diffs, 0, 'VOI LUT output differs from dcm2pnm by more than one level');
    });
  });

  test('MONOCHROME1 is inverted; the file VOI LUT Function SIGMOID is used', async () => {
    const bytes = syntheticCt(
      { WindowCenter: '200', WindowWidth: '800', VOILUTFunction: 'SIGMOID' },
      'MONOCHROME1',
    );
    const { header, frame } = await decoded(bytes);
    assert.equal(header.voiLutFunction, 'SIGMOID');
    await withTempDirAsync(async (dir) => {
      const file = join(dir, 'mono1.dcm');
      writeFileSync(file, bytes);
      const theirs = dcm2pnm(file, ['+Wi', '1'], dir);
      const ours = renderDisplay(bytes, frame, header);
      assert.ok(ours.data.every((v, i) => Math.abs(v - theirs.data[i]!) <= 1));
      assert.ok(ours.data[0]! > ours.data[ours.data.length - 1]!, 'lowest value should be brightest');
    });
  });
});

describe('toModelInput', () => {
  test('first window, MONOCHROME1 inverted so bone is bright, values in [0,1] unquantised', async () => {
    const bytes = readDicom('dwv/gdcm-CR-MONO1-10-chest.dcm');
    const { header, frame } = await decoded(bytes);
    const image = toModelInput(bytes, frame, header);
    const { center, width } = header.windows[0]!;
    for (const i of [0, 1000, 50000, 100000]) {
      const expected = 1 - windowValue(frame.modality![i]!, { center, width }, 'LINEAR');
      assert.ok(Math.abs(image.data[i]! - expected) < 1e-6);
    }
    assert.ok(image.data.every((v) => v >= 0 && v <= 1));
  });

  test('no window: min/max of the modality values', async () => {
    const bytes = readDicom('dicom-test-files/CT_small.dcm');
    const { header, frame } = await decoded(bytes);
    assert.equal(header.windows.length, 0);
    const image = toModelInput(bytes, frame, header);
    let min = 1;
    let max = 0;
    for (const v of image.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
  });

  test('colour: Rec. 601 luma', async () => {
    const bytes = readDicom('dicom-test-files/SC_rgb.dcm');
    const { header, frame } = await decoded(bytes);
    const image = toModelInput(bytes, frame, header);
    const s = frame.stored;
    const expected = (0.299 * s[0]! + 0.587 * s[1]! + 0.114 * s[2]!) / 255;
    assert.ok(Math.abs(image.data[0]! - expected) < 1e-6);
  });

  test('Modality LUT Sequence is applied (dental CR, LUT of 1024 entries)', async () => {
    const bytes = readDicom('fo-dicom/CR-ModalitySequenceLUT.dcm');
    const { header, frame } = await decoded(bytes);
    assert.equal(header.hasModalityLutSequence, true);
    // The LUT is monotone but not the identity: modality values must differ from stored ones.
    let differs = 0;
    for (let i = 0; i < frame.stored.length; i += 97) if (frame.modality![i] !== frame.stored[i]) differs++;
    assert.ok(differs > 0);
  });
});
