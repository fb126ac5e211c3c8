// Test fixtures for the library: folders of synthetic DICOM files (from the shared generator in
// test/helpers/dicom.ts), temp folders, and the shared data folder.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newUid, syntheticDicom } from '../../helpers/dicom.ts';
import { sharedData } from '../../helpers/paths.ts';

// Re-exported for the tests that import them from here; new tests import test/helpers/dicom.ts.
export { newUid, syntheticDicom };

/** /work/shared/data (../shared/data from the repo root). */
export const sharedDataDir = sharedData;

/**
 * Writes `count` files into `dir`: patients P0..P(p-1), two studies each, one series per study,
 * spread over nested sub-folders. Returns their paths and SOP Instance UIDs.
 */
export function writeSyntheticFolder(
  dir: string,
  count: number,
  options: { patients?: number } = {},
): { path: string; sopInstanceUid: string }[] {
  const patients = options.patients ?? 3;
  const studies = Array.from({ length: patients * 2 }, (_, s) => ({
    studyInstanceUid: newUid(),
    seriesInstanceUid: newUid(),
    patient: s % patients,
    date: `2020${String((s % 12) + 1).padStart(2, '0')}15`,
  }));
  const files: { path: string; sopInstanceUid: string }[] = [];
  for (let i = 0; i < count; i++) {
    const study = studies[i % studies.length]!;
    const sub = join(dir, `patient${study.patient}`, `study${i % studies.length}`);
    mkdirSync(sub, { recursive: true });
    const { bytes, sopInstanceUid } = syntheticDicom({
      patientId: `P${study.patient}`,
      patientName: `Synthetic^Patient${study.patient}`,
      studyInstanceUid: study.studyInstanceUid,
      seriesInstanceUid: study.seriesInstanceUid,
      studyDate: study.date,
      studyDescription: 'Chest PA',
      modality: study.patient === 0 ? 'CR' : 'DX',
      instanceNumber: i + 1,
      seed: i,
    });
    const path = join(sub, `img${String(i).padStart(4, '0')}.dcm`);
    writeFileSync(path, bytes);
    files.push({ path, sopInstanceUid });
  }
  return files;
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `r2c-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
