// The viewer's measurements as a DICOM SR with TID 1500 "Measurement Report" content (Comprehensive
// SR IOD): one Measurement Group (TID 1501) per length or angle, the value as a NUM inferred from a
// SCOORD polyline selected from the measured image. dcmjs's measurement-report adapters target the
// legacy Cornerstone tool state (and moved to @cornerstonejs/adapters, a renderer library), so the
// data set is built here with dcmjs's writer (encode.ts) like our other SR.
import { AppError } from '../util/errors.ts';
import {
  type DeidentifyOptions,
  deidentificationAttributes,
  patientAndStudy,
  uidMapper,
} from './deidentify.ts';
import {
  codedConcept as code,
  deviceObserverContext,
  dicomDate,
  dicomTime,
  encodePart10,
  formatDs,
  generateUid,
  SOFTWARE_NAME,
  uidFromHash,
  type WrittenDicom,
} from './encode.ts';
import { type DicomHeader, readDicomHeader } from './header.ts';
import { COMPREHENSIVE_SR_SOP_CLASS } from './structured-report.ts';

/** The measurement tools the viewer keeps, as the SR and GSPS carry them. */
export type AnnotationTool = 'Length' | 'Angle' | 'Probe';

/**
 * One measurement or annotation on one frame of an image, in DICOM image coordinates: (column, row)
 * with (0, 0) the top left corner of the top left pixel (PS3.3 C.18.6.1.1), so pixel centres sit at .5.
 */
export interface ImageAnnotation {
  /** Stable id (the viewer's annotation UID; a report's Tracking Unique Identifier when read back). */
  uid: string;
  /** 0-based frame. */
  frame: number;
  tool: AnnotationTool;
  points: [number, number][];
  label?: string;
}

/** Pixel spacing of the measured image, or null when uncalibrated (lengths are then in pixels). */
export type MeasurementSpacing = { row: number; column: number } | null;

export const TID_1500 = '1500';
export const LENGTH_CONCEPT = code('410668003', 'SCT', 'Length');
export const ANGLE_CONCEPT = code('1483009', 'SCT', 'Angle');
const MEASUREMENT_GROUP = code('125007', 'DCM', 'Measurement Group');
const TRACKING_IDENTIFIER = code('112039', 'DCM', 'Tracking Identifier');
const TRACKING_UID = code('112040', 'DCM', 'Tracking Unique Identifier');

const POINT_COUNT: Record<AnnotationTool, number> = { Length: 2, Angle: 3, Probe: 1 };

/** Throws AppError('bad_input') naming the first annotation that cannot be written. */
export function checkAnnotations(annotations: readonly ImageAnnotation[], header: DicomHeader): void {
  for (const a of annotations) {
    if (a.points.length !== POINT_COUNT[a.tool])
      throw new AppError(
        'bad_input',
        `annotation ${a.uid}: a ${a.tool} has ${POINT_COUNT[a.tool]} points, not ${a.points.length}`,
      );
    if (!a.points.every((p) => p.every(Number.isFinite)))
      throw new AppError('bad_input', `annotation ${a.uid}: a point is not a finite number`);
    if (!Number.isInteger(a.frame) || a.frame < 0 || a.frame >= Math.max(1, header.numberOfFrames))
      throw new AppError('bad_input', `annotation ${a.uid}: frame ${a.frame + 1} is not in the image`);
  }
}

