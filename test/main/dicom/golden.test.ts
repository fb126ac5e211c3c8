// Golden tests: our decoded stored values and rendered 8-bit display against dcmtk, for every
// non-malformed sample file. Files we cannot decode must say so with the expected reason.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type DecodedFrame,
  type DicomHeader,
  decodeFrame,
  readDicomHeader,
  renderDisplay,
} from '../../../main/dicom/index.ts';
import { decodeWithWasm } from '../../../main/dicom/codecs.ts';
import { encapsulatedFrame } from '../../../main/dicom/frames.ts';
import { parseDicomBytes } from '../../../main/dicom/parse.ts';
import {
  compareArrays,
  dcm2pnm,
  dcmtkDecompress,
  dcmtkPixels,
  dicomPath,
  haveDcmtk,
  listDicomFiles,
  readDicom,
  withTempDir,
  withTempDirAsync,
} from './helpers.ts';

const skip = haveDcmtk
  ? false
  : 'dcmtk (dcmdump, dcmconv, dcmdjpeg, dcmdjpls, dcmdrle, dcm2pnm) is not installed';

/** Valid files we do not decode, and why (asserted against header.decodable.reason). */
const undecodable: Record<string, string> = {
  'dicom-test-files/ExplVR_LitEndNoMeta.dcm': 'no Pixel Data',
  'fo-dicom/chrJapMulti.dcm': 'no Pixel Data',
  'fo-dicom/chrJapMultiExplicitIR6.dcm': 'no Pixel Data',
  'fo-dicom/chrKoreanMulti.dcm': 'no Pixel Data',
  'orthanc-tests/Issue56-NoPixelData.dcm': 'no Pixel Data',
};

/** Outside malformed/ but not readable DICOM (dcmtk rejects it too: a stray byte precedes the data set). */
const rejected: Record<string, string> = {
  'dicom-test-files/no_meta.dcm': 'no "DICM" prefix at byte 128',
};

/**
 * JPEG 2000 / HTJ2K: dcmtk (free edition) has no decoder, so these are checked against the same image
 * in another syntax that dcmtk decodes: exactly for lossless, by PSNR for lossy (both files carry
 * their own, different compression error, so only closeness can be asserted).
 */
const j2kReferences: Record<string, { reference: string; exact: boolean; minPsnrDb?: number }> = {
  'dicom-test-files/MR_small_jp2klossless.dcm': { reference: 'dicom-test-files/MR_small.dcm', exact: true },
  'dicom-test-files/RG3_J2KR': { reference: 'dicom-test-files/RG3_RLE', exact: true },
  'dicom-test-files/RG1_J2KI': { reference: 'dicom-test-files/RG1_JLSN', exact: false, minPsnrDb: 45 },
  'dicom-test-files/RG2_J2KI': { reference: 'dicom-test-files/RG2_JPLY', exact: false, minPsnrDb: 40 },
  'dicom-test-files/JPEG2000.dcm': {
    reference: 'dicom-test-files/JPEG-lossy.dcm',
    exact: false,
    minPsnrDb: 45,
  },
};

/**
 * Lossy JPEG (DCT): the standard's IDCT accuracy test allows ±1 per sample between conforming
 * decoders (libjpeg-turbo SIMD for 8-bit, our port of IJG islow for 12-bit, vs dcmtk's IJG code); we
 * observe 0 on every sample but allow 1 so a libjpeg-turbo update cannot fail the build spuriously.
 */
const LOSSY_JPEG_TOLERANCE = 1;
/**
 * 8-bit display vs dcm2pnm: both truncate to 8 bits, so values at exact float boundaries may differ by
 * one level. With a non-integer Rescale Slope dcmtk also truncates the rescaled values to integers
 * (we keep them exact), so there any number of pixels may differ, still by at most one level.
 */
const DISPLAY_TOLERANCE = { max: 1, fractionDiffering: 0.01 };

function isJ2k(uid: string): boolean {
  return /^1\.2\.840\.10008\.1\.2\.4\.(90|91|201|202|203)$/.test(uid);
}

/** dcmtk's raw Pixel Data (little-endian) -> stored values with the same masking rules as the standard. */
function referenceStored(raw: Uint8Array, planar: number, h: DicomHeader): Float64Array {
  const n = h.rows * h.columns * h.samplesPerPixel;
  const pixels = h.rows * h.columns;
  const out = new Float64Array(n);
  const shift = h.highBit + 1 - h.bitsStored;
  const mask = 2 ** h.bitsStored - 1;
  const sign = 2 ** (h.bitsStored - 1);
  for (let i = 0; i < n; i++) {
    const index = h.samplesPerPixel === 3 && planar === 1 ? (i % 3) * pixels + Math.floor(i / 3) : i;
    let v = h.bitsAllocated === 16 ? raw[2 * index]! | (raw[2 * index + 1]! << 8) : raw[index]!;
    v = (v >> shift) & mask;
    out[i] = h.pixelRepresentation === 1 && v & sign ? v - 2 * sign : v;
  }
  return out;
}

