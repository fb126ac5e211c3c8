// The fuzz cases, shared by `npm run fuzz` (each case in a pooled child process with a watchdog)
// and the fast seeded subsets in the unit tests. A case is (target, seed, number): the mutation is
// derived from those alone, so any case can be replayed (`npm run fuzz -- --repro zip:1:117`).
//
// Targets: header (readDicomHeader), decode (header + last frame), render (`r2c render` through
// the CLI, as a user runs it), model-input (readModelInput on DICOM, PNG and JPEG files, what
// restore/classify/eval read), zip (the library's archive listing and entry reads). Every case must
// end either accepted or rejected with an AppError naming the problem; anything else is a failure.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { UsageError } from '../main/cli/command.ts';
import { renderCommand } from '../main/cli/commands/render.ts';
import { readModelInput } from '../main/data/input/index.ts';
import { decodeFrame, readDicomHeader } from '../main/dicom/index.ts';
import { archiveReader, expandArchive } from '../main/library/sources.ts';
import { AppError } from '../main/util/errors.ts';

export const fuzzTargets = ['header', 'decode', 'render', 'model-input', 'zip'] as const;
export type FuzzTarget = (typeof fuzzTargets)[number];

export interface FuzzCase {
  target: FuzzTarget;
  seed: number;
  case: number;
}

export type FuzzOutcome =
  | { outcome: 'accepted'; what: string }
  | { outcome: 'rejected'; what: string; code: string; message: string }
  | { outcome: 'failed'; what: string; error: string };

const dicomDir = fileURLToPath(new URL('../../shared/data/dicom/', import.meta.url));

/** Small files covering every decoder path (as in test/main/dicom/fuzz.test.ts). */
export const dicomSeedFiles = [
  'dicom-test-files/MR_small.dcm',
  'dicom-test-files/MR_small_implicit.dcm',
  'dicom-test-files/MR_small_bigendian.dcm',
  'dicom-test-files/MR_small_RLE.dcm',
  'dicom-test-files/MR_small_jpeg_ls_lossless.dcm',
  'dicom-test-files/MR_small_jp2klossless.dcm',
  'dicom-test-files/SC_rgb_jpeg_dcmtk.dcm',
  'dicom-test-files/JPEG-lossy.dcm',
  'dicom-test-files/SC_rgb_rle.dcm',
  'dicom-test-files/SC_rgb.dcm',
  'dicom-test-files/emri_small.dcm',
  'dicom-test-files/image_dfl.dcm',
  'fo-dicom/CR-MONO1-10-chest',
];

export interface Seed {
  name: string;
  bytes: Uint8Array;
  /** File name extension when written for a file-reading target. */
  extension: string;
  /** Byte offsets of length and size fields: the most damaging places to corrupt. */
  hotspots: number[];
}

export interface Seeds {
  dicom: Seed[];
  /** DICOM, PNG and JPEG: what the models are given. */
  image: Seed[];
  zip: Seed[];
}

export function seedsFor(seeds: Seeds, target: FuzzTarget): Seed[] {
  if (target === 'zip') return seeds.zip;
  if (target === 'model-input') return seeds.image;
  return seeds.dicom;
}

export async function loadSeeds(): Promise<Seeds> {
  const dicom = dicomSeedFiles.map((name) => {
    const bytes = new Uint8Array(readFileSync(join(dicomDir, name)));
    return { name, bytes, extension: '.dcm', hotspots: dicomHotspots(bytes) };
  });
  const gray = Buffer.alloc(48 * 40);
  for (let i = 0; i < gray.length; i++) gray[i] = (i * 7 + (i >> 5)) & 0xff;
  const raw = { raw: { width: 48, height: 40, channels: 1 as const } };
  const png = new Uint8Array(await sharp(gray, raw).png().toBuffer());
  const jpeg = new Uint8Array(await sharp(gray, raw).jpeg().toBuffer());
  const image = [
    ...dicom.slice(0, 8),
    { name: 'generated.png', bytes: png, extension: '.png', hotspots: [] },
    { name: 'generated.jpg', bytes: jpeg, extension: '.jpg', hotspots: [] },
  ];
  const members = Object.fromEntries(dicom.slice(0, 3).map((s, i) => [`study/IM${i}.dcm`, s.bytes]));
  const zip = [
    { name: 'deflated.zip', bytes: zipSync(members, { level: 6 }) },
    { name: 'stored.zip', bytes: zipSync(members, { level: 0 }) },
    {
      name: 'mixed.zip',
      bytes: zipSync({ ...members, 'notes.txt': new TextEncoder().encode('n'.repeat(500)) }),
    },
  ].map((s) => ({ ...s, extension: '.zip', hotspots: zipHotspots(s.bytes) }));
  return { dicom, image, zip };
}

/** mulberry32: tiny seeded PRNG so every case is reproducible from its numbers. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function dicomHotspots(bytes: Uint8Array): number[] {
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

/** Offsets of the size, CRC, count and offset fields of every zip record. */
function zipHotspots(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets: number[] = [];
  const fields: Record<number, number[]> = {
    67324752: [6, 8, 14, 18, 22, 26, 28],
    33639248: [8, 10, 16, 20, 24, 28, 30, 32, 42],
    101010256: [8, 10, 12, 16, 20],
  };
  for (let at = 0; at + 4 <= bytes.length; at++) {
    const fieldsHere = fields[view.getUint32(at, true)];
    if (fieldsHere) for (const f of fieldsHere) if (at + f + 4 <= bytes.length) offsets.push(at + f);
  }
  return offsets;
}

