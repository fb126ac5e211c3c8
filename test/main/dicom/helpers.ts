// Shared by the DICOM tests: where the sample data lives and how to ask dcmtk for reference output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { sharedData } from '../../helpers/paths.ts';

/** ../shared/data/dicom relative to the repository root. */
export const dicomDir = join(sharedData, 'dicom/');

export function dicomPath(relativePath: string): string {
  return join(dicomDir, relativePath);
}

export function readDicom(relativePath: string): Buffer {
  return readFileSync(dicomPath(relativePath));
}

/** Every sample file, relative to dicomDir, sorted; `malformed` picks the malformed/ subtree or the rest. */
export function listDicomFiles(malformed: boolean): string[] {
  return readdirSync(dicomDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dicomDir, join(e.parentPath, e.name)))
    .filter((p) => p.startsWith('malformed/') === malformed)
    .sort();
}

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export const haveDcmtk = ['dcmdump', 'dcmconv', 'dcmdjpeg', 'dcmdjpls', 'dcmdrle', 'dcm2pnm'].every(hasTool);

export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'r2c-dicom-test-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function withTempDirAsync<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'r2c-dicom-test-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** dcmtk's decompressor for a transfer syntax UID (native syntaxes are re-encoded as explicit LE). */
export function dcmtkDecompressor(transferSyntaxUid: string): string[] {
  if (transferSyntaxUid === '1.2.840.10008.1.2.5') return ['dcmdrle'];
  if (transferSyntaxUid === '1.2.840.10008.1.2.4.80' || transferSyntaxUid === '1.2.840.10008.1.2.4.81')
    return ['dcmdjpls'];
  if (/^1\.2\.840\.10008\.1\.2\.4\.(5\d|6\d|70)$/.test(transferSyntaxUid)) return ['dcmdjpeg'];
  return ['dcmconv', '+te'];
}

export interface DcmtkPixels {
  /** Raw Pixel Data of frame 0 as dcmtk decompressed it, little-endian. */
  raw: Uint8Array;
  planarConfiguration: number;
  photometric: string;
  /** The decompressed (explicit VR little endian) file, for dcm2pnm. */
  file: string;
}

/** Decompresses with dcmtk to explicit VR LE, then extracts the Pixel Data bytes with `dcmdump +W`. */
export function dcmtkDecompress(path: string, transferSyntaxUid: string, outDir: string): { file: string } {
  const [tool, ...options] = dcmtkDecompressor(transferSyntaxUid);
  const out = join(outDir, 'decompressed.dcm');
  run(tool!, [...options, path, out]);
  return { file: out };
}

export function dcmtkPixels(path: string, transferSyntaxUid: string, outDir: string): DcmtkPixels {
  const { file } = dcmtkDecompress(path, transferSyntaxUid, outDir);
  const rawDir = join(outDir, 'raw');
  run('mkdir', ['-p', rawDir]);
  const dump = run('dcmdump', [
    '-q',
    '+W',
    rawDir,
    '+P',
    '7fe0,0010',
    '+P',
    '0028,0006',
    '+P',
    '0028,0004',
    file,
  ]);
  const rawFile = readdirSync(rawDir).find((n) => n.endsWith('.raw'));
  if (!rawFile) throw new Error(`dcmdump wrote no pixel data for ${path}`);
  const planar = /\(0028,0006\) US (\d+)/.exec(dump)?.[1];
  const photometric = /\(0028,0004\) CS \[([^\]]*)\]/.exec(dump)?.[1] ?? '';
  return {
    raw: readFileSync(join(rawDir, rawFile)),
    planarConfiguration: Number(planar ?? 0),
    photometric,
    file,
  };
}

/** Reads a binary PGM (P5) or PPM (P6) as written by dcm2pnm. */
export function readPnm(bytes: Uint8Array): {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
} {
  const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  const match = /^(P5|P6)\s+(?:#.*\s+)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (!match) throw new Error('not a binary PGM/PPM');
  const channels = match[1] === 'P6' ? 3 : 1;
  const width = Number(match[2]);
  const height = Number(match[3]);
  if (Number(match[4]) !== 255) throw new Error('expected 8-bit PNM');
  const data = bytes.subarray(match[0].length, match[0].length + width * height * channels);
  return { width, height, channels, data };
}

/** Renders a (decompressed) file with dcm2pnm to 8-bit PGM/PPM using the given VOI options. */
export function dcm2pnm(file: string, voiOptions: string[], outDir: string, frame = 1) {
  const out = join(outDir, 'rendered.pnm');
  run('dcm2pnm', ['+F', String(frame), ...voiOptions, '+op', file, out]);
  return readPnm(readFileSync(out));
}

/** Max and mean absolute difference between two equally long arrays. */
export function compareArrays(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: a.length ? sum / a.length : 0 };
}
