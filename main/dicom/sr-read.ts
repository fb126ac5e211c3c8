// Reading DICOM Structured Reports as a readable tree (any SR: ours, CAD, dose reports), and reading
// back the measurements our TID 1500 reports and presentation states carry, per referenced image.
import dcmjs from 'dcmjs';
import { AppError } from '../util/errors.ts';
import {
  ANGLE_CONCEPT,
  type AnnotationTool,
  type ImageAnnotation,
  LENGTH_CONCEPT,
} from './measurement-report.ts';
import { GSPS_SOP_CLASS } from './presentation-state.ts';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

type Dataset = Record<string, unknown>;

/** One content item as shown: its concept, its value as text, and its children. */
export interface ReportItem {
  relationship: string | null;
  valueType: string;
  /** Concept name's meaning (e.g. "Length"); null when the item has none (e.g. an IMAGE). */
  concept: string | null;
  /** The value as text: a number with its unit, a code's meaning, a text, an image reference. */
  value: string;
  children: ReportItem[];
}

export interface StructuredReport {
  sopClassUid: string;
  title: string;
  completion: string | null;
  verification: string | null;
  contentDate: string | null;
  contentTime: string | null;
  /** TID number when the report declares one (e.g. '1500'). */
  template: string | null;
  items: ReportItem[];
}

/** SR Storage SOP Classes start with 1.2.840.10008.5.1.4.1.1.88. */
export const isStructuredReportClass = (sopClassUid: string) =>
  sopClassUid.startsWith('1.2.840.10008.5.1.4.1.1.88.');

export const isPresentationStateClass = (sopClassUid: string) => sopClassUid === GSPS_SOP_CLASS;

const list = (value: unknown): Dataset[] =>
  value === undefined || value === null ? [] : ((Array.isArray(value) ? value : [value]) as Dataset[]);
const numbers = (value: unknown): number[] =>
  value === undefined || value === null ? [] : (Array.isArray(value) ? value : [value]).map(Number);
const text = (value: unknown): string | null => {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map((v) => text(v) ?? '').join('\\');
  if (typeof value === 'object') return String((value as { Alphabetic?: string }).Alphabetic ?? '');
  return String(value);
};
const meaning = (sequence: unknown): string | null => {
  const item = list(sequence)[0];
  return item ? (text(item['CodeMeaning']) ?? text(item['CodeValue'])) : null;
};
const codeOf = (sequence: unknown) => {
  const item = list(sequence)[0];
  return item ? `${text(item['CodingSchemeDesignator'])}:${text(item['CodeValue'])}` : null;
};

