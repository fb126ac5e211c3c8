// The viewer's pixel contract: original units in, restored images mapped back into them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  applyVoi,
  decodeFrame,
  readDicomHeader,
  type VoiFunction,
  windowValue,
} from '../../../main/dicom/index.ts';
import {
  buildViewerImage,
  fitVoiLut,
  mappingOf,
  packValues,
  restoredToModality,
  unwindow,
} from '../../../main/viewer/frame.ts';
import { requireSharedData } from '../../helpers/paths.ts';

const dicomDir = join(requireSharedData(), 'dicom');

function typed(image: { dataType: string; pixels: Uint8Array }) {
  const buffer = image.pixels.buffer.slice(
    image.pixels.byteOffset,
    image.pixels.byteOffset + image.pixels.byteLength,
  );
  if (image.dataType === 'uint8') return new Uint8Array(buffer);
  if (image.dataType === 'uint16') return new Uint16Array(buffer);
  if (image.dataType === 'int16') return new Int16Array(buffer);
  return new Float32Array(buffer);
}

async function load(relative: string) {
  const bytes = new Uint8Array(readFileSync(join(dicomDir, relative)));
  const header = readDicomHeader(bytes);
  const frame = await decodeFrame(bytes, header, 0);
  return { bytes, header, frame, image: buildViewerImage(bytes, header, frame) };
}

describe('viewer image', () => {
  test('packValues picks the narrowest exact type', () => {
    assert.equal(packValues([0, 255]).dataType, 'uint8');
    assert.equal(packValues([0, 4095]).dataType, 'uint16');
    assert.equal(packValues([-1024, 3000]).dataType, 'int16');
    assert.equal(packValues([0.5, 2]).dataType, 'float32');
    assert.equal(packValues([-40000, 0]).dataType, 'float32');
    const packed = packValues([-1024, 7, 3000]);
    assert.deepEqual([...typed(packed)], [-1024, 7, 3000]);
  });

  test('unwindow inverts windowValue inside the window for every VOI function', () => {
    for (const fn of ['LINEAR', 'LINEAR_EXACT', 'SIGMOID'] as VoiFunction[]) {
      const window = { center: 1200, width: 800 };
      for (const x of [900, 1000, 1200, 1350, 1500]) {
        const back = unwindow(windowValue(x, window, fn), window.center, window.width, fn);
        assert.ok(Math.abs(back - x) < 1e-6 * 1500, `${fn}: ${x} came back as ${back}`);
      }
    }
  });

  test('a linear VOI LUT is fitted exactly', () => {
    const data = Array.from({ length: 1024 }, (_, i) => i * 4); // 0..4092 of 12 bits
    const fit = fitVoiLut({ firstMapped: 100, bits: 12, data });
    assert.ok(fit.maxError < 1, `max error ${fit.maxError}`);
    assert.ok(Math.abs(fit.width - 1024 * (4095 / 4092)) < 2, `width ${fit.width}`);
    assert.ok(Math.abs(fit.center - (100 + (1024 * (4095 / 4092)) / 2)) < 2, `center ${fit.center}`);
  });

  test('MONOCHROME1 chest keeps its units, photometric and window', async () => {
    const { frame, header, image } = await load('dwv/gdcm-CR-MONO1-10-chest.dcm');
    assert.equal(image.photometric, 'MONOCHROME1');
    assert.equal(image.components, 1);
    assert.deepEqual([...typed(image)], [...frame.modality!], 'pixels are the modality values');
    assert.equal(image.windows.length, header.windows.length + 1, 'file windows plus full range');
    assert.equal(image.windows.at(-1)!.source, 'minmax');
  });

  test('pixel spacing from the file, else uncalibrated', async () => {
    const ct = await load('fo-dicom/CR-ModalitySequenceLUT.dcm');
    assert.equal(ct.image.calibration, 'PixelSpacing');
    assert.deepEqual(ct.image.spacing, { row: 0.15, column: 0.15 });
    // Pixel Spacing "0.000\\0.000" is no calibration at all.
    const zero = await load('dicom-test-files/RG1_JLSN');
    assert.equal(zero.image.calibration, null);
    assert.deepEqual(zero.image.spacing, { row: 1, column: 1 });
    const mono1 = await load('dwv/gdcm-CR-MONO1-10-chest.dcm');
    assert.equal(mono1.image.calibration, null);
  });

  test('colour images come as 8-bit RGB', async () => {
    const rgb = await load('dicom-test-files/SC_rgb.dcm');
    assert.equal(rgb.image.components, 3);
    assert.equal(rgb.image.photometric, 'RGB');
    assert.equal(rgb.image.pixels.byteLength, 100 * 100 * 3);
  });

  test('restored pixels map back into the original units and physical extent', async () => {
    const { bytes, header, frame, image } = await load('dwv/gdcm-CR-MONO1-10-chest.dcm');
    const { voi } = applyVoi(bytes, frame, header);
    const mapping = mappingOf(voi, image);
    assert.equal(mapping.kind, 'window');
    // The "restoration" is the model input itself at half size: mapping back must give the original
    // values (inside the window) at the sampled positions.
    const w = image.width / 2;
    const h = image.height / 2;
    const data = new Float32Array(w * h);
    const original = frame.modality!;
    const win = voi.kind === 'window' ? voi : undefined;
    assert.ok(win, 'the CR file has a window');
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        data[y * w + x] = 1 - windowValue(original[2 * y * image.width + 2 * x]!, win, win.function);
    const restored = restoredToModality({ width: w, height: h, data }, mapping, image);
    assert.equal(restored.photometric, 'MONOCHROME1');
    assert.equal(restored.dataType, 'float32');
    assert.ok(
      Math.abs(restored.spacing.row * h - image.spacing.row * image.height) < 1e-9,
      'same height in mm',
    );
    assert.ok(
      Math.abs(restored.spacing.column * w - image.spacing.column * image.width) < 1e-9,
      'same width in mm',
    );
    const values = typed(restored);
    const low = win.center - win.width / 2;
    const high = win.center + win.width / 2;
    let checked = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = original[2 * y * image.width + 2 * x]!;
        if (o <= low + 1 || o >= high - 1) continue;
        assert.ok(Math.abs(values[y * w + x]! - o) < 1e-2, `(${x},${y}): ${values[y * w + x]} vs ${o}`);
        checked++;
      }
    assert.ok(checked > w * h * 0.5, `only ${checked} pixels lay inside the window`);
  });
});
