// Test fixtures for the library: synthetic DICOM files written by dcmjs (an independent writer, not
// our reader), temp folders, and the shared data folder.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData } from '../../helpers/paths.ts';

/** /work/shared/data (../shared/data from the repo root). */
export const sharedDataDir = sharedData;

interface DcmjsData {
  DicomMetaDictionary: {
    uid(): string;
    denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
  };
  DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
}
// dcmjs ships no type declarations; we type the few calls the fixtures make.
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

export function newUid(): string {
  return dcmjs.data.DicomMetaDictionary.uid();
}

export interface SyntheticInstance {
  patientId?: string;
  patientName?: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid?: string;
  studyDate?: string;
  studyDescription?: string;
  modality?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  rows?: number;
  columns?: number;
  /** Changes the pixel values, so two files with the same UIDs can differ in content. */
  seed?: number;
}

/** A small, valid Part-10 DICOM file (explicit VR little endian, 16-bit MONOCHROME2). */
export function syntheticDicom(instance: SyntheticInstance): { bytes: Uint8Array; sopInstanceUid: string } {
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const rows = instance.rows ?? 8;
  const columns = instance.columns ?? 8;
  const pixels = new Uint16Array(rows * columns).map((_, i) => (i * 7 + (instance.seed ?? 0)) & 0xfff);
  const sopInstanceUid = instance.sopInstanceUid ?? DicomMetaDictionary.uid();
  const sopClassUid = '1.2.840.10008.5.1.4.1.1.1.1';
  const dataset = {
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: instance.studyInstanceUid,
    SeriesInstanceUID: instance.seriesInstanceUid,
    PatientID: instance.patientId ?? '',
    PatientName: instance.patientName ?? '',
    StudyDate: instance.studyDate ?? '',
    StudyDescription: instance.studyDescription ?? '',
    Modality: instance.modality ?? 'DX',
    SeriesNumber: instance.seriesNumber ?? 1,
    InstanceNumber: instance.instanceNumber ?? 1,
    Rows: rows,
    Columns: columns,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OW' },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '1.2.826.0.1.3680043.10.1078.1',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return { bytes: new Uint8Array(dict.write()), sopInstanceUid };
}

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