function readDataset(bytes: Uint8Array): Dataset {
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const dict = DicomMessage.readFile(buffer);
    return DicomMetaDictionary.naturalizeDataset(dict.dict) as Dataset;
  } catch (error) {
    throw new AppError(
      'bad_input',
      `not a readable DICOM file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function itemValue(item: Dataset): string {
  switch (text(item['ValueType'])) {
    case 'TEXT':
      return text(item['TextValue']) ?? '';
    case 'NUM': {
      const measured = list(item['MeasuredValueSequence'])[0];
      if (!measured) return '(no value)';
      const unitItem = list(measured['MeasurementUnitsCodeSequence'])[0];
      const unit = unitItem ? text(unitItem['CodeValue']) : null;
      const shown = unit === '1' ? '' : unit === '{pixels}' ? 'pixels' : (unit ?? '');
      return `${text(measured['NumericValue']) ?? ''}${shown ? ` ${shown}` : ''}`;
    }
    case 'CODE':
      return meaning(item['ConceptCodeSequence']) ?? '';
    case 'UIDREF':
      return text(item['UID']) ?? '';
    case 'DATE':
      return text(item['Date']) ?? '';
    case 'TIME':
      return text(item['Time']) ?? '';
    case 'DATETIME':
      return text(item['DateTime']) ?? '';
    case 'PNAME':
      return text(item['PersonName']) ?? '';
    case 'IMAGE':
    case 'COMPOSITE': {
      const ref = list(item['ReferencedSOPSequence'])[0];
      if (!ref) return '(no reference)';
      const frame = text(ref['ReferencedFrameNumber']);
      return `image ${text(ref['ReferencedSOPInstanceUID'])}${frame ? `, frame ${frame}` : ''}`;
    }
    case 'SCOORD':
    case 'SCOORD3D': {
      const points = numbers(item['GraphicData']).length / (text(item['ValueType']) === 'SCOORD' ? 2 : 3);
      return `${text(item['GraphicType']) ?? ''} (${points} point${points === 1 ? '' : 's'})`;
    }
    default:
      return '';
  }
}

function readItem(item: Dataset, depth: number): ReportItem {
  // A malicious file could nest without end; SR trees in practice are a few levels deep.
  if (depth > 64) throw new AppError('bad_input', 'the report nests content items more than 64 deep');
  return {
    relationship: text(item['RelationshipType']),
    valueType: text(item['ValueType']) ?? '',
    concept: meaning(item['ConceptNameCodeSequence']),
    value: itemValue(item),
    children: list(item['ContentSequence']).map((child) => readItem(child, depth + 1)),
  };
}

/** Any SR as a tree; AppError('unsupported') for a file that is not an SR. */
export function readStructuredReport(bytes: Uint8Array): StructuredReport {
  const ds = readDataset(bytes);
  const sopClassUid = text(ds['SOPClassUID']) ?? '';
  if (!isStructuredReportClass(sopClassUid))
    throw new AppError('unsupported', `not a structured report (SOP Class ${sopClassUid || 'missing'})`);
  return {
    sopClassUid,
    title: meaning(ds['ConceptNameCodeSequence']) ?? 'Structured report',
    completion: text(ds['CompletionFlag']),
    verification: text(ds['VerificationFlag']),
    contentDate: text(ds['ContentDate']),
    contentTime: text(ds['ContentTime']),
    template: text(list(ds['ContentTemplateSequence'])[0]?.['TemplateIdentifier']),
    items: list(ds['ContentSequence']).map((item) => readItem(item, 1)),
  };
}

/** Annotations read back from a report or presentation state, with the image each one is on. */
export interface ReferencedAnnotation extends ImageAnnotation {
  sopInstanceUid: string;
}

function pairs(data: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push([data[i]!, data[i + 1]!]);
  return out;
}

function toolFor(concept: string | null, points: number): AnnotationTool | null {
  if (
    concept === `${LENGTH_CONCEPT['CodingSchemeDesignator']}:${LENGTH_CONCEPT['CodeValue']}` &&
    points === 2
  )
    return 'Length';
  if (concept === `${ANGLE_CONCEPT['CodingSchemeDesignator']}:${ANGLE_CONCEPT['CodeValue']}` && points === 3)
    return 'Angle';
  // Other reports' polylines: two points read as a length, three as an angle.
  return points === 2 ? 'Length' : points === 3 ? 'Angle' : points === 1 ? 'Probe' : null;
}

function fromReport(ds: Dataset): ReferencedAnnotation[] {
  const out: ReferencedAnnotation[] = [];
  const walk = (items: Dataset[], group: { label?: string; uid?: string }, depth: number) => {
    if (depth > 64) return;
    for (const item of items) {
      const valueType = text(item['ValueType']);
      const concept = codeOf(item['ConceptNameCodeSequence']);
      if (valueType === 'CONTAINER' && concept === 'DCM:125007') {
        const children = list(item['ContentSequence']);
        const find = (code: string) =>
          children.find((c) => codeOf(c['ConceptNameCodeSequence']) === code) ?? undefined;
        const label = text(find('DCM:112039')?.['TextValue']) ?? undefined;
        const uid = text(find('DCM:112040')?.['UID']) ?? undefined;
        walk(children, { label, uid }, depth + 1);
        continue;
      }
      if (valueType === 'NUM') {
        for (const child of list(item['ContentSequence'])) {
          if (text(child['ValueType']) !== 'SCOORD') continue;
          const points = pairs(numbers(child['GraphicData']));
          const tool = toolFor(concept, points.length);
          const image = list(child['ContentSequence']).find((c) => text(c['ValueType']) === 'IMAGE');
          const ref = list(image?.['ReferencedSOPSequence'])[0];
          if (!tool || !ref) continue;
          out.push({
            uid: group.uid ?? `${text(ref['ReferencedSOPInstanceUID'])}-${out.length}`,
            sopInstanceUid: text(ref['ReferencedSOPInstanceUID']) ?? '',
            frame: Math.max(0, Number(text(ref['ReferencedFrameNumber']) ?? '1') - 1),
            tool,
            points,
            ...(group.label ? { label: group.label } : {}),
          });
        }
      }
      walk(list(item['ContentSequence']), group, depth + 1);
    }
  };
  walk(list(ds['ContentSequence']), {}, 0);
  return out;
}

function fromPresentationState(ds: Dataset, sopInstanceUid: string): ReferencedAnnotation[] {
  const out: ReferencedAnnotation[] = [];
  for (const [g, annotation] of list(ds['GraphicAnnotationSequence']).entries()) {
    const texts = list(annotation['TextObjectSequence']);
    for (const ref of list(annotation['ReferencedImageSequence'])) {
      for (const [o, graphic] of list(annotation['GraphicObjectSequence']).entries()) {
        if (text(graphic['GraphicAnnotationUnits']) !== 'PIXEL') continue;
        const points = pairs(numbers(graphic['GraphicData']));
        const tool = toolFor(null, points.length);
        if (!tool) continue;
        out.push({
          uid: `${sopInstanceUid}-${g}-${o}`,
          sopInstanceUid: text(ref['ReferencedSOPInstanceUID']) ?? '',
          frame: Math.max(0, Number(text(ref['ReferencedFrameNumber']) ?? '1') - 1),
          tool,
          points,
          ...(texts[o] ? { label: text(texts[o]!['UnformattedTextValue']) ?? '' } : {}),
        });
      }
    }
  }
  return out;
}

/**
 * The measurements an SR (TID 1500-style measurement groups, or any NUM inferred from a 2D SCOORD)
 * or a GSPS (pixel-unit polylines and points) places on images; empty for other objects.
 */
export function readReportAnnotations(bytes: Uint8Array): ReferencedAnnotation[] {
  const ds = readDataset(bytes);
  const sopClassUid = text(ds['SOPClassUID']) ?? '';
  if (isStructuredReportClass(sopClassUid)) return fromReport(ds);
  if (isPresentationStateClass(sopClassUid))
    return fromPresentationState(ds, text(ds['SOPInstanceUID']) ?? '');
  return [];
}
