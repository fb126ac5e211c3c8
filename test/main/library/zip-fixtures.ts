// Crafted zip archives for the archive-safety tests, written byte by byte (local headers, central
// directory, end record) so a test can put in exactly the defect it needs: a wrong CRC, a wrong
// declared size, two entries of the same name, a '../' path, a deflate bomb. fflate's zipSync
// cannot write any of these.
import { crc32, deflateRawSync } from 'node:zlib';

export interface CraftedEntry {
  name: string;
  data: Uint8Array;
  /** Default deflate. */
  method?: 'store' | 'deflate';
  /** Declared CRC-32 instead of the true one. */
  crc?: number;
  /** Declared uncompressed size instead of the true one. */
  declaredSize?: number;
  /** Already-deflated bytes to store as the entry's data (e.g. a bomb made in pieces). */
  compressed?: Uint8Array;
}

function header(size: number): { bytes: Buffer; at: number } {
  return { bytes: Buffer.alloc(size), at: 0 };
}

export function craftZip(entries: CraftedEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const method = entry.method === 'store' ? 0 : 8;
    const data = entry.compressed ?? (method === 8 ? deflateRawSync(entry.data) : Buffer.from(entry.data));
    const crc = entry.crc ?? crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const local = header(30).bytes;
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, Buffer.from(data));
    const central = header(46).bytes;
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = header(22).bytes;
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}
