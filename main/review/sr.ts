// A closed reader study's results as DICOM Structured Reports, one per read image, written into the
// image's own DICOM study (for sending back to the PACS it came from): per variant shown, the mean
// score of each score question, how often it was preferred in a forced choice, and the answers to
// each choice question, with the number of readers. No reader names, no reader ids, no case ids.
// Built with the same dcmjs writer and helpers as the classification SR (dicom/structured-report.ts).
import {
  COMPREHENSIVE_SR_SOP_CLASS,
  codedConcept as code,
  deviceObserverContext,
  dicomDate,
  dicomTime,
  encodePart10,
  formatDs,
  patientAndStudy,
  readDicomHeader,
  SOFTWARE_NAME,
  uidFromHash,
  uidMapper,
  type WrittenDicom,
} from '../dicom/index.ts';
import { AppError } from '../util/errors.ts';
import type { StudyConfig } from './schema.ts';
import type { ReviewStore } from './store.ts';
import type { StudyDetails, StudyExport } from './types.ts';

/** Local coding scheme of our concepts (the classification SR uses the same). */
const R2C_SCHEME = '99R2C';

export interface ScoreSummary {
  questionId: string;
  prompt: string;
  min: number;
  max: number;
  n: number;
  mean: number;
}

export interface PreferenceSummary {
  questionId: string;
  prompt: string;
  /** Forced choices in which this variant was one of the two shown. */
  shown: number;
  chosen: number;
}

export interface ChoiceSummary {
  questionId: string;
  prompt: string;
  counts: { option: string; count: number }[];
}

export interface VariantReading {
  variantId: string;
  label: string;
  kind: 'original' | 'restored';
  scores: ScoreSummary[];
  preferences: PreferenceSummary[];
  choices: ChoiceSummary[];
}

/** What the readers of a study said about one image, over their finished cases. */
export interface ImageReading {
  /** The study's image id (the library instance id). */
  imageId: string;
  /** Readers with at least one finished case of this image. */
  readers: number;
  /** Finished cases of this image, all readers together. */
  cases: number;
  variants: VariantReading[];
}

/** Per image and variant, the summary of every finished case's answers (unfinished cases are left out). */
export function readerStudyImageResults(exported: StudyExport): ImageReading[] {
  const config: StudyConfig = exported.study.config;
  const variants = new Map(config.variants.map((v) => [v.id, v]));
  const questions = new Map(config.questions.map((q) => [q.id, q]));
  type Acc = {
    readers: Set<string>;
    cases: number;
    scores: Map<string, number[]>; // variant\0question -> values
    shown: Map<string, number>; // variant\0question
    chosen: Map<string, number>;
    choices: Map<string, Map<string, number>>; // variant\0question -> option -> count
    variants: Set<string>;
  };
  const byImage = new Map<string, Acc>();
  const key = (variant: string, question: string) => `${variant}\u0000${question}`;
  const bump = (map: Map<string, number>, k: string) => map.set(k, (map.get(k) ?? 0) + 1);
  for (const session of exported.sessions)
    for (const c of session.cases) {
      if (c.completedAt === null) continue;
      let acc = byImage.get(c.imageId);
      if (!acc) {
        acc = {
          readers: new Set(),
          cases: 0,
          scores: new Map(),
          shown: new Map(),
          chosen: new Map(),
          choices: new Map(),
          variants: new Set(),
        };
        byImage.set(c.imageId, acc);
      }
      acc.readers.add(session.readerId);
      acc.cases++;
      acc.variants.add(c.left).add(c.right);
      for (const answer of c.answers) {
        const question = questions.get(answer.questionId);
        if (!question) continue;
        if (question.kind === 'score' && answer.variant && typeof answer.value === 'number') {
          const k = key(answer.variant, question.id);
          acc.scores.set(k, [...(acc.scores.get(k) ?? []), answer.value]);
        } else if (question.kind === 'forced-choice') {
          for (const shown of [c.left, c.right]) bump(acc.shown, key(shown, question.id));
          if (typeof answer.value === 'string' && variants.has(answer.value))
            bump(acc.chosen, key(answer.value, question.id));
        } else if (question.kind === 'choice' && answer.variant && typeof answer.value === 'string') {
          const k = key(answer.variant, question.id);
          const counts = acc.choices.get(k) ?? new Map<string, number>();
          counts.set(answer.value, (counts.get(answer.value) ?? 0) + 1);
          acc.choices.set(k, counts);
        }
      }
    }
  const order = config.images.map((i) => i.id).filter((id) => byImage.has(id));
  return order.map((imageId) => {
    const acc = byImage.get(imageId)!;
    return {
      imageId,
      readers: acc.readers.size,
      cases: acc.cases,
      variants: config.variants
        .filter((v) => acc.variants.has(v.id))
        .map((v) => ({
          variantId: v.id,
          label: v.label,
          kind: v.kind,
          scores: config.questions.flatMap((q) => {
            const values = q.kind === 'score' ? acc.scores.get(key(v.id, q.id)) : undefined;
            if (q.kind !== 'score' || !values?.length) return [];
            const mean = values.reduce((s, x) => s + x, 0) / values.length;
            return [{ questionId: q.id, prompt: q.prompt, min: q.min, max: q.max, n: values.length, mean }];
          }),
          preferences: config.questions.flatMap((q) => {
            const shown = q.kind === 'forced-choice' ? acc.shown.get(key(v.id, q.id)) : undefined;
            if (!shown) return [];
            return [
              { questionId: q.id, prompt: q.prompt, shown, chosen: acc.chosen.get(key(v.id, q.id)) ?? 0 },
            ];
          }),
          choices: config.questions.flatMap((q) => {
            const counts = q.kind === 'choice' ? acc.choices.get(key(v.id, q.id)) : undefined;
            if (q.kind !== 'choice' || !counts) return [];
            return [
              {
                questionId: q.id,
                prompt: q.prompt,
                counts: q.options.map((option) => ({ option, count: counts.get(option) ?? 0 })),
              },
            ];
          }),
        })),
    };
  });
}

