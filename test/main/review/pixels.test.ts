// The reading view's pixel source: packing into the original's data type (blinding), the byte-bounded
// cache, 16-bit kit images (encode, decode, a version-1 8-bit kit) and a kit's round trip through
// export and import with every value intact.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import {
  ByteLimitedCache,
  decodeKitImage,
  encodeKitImage,
  kitEncoding,
  kitPixelsSchema,
  openReviewStore,
  type PixelDisplay,
  packPixels,
  pixelValues,
} from '../../../main/review/index.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const display = (dataType: PixelDisplay['dataType']): PixelDisplay => ({
  dataType,
  photometric: 'MONOCHROME2',
  window: { center: 100, width: 400 },
  voiFunction: 'LINEAR',
  units: '',
});

describe('review pixels', () => {
  test('values are packed in the display data type: integers rounded and clamped', () => {
    const packed = packPixels([-5.4, 0.5, 70000, 1234.4], 2, 2, display('uint16'));
    assert.deepEqual(Array.from(pixelValues(packed)), [0, 1, 65535, 1234]);
    assert.equal(packed.pixels.byteLength, 8);
    const signed = packPixels([-40000, -12.6, 5, 40000], 4, 1, display('int16'));
    assert.deepEqual(Array.from(pixelValues(signed)), [-32768, -13, 5, 32767]);
    const float = packPixels([0.25, -1.5], 2, 1, display('float32'));
    assert.deepEqual(Array.from(pixelValues(float)), [0.25, -1.5]);
    assert.throws(() => packPixels([1, 2, 3], 2, 2, display('uint8')), /expected 4 pixel values/);
  });

  test('the cache is bounded by bytes, least recently used first, and forgets failures', async () => {
    const cache = new ByteLimitedCache<string, Uint8Array>(100, (v) => v.byteLength);
    const make = (n: number) => () => Promise.resolve(new Uint8Array(n));
    await cache.get('a', make(40));
    await cache.get('b', make(40));
    await cache.get('a', make(40)); // a is now the most recent
    await cache.get('c', make(40)); // 120 bytes: b goes
    await Promise.resolve();
    assert.equal(cache.bytes, 80);
    let made = 0;
    await cache.get('b', () => {
      made++;
      return Promise.resolve(new Uint8Array(10));
    });
    assert.equal(made, 1, 'b was evicted');
    await cache.get('a', () => {
      made++;
      return Promise.resolve(new Uint8Array(40));
    });
    assert.equal(made, 1, 'a was kept');
    await cache.get('huge', make(500));
    await Promise.resolve();
    assert.ok(cache.bytes <= 100, `over the limit: ${cache.bytes}`);
    await assert.rejects(cache.get('bad', () => Promise.reject(new Error('no'))));
    await Promise.resolve();
    assert.equal(await cache.get('bad', make(1)).then((v) => v.byteLength), 1, 'a failure is not kept');
  });

  test('kit images: 16-bit PNG and sidecar give back the values (exact for integers)', async () => {
    for (const [dataType, values] of [
      ['uint16', [0, 1, 4095, 65535]],
      ['int16', [-1024, -1, 0, 3071]],
      ['uint8', [0, 17, 128, 255]],
    ] as const) {
      const image = packPixels(values, 2, 2, display(dataType));
      const { png, sidecar } = await encodeKitImage(image, kitEncoding(dataType, { min: 0, max: 1 }, image));
      const meta = await sharp(png).metadata();
      assert.equal(meta.depth, 'ushort', `${dataType}: a 16-bit PNG`);
      assert.equal(meta.channels, 1, 'greyscale');
      kitPixelsSchema.parse(sidecar);
      const back = await decodeKitImage(png, sidecar);
      assert.equal(back.dataType, dataType);
      assert.deepEqual(Array.from(pixelValues(back)), [...values], `${dataType} values survive`);
      assert.deepEqual(back.window, image.window);
    }
    const float = packPixels([-0.5, 0.25, 3.75, 10], 4, 1, display('float32'));
    const encoding = kitEncoding('float32', { min: -0.5, max: 10 }, float);
    const { png, sidecar } = await encodeKitImage(float, encoding);
    const back = Array.from(pixelValues(await decodeKitImage(png, sidecar)));
    for (const [i, v] of [-0.5, 0.25, 3.75, 10].entries())
      assert.ok(
        Math.abs(back[i]! - v) <= encoding.slope,
        `float ${v} within one 16-bit step (got ${back[i]})`,
      );
  });

  test('an 8-bit kit image without a sidecar (format version 1) opens as grey levels; 16-bit without one is refused', async () => {
    const png8 = await sharp(new Uint8Array([0, 50, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const old = await decodeKitImage(png8, null);
    assert.equal(old.dataType, 'uint8');
    assert.deepEqual(Array.from(pixelValues(old)), [0, 50, 200, 255]);
    assert.deepEqual(old.window, { center: 127.5, width: 256 });
    const png16 = await sharp(new Uint16Array([0, 1, 2, 3]), { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    await assert.rejects(decodeKitImage(png16, null), /16-bit pixels but no description/);
    const image = packPixels([0, 1, 2, 3], 2, 2, display('uint16'));
    const { sidecar } = await encodeKitImage(image, { slope: 1, intercept: 0 });
    await assert.rejects(decodeKitImage(png16, { ...sidecar, width: 3 }), /does not match its description/);
  });

  describe('a kit round trip keeps every 16-bit value', () => {
    const ownerDir = tempDir();
    const readerDir = tempDir();
    after(() => {
      ownerDir.remove();
      readerDir.remove();
    });
    test('export, import, decode', async () => {
      const passphrase = 'owner passphrase 1';
      const owner = openReviewStore({ dataDir: ownerDir.dir });
      const reader = openReviewStore({ dataDir: readerDir.dir });
      try {
        const study = owner.createStudy(sampleStudy({ ownerPassphrase: passphrase, readers: ['Dr Pix'] }));
        const images = study.config.images.map((i) => i.id);
        // Each image and variant: a 64 x 48 gradient in 12-bit values, offset by image and variant.
        const valuesOf = (imageId: string, variantId: string) =>
          Array.from(
            { length: 64 * 48 },
            (_, i) =>
              ((i * 13) % 4096) +
              images.indexOf(imageId) * 7 +
              study.config.variants.findIndex((v) => v.id === variantId),
          );
        const kitPath = join(ownerDir.dir, 'study.r2ckit.zip');
        await owner.exportKit(study.id, { ownerPassphrase: passphrase }, kitPath, {
          renderImage: (imageId, variant) =>
            encodeKitImage(packPixels(valuesOf(imageId, variant.id), 64, 48, display('uint16')), {
              slope: 1,
              intercept: 0,
            }),
        });
        const imported = reader.importKit(kitPath);
        // Every image in every variant, as the reader's workstation keeps them (kit keys img-0001...).
        const kept = join(readerDir.dir, 'reading-kits', imported.studyId);
        let checked = 0;
        for (const key of readdirSync(kept).sort()) {
          const ownerImage = images[Number(key.replace('img-', '')) - 1]!;
          for (const file of readdirSync(join(kept, key)).filter((f) => f.endsWith('.png'))) {
            const png = join(kept, key, file);
            const sidecar = kitPixelsSchema.parse(
              JSON.parse(readFileSync(png.replace(/\.png$/, '.json'), 'utf8')),
            );
            const decoded = await decodeKitImage(readFileSync(png), sidecar);
            assert.equal(decoded.width, 64);
            assert.equal(decoded.height, 48);
            assert.deepEqual(
              Array.from(pixelValues(decoded)),
              valuesOf(ownerImage, file.replace(/\.png$/, '')),
              `${key}/${file}`,
            );
            checked++;
          }
        }
        assert.equal(checked, imported.images, 'every kit image checked');
      } finally {
        owner.close();
        reader.close();
      }
    });
  });
});
