// The case picker's list: every displayable library image with what it filters on (modality, body
// part, view, study date, description), whether it is a chest radiograph within the models' intended
// use (inference's checkIntendedUse on the DICOM attributes: Modality CR/DX, Body Part CHEST,
// View PA/AP, adult, grey-scale), and a ground truth from the library's data when it has one.
import { readFileSync } from 'node:fs';
import { readDicomHeader } from '../dicom/index.ts';
import { checkIntendedUse, type IntendedUseAttributes } from '../inference/index.ts';

export type Truth = 'covid' | 'normal' | 'unknown';

export interface CandidateInstance {
  instanceId: number;
  rows: number;
  columns: number;
  modality: string | null;
  studyDate: string | null;
  description: string | null;
  sourcePath: string;
  sourceFormat: 'dicom' | 'image';
  filePath: string;
}

export interface CandidateImage {
  instanceId: number;
  modality: string | null;
  bodyPart: string | null;
  view: string | null;
  studyDate: string | null;
  description: string | null;
  rows: number;
  columns: number;
  chest: boolean;
  reasons: string[];
  truth: Truth;
}

/**
 * Ground truth from where the image was imported from: a folder named covid / covid-19 / covid19 or
 * normal in its source path (as in the shared chest X-ray sets). The library has no label column;
 * anything else is unknown, to be set per case in the picker.
 */
export function truthFromSource(sourcePath: string): Truth {
  const parts = sourcePath
    .split(/[\\/!]/)
    .slice(0, -1)
    .map((p) => p.toLowerCase());
  if (parts.some((p) => /^covid[-_]?(19)?$/.test(p))) return 'covid';
  if (parts.some((p) => p === 'normal')) return 'normal';
  return 'unknown';
}

function attributesOf(instance: CandidateInstance): IntendedUseAttributes {
  // A PNG/JPEG import is wrapped as a secondary capture (Modality OT) by our importer: that says
  // nothing about the image, so nothing contradicts the intended use; the owner judges it.
  if (instance.sourceFormat !== 'dicom') return {};
  try {
    const header = readDicomHeader(readFileSync(instance.filePath));
    return {
      modality: header.modality,
      bodyPartExamined: header.bodyPartExamined,
      viewPosition: header.viewPosition,
      patientBirthDate: header.patientBirthDate,
      studyDate: header.studyDate,
      photometricInterpretation: header.photometricInterpretation,
      samplesPerPixel: header.samplesPerPixel,
    } as IntendedUseAttributes;
  } catch {
    return { modality: instance.modality ?? undefined };
  }
}

export function describeCandidate(instance: CandidateInstance): CandidateImage {
  const attributes = attributesOf(instance);
  const check = checkIntendedUse(attributes);
  return {
    instanceId: instance.instanceId,
    modality: attributes.modality ?? instance.modality,
    bodyPart: attributes.bodyPartExamined ?? null,
    view: attributes.viewPosition ?? null,
    studyDate: instance.studyDate,
    description: instance.description,
    rows: instance.rows,
    columns: instance.columns,
    chest: check.accepted,
    reasons: check.reasons.map((r) => `${r.attribute} is ${r.value}, expected ${r.expected}`),
    truth: truthFromSource(instance.sourcePath),
  };
}
