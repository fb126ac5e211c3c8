// Reading zip archives for import in one pass over the file: the central directory is read once,
// then each entry is read from its own offset and inflated once, with its declared size, CRC and
// the inflate limits checked while it is inflated. Our own reader (≈150 lines) rather than fflate's
// unzipSync, which needs the whole archive in memory, looks entries up by name (so duplicates are
// lost and every lookup inflates again), skips CRCs and trusts the declared sizes; yauzl and the
// like are callback/stream based and keep none of these checks under our limits.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { defaultInflateLimits, type InflateLimits, inflateRawBounded } from '../util/bounded-inflate.ts';
import { AppError } from '../util/errors.ts';

/** One file entry as the central directory describes it. */
export interface ZipEntry {
  /** Position in the central directory (0-based): entries with the same name stay apart. */
  index: number;
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** A central directory larger than this (≈ 2 million entries) is refused rather than read. */
const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

function badZip(message: string): AppError {
  return new AppError('bad_input', `cannot read zip archive: ${message}`);
}

/** An open archive: a file descriptor read at offsets (the archive is never read whole). */
export interface ZipFile {
  fd: number;
  size: number;
  close(): void;
}

export function openZip(path: string): ZipFile {
  const fd = openSync(path, 'r');
  let open = true;
  return {
    fd,
    size: fstatSync(fd).size,
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function readAt(zip: ZipFile, offset: number, length: number): Buffer {
  if (offset < 0 || length < 0 || offset + length > zip.size)
    throw badZip(`a record at byte ${offset} runs past the end of the file (${zip.size} bytes)`);
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const read = readSync(zip.fd, buffer, done, length - done, offset + done);
    if (read === 0) throw badZip('the file ended while reading (changed while importing?)');
    done += read;
  }
  return buffer;
}

/** The entries of the archive's central directory, in order (folders included; callers filter). */
export function readZipDirectory(zip: ZipFile): ZipEntry[] {
  const tailLength = Math.min(zip.size, 22 + 0xffff);
  const tail = readAt(zip, zip.size - tailLength, tailLength);
  let eocd = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw badZip('no end of central directory record (not a zip archive, or cut short)');
  if (tail.readUInt16LE(eocd + 4) !== 0 || tail.readUInt16LE(eocd + 6) !== 0)
    throw badZip('multi-part (spanned) archives are not supported');
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locatorAt = zip.size - tailLength + eocd - 20;
    const locator = readAt(zip, locatorAt, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) throw badZip('zip64 locator missing');
    const record = readAt(zip, Number(locator.readBigUInt64LE(8)), 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
      throw badZip('zip64 end of central directory missing');
    count = Number(record.readBigUInt64LE(32));
    directorySize = Number(record.readBigUInt64LE(40));
    directoryOffset = Number(record.readBigUInt64LE(48));
  }
  if (directorySize > MAX_DIRECTORY_BYTES)
    throw badZip(`central directory of ${directorySize} bytes is too large`);
  if (count * 46 > directorySize)
    throw badZip(`${count} entries cannot fit in a ${directorySize}-byte directory`);
  const directory = readAt(zip, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE)
      throw badZip(`central directory entry ${index + 1} of ${count} is damaged`);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > directory.length) throw badZip(`central directory entry ${index + 1} runs past the directory`);
    const flags = directory.readUInt16LE(at + 8);
    const nameBytes = directory.subarray(at + 46, at + 46 + nameLength);
    // Bit 11: UTF-8 names; otherwise CP437, whose ASCII range is what archives of DICOM files use.
    const name = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
    const entry: ZipEntry = {
      index,
      name,
      flags,
      method: directory.readUInt16LE(at + 10),
      crc32: directory.readUInt32LE(at + 16),
      compressedSize: directory.readUInt32LE(at + 20),
      uncompressedSize: directory.readUInt32LE(at + 24),
      localHeaderOffset: directory.readUInt32LE(at + 42),
    };
    applyZip64Extra(entry, directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
    entries.push(entry);
    at = end;
  }
  return entries;
}

/** Sizes and offset too large for 32 bits are in the zip64 extra field, in this order. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  const wide = [
    'uncompressedSize',
    'compressedSize',
    'localHeaderOffset',
  ] as const satisfies (keyof ZipEntry)[];
  if (!wide.some((field) => entry[field] === 0xffffffff)) return;
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let value = at + 4;
      for (const field of wide) {
        if (entry[field] !== 0xffffffff) continue;
        if (value + 8 > at + 4 + size) throw badZip(`entry ${entry.name}: zip64 extra field is too short`);
        entry[field] = Number(extra.readBigUInt64LE(value));
        value += 8;
      }
      return;
    }
    at += 4 + size;
  }
  throw badZip(`entry ${entry.name}: zip64 sizes missing`);
}

/**
 * Why an entry's name is refused, if it is: it must stay inside the archive's own folder when
 * unpacked (no '..' component, not absolute, no drive letter), as unzip tools insist.
 */
export function unsafeEntryName(name: string): string | undefined {
  const parts = name.split(/[/\\]/);
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name))
    return 'refused: the entry has an absolute path';
  if (parts.includes('..')) return "refused: the entry's path leaves the archive ('..')";
  if (name.includes('\0')) return 'refused: the entry name holds a NUL character';
  return undefined;
}

/**
 * Reads one entry at its offset: stored or deflated, with its declared size and CRC-32 checked
 * and the inflate limits applied while inflating. Throws AppError naming what is wrong.
 */
export function readZipEntry(
  zip: ZipFile,
  entry: ZipEntry,
  limits: InflateLimits = defaultInflateLimits,
): Uint8Array {
  if (entry.flags & 0x1) throw new AppError('unsupported', 'the entry is encrypted');
  const local = readAt(zip, entry.localHeaderOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL_SIGNATURE)
    throw new AppError(
      'bad_input',
      `no local file header at byte ${entry.localHeaderOffset}: the archive is damaged`,
    );
  const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (dataStart + entry.compressedSize > zip.size)
    throw new AppError(
      'bad_input',
      `the entry's ${entry.compressedSize} compressed bytes run past the end of the archive`,
    );
  let data: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new AppError(
        'bad_input',
        `stored entry declares ${entry.uncompressedSize} bytes but holds ${entry.compressedSize}: the size is wrong`,
      );
    }
    if (entry.uncompressedSize > limits.maxBytes)
      throw new AppError(
        'unsupported',
        `the entry is ${entry.uncompressedSize} bytes, over the limit of ${limits.maxBytes}`,
      );
    data = readAt(zip, dataStart, entry.compressedSize);
  } else if (entry.method === 8) {
    data = inflateRawBounded(compressedChunks(zip, dataStart, entry.compressedSize), {
      compressedBytes: entry.compressedSize,
      expectedBytes: entry.uncompressedSize,
      limits,
      what: 'zip entry',
    });
  } else {
    throw new AppError(
      'unsupported',
      `zip compression method ${entry.method} is not supported (only stored and deflate)`,
    );
  }
  const actual = crc32(data) >>> 0;
  if (actual !== entry.crc32 >>> 0) {
    throw new AppError(
      'bad_input',
      `CRC-32 mismatch (declared ${hex8(entry.crc32)}, computed ${hex8(actual)}): the entry is damaged`,
    );
  }
  return data;
}

function* compressedChunks(zip: ZipFile, start: number, length: number): Generator<Uint8Array> {
  for (let at = 0; at < length; at += READ_CHUNK_BYTES) {
    yield readAt(zip, start + at, Math.min(READ_CHUNK_BYTES, length - at));
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
