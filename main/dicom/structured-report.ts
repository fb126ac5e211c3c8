// The classification result we write: a JSON sidecar and a DICOM Comprehensive SR in the source's
// study (optionally de-identified).
import { AppError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/image-io.ts';
import {
  type DeidentifyOptions,
  deidentificationAttributes,
  patientAndStudy,
  uidMapper,
} from './deidentify.ts';
import {
  codedConcept as code,
  dicomDate,
  dicomTime,
  encodePart10,
  formatDs,
  generateUid,
  SOFTWARE_NAME,
  type WrittenDicom,
} from './encode.ts';
import { type DicomHeader, readDicomHeader } from './header.ts';

/** Classification result as JSON, for callers that keep results next to the image file. */
export interface ClassificationSidecar {
  format: 'r2c-classification/1';
  createdAt: string;
  source: { sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string; frame: number };
  model: { name: string; version?: string; sha256?: string };
  /** Class label -> probability in [0,1]. */
  probabilities: Record<string, number>;
  predicted: string;
  note: string;
}

export function classificationSidecar(
  header: DicomHeader,
  result: {
    probabilities: Record<string, number>;
    model: ClassificationSidecar['model'];
    frameIndex?: number;
  },
  now = new Date(),
): ClassificationSidecar {
  const entries = Object.entries(result.probabilities);
  if (entries.length === 0) throw new AppError('bad_input', 'classification result has no probabilities');
  for (const [label, p] of entries) {
    if (!(p >= 0 && p <= 1))
      throw new AppError('bad_input', `probability for "${label}" is ${p}, not in [0,1]`);
  }
  const predicted = entries.reduce((best, e) => (e[1] > best[1] ? e : best))[0];
  return {
    format: 'r2c-classification/1',
    createdAt: now.toISOString(),
    source: {
      sopInstanceUid: header.sopInstanceUid,
      seriesInstanceUid: header.seriesInstanceUid,
      studyInstanceUid: header.studyInstanceUid,
      frame: (result.frameIndex ?? 0) + 1,
    },
    model: result.model,
    probabilities: result.probabilities,
    predicted,
    note: 'Research software output; not a diagnosis.',
  };
}

/**
 * How the result is to be read (inference's ResultCertainty, restated here because dicom sits below
 * inference): the decision with its threshold and indeterminate band, the validation figures at the
 * threshold, the statement that it is decision support, and a user's override of the input gate.
 */
export interface ClassificationAssessment {
  decision: 'positive' | 'negative' | 'indeterminate';
  /** Human-readable decision, e.g. "COVID-19 pattern suggested". */
  decisionText: string;
  /** Probability of this class is compared with the threshold and band. */
  probabilityOf: string;
  threshold: number;
  indeterminate?: { low: number; high: number };
  validation?: { sensitivity: number; specificity: number; on: string };
  statement: string;
  /** The input gate refused the image and the user classified it anyway. */
  override?: { by: string; reason?: string; refusedFor: string };
}

export const COMPREHENSIVE_SR_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';

/** Local coding scheme for the classifier's concepts (no standard code exists for them). */
const R2C_SCHEME = '99R2C';

/**
 * The classification result as a DICOM Comprehensive SR in the source's study: a root container
 * "Findings" holding the analysed image reference, the model name, one NUM item per class
 * probability (unitless) and the predicted class as a CODE item. Concepts of the classifier use the
 * local coding scheme 99R2C.
 */
export function writeClassificationReport(
  source: Uint8Array,
  result: {
    probabilities: Record<string, number>;
    model: ClassificationSidecar['model'];
    frameIndex?: number;
    /** Present: the Finding is the decision (positive / negative / indeterminate), with its context. */
    assessment?: ClassificationAssessment;
  },
  options: { now?: Date; deidentify?: DeidentifyOptions } = {},
): WrittenDicom {
  const header = readDicomHeader(source);
  const sidecar = classificationSidecar(header, result, options.now);
  const now = options.now ?? new Date();
  const deid = options.deidentify;
  const mapUid = uidMapper(deid);
  const sopInstanceUid = generateUid();
  const seriesInstanceUid = generateUid();
  const patientStudy = patientAndStudy(header, deid, mapUid);
  const studyInstanceUid = patientStudy['StudyInstanceUID'] as string;
  const referencedSop = {
    ReferencedSOPClassUID: header.sopClassUid,
    ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
    ...(header.numberOfFrames > 1 ? { ReferencedFrameNumber: String((result.frameIndex ?? 0) + 1) } : {}),
  };
  const modelLabel = result.model.version
    ? `${result.model.name} ${result.model.version}`
    : result.model.name;
  const content: Record<string, unknown>[] = [
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'IMAGE',
      ConceptNameCodeSequence: [code('121112', 'DCM', 'Source of Measurement')],
      ReferencedSOPSequence: [referencedSop],
    },
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'TEXT',
      ConceptNameCodeSequence: [code('111001', 'DCM', 'Algorithm Name')],
      TextValue: modelLabel,
    },
    ...Object.entries(sidecar.probabilities).map(([label, p]) => ({
      RelationshipType: 'CONTAINS',
      ValueType: 'NUM',
      ConceptNameCodeSequence: [code(`P-${label}`.slice(0, 16), R2C_SCHEME, `Probability of ${label}`)],
      MeasuredValueSequence: [
        { MeasurementUnitsCodeSequence: [code('1', 'UCUM', 'no units')], NumericValue: formatDs(p) },
      ],
    })),
    result.assessment
      ? {
          RelationshipType: 'CONTAINS',
          ValueType: 'CODE',
          ConceptNameCodeSequence: [code('121071', 'DCM', 'Finding')],
          ConceptCodeSequence: [
            code(result.assessment.decision.toUpperCase(), R2C_SCHEME, result.assessment.decisionText),
          ],
        }
      : {
          RelationshipType: 'CONTAINS',
          ValueType: 'CODE',
          ConceptNameCodeSequence: [code('121071', 'DCM', 'Finding')],
          ConceptCodeSequence: [code(sidecar.predicted.slice(0, 16), R2C_SCHEME, sidecar.predicted)],
        },
    ...(result.assessment ? assessmentItems(result.assessment, result.model) : []),
  ];
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: COMPREHENSIVE_SR_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    ...patientStudy,
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: '2000',
    SeriesDescription: `Classification by ${modelLabel}`.slice(0, 64),
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: SOFTWARE_NAME,
    InstanceNumber: '1',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: studyInstanceUid,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: header.seriesInstanceUid ? mapUid(header.seriesInstanceUid) : generateUid(),
            ReferencedSOPSequence: [
              {
                ReferencedSOPClassUID: header.sopClassUid,
                ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
              },
            ],
          },
        ],
      },
    ],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('121070', 'DCM', 'Findings')],
    ContinuityOfContent: 'SEPARATE',
    ContentSequence: content,
    ...(deid ? deidentificationAttributes() : {}),
  };
  return {
    bytes: encodePart10(dataset, sopInstanceUid),
    sopClassUid: COMPREHENSIVE_SR_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid,
    stored: new Uint8Array(0),
  };
}