/** A length in mm (calibrated) or pixels, and an angle in degrees, from image coordinates. */
export function measure(
  annotation: Pick<ImageAnnotation, 'tool' | 'points'>,
  spacing: MeasurementSpacing,
): { value: number; unit: 'mm' | 'pixels' | 'deg' } | null {
  const sx = spacing?.column ?? 1;
  const sy = spacing?.row ?? 1;
  const [a, b, c] = annotation.points;
  if (annotation.tool === 'Length' && a && b)
    return { value: Math.hypot((b[0] - a[0]) * sx, (b[1] - a[1]) * sy), unit: spacing ? 'mm' : 'pixels' };
  if (annotation.tool === 'Angle' && a && b && c) {
    // Angle at the middle point, in the physical plane.
    const u = [(a[0] - b[0]) * sx, (a[1] - b[1]) * sy];
    const v = [(c[0] - b[0]) * sx, (c[1] - b[1]) * sy];
    const cos = (u[0]! * v[0]! + u[1]! * v[1]!) / (Math.hypot(u[0]!, u[1]!) * Math.hypot(v[0]!, v[1]!));
    return { value: (Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI, unit: 'deg' };
  }
  return null;
}

const UNITS = {
  mm: code('mm', 'UCUM', 'millimeter'),
  pixels: code('{pixels}', 'UCUM', 'pixels'),
  deg: code('deg', 'UCUM', 'degree'),
} as const;

/** The image a report refers to: its SOP Class and Instance, with the frame on multi-frame images. */
function imageReference(header: DicomHeader, mapUid: (uid: string) => string, frame?: number) {
  return {
    ReferencedSOPClassUID: header.sopClassUid,
    ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
    ...(frame !== undefined && header.numberOfFrames > 1 ? { ReferencedFrameNumber: String(frame + 1) } : {}),
  };
}

/** Identical SOP Instance Reference Macro for the referenced image (PS3.3 C.17.2.3). */
export function evidence(header: DicomHeader, mapUid: (uid: string) => string) {
  return [
    {
      StudyInstanceUID: header.studyInstanceUid ? mapUid(header.studyInstanceUid) : generateUid(),
      ReferencedSeriesSequence: [
        {
          SeriesInstanceUID: header.seriesInstanceUid ? mapUid(header.seriesInstanceUid) : generateUid(),
          ReferencedSOPSequence: [imageReference(header, mapUid)],
        },
      ],
    },
  ];
}

function measurementGroup(
  annotation: ImageAnnotation,
  index: number,
  header: DicomHeader,
  spacing: MeasurementSpacing,
  mapUid: (uid: string) => string,
): Record<string, unknown> {
  const measured = measure(annotation, spacing)!;
  const concept = annotation.tool === 'Length' ? LENGTH_CONCEPT : ANGLE_CONCEPT;
  return {
    RelationshipType: 'CONTAINS',
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [MEASUREMENT_GROUP],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1501' }],
    ContentSequence: [
      {
        RelationshipType: 'HAS OBS CONTEXT',
        ValueType: 'TEXT',
        ConceptNameCodeSequence: [TRACKING_IDENTIFIER],
        TextValue: (annotation.label || `${annotation.tool} ${index + 1}`).slice(0, 64),
      },
      {
        RelationshipType: 'HAS OBS CONTEXT',
        ValueType: 'UIDREF',
        ConceptNameCodeSequence: [TRACKING_UID],
        // The same annotation always gets the same tracking UID, so a re-export tracks it.
        UID: uidFromHash(`r2c-annotation\u0000${annotation.uid}`),
      },
      {
        RelationshipType: 'CONTAINS',
        ValueType: 'NUM',
        ConceptNameCodeSequence: [concept],
        MeasuredValueSequence: [
          { MeasurementUnitsCodeSequence: [UNITS[measured.unit]], NumericValue: formatDs(measured.value) },
        ],
        ContentSequence: [
          {
            RelationshipType: 'INFERRED FROM',
            ValueType: 'SCOORD',
            GraphicType: annotation.tool === 'Probe' ? 'POINT' : 'POLYLINE',
            GraphicData: annotation.points.flat(),
            ContentSequence: [
              {
                RelationshipType: 'SELECTED FROM',
                ValueType: 'IMAGE',
                ReferencedSOPSequence: [imageReference(header, mapUid, annotation.frame)],
              },
            ],
          },
        ],
      },
    ],
  };
}

/**
 * The measurements (lengths and angles; probes carry no measurement and are left out) of one image
 * as a TID 1500 Measurement Report in the image's study, optionally de-identified (Annex E).
 */
export function writeMeasurementReport(
  source: Uint8Array,
  annotations: readonly ImageAnnotation[],
  spacing: MeasurementSpacing,
  options: { now?: Date; deidentify?: DeidentifyOptions } = {},
): WrittenDicom {
  const header = readDicomHeader(source);
  checkAnnotations(annotations, header);
  const measurements = annotations.filter((a) => a.tool !== 'Probe');
  if (measurements.length === 0)
    throw new AppError('bad_input', 'the image has no length or angle measurement to report');
  const now = options.now ?? new Date();
  const deid = options.deidentify;
  const mapUid = uidMapper(deid);
  const sopInstanceUid = generateUid();
  const seriesInstanceUid = generateUid();
  const patientStudy = patientAndStudy(header, deid, mapUid);
  const content: Record<string, unknown>[] = [
    {
      RelationshipType: 'HAS CONCEPT MOD',
      ValueType: 'CODE',
      ConceptNameCodeSequence: [code('121049', 'DCM', 'Language of Content Item and Descendants')],
      ConceptCodeSequence: [code('en', 'RFC5646', 'English')],
    },
    ...deviceObserverContext(),
    {
      RelationshipType: 'HAS CONCEPT MOD',
      ValueType: 'CODE',
      ConceptNameCodeSequence: [code('121058', 'DCM', 'Procedure reported')],
      ConceptCodeSequence: [code('363680008', 'SCT', 'Radiographic imaging procedure')],
    },
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'CONTAINER',
      ConceptNameCodeSequence: [code('111028', 'DCM', 'Image Library')],
      ContinuityOfContent: 'SEPARATE',
      ContentSequence: [
        {
          RelationshipType: 'CONTAINS',
          ValueType: 'CONTAINER',
          ConceptNameCodeSequence: [code('126200', 'DCM', 'Image Library Group')],
          ContinuityOfContent: 'SEPARATE',
          ContentSequence: [
            {
              RelationshipType: 'CONTAINS',
              ValueType: 'IMAGE',
              ReferencedSOPSequence: [imageReference(header, mapUid)],
            },
          ],
        },
      ],
    },
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'CONTAINER',
      ConceptNameCodeSequence: [code('126010', 'DCM', 'Imaging Measurements')],
      ContinuityOfContent: 'SEPARATE',
      ContentSequence: measurements.map((a, i) => measurementGroup(a, i, header, spacing, mapUid)),
    },
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
    SeriesNumber: '2001',
    SeriesDescription: 'Measurements (R2C Workstation)',
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: SOFTWARE_NAME,
    InstanceNumber: '1',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: evidence(header, mapUid),
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('126000', 'DCM', 'Imaging Measurement Report')],
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: TID_1500 }],
    ContinuityOfContent: 'SEPARATE',
    ContentSequence: content,
    ...(deid ? deidentificationAttributes() : {}),
  };
  return {
    bytes: encodePart10(dataset, sopInstanceUid),
    sopClassUid: COMPREHENSIVE_SR_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: patientStudy['StudyInstanceUID'] as string,
    stored: new Uint8Array(0),
  };
}
