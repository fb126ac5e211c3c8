// Rasterises build/icon.svg into the installer icons electron-builder takes from build/
// (electron.config.ts: directories.buildResources): icon.png (1024x1024, Linux and the fallback),
// icon.ico (Windows, PNG-compressed entries 16-256 px) and icon.icns (macOS, PNG entries 32-1024 px).
// Run: node --import tsx scripts/make-icons.ts
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';

const dir = new URL('../build/', import.meta.url);
const svg = readFileSync(new URL('icon.svg', dir));

const png = (size: number): Promise<Buffer> =>
  sharp(svg, { density: Math.max(72, (72 * size) / 1024) })
    .resize(size, size, { kernel: 'lanczos3' })
    .png({ compressionLevel: 9 })
    .toBuffer();

/** ICO with PNG-compressed images (Windows Vista and later); width/height 0 means 256. */
function ico(images: { size: number; data: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, data }) => {
    const entry = Buffer.alloc(16);
    entry.writeUInt8(size >= 256 ? 0 : size, 0);
    entry.writeUInt8(size >= 256 ? 0 : size, 1);
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(data.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += data.length;
    return entry;
  });
  return Buffer.concat([header, ...entries, ...images.map((i) => i.data)]);
}

/** ICNS with PNG entries (OSType, big-endian length including the 8-byte entry header). */
function icns(images: { type: string; data: Buffer }[]): Buffer {
  const entries = images.map(({ type, data }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + entries.reduce((n, e) => n + e.length, 0), 4);
  return Buffer.concat([head, ...entries]);
}

const sizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const bySize = new Map(await Promise.all(sizes.map(async (s) => [s, await png(s)] as const)));
const at = (size: number) => bySize.get(size)!;

writeFileSync(new URL('icon.png', dir), at(1024));
writeFileSync(
  new URL('icon.ico', dir),
  ico([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, data: at(size) }))),
);
writeFileSync(
  new URL('icon.icns', dir),
  icns([
    { type: 'ic11', data: at(32) }, // 16@2x
    { type: 'ic12', data: at(64) }, // 32@2x
    { type: 'ic07', data: at(128) },
    { type: 'ic08', data: at(256) },
    { type: 'ic13', data: at(256) }, // 128@2x
    { type: 'ic09', data: at(512) },
    { type: 'ic14', data: at(512) }, // 256@2x
    { type: 'ic10', data: at(1024) }, // 512@2x
  ]),
);
console.log('wrote build/icon.png, build/icon.ico, build/icon.icns');
