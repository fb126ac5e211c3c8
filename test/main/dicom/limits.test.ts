// Limits that keep a small crafted file from costing gigabytes or ending in a codec's bare error:
// the deflated transfer syntax is inflated under the shared limits (checked while inflating), a
// compressed frame that is too large is refused before the codec runs, and codec failures are
// named in words. The CLI says "data error" (exit 1), not "usage error", for a file without pixels.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { decodeFrame, readDicomHeader } from '../../../main/dicom/index.ts';
import { inflateRawBounded, inflatedByteLimit } from '../../../main/util/bounded-inflate.ts';
import { AppError } from '../../../main/util/errors.ts';
import { deflatedDicom, jpegLsDicom, jpegLsHeader, noPixelDicom } from './crafted.ts';
import { readDicom, withTempDir } from './helpers.ts';

const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));

function cli(...args: string[]) {
  return spawnSync(process.execPath, [r2c, ...args], { encoding: 'utf8' });
}

test('a deflated-transfer-syntax bomb is refused while inflating, naming the limit', () => {
  const bomb = deflatedDicom(4096, 4096); // 32 MiB of pixel data from ~33 KB
  assert.ok(bomb.length < 100_000, `crafted bomb is ${bomb.length} bytes`);
  assert.throws(
    () => readDicomHeader(bomb),
    (error: unknown) =>
      error instanceof AppError &&
      error.code === 'unsupported' &&
      /the deflated data set \(Deflated Explicit VR Little Endian\) inflates to more than 16777216 bytes from \d+ compressed bytes: refused as a likely deflate bomb/.test(
        error.message,
      ),
  );
});

test('deflated files within the limits still read and decode (a small crafted one and image_dfl.dcm)', async () => {
  const small = deflatedDicom(64, 64);
  const header = readDicomHeader(small);
  assert.equal(header.transferSyntaxName, 'Deflated Explicit VR Little Endian');
  const frame = await decodeFrame(small, header, 0);
  assert.equal(frame.stored.length, 64 * 64);
  const real = new Uint8Array(readDicom('dicom-test-files/image_dfl.dcm'));
  const realHeader = readDicomHeader(real);
  assert.ok(realHeader.decodable.ok);
  await decodeFrame(real, realHeader, 0);
});

test('inflateRawBounded: exact declared size, cut-short streams and the ratio limit', () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const compressed = deflateRawSync(data);
  assert.deepEqual(
    inflateRawBounded([compressed], {
      compressedBytes: compressed.length,
      expectedBytes: data.length,
      what: 'x',
    }),
    data,
  );
  // Delivered in odd-sized chunks, with a prefix.
  const chunks = [compressed.subarray(0, 7), compressed.subarray(7, 5000), compressed.subarray(5000)];
  const prefixed = inflateRawBounded(chunks, {
    compressedBytes: compressed.length,
    prefix: new Uint8Array([1, 2, 3]),
    what: 'x',
  });
  assert.deepEqual(prefixed.subarray(0, 3), new Uint8Array([1, 2, 3]));
  assert.deepEqual(prefixed.subarray(3), data);
  assert.throws(
    () =>
      inflateRawBounded([compressed.subarray(0, compressed.length - 20)], { compressedBytes: 1, what: 'x' }),
    /x cannot be inflated: .*cut short/,
  );
  assert.throws(
    () =>
      inflateRawBounded([compressed], {
        compressedBytes: compressed.length,
        expectedBytes: 99_999,
        what: 'x',
      }),
    /x inflates to more than its declared size of 99999 bytes/,
  );
  const limits = { maxBytes: 1 << 30, maxRatio: 10, ratioFloorBytes: 1000 };
  assert.equal(inflatedByteLimit(compressed.length, limits), Math.max(1000, compressed.length * 10));
  const zeros = deflateRawSync(new Uint8Array(1 << 20));
  assert.throws(
    () => inflateRawBounded([zeros], { compressedBytes: zeros.length, limits, what: 'zeros' }),
    /zeros inflates to more than \d+ bytes .* refused as a likely deflate bomb \(limits: 10x/,
  );
});

test('a JPEG-LS frame claiming 8192 x 8192 is refused by size before the codec runs', async () => {
  const bytes = jpegLsDicom(8192, 8192, jpegLsHeader(8192, 8192));
  const header = readDicomHeader(bytes);
  await assert.rejects(decodeFrame(bytes, header, 0), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'unsupported');
    assert.match(
      error.message,
      /image too large to decode: JPEG-LS Lossless frame of 8192 x 8192 x 1 samples .* over the limit of 33554432 samples/,
    );
    return true;
  });
});

test('a damaged JPEG-LS codestream is named in words, not as a wasm exception pointer', async () => {
  const bytes = jpegLsDicom(64, 64, jpegLsHeader(64, 64));
  await assert.rejects(decodeFrame(bytes, readDicomHeader(bytes), 0), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.doesNotMatch(error.message, /wasm exception/);
    assert.match(error.message, /the CharLS \(JPEG-LS\) decoder rejected the codestream/);
    return true;
  });
});

test('r2c render of a DICOM without Pixel Data is a data error (exit 1) naming it, without the usage text', () =>
  withTempDir((dir) => {
    const path = join(dir, 'report.dcm');
    writeFileSync(path, noPixelDicom());
    const result = cli('render', path, '--out', join(dir, 'out.png'));
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /report\.dcm: no Pixel Data \(7FE0,0010\): the file is a DICOM object without an image/,
    );
    assert.doesNotMatch(result.stderr, /Usage:/);
  }));

test('r2c info and render refuse a 3 GiB junk file from its first bytes', () =>
  withTempDir((dir) => {
    const path = join(dir, 'junk.dcm');
    const fd = openSync(path, 'w');
    writeSync(fd, new Uint8Array([0xff, 0xee, 0xdd, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8]), 0);
    writeSync(fd, new Uint8Array([1]), 0, 1, 3 * 1024 ** 3); // sparse
    closeSync(fd);
    const info = cli('info', path);
    assert.equal(info.status, 1);
    assert.match(info.stderr, /junk\.dcm: not a DICOM file: no "DICM" prefix at byte 128/);
    const render = cli('render', path, '--out', join(dir, 'x.png'));
    assert.equal(render.status, 1);
    assert.match(render.stderr, /junk\.dcm: not a DICOM file/);
  }));
