// Input gating before the classifier: an image is judged only when it is what the model was made
// for. Two checks: the DICOM attributes against the card's intended input (modality, body part,
// view, age, colour), and the image's appearance against the training chest radiographs (works for
// PNG/JPEG too; see appearance.ts). A user may override a refusal; the override is recorded in
// every result that follows from it.
import { readFileSync } from 'node:fs';
import { type DicomHeader, parseDicomBytes } from '../dicom/index.ts';
import { AppError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { type AppearanceReference, appearanceReferenceSchema, checkAppearance } from './appearance.ts';
import type { IntendedInput } from './model-card.ts';

/** What every shipped model was trained on: adult frontal chest radiographs. */
export const CHEST_RADIOGRAPH_INPUT: IntendedInput = {
  modalities: ['CR', 'DX'],
  bodyParts: ['CHEST', 'THORAX', 'LUNG'],
  views: ['PA', 'AP'],
  minimumAgeYears: 18,
};

/** The DICOM attributes the gate reads (a DicomHeader has them; patientAge from readPatientAge). */
export type IntendedUseAttributes = Partial<
  Pick<
    DicomHeader,
    | 'modality'
    | 'bodyPartExamined'
    | 'viewPosition'
    | 'patientBirthDate'
    | 'studyDate'
    | 'photometricInterpretation'
    | 'samplesPerPixel'
  >
> & { patientAge?: string };

export interface IntendedUseReason {
  /** 'attribute': a DICOM attribute contradicts the intended input; 'appearance': the image itself. */
  check: 'attribute' | 'appearance';
  /** DICOM keyword (e.g. Modality), or 'Image appearance'. */
  attribute: string;
  value: string;
  expected: string;
}

export interface IntendedUseResult {
  accepted: boolean;
  reasons: IntendedUseReason[];
  /** The appearance check's distance and threshold (absent when no image was checked). */
  appearance?: { distance: number; threshold: number; typical: boolean };
}

/** A user's decision to classify an image the gate refused; carried into every output. */
export interface IntendedUseOverride {
  /** Who or what overrode (e.g. "CLI --override-intended-use", "viewer button"). */
  by: string;
  reason?: string;
}

/** Patient Age (0010,1010) as stored, e.g. "045Y"; undefined when absent or unreadable. */
export function readPatientAge(bytes: Uint8Array): string | undefined {
  try {
    return parseDicomBytes(bytes).dataSet.string('x00101010')?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Age in years from Patient Age ("nnnD/W/M/Y"), else from birth date and study date. */
export function ageInYears(attributes: IntendedUseAttributes): number | undefined {
  const age = attributes.patientAge?.match(/^(\d{1,3})([DWMY])?$/i);
  if (age) {
    const n = Number(age[1]);
    const unit = (age[2] ?? 'Y').toUpperCase(); // a bare number (seen in the wild) is years
    return unit === 'Y' ? n : unit === 'M' ? n / 12 : unit === 'W' ? n / 52.18 : n / 365.25;
  }
  const birth = dicomDate(attributes.patientBirthDate);
  const study = dicomDate(attributes.studyDate);
  if (birth === undefined || study === undefined || study < birth) return undefined;
  return (study - birth) / (365.25 * 24 * 3600 * 1000);
}

function dicomDate(value: string | undefined): number | undefined {
  const m = value?.trim().match(/^(\d{4})(\d{2})(\d{2})$/);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(t) ? undefined : t;
}

const norm = (v: string | undefined) => v?.trim().toUpperCase() || undefined;

/**
 * Checks DICOM attributes against the intended input. An attribute that is absent does not
 * contradict it (many chest radiographs lack Body Part Examined or View Position); one that is
 * present and different does. Accepted when no attribute contradicts.
 */
export function checkIntendedUse(
  attributes: IntendedUseAttributes,
  intended: IntendedInput = CHEST_RADIOGRAPH_INPUT,
): IntendedUseResult {
  const reasons: IntendedUseReason[] = [];
  const list = (values: readonly string[]) => values.join(' or ');
  const listed = [
    ['Modality', attributes.modality, intended.modalities],
    ['BodyPartExamined', attributes.bodyPartExamined, intended.bodyParts],
    ['ViewPosition', attributes.viewPosition, intended.views],
  ] as const;
  for (const [attribute, raw, allowed] of listed) {
    const value = norm(raw);
    if (value && !allowed.includes(value))
      reasons.push({ check: 'attribute', attribute, value, expected: list(allowed) });
  }
  const colour = (attributes.samplesPerPixel ?? 1) > 1;
  if (colour)
    reasons.push({
      check: 'attribute',
      attribute: 'PhotometricInterpretation',
      value: attributes.photometricInterpretation ?? 'colour',
      expected: 'MONOCHROME1 or MONOCHROME2',
    });
  const years = ageInYears(attributes);
  if (years !== undefined && years < intended.minimumAgeYears)
    reasons.push({
      check: 'attribute',
      attribute: attributes.patientAge ? 'PatientAge' : 'PatientBirthDate',
      value: attributes.patientAge ?? `${years.toFixed(1)} years at the study date`,
      expected: `adult (${intended.minimumAgeYears} years or older)`,
    });
  return { accepted: reasons.length === 0, reasons };
}

let bundledReference: AppearanceReference | undefined;
/** The chest-radiograph appearance reference shipped with the app (chest-appearance.json). */
export function chestAppearanceReference(): AppearanceReference {
  bundledReference ??= appearanceReferenceSchema.parse(
    JSON.parse(readFileSync(new URL('./chest-appearance.json', import.meta.url), 'utf8')),
  );
  return bundledReference;
}

/** Both checks: the DICOM attributes (when the input is DICOM) and the image's appearance. */
export function assessIntendedUse(
  image: GrayImage,
  attributes: IntendedUseAttributes | undefined,
  intended: IntendedInput = CHEST_RADIOGRAPH_INPUT,
  reference: AppearanceReference = chestAppearanceReference(),
): IntendedUseResult {
  const byAttributes = attributes ? checkIntendedUse(attributes, intended) : { accepted: true, reasons: [] };
  const appearance = checkAppearance(image, reference);
  const reasons = [...byAttributes.reasons];
  if (!appearance.typical)
    reasons.push({
      check: 'appearance',
      attribute: 'Image appearance',
      value: `distance ${appearance.distance.toFixed(2)} from the training chest radiographs`,
      expected: `at most ${appearance.threshold.toFixed(2)}`,
    });
  return { accepted: reasons.length === 0, reasons, appearance };
}

/** One line naming every reason, e.g. "Modality is MR (expected CR or DX)". */
export function describeReasons(reasons: readonly IntendedUseReason[]): string {
  return reasons
    .map((r) =>
      r.check === 'appearance'
        ? `the image does not look like a frontal chest radiograph (${r.value}; ${r.expected})`
        : `${r.attribute} is ${r.value} (expected ${r.expected})`,
    )
    .join('; ');
}

export const OUTSIDE_INTENDED_USE = "outside the model's intended use";

/** A refused image: code 'unsupported', one issue per attribute (these survive serialisation). */
export class IntendedUseRefusal extends AppError {
  constructor(
    what: string,
    readonly reasons: IntendedUseReason[],
  ) {
    super(
      'unsupported',
      `${what} is ${OUTSIDE_INTENDED_USE}: ${describeReasons(reasons)}; not classified (override to classify anyway)`,
      reasons.map((r) => ({ path: r.attribute, message: `${r.value} (expected ${r.expected})` })),
    );
  }
}

export function intendedUseError(what: string, result: IntendedUseResult): IntendedUseRefusal {
  return new IntendedUseRefusal(what, result.reasons);
}