/**
 * The export of a study whose results may leave this workstation as SRs: closed by its owner (an open
 * study's answers are not final, and an owner-protected one's are still blinded), made here (a study
 * imported from a reading kit has its results on the owner's workstation).
 */
export function closedStudyForReport(
  store: ReviewStore,
  studyId: string,
): { details: StudyDetails; exported: StudyExport } {
  const details = store.getStudy(studyId);
  if (details.origin === 'kit')
    throw new AppError(
      'unsupported',
      `reader study ${studyId} was imported from a reading kit: its results are reported from the owner's workstation`,
    );
  if (!details.closed)
    throw new AppError(
      'forbidden',
      `reader study ${studyId} is still open: its results are reported only after its owner closes it`,
    );
  return { details, exported: store.exportJson(studyId) };
}

/** The same reader study and image always give the same report UIDs. */
const uidOf = (text: string): string => uidFromHash(`r2c-reader-study-sr\u0000${text}`);

const num = (codeValue: string, meaning: string, value: number, unit = code('1', 'UCUM', 'no units')) => ({
  RelationshipType: 'CONTAINS',
  ValueType: 'NUM',
  ConceptNameCodeSequence: [code(codeValue, R2C_SCHEME, meaning)],
  MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [unit], NumericValue: formatDs(value) }],
});

const text = (codeValue: string, scheme: string, meaning: string, value: string) => ({
  RelationshipType: 'CONTAINS',
  ValueType: 'TEXT',
  ConceptNameCodeSequence: [code(codeValue, scheme, meaning)],
  TextValue: value.slice(0, 1024),
});

