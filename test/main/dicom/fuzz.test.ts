// Seeded mutation fuzzing: corrupted copies of valid files must either parse/decode or fail with an
// AppError — never another exception, never a hang, never a huge allocation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import dicomParser from 'dicom-parser';
import { decodeFrame, readDicomHeader } from '../../../main/dicom/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { readDicom } from './helpers.ts';

/** Small files covering every decoder path (kept small so 1000+ cases run in a few seconds). */
const seeds = [
  'dicom-test-files/MR_small.dcm', // explicit LE, 16-bit signed
  'dicom-test-files/MR_small_implicit.dcm',
  'dicom-test-files/MR_small_bigendian.dcm',
  'dicom-test-files/MR_small_RLE.dcm',
  'dicom-test-files/MR_small_jpeg_ls_lossless.dcm',
  'dicom-test-files/MR_small_jp2klossless.dcm',
  'dicom-test-files/SC_rgb_jpeg_dcmtk.dcm', // JPEG baseline, colour
  'dicom-test-files/JPEG-lossy.dcm', // 12-bit JPEG extended (our decoder)
  'dicom-test-files/SC_rgb_rle.dcm',
  'dicom-test-files/SC_rgb.dcm',
  'dicom-test-files/emri_small.dcm', // multi-frame
  'dicom-test-files/image_dfl.dcm', // deflated
  'fo-dicom/CR-MONO1-10-chest', // no file meta
  // 12-bit progressive JPEG (512x512, slower per case)
  'cornerstoneWADOImageLoader/CTImage.dcm_JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55.dcm',
];

const CASES_PER_SEED = 100;

/** mulberry32: tiny seeded PRNG so every failure is reproducible from its case number. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Byte offsets of length fields (and of Rows/Columns/Bits values), the most damaging places to corrupt. */
function interestingOffsets(bytes: Uint8Array): number[] {
  try {
    const ds = dicomParser.parseDicom(bytes, {
      ...(bytes[128] === 0x44 ? {} : { TransferSyntaxUID: '1.2.840.10008.1.2' }),
    });
    const offsets: number[] = [];
    for (const element of Object.values(ds.elements)) {
      offsets.push(element.dataOffset - 4, element.dataOffset - 2, element.dataOffset);
      for (const fragment of element.fragments ?? []) offsets.push(fragment.position - 4, fragment.position);
    }
    return offsets.filter((o) => o >= 0 && o + 4 <= bytes.length);
  } catch {
    return [];
  }
}

function mutate(
  original: Uint8Array,
  random: () => number,
  hotspots: number[],
): { bytes: Uint8Array; what: string } {
  const kind = Math.floor(random() * 4);
  const pick = (n: number) => Math.floor(random() * n);
  if (kind === 0) {
    const bytes = original.slice();
    const flips = 1 + pick(8);
    for (let i = 0; i < flips; i++) {
      const at = pick(bytes.length);
      bytes[at]! ^= 1 << pick(8);
    }
    return { bytes, what: `${flips} bit flips` };
  }
  if (kind === 1) {
    const length = pick(original.length);
    return { bytes: original.slice(0, length), what: `truncated to ${length}` };
  }
  const bytes = original.slice();
  const at = hotspots.length > 0 ? hotspots[pick(hotspots.length)]! : pick(bytes.length - 4);
  const view = new DataView(bytes.buffer);
  const values = [0, 1, 0xffff, 0xffffffff, 0x7fffffff, 0x10000, pick(0x100000000)];
  const value = values[pick(values.length)]!;
  if (kind === 2) view.setUint32(at, value >>> 0, random() < 0.5);
  else view.setUint16(at, value & 0xffff, random() < 0.5);
  return { bytes, what: `${kind === 2 ? 32 : 16}-bit value ${value} at byte ${at}` };
}

test(`fuzz: ${seeds.length * CASES_PER_SEED} seeded mutations never crash or hang`, {
  timeout: 120_000,
}, async () => {
  let decoded = 0;
  let rejected = 0;
  for (const [s, seed] of seeds.entries()) {
    const original = new Uint8Array(readDicom(seed));
    // The unmutated seed must decode, or its mutations test nothing.
    const seedHeader = readDicomHeader(original);
    await decodeFrame(original, seedHeader, seedHeader.numberOfFrames - 1);
    const hotspots = interestingOffsets(original);
    const random = prng(0x5eed + s);
    for (let c = 0; c < CASES_PER_SEED; c++) {
      const { bytes, what } = mutate(original, random, hotspots);
      const label = `${seed} case ${c} (${what})`;
      try {
        const header = readDicomHeader(bytes);
        if (!header.decodable.ok) {
          rejected += 1;
          continue;
        }
        const frameIndex = header.numberOfFrames - 1;
        const frame = await decodeFrame(bytes, header, frameIndex);
        assert.equal(frame.stored.length, header.rows * header.columns * header.samplesPerPixel, label);
        decoded += 1;
      } catch (error) {
        if (!(error instanceof AppError)) assert.fail(`${label}: threw ${String(error)}`);
        assert.ok(['bad_input', 'unsupported'].includes(error.code), `${label}: code ${error.code}`);
        assert.ok(error.message.length > 10, `${label}: unhelpful message "${error.message}"`);
        rejected += 1;
      }
    }
  }
  // Both outcomes must occur, or the mutations are not exercising anything.
  assert.ok(decoded > 50, `only ${decoded} mutated files decoded`);
  assert.ok(rejected > 50, `only ${rejected} mutated files were rejected`);
});
