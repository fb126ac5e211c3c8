// Archive and bomb safety, measured: (1) zip import time for 5,000 and 10,000 tiny entries against
// the same files as a folder (one pass over the archive should make them comparable: linear, not
// quadratic); (2) peak memory (maxRSS of a child process) for a 1.5 MB zip bomb, a 1 MB
// deflated-transfer-syntax DICOM bomb and a 1 GiB junk file, each handled as the user would meet
// it (import, `r2c info`). Every measurement runs in its own child process so maxRSS is its own.
// Stated bound: each bomb or junk case peaks under 512 MiB of RSS (Node, SQLite, sharp and the
// library loaded: ~230 MiB for an import of nothing, ~115 MiB for `r2c info`).
//
// `npm run bench archive` writes bench/results/<date>.json. Set ARCHIVE_BENCH_COUNTS=500,1000 for
// a quick run. The same file runs against an older checkout for before/after numbers.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, createDeflateRaw } from 'node:zlib';
import { zipSync } from 'fflate';
import { syntheticDicom, tempDir } from '../test/main/library/fixtures.ts';
import { craftZip } from '../test/main/library/zip-fixtures.ts';
import type { BenchContext } from './types.ts';

const CHILD_FLAG = '--archive-bench-child';
const MiB = 1024 * 1024;
/** The bound the bomb and junk cases must stay under (see the header comment). */
const RSS_BOUND_MIB = 512;

// ---------------------------------------------------------------------------------------------
// Child side: one measurement, printed as one JSON line.
if (process.argv[2] === CHILD_FLAG) {
  const [mode, ...args] = process.argv.slice(3);
  const start = performance.now();
  let result: unknown;
  try {
    if (mode === 'import') {
      const { openLibrary } = await import('../main/library/index.ts');
      const library = openLibrary({ dataDir: args[0]! });
      const summary = await library.importPaths([args[1]!]);
      await library.close();
      result = {
        total: summary.total,
        added: summary.added,
        failed: summary.failed.length,
        firstReason: summary.failed[0]?.reason,
      };
    } else if (mode === 'read-new' || mode === 'read-old') {
      // The archive reading alone (no database): list the entries and read each once.
      let bytesOut = 0;
      if (mode === 'read-new') {
        const { archiveReader, expandArchive } = await import('../main/library/sources.ts');
        const { entries } = expandArchive(args[0]!);
        const reader = archiveReader();
        for (const entry of entries) bytesOut += reader.read(entry).length;
        reader.close();
      } else {
        // As the importer did before: list with fflate's unzipSync, then one unzipSync per entry,
        // filtered by name (each call walks the whole directory again).
        const { readFileSync } = await import('node:fs');
        const { unzipSync } = await import('fflate');
        const bytes = readFileSync(args[0]!);
        const names: string[] = [];
        unzipSync(bytes, {
          filter: (file) => {
            names.push(file.name);
            return false;
          },
        });
        for (const name of names)
          bytesOut += unzipSync(bytes, { filter: (file) => file.name === name })[name]!.length;
      }
      result = { bytesOut };
    } else if (mode === 'info') {
      const { infoCommand } = await import('../main/cli/commands/info.ts');
      const lines: string[] = [];
      const code = await infoCommand.run([args[0]!], {
        out: (line) => lines.push(line),
        err: (line) => lines.push(line),
        isTty: false,
        signal: new AbortController().signal,
      });
      result = { exitCode: code, message: lines.join(' ').slice(0, 300) };
    }
  } catch (error) {
    result = { threw: error instanceof Error ? error.message.slice(0, 300) : String(error) };
  }
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(
    `${JSON.stringify({ seconds, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), result })}\n`,
  );
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent side.
interface Measured {
  seconds: number;
  maxRssMiB: number;
  result: unknown;
}

const self = fileURLToPath(import.meta.url);

function measure(mode: string, ...args: string[]): Measured {
  const run = spawnSync(process.execPath, ['--import', 'tsx', self, CHILD_FLAG, mode, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * MiB,
  });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(line) as Measured;
    return { ...parsed, seconds: Math.round(parsed.seconds * 100) / 100 };
  } catch {
    return {
      seconds: Number.NaN,
      maxRssMiB: Number.NaN,
      result: { died: run.status, signal: run.signal, stderr: run.stderr.slice(-500) },
    };
  }
}

