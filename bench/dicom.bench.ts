// DICOM decode times: the 1841x1955 JPEG 2000 chest CR (RG1_J2KI), and one file per transfer syntax,
// each as a ratio to dcmtk decompressing the same file in the same run. dcmtk has no JPEG 2000 /
// HTJ2K decoder, so those are compared with dcmtk decoding the same image in another syntax
// (RG1_JLSN, RG3_RLE, MR_small_jpeg_ls_lossless) — stated per row as `baseline`.
// dcmtk timings include process start-up; `dcmtkStartupMs` (dcmdump on a tiny file) shows how much.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame, readDicomHeader } from '../main/dicom/index.ts';
import type { BenchContext } from './types.ts';

const dataDir = fileURLToPath(new URL('../../shared/data/dicom/', import.meta.url));
const REPEATS = 5;

interface Case {
  file: string;
  /** Same file, or the same image in a syntax dcmtk decodes. */
  baselineFile?: string;
  tool: string[];
}

const cases: Case[] = [
  { file: 'dicom-test-files/RG1_J2KI', baselineFile: 'dicom-test-files/RG1_JLSN', tool: ['dcmdjpls'] },
  { file: 'dicom-test-files/RG1_JLSN', tool: ['dcmdjpls'] },
  { file: 'dicom-test-files/RG3_J2KR', baselineFile: 'dicom-test-files/RG3_RLE', tool: ['dcmdrle'] },
  { file: 'dicom-test-files/RG3_JLSL', tool: ['dcmdjpls'] },
  { file: 'dicom-test-files/RG3_JPLL', tool: ['dcmdjpeg'] },
  { file: 'dicom-test-files/RG3_RLE', tool: ['dcmdrle'] },
  { file: 'dicom-test-files/RG3_JPLY', tool: ['dcmdjpeg'] },
  { file: 'orthanc-tests/Monochrome1-Jpeg.dcm', tool: ['dcmdjpeg'] },
  {
    file: 'covid-chest-imaging-database/1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm',
    tool: ['dcmconv', '+te'],
  },
  { file: 'dicom-test-files/image_dfl.dcm', tool: ['dcmconv', '+te'] },
  { file: 'dicom-test-files/MR_small_bigendian.dcm', tool: ['dcmconv', '+te'] },
  {
    file: 'pydicom-data/HTJ2K_08_RGB.dcm',
    baselineFile: 'dicom-test-files/SC_rgb_jpeg_dcmtk.dcm',
    tool: ['dcmdjpeg'],
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeOurs(bytes: Uint8Array): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= REPEATS; i++) {
    // a fresh copy so the parse cache does not hide parsing cost
    const copy = new Uint8Array(bytes);
    const start = performance.now();
    const header = readDicomHeader(copy);
    await decodeFrame(copy, header, 0);
    if (i > 0) times.push(performance.now() - start); // first run warms the wasm codec
  }
  return median(times);
}

function timeTool(tool: string[], file: string, dir: string): number {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    execFileSync(tool[0]!, [...tool.slice(1), file, join(dir, 'out.dcm')], { stdio: 'ignore' });
    times.push(performance.now() - start);
  }
  return median(times);
}

export default async function dicomBench(context: BenchContext): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'r2c-dicom-bench-'));
  try {
    const startup = median(
      Array.from({ length: REPEATS }, () => {
        const start = performance.now();
        execFileSync('dcmdump', ['-q', '+P', '0008,0018', join(dataDir, 'dicom-test-files/MR_small.dcm')], {
          stdio: 'ignore',
        });
        return performance.now() - start;
      }),
    );
    const rows = [];
    for (const c of cases) {
      const bytes = readFileSync(join(dataDir, c.file));
      const header = readDicomHeader(bytes);
      const oursMs = await timeOurs(bytes);
      const baselineFile = c.baselineFile ?? c.file;
      const dcmtkMs = timeTool(c.tool, join(dataDir, baselineFile), dir);
      const row = {
        file: c.file,
        transferSyntax: header.transferSyntaxName,
        size: `${header.columns}x${header.rows}x${header.samplesPerPixel} ${header.bitsStored}-bit`,
        oursMs: Number(oursMs.toFixed(1)),
        baseline: `${c.tool.join(' ')} ${baselineFile}`,
        dcmtkMs: Number(dcmtkMs.toFixed(1)),
        ratioOursToDcmtk: Number((oursMs / dcmtkMs).toFixed(2)),
      };
      context.log(
        `${row.file}: ours ${row.oursMs} ms, dcmtk ${row.dcmtkMs} ms, ratio ${row.ratioOursToDcmtk}`,
      );
      rows.push(row);
    }
    return {
      note: 'median of 5 runs (ours after one warm-up: header parse + decode of frame 0, in-process); dcmtk = decompress to a file incl. process start',
      dcmtkStartupMs: Number(startup.toFixed(1)),
      chestJ2k: rows[0],
      perSyntax: rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