function psnr(a: ArrayLike<number>, b: ArrayLike<number>, bits: number): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((2 ** bits - 1) ** 2 / mse);
}

function voiOptions(h: DicomHeader): string[] {
  if (h.windows.length > 0) return ['+Wi', '1'];
  if (h.hasVoiLutSequence) return ['+Wl', '1'];
  return ['+Wm'];
}

function assertDisplayMatches(ours: Uint8Array, theirs: Uint8Array, label: string, h: DicomHeader): void {
  const { max } = compareArrays(ours, theirs);
  const integerRescale = Number.isInteger(h.rescaleSlope ?? 1) && Number.isInteger(h.rescaleIntercept ?? 0);
  let differing = 0;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== theirs[i]) differing++;
  assert.ok(max <= DISPLAY_TOLERANCE.max, `${label}: display differs from dcm2pnm by up to ${max}`);
  assert.ok(
    !integerRescale || differing / ours.length <= DISPLAY_TOLERANCE.fractionDiffering,
    `${label}: ${differing} of ${ours.length} display pixels differ from dcm2pnm`,
  );
}

async function decodeFile(
  relative: string,
): Promise<{ bytes: Buffer; header: DicomHeader; frame: DecodedFrame }> {
  const bytes = readDicom(relative);
  const header = readDicomHeader(bytes);
  return { bytes, header, frame: await decodeFrame(bytes, header, 0) };
}

describe('golden: every non-malformed sample vs dcmtk', { skip }, () => {
  for (const relative of listDicomFiles(false)) {
    test(relative, async () => {
      const bytes = readDicom(relative);
      if (rejected[relative]) {
        assert.throws(
          () => readDicomHeader(bytes),
          (e: Error) => e.message.includes(rejected[relative]!),
        );
        return;
      }
      const header = readDicomHeader(bytes);
      if (undecodable[relative]) {
        assert.equal(header.decodable.ok, false, 'expected not decodable');
        assert.ok(
          !header.decodable.ok && header.decodable.reason.includes(undecodable[relative]!),
          JSON.stringify(header.decodable),
        );
        await assert.rejects(decodeFrame(bytes, header, 0), {
          name: 'AppError',
          code: 'unsupported',
        } as object);
        return;
      }
      assert.deepEqual(header.decodable, { ok: true });
      const frame = await decodeFrame(bytes, header, 0);
      assert.equal(frame.stored.length, header.rows * header.columns * header.samplesPerPixel);

      if (isJ2k(header.transferSyntaxUid)) {
        const ref = j2kReferences[relative];
        if (!ref) {
          // HTJ2K colour: cross-check OpenJPH against OpenJPEG (an independent HTJ2K decoder).
          const encoded = encapsulatedFrame(parseDicomBytes(bytes).dataSet, 0, header.numberOfFrames);
          const other = await decodeWithWasm('j2k', encoded);
          assert.ok(
            compareArrays(frame.stored, other.data).max <= 1,
            'OpenJPH vs OpenJPEG differ by more than 1',
          );
          return;
        }
        const reference = { header: readDicomHeader(readDicom(ref.reference)) };
        const dcmtkRef = withTempDir((dir) => {
          const px = dcmtkPixels(dicomPath(ref.reference), reference.header.transferSyntaxUid, dir);
          return referenceStored(px.raw, px.planarConfiguration, reference.header);
        });
        if (ref.exact) {
          assert.equal(
            compareArrays(frame.stored, dcmtkRef).max,
            0,
            `stored values differ from ${ref.reference}`,
          );
          withTempDir((dir) => {
            const { file } = dcmtkDecompress(
              dicomPath(ref.reference),
              reference.header.transferSyntaxUid,
              dir,
            );
            const theirs = dcm2pnm(file, voiOptions(reference.header), dir);
            assertDisplayMatches(renderDisplay(bytes, frame, header).data, theirs.data, relative, header);
          });
        } else {
          const db = psnr(frame.stored, dcmtkRef, header.bitsStored);
          assert.ok(db >= ref.minPsnrDb!, `PSNR vs ${ref.reference} is ${db.toFixed(1)} dB`);
        }
        return;
      }

      withTempDir((dir) => {
        const px = dcmtkPixels(dicomPath(relative), header.transferSyntaxUid, dir);
        const expected = referenceStored(px.raw, px.planarConfiguration, header);
        const { max } = compareArrays(frame.stored, expected);
        const lossyDct = /^1\.2\.840\.10008\.1\.2\.4\.5[0-5]$/.test(header.transferSyntaxUid);
        assert.ok(
          max <= (lossyDct ? LOSSY_JPEG_TOLERANCE : 0),
          `stored values differ from dcmtk by up to ${max}`,
        );
        if (frame.samplesPerPixel === 1) {
          const theirs = dcm2pnm(px.file, voiOptions(header), dir);
          assertDisplayMatches(renderDisplay(bytes, frame, header).data, theirs.data, relative, header);
        }
      });
    });
  }
});