/** One mutation: bit flips, truncation, or an extreme 16/32-bit value at a hotspot. */
export function mutate(seed: Seed, random: () => number): { bytes: Uint8Array; what: string } {
  const original = seed.bytes;
  const kind = Math.floor(random() * 5);
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
  if (kind === 2) {
    // A run of random bytes overwritten (corrupted compressed data, damaged sectors).
    const bytes = original.slice();
    const at = pick(bytes.length);
    const length = 1 + pick(64);
    for (let i = at; i < Math.min(bytes.length, at + length); i++) bytes[i] = pick(256);
    return { bytes, what: `${length} random bytes at ${at}` };
  }
  const bytes = original.slice();
  const hot = seed.hotspots;
  const at = hot.length > 0 && random() < 0.8 ? hot[pick(hot.length)]! : pick(Math.max(1, bytes.length - 4));
  const view = new DataView(bytes.buffer);
  const values = [0, 1, 0xffff, 0xffffffff, 0x7fffffff, 0x10000, pick(0x100000000)];
  const value = values[pick(values.length)]!;
  if (at + 4 > bytes.length) return { bytes, what: 'unchanged (short file)' };
  if (kind === 3) view.setUint32(at, value >>> 0, random() < 0.5);
  else view.setUint16(at, value & 0xffff, random() < 0.5);
  return { bytes, what: `${kind === 3 ? 32 : 16}-bit value ${value} at byte ${at}` };
}

/** The mutated input of a case: deterministic in (target, seed, case). */
export function caseInput(seeds: Seeds, c: FuzzCase): { seed: Seed; bytes: Uint8Array; what: string } {
  const list = seedsFor(seeds, c.target);
  const seed = list[c.seed % list.length]!;
  const targetSalt = fuzzTargets.indexOf(c.target) * 0x1000003;
  const random = prng((0x5eed ^ targetSalt) + c.seed * 100_003 + c.case * 7919);
  const mutated = mutate(seed, random);
  return { seed, ...mutated, what: `${seed.name}: ${mutated.what}` };
}

function classify(error: unknown, what: string): FuzzOutcome {
  if (
    error instanceof AppError &&
    ['bad_input', 'unsupported'].includes(error.code) &&
    error.message.length > 10
  )
    return { outcome: 'rejected', what, code: error.code, message: error.message };
  const detail =
    error instanceof AppError
      ? `AppError ${error.code}: ${error.message}`
      : error instanceof Error
        ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`
        : `non-error thrown: ${String(error)}`;
  return { outcome: 'failed', what, error: detail };
}

/** Runs one case in this process; `workDir` takes the case's files. Never throws. */
export async function runCase(seeds: Seeds, c: FuzzCase, workDir: string): Promise<FuzzOutcome> {
  const { seed, bytes, what } = caseInput(seeds, c);
  try {
    mkdirSync(workDir, { recursive: true });
    if (c.target === 'header') {
      readDicomHeader(bytes);
      return { outcome: 'accepted', what };
    }
    if (c.target === 'decode') {
      const header = readDicomHeader(bytes);
      if (!header.decodable.ok) throw new AppError('unsupported', header.decodable.reason);
      const frame = await decodeFrame(bytes, header, header.numberOfFrames - 1);
      if (frame.stored.length !== header.rows * header.columns * header.samplesPerPixel)
        return {
          outcome: 'failed',
          what,
          error: `decoded ${frame.stored.length} samples, header says otherwise`,
        };
      return { outcome: 'accepted', what };
    }
    const file = join(workDir, `case${seed.extension}`);
    writeFileSync(file, bytes);
    if (c.target === 'render') {
      // The command itself with the CLI's exit-code rule (usage error 2, anything else 1); not
      // through cli/main.ts, whose registry loads every command (models, PACS) for nothing here.
      const err: string[] = [];
      let code: number;
      try {
        code = await renderCommand.run([file, '--out', join(workDir, 'out.png')], {
          out: () => {},
          err: (line) => err.push(line),
          isTty: false,
          signal: new AbortController().signal,
        });
      } catch (error) {
        code = error instanceof UsageError ? 2 : 1;
        err.push(`r2c render: ${error instanceof Error ? error.message : String(error)}`);
        if (!(error instanceof AppError) && !(error instanceof UsageError)) return classify(error, what);
      }
      if (code === 0) return { outcome: 'accepted', what };
      const message = err.join('\n');
      if (code === 1 && /r2c render: .{10,}/.test(message))
        return { outcome: 'rejected', what, code: 'exit 1', message };
      return { outcome: 'failed', what, error: `exit ${code}: ${message}` };
    }
    if (c.target === 'model-input') {
      const input = await readModelInput(file);
      const { width, height, data } = input.image;
      if (width < 1 || height < 1 || data.length !== width * height)
        return {
          outcome: 'failed',
          what,
          error: `model input ${width}x${height} with ${data.length} values`,
        };
      for (const v of data) {
        if (!(v >= 0 && v <= 1))
          return { outcome: 'failed', what, error: `model input value ${v} outside [0,1]` };
      }
      return { outcome: 'accepted', what };
    }
    // zip: list the archive and read every entry, as the importer does, then the DICOM header of each.
    const { entries } = expandArchive(file);
    const reader = archiveReader();
    let firstError: unknown;
    try {
      for (const entry of entries) {
        try {
          const data = reader.read(entry);
          if (entry.entry.endsWith('.dcm')) readDicomHeader(data);
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          firstError ??= error;
        }
      }
    } finally {
      reader.close();
    }
    if (firstError) throw firstError;
    return { outcome: 'accepted', what };
  } catch (error) {
    return classify(error, what);
  }
}
