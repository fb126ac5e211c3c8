// DICOM files for the viewer tests, written by dcmjs (test/helpers/dicom.ts): an image with every
// attribute the overlay shows (a CJK patient name, calibrated pixel spacing, Patient Orientation),
// and a multi-frame image whose frames differ.
import { newUid, syntheticDicom } from '../../helpers/dicom.ts';

export const OVERLAY_PATIENT = {
  name: '山田^太郎',
  id: 'PID-4711',
  sex: 'M',
  birthDate: '19700102',
  studyDate: '20240315',
  studyTime: '093000',
  accession: 'ACC-0815',
};

/** A 256 x 256 DX with the overlay's attributes; pixel spacing 0.5 mm (rows) x 0.25 mm (columns). */
export function overlayDicom(studyInstanceUid = newUid()) {
  return syntheticDicom({
    rows: 256,
    columns: 256,
    pixels: Array.from({ length: 256 * 256 }, (_, i) => ((i % 256) * 16 + Math.floor(i / 256) * 4) % 4096),
    patientName: OVERLAY_PATIENT.name,
    patientId: OVERLAY_PATIENT.id,
    studyDate: OVERLAY_PATIENT.studyDate,
    studyInstanceUid,
    seriesNumber: 3,
    instanceNumber: 7,
    extra: {
      SpecificCharacterSet: 'ISO_IR 192',
      PatientSex: OVERLAY_PATIENT.sex,
      PatientBirthDate: OVERLAY_PATIENT.birthDate,
      StudyTime: OVERLAY_PATIENT.studyTime,
      AccessionNumber: OVERLAY_PATIENT.accession,
      SeriesDescription: 'Chest PA',
      PatientOrientation: ['L', 'F'],
      ImageLaterality: 'R',
      ViewPosition: 'PA',
      PixelSpacing: [0.5, 0.25],
      WindowCenter: '2048',
      WindowWidth: '4096',
    },
  });
}

/** `frames` frames of 64 x 64, frame f filled with the value 500 * (f + 1) plus a small ramp. */
export function multiFrameDicom(frames: number, studyInstanceUid = newUid()) {
  const size = 64 * 64;
  const all = new Uint16Array(size * frames);
  for (let f = 0; f < frames; f++)
    for (let i = 0; i < size; i++) all[f * size + i] = 500 * (f + 1) + (i % 64);
  return syntheticDicom({
    rows: 64,
    columns: 64,
    modality: 'MR',
    pixels: all.subarray(0, size),
    studyInstanceUid,
    seriesNumber: 4,
    extra: {
      NumberOfFrames: String(frames),
      PixelData: [all.buffer],
      WindowCenter: '2000',
      WindowWidth: '4000',
    },
  });
}
