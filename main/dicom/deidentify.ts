// De-identification on export (PS3.15 Annex E, Basic Application Level Confidentiality Profile) and
// the Patient and General Study attributes copied from a source into the objects we derive from it.
import { generateUid, uidFromHash } from './encode.ts';
import type { DicomHeader } from './header.ts';

/** De-identification on export (PS3.15 Annex E Basic Application Level Confidentiality Profile). */
export interface DeidentifyOptions {
  /**
   * Secret salt for replacing UIDs: the same salt maps the same original UID to the same new UID
   * (internally consistent within an export, as Annex E requires) and cannot be reversed without it.
   */
  uidSalt: string;
  /** Replacement Patient's Name / Patient ID (default: empty, the profile's "Z" action). */
  patientName?: string;
  patientId?: string;
}

/** Annex E "U": a new UID, the same for the same original UID and salt. */
export function replaceUid(uid: string, salt: string): string {
  return uidFromHash(`${salt}\u0000${uid}`);
}

/** How source UIDs are referenced: unchanged, or replaced (Annex E "U") when de-identifying. */
export function uidMapper(deid: DeidentifyOptions | undefined): (uid: string) => string {
  return (uid: string) => (deid ? replaceUid(uid, deid.uidSalt) : uid);
}

/** Patient and study attributes from the source, or the Annex E Basic Profile's actions on them. */
export function patientAndStudy(
  h: DicomHeader,
  deid: DeidentifyOptions | undefined,
  mapUid: (uid: string) => string,
): Record<string, unknown> {
  const studyInstanceUid = h.studyInstanceUid ? mapUid(h.studyInstanceUid) : generateUid();
  if (deid) {
    // Annex E Basic Profile: Z (empty) for the Type 2 identifiers, X (removed) for descriptions.
    return {
      PatientName: deid.patientName ?? '',
      PatientID: deid.patientId ?? '',
      PatientBirthDate: '',
      PatientSex: '',
      StudyInstanceUID: studyInstanceUid,
      StudyDate: '',
      StudyTime: '',
      ReferringPhysicianName: '',
      StudyID: '',
      AccessionNumber: '',
    };
  }
  return {
    PatientName: h.patientName ?? '',
    PatientID: h.patientId ?? '',
    PatientBirthDate: h.patientBirthDate ?? '',
    PatientSex: h.patientSex ?? '',
    StudyInstanceUID: studyInstanceUid,
    StudyDate: h.studyDate ?? '',
    StudyTime: h.studyTime ?? '',
    ReferringPhysicianName: h.referringPhysicianName ?? '',
    StudyID: h.studyId ?? '',
    AccessionNumber: h.accessionNumber ?? '',
    ...(h.studyDescription ? { StudyDescription: h.studyDescription } : {}),
  };
}

/** Patient Identity Removed and the De-identification Method (Code Sequence) of a de-identified object. */
export function deidentificationAttributes(): Record<string, unknown> {
  return {
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'PS3.15 Annex E Basic Application Level Confidentiality Profile',
    DeidentificationMethodCodeSequence: [
      {
        CodeValue: '113100',
        CodingSchemeDesignator: 'DCM',
        CodeMeaning: 'Basic Application Confidentiality Profile',
      },
    ],
  };
}