function variantContainer(v: VariantReading, index: number): Record<string, unknown> {
  const items: Record<string, unknown>[] = [
    text('RS-VARIANT', R2C_SCHEME, 'Image variant', v.label),
    text(
      'RS-VARIANT-KIND',
      R2C_SCHEME,
      'Image variant kind',
      v.kind === 'original' ? 'Original' : 'Restored',
    ),
  ];
  for (const [i, s] of v.scores.entries()) {
    items.push(
      num(
        `RS-MEAN-${i + 1}`,
        `Mean score: ${s.prompt} (${s.min}-${s.max})`,
        s.mean,
        code('{score}', 'UCUM', 'score'),
      ),
    );
    items.push(num(`RS-N-${i + 1}`, `Number of scores: ${s.prompt}`, s.n));
  }
  for (const [i, p] of v.preferences.entries()) {
    items.push(num(`RS-SHOWN-${i + 1}`, `Times compared: ${p.prompt}`, p.shown));
    items.push(num(`RS-CHOSEN-${i + 1}`, `Times preferred: ${p.prompt}`, p.chosen));
    items.push(num(`RS-RATE-${i + 1}`, `Preference rate: ${p.prompt}`, p.shown > 0 ? p.chosen / p.shown : 0));
  }
  for (const [i, c] of v.choices.entries())
    for (const [j, o] of c.counts.entries())
      items.push(num(`RS-C${i + 1}-${j + 1}`, `Answered "${o.option}": ${c.prompt}`, o.count));
  return {
    RelationshipType: 'CONTAINS',
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code(`RS-V-${index + 1}`, R2C_SCHEME, `Variant result: ${v.label}`)],
    ContinuityOfContent: 'SEPARATE',
    ContentSequence: items,
  };
}

/**
 * One image's reader-study result as a Comprehensive SR in the image's study: a root container
 * "Reader study result" with the device observer, the study's name, the number of readers and
 * finished cases, the image read (IMAGE reference to its SOP Instance UID) and one container per
 * variant shown. SOP Instance and Series UIDs are derived from the study id and the image's UIDs, so
 * writing it again gives the same UIDs (the PACS then reports it already stored, never twice).
 */
export function writeReaderStudyReport(
  source: Uint8Array,
  study: { id: string; name: string },
  reading: ImageReading,
  options: { now?: Date } = {},
): WrittenDicom {
  const header = readDicomHeader(source);
  if (!header.sopInstanceUid || !header.studyInstanceUid)
    throw new AppError('bad_input', 'the read image has no SOP or Study Instance UID to report on');
  if (reading.variants.length === 0)
    throw new AppError('bad_input', `image ${reading.imageId} has no finished case to report`);
  const now = options.now ?? new Date();
  const sopInstanceUid = uidOf(`${study.id}\u0000${header.sopInstanceUid}`);
  const seriesInstanceUid = uidOf(`${study.id}\u0000${header.studyInstanceUid}`);
  const patientStudy = patientAndStudy(header, undefined, uidMapper(undefined));
  const reference = {
    ReferencedSOPClassUID: header.sopClassUid,
    ReferencedSOPInstanceUID: header.sopInstanceUid,
  };
  const content: Record<string, unknown>[] = [
    ...deviceObserverContext(),
    text('RS-STUDY', R2C_SCHEME, 'Reader study', study.name),
    num('RS-READERS', 'Number of readers', reading.readers),
    num('RS-CASES', 'Number of finished cases', reading.cases),
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'IMAGE',
      ConceptNameCodeSequence: [code('RS-IMAGE', R2C_SCHEME, 'Image read')],
      ReferencedSOPSequence: [reference],
    },
    ...reading.variants.map(variantContainer),
    text(
      'DSS',
      R2C_SCHEME,
      'Decision support statement',
      'Image-quality reading of a research reader study (blinded comparison of image variants); not a diagnosis.',
    ),
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
    SeriesNumber: '2002',
    SeriesDescription: `Reader study: ${study.name}`.slice(0, 64),
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
        StudyInstanceUID: header.studyInstanceUid,
        ReferencedSeriesSequence: [
          { SeriesInstanceUID: header.seriesInstanceUid, ReferencedSOPSequence: [reference] },
        ],
      },
    ],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('RS-RESULT', R2C_SCHEME, 'Reader study result')],
    ContinuityOfContent: 'SEPARATE',
    ContentSequence: content,
  };
  return {
    bytes: encodePart10(dataset, sopInstanceUid),
    sopClassUid: COMPREHENSIVE_SR_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: header.studyInstanceUid,
    stored: new Uint8Array(0),
  };
}