/** Raw deflate of `prefix` followed by `zeros` zero bytes, streamed (never holding the output). */
async function deflateZeros(
  prefix: Uint8Array,
  zeros: number,
): Promise<{ compressed: Uint8Array; crc: number }> {
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  let crc = crc32(prefix);
  deflate.write(prefix);
  const block = Buffer.alloc(16 * MiB);
  for (let left = zeros; left > 0; left -= block.length) {
    const piece = block.subarray(0, Math.min(block.length, left));
    crc = crc32(piece, crc);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return { compressed: new Uint8Array(Buffer.concat(chunks)), crc };
}

function u16(n: number) {
  return [n & 0xff, (n >> 8) & 0xff];
}
function u32(n: number) {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function el(tag: number, vr: string, value: number[]): number[] {
  const padded = value.length % 2 ? [...value, 0] : value;
  return [
    ...u16(tag >>> 16),
    ...u16(tag & 0xffff),
    vr.charCodeAt(0),
    vr.charCodeAt(1),
    ...u16(padded.length),
    ...padded,
  ];
}
const text = (s: string) => [...new TextEncoder().encode(s)];

/** A Deflated Explicit VR Little Endian file whose data set inflates to `pixelBytes` of zeros and more. */
async function deflatedDicomBomb(pixelBytes: number): Promise<Uint8Array> {
  const columns = 32768;
  const rows = pixelBytes / 2 / columns;
  const dataSet = [
    ...el(0x00080016, 'UI', text('1.2.840.10008.5.1.4.1.1.7')),
    ...el(0x00280002, 'US', u16(1)),
    ...el(0x00280004, 'CS', text('MONOCHROME2 ')),
    ...el(0x00280010, 'US', u16(rows)),
    ...el(0x00280011, 'US', u16(columns)),
    ...el(0x00280100, 'US', u16(16)),
    ...el(0x00280101, 'US', u16(16)),
    ...el(0x00280102, 'US', u16(15)),
    ...el(0x00280103, 'US', u16(0)),
    ...u16(0x7fe0),
    ...u16(0x0010),
    ...text('OW'),
    0,
    0,
    ...u32(pixelBytes),
  ];
  const { compressed } = await deflateZeros(new Uint8Array(dataSet), pixelBytes);
  const meta = [
    ...el(0x00020001, 'OB', [0, 1]).slice(0, 4),
    ...text('OB'),
    0,
    0,
    ...u32(2),
    0,
    1,
    ...el(0x00020002, 'UI', text('1.2.840.10008.5.1.4.1.1.7')),
    ...el(0x00020003, 'UI', text('1.2.826.0.1.3680043.10.1078.9')),
    ...el(0x00020010, 'UI', text('1.2.840.10008.1.2.1.99')),
  ];
  const head = new Uint8Array([
    ...new Array(128).fill(0),
    ...text('DICM'),
    ...el(0x00020000, 'UL', u32(meta.length)),
    ...meta,
  ]);
  const out = new Uint8Array(head.length + compressed.length);
  out.set(head, 0);
  out.set(compressed, head.length);
  return out;
}

export default async function bench(context: BenchContext): Promise<Record<string, unknown>> {
  const work = tempDir('bench-archive');
  try {
    const counts = (process.env['ARCHIVE_BENCH_COUNTS'] ?? '5000,10000').split(',').map(Number);
    const scaling: Record<string, unknown>[] = [];
    for (const count of counts) {
      const folder = join(work.path, `folder-${count}`);
      mkdirSync(folder);
      const entries: Record<string, Uint8Array> = {};
      for (let i = 0; i < count; i++) {
        const bytes = syntheticDicom({
          patientId: `Z${i % 50}`,
          instanceNumber: i + 1,
          rows: 4,
          columns: 4,
          seed: i,
        }).bytes;
        entries[`exam/IM${String(i).padStart(5, '0')}.dcm`] = bytes;
        writeFileSync(join(folder, `IM${String(i).padStart(5, '0')}.dcm`), bytes);
      }
      const zipPath = join(work.path, `tiny-${count}.zip`);
      writeFileSync(zipPath, zipSync(entries));
      const readNew = measure('read-new', zipPath);
      const readOld = measure('read-old', zipPath);
      context.log(`${count} entries: read once each ${readNew.seconds} s, as before ${readOld.seconds} s`);
      const zip = measure('import', join(work.path, `lib-zip-${count}`), zipPath);
      context.log(`${count} entries: zip ${zip.seconds} s ${JSON.stringify(zip.result)}`);
      const dir = measure('import', join(work.path, `lib-dir-${count}`), folder);
      context.log(`${count} files: folder ${dir.seconds} s`);
      scaling.push({
        readSeconds: readNew.seconds,
        readSecondsAsBefore: readOld.seconds,
        entries: count,
        zipSeconds: zip.seconds,
        folderSeconds: dir.seconds,
        zip: zip.result,
        zipMaxRssMiB: zip.maxRssMiB,
        folderMaxRssMiB: dir.maxRssMiB,
      });
    }

    // A 1.5 MB zip bomb: one entry of 1.5 GiB of zeros, with its true size declared, and again
    // declaring 1 MiB (a lying header: inflation must stop at the declared size).
    const bombBytes = 1536 * MiB;
    const { compressed, crc } = await deflateZeros(new Uint8Array(0), bombBytes);
    const data = new Uint8Array(0);
    const honest = craftZip([{ name: 'bomb.dcm', data, compressed, crc, declaredSize: bombBytes }]);
    const lying = craftZip([{ name: 'bomb.dcm', data, compressed, crc, declaredSize: MiB }]);
    const honestPath = join(work.path, 'bomb.zip');
    const lyingPath = join(work.path, 'bomb-lying.zip');
    writeFileSync(honestPath, honest);
    writeFileSync(lyingPath, lying);
    const zipBomb = measure('import', join(work.path, 'lib-bomb'), honestPath);
    const zipBombLying = measure('import', join(work.path, 'lib-bomb-lying'), lyingPath);
    context.log(`zip bomb (${honest.length} bytes): ${JSON.stringify(zipBomb)}`);
    context.log(`zip bomb, lying size: ${JSON.stringify(zipBombLying)}`);

    // A 1 MB deflated-transfer-syntax DICOM that inflates to 1 GiB, read as `r2c info` and imported.
    const dicomBomb = await deflatedDicomBomb(1024 * MiB);
    const dicomBombPath = join(work.path, 'bomb.dcm');
    writeFileSync(dicomBombPath, dicomBomb);
    const dicomBombInfo = measure('info', dicomBombPath);
    const dicomBombImport = measure('import', join(work.path, 'lib-dicom-bomb'), dicomBombPath);
    context.log(`DICOM bomb (${dicomBomb.length} bytes) info: ${JSON.stringify(dicomBombInfo)}`);
    context.log(`DICOM bomb import: ${JSON.stringify(dicomBombImport)}`);

    // A 1 GiB junk file (sparse: the disk holds a few KB, a whole read still costs 1 GiB).
    const junkPath = join(work.path, 'junk.dcm');
    const fd = openSync(junkPath, 'w');
    writeSync(fd, new TextEncoder().encode('junk, not DICOM at all'), 0);
    writeSync(fd, new Uint8Array([1]), 0, 1, 1024 * MiB - 1);
    closeSync(fd);
    const junkInfo = measure('info', junkPath);
    const junkImport = measure('import', join(work.path, 'lib-junk'), junkPath);
    context.log(`1 GiB junk info: ${JSON.stringify(junkInfo)}`);
    context.log(`1 GiB junk import: ${JSON.stringify(junkImport)}`);

    const bombs = { zipBomb, zipBombLying, dicomBombInfo, dicomBombImport, junkInfo, junkImport };
    const peak = Math.max(...Object.values(bombs).map((m) => m.maxRssMiB));
    return {
      scaling,
      bombFiles: {
        zipBombBytes: honest.length,
        zipBombInflatesTo: bombBytes,
        dicomBombBytes: dicomBomb.length,
        dicomBombInflatesTo: 1024 * MiB,
        junkBytes: 1024 * MiB,
      },
      bombs,
      rssBoundMiB: RSS_BOUND_MIB,
      peakBombRssMiB: peak,
      withinBound: peak < RSS_BOUND_MIB,
    };
  } finally {
    work.remove();
  }
}