describe('golden: VOI variants vs dcm2pnm', { skip }, () => {
  const cases: { file: string; options: Parameters<typeof renderDisplay>[3]; dcmtk: string[] }[] = [
    // explicit window, MONOCHROME1 16/10
    {
      file: 'dwv/gdcm-CR-MONO1-10-chest.dcm',
      options: { window: { center: 400, width: 600 } },
      dcmtk: ['+Ww', '400', '600'],
    },
    // SIGMOID on a CT with rescale intercept
    {
      file: 'dicom-test-files/CT_small.dcm',
      options: { window: { center: 40, width: 400 }, voiFunction: 'SIGMOID' },
      dcmtk: ['+Ww', '40', '400', '+Wfs'],
    },
    // second of several windows (bad_sequence has two, but is malformed; MR/CT samples have one), so
    // use an explicit narrow window on 8-bit data with a Modality LUT Sequence instead
    {
      file: 'orthanc-tests/KarstenHilbertRF.dcm',
      options: { window: { center: 100, width: 50 } },
      dcmtk: ['+Ww', '100', '50'],
    },
    // Modality LUT Sequence (dental CR, JPEG lossless) with an explicit window
    {
      file: 'fo-dicom/CR-ModalitySequenceLUT.dcm',
      options: { window: { center: 300, width: 500 } },
      dcmtk: ['+Ww', '300', '500'],
    },
  ];
  for (const c of cases) {
    test(`${c.file} ${c.dcmtk.join(' ')}`, async () => {
      const { bytes, header, frame } = await decodeFile(c.file);
      withTempDir((dir) => {
        const { file } = dcmtkDecompress(dicomPath(c.file), header.transferSyntaxUid, dir);
        const theirs = dcm2pnm(file, c.dcmtk, dir);
        assertDisplayMatches(
          renderDisplay(bytes, frame, header, c.options).data,
          theirs.data,
          c.file,
          header,
        );
      });
    });
  }
});

describe('golden: multi-frame', { skip }, () => {
  test('emri_small.dcm: all 10 frames match dcmtk, display of frame 6 matches dcm2pnm +F 6', async () => {
    const relative = 'dicom-test-files/emri_small.dcm';
    const bytes = readDicom(relative);
    const header = readDicomHeader(bytes);
    assert.equal(header.numberOfFrames, 10);
    await withTempDirAsync(async (dir) => {
      const px = dcmtkPixels(dicomPath(relative), header.transferSyntaxUid, dir);
      const frameBytes = header.rows * header.columns * 2;
      for (let f = 0; f < header.numberOfFrames; f++) {
        const frame = await decodeFrame(bytes, header, f);
        const expected = referenceStored(px.raw.subarray(f * frameBytes, (f + 1) * frameBytes), 0, header);
        assert.equal(compareArrays(frame.stored, expected).max, 0, `frame ${f}`);
      }
      const sixth = await decodeFrame(bytes, header, 5);
      const theirs = dcm2pnm(px.file, ['+Wm'], dir, 6);
      assertDisplayMatches(renderDisplay(bytes, sixth, header).data, theirs.data, 'frame 6', header);
    });
    await assert.rejects(decodeFrame(bytes, header, 10), /frame 10 does not exist/);
  });
});

describe('golden: multi-frame files encoded by dcmtk in every syntax it writes', { skip }, () => {
  // emri_small (10 frames, 12-bit MR) re-encoded at test time into temporary files (nothing is
  // copied into the repository): covers 12-bit sequential/progressive JPEG, lossless JPEG, JPEG-LS
  // and RLE with one fragment per frame, read back frame by frame against dcmtk's own decoding.
  const encoders: [string, string[]][] = [
    ['JPEG extended 12-bit', ['dcmcjpeg', '+ee']],
    ['JPEG spectral selection 12-bit', ['dcmcjpeg', '+es']],
    ['JPEG progressive 12-bit', ['dcmcjpeg', '+ep']],
    ['JPEG lossless SV1', ['dcmcjpeg', '+el']],
    ['JPEG-LS lossless', ['dcmcjpls']],
    ['JPEG-LS near-lossless', ['dcmcjpls', '+en']],
    ['RLE', ['dcmcrle']],
  ];
  for (const [name, [tool, ...options]] of encoders) {
    test(name, async () => {
      await withTempDirAsync(async (dir) => {
        const encoded = join(dir, 'encoded.dcm');
        execFileSync(tool!, [...options, dicomPath('dicom-test-files/emri_small.dcm'), encoded], {
          stdio: 'ignore',
        });
        const bytes = readFileSync(encoded);
        const header = readDicomHeader(bytes);
        assert.equal(header.numberOfFrames, 10);
        assert.deepEqual(header.decodable, { ok: true });
        const px = dcmtkPixels(encoded, header.transferSyntaxUid, dir);
        const frameBytes = header.rows * header.columns * 2;
        for (let f = 0; f < header.numberOfFrames; f++) {
          const frame = await decodeFrame(bytes, header, f);
          const expected = referenceStored(px.raw.subarray(f * frameBytes, (f + 1) * frameBytes), 0, header);
          assert.equal(compareArrays(frame.stored, expected).max, 0, `frame ${f + 1} differs from dcmtk`);
        }
      });
    });
  }
});
