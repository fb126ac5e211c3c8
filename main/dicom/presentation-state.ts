// The viewer's measurements and annotations as a Grayscale Softcopy Presentation State (PS3.3 A.33.1):
// one graphic layer with a polyline (or point) per annotation and its value as text, the window the
// reader chose as the Softcopy VOI LUT, on the referenced image in its study.
import { AppError } from '../util/errors.ts';
import {
  type DeidentifyOptions,
  deidentificationAttributes,
  patientAndStudy,
  uidMapper,
} from './deidentify.ts';
import {
  dicomDate,
  dicomTime,
  encodePart10,
  formatDs,
  generateUid,
  SOFTWARE_NAME,
  type WrittenDicom,
} from './encode.ts';
import { readDicomHeader } from './header.ts';
import {
  checkAnnotations,
  type ImageAnnotation,
  type MeasurementSpacing,
  measure,
} from './measurement-report.ts';

export const GSPS_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.11.1';
export const GSPS_LAYER = 'R2C MEASUREMENTS';

const unitText = { mm: 'mm', pixels: 'px', deg: '°' } as const;

/** The text a GSPS shows beside an annotation: its label and measured value. */
export function annotationText(annotation: ImageAnnotation, spacing: MeasurementSpacing): string {
  const measured = measure(annotation, spacing);
  const value = measured ? `${measured.value.toFixed(1)} ${unitText[measured.unit]}` : '';
  return [annotation.label, value].filter(Boolean).join(' ') || annotation.tool;
}

export function writePresentationState(
  source: Uint8Array,
  annotations: readonly ImageAnnotation[],
  spacing: MeasurementSpacing,
  options: { now?: Date; deidentify?: DeidentifyOptions; window?: { center: number; width: number } } = {},
): WrittenDicom {
  const header = readDicomHeader(source);
  if (header.rows === 0 || !header.photometricInterpretation.startsWith('MONOCHROME'))
    throw new AppError('unsupported', 'a grayscale presentation state needs a grayscale image');
  checkAnnotations(annotations, header);
  if (annotations.length === 0) throw new AppError('bad_input', 'the image has no annotation to save');
  const now = options.now ?? new Date();
  const deid = options.deidentify;
  const mapUid = uidMapper(deid);
  const sopInstanceUid = generateUid();
  const seriesInstanceUid = generateUid();
  const patientStudy = patientAndStudy(header, deid, mapUid);
  const image = (frame?: number) => ({
    ReferencedSOPClassUID: header.sopClassUid,
    ReferencedSOPInstanceUID: mapUid(header.sopInstanceUid),
    ...(frame !== undefined && header.numberOfFrames > 1 ? { ReferencedFrameNumber: String(frame + 1) } : {}),
  });
  const frames = [...new Set(annotations.map((a) => a.frame))].sort((a, b) => a - b);
  const graphicAnnotations = frames.map((frame) => {
    const onFrame = annotations.filter((a) => a.frame === frame);
    return {
      ReferencedImageSequence: [image(frame)],
      GraphicLayer: GSPS_LAYER,
      GraphicObjectSequence: onFrame.map((a) => ({
        GraphicAnnotationUnits: 'PIXEL',
        GraphicDimensions: 2,
        NumberOfGraphicPoints: a.points.length,
        GraphicData: a.points.flat(),
        GraphicType: a.tool === 'Probe' ? 'POINT' : 'POLYLINE',
        GraphicFilled: 'N',
      })),
      TextObjectSequence: onFrame.map((a) => {
        const anchor = a.points[a.tool === 'Angle' ? 1 : a.points.length - 1]!;
        return {
          AnchorPointAnnotationUnits: 'PIXEL',
          UnformattedTextValue: annotationText(a, spacing),
          AnchorPoint: anchor,
          AnchorPointVisibility: 'N',
        };
      }),
    };
  });
  const monochrome1 = header.photometricInterpretation === 'MONOCHROME1';
  const modalityLut =
    header.rescaleSlope !== undefined || header.rescaleIntercept !== undefined
      ? {
          RescaleIntercept: formatDs(header.rescaleIntercept ?? 0),
          RescaleSlope: formatDs(header.rescaleSlope ?? 1),
          RescaleType: header.rescaleType || 'US',
        }
      : {};
  const window = options.window ?? header.windows[0];
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: GSPS_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    ...patientStudy,
    Modality: 'PR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: '2002',
    // Type 2C in General Series: the image's laterality where it says R or L, else empty.
    Laterality: header.laterality === 'R' || header.laterality === 'L' ? header.laterality : '',
    SeriesDescription: 'Annotations (R2C Workstation)',
    Manufacturer: SOFTWARE_NAME,
    InstanceNumber: '1',
    ContentLabel: 'R2C_ANNOTATIONS',
    ContentDescription: 'Measurements and annotations',
    PresentationCreationDate: dicomDate(now),
    PresentationCreationTime: dicomTime(now),
    ContentCreatorName: '',
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: header.seriesInstanceUid ? mapUid(header.seriesInstanceUid) : generateUid(),
        ReferencedImageSequence: [image()],
      },
    ],
    DisplayedAreaSelectionSequence: [
      {
        DisplayedAreaTopLeftHandCorner: [1, 1],
        DisplayedAreaBottomRightHandCorner: [header.columns, header.rows],
        PresentationSizeMode: 'SCALE TO FIT',
        PresentationPixelAspectRatio: [1, 1],
      },
    ],
    GraphicAnnotationSequence: graphicAnnotations,
    GraphicLayerSequence: [
      { GraphicLayer: GSPS_LAYER, GraphicLayerOrder: 1, GraphicLayerDescription: 'Viewer measurements' },
    ],
    ...modalityLut,
    ...(window
      ? {
          SoftcopyVOILUTSequence: [
            { WindowCenter: formatDs(window.center), WindowWidth: formatDs(Math.max(1, window.width)) },
          ],
        }
      : {}),
    // MONOCHROME1 is shown low values white: the presentation LUT inverts (PS3.3 C.11.6.1).
    PresentationLUTShape: monochrome1 ? 'INVERSE' : 'IDENTITY',
    ...(deid ? deidentificationAttributes() : {}),
  };
  return {
    bytes: encodePart10(dataset, sopInstanceUid),
    sopClassUid: GSPS_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: patientStudy['StudyInstanceUID'] as string,
    stored: new Uint8Array(0),
  };
}