function numItem(codeValue: string, meaning: string, value: number): Record<string, unknown> {
  return {
    RelationshipType: 'CONTAINS',
    ValueType: 'NUM',
    ConceptNameCodeSequence: [code(codeValue, R2C_SCHEME, meaning)],
    MeasuredValueSequence: [
      { MeasurementUnitsCodeSequence: [code('1', 'UCUM', 'no units')], NumericValue: formatDs(value) },
    ],
  };
}

function textItem(
  codeValue: string,
  scheme: string,
  meaning: string,
  value: string,
): Record<string, unknown> {
  return {
    RelationshipType: 'CONTAINS',
    ValueType: 'TEXT',
    ConceptNameCodeSequence: [code(codeValue, scheme, meaning)],
    TextValue: value.slice(0, 1024),
  };
}

/** The items that say how to read the Finding (after it, in this order). */
function assessmentItems(
  a: ClassificationAssessment,
  model: ClassificationSidecar['model'],
): Record<string, unknown>[] {
  return [
    numItem('THRESHOLD', `Decision threshold for ${a.probabilityOf}`, a.threshold),
    ...(a.indeterminate
      ? [
          numItem('INDET-LOW', 'Indeterminate band lower limit', a.indeterminate.low),
          numItem('INDET-HIGH', 'Indeterminate band upper limit', a.indeterminate.high),
        ]
      : []),
    ...(a.validation
      ? [
          numItem('VAL-SENS', 'Validation sensitivity at threshold', a.validation.sensitivity),
          numItem('VAL-SPEC', 'Validation specificity at threshold', a.validation.specificity),
          textItem('VAL-SET', R2C_SCHEME, 'Validation data', a.validation.on),
        ]
      : []),
    ...(model.version ? [textItem('111003', 'DCM', 'Algorithm Version', model.version)] : []),
    ...(model.sha256 ? [textItem('MODEL-SHA256', R2C_SCHEME, 'Model file SHA-256', model.sha256)] : []),
    ...(a.override
      ? [
          textItem(
            'OVERRIDE',
            R2C_SCHEME,
            'Intended use override',
            `Classified on user override (${a.override.by}${a.override.reason ? `: ${a.override.reason}` : ''}) although ${a.override.refusedFor}`,
          ),
        ]
      : []),
    textItem('DSS', R2C_SCHEME, 'Decision support statement', a.statement),
  ];
}

export async function writeClassificationSidecar(
  path: string,
  sidecar: ClassificationSidecar,
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(sidecar, null, 2)}\n`);
}
