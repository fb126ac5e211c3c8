// Encoding of the data sets we write: Part 10 files (explicit VR little endian, via dcmjs), our
// implementation UID, UIDs, DICOM dates/times/DS values, the Image Pixel module and coded concepts.
// Shared by the Secondary Capture and SR writers (secondary-capture.ts, structured-report.ts).
import { createHash, randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';
import { AppError } from '../util/errors.ts';
import type { GrayImage } from '../util/image.ts';
import { writeFileAtomic } from '../util/image-io.ts';
import type { StoredArray } from './decode.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation's UID: a fixed 2.25 UID derived from the product name. */
export const IMPLEMENTATION_CLASS_UID = uidFromHash('R2C Workstation implementation');
const IMPLEMENTATION_VERSION = 'R2C_0.1';
export const SOFTWARE_NAME = 'R2C Workstation';

export interface WrittenDicom {
  /** The Part 10 file (preamble + meta + data set, explicit VR little endian). */
  bytes: Uint8Array;
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  /** The stored pixel values written (row-major, interleaved for RGB). */
  stored: StoredArray;
}

/** Writes a DICOM file atomically (temp + fsync + rename). */
export async function saveDicom(path: string, written: WrittenDicom): Promise<void> {
  await writeFileAtomic(path, written.bytes);
}

export function checkImage(image: GrayImage): void {
  const { width, height, data } = image;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 65535 ||
    height > 65535
  ) {
    throw new AppError('bad_input', `image size ${width}x${height} cannot be stored in DICOM Rows/Columns`);
  }
  if (data.length !== width * height) {
    throw new AppError('bad_input', `image data has ${data.length} values for ${width}x${height}`);
  }
}

export function clamp01(v: number): number {
  return v > 0 ? Math.min(v, 1) : 0; // NaN -> 0
}

export function imagePixelAttributes(
  width: number,
  height: number,
  bitsAllocated: number,
  bitsStored: number,
  pixelRepresentation: number,
  photometric: string,
  stored: StoredArray,
): Record<string, unknown> {
  const rgb = photometric === 'RGB';
  // Pixel Data is written little-endian; an odd byte count is padded to even length (PS3.5 7.1).
  const raw = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  const padded = new Uint8Array(raw.length + (raw.length % 2));
  padded.set(raw);
  return {
    SamplesPerPixel: rgb ? 3 : 1,
    PhotometricInterpretation: photometric,
    ...(rgb ? { PlanarConfiguration: 0 } : {}),
    Rows: height,
    Columns: width,
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: pixelRepresentation,
    PixelData: padded.buffer,
    _vrMap: { PixelData: bitsAllocated > 8 ? 'OW' : 'OB' },
  };
}

/** A coded concept (Code Sequence item); Code Meaning is cut to 64 characters. */
export function codedConcept(value: string, scheme: string, meaning: string): Record<string, unknown> {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning.slice(0, 64) };
}

/** The SR observer context of a report made by this software (TID 1002: observer type device). */
export function deviceObserverContext(): Record<string, unknown>[] {
  return [
    {
      RelationshipType: 'HAS OBS CONTEXT',
      ValueType: 'CODE',
      ConceptNameCodeSequence: [codedConcept('121005', 'DCM', 'Observer Type')],
      ConceptCodeSequence: [codedConcept('121007', 'DCM', 'Device')],
    },
    {
      RelationshipType: 'HAS OBS CONTEXT',
      ValueType: 'UIDREF',
      ConceptNameCodeSequence: [codedConcept('121012', 'DCM', 'Device Observer UID')],
      UID: IMPLEMENTATION_CLASS_UID,
    },
    {
      RelationshipType: 'HAS OBS CONTEXT',
      ValueType: 'TEXT',
      ConceptNameCodeSequence: [codedConcept('121013', 'DCM', 'Device Observer Name')],
      TextValue: SOFTWARE_NAME,
    },
  ];
}

/** A fresh UID from dcmjs, for new studies, series and instances. */
export function generateUid(): string {
  return DicomMetaDictionary.uid();
}

export function uidFromHash(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  // 2.25.<128-bit integer> (PS3.5 B.2): at most 44 characters.
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

/** A fresh random UID (2.25 form), e.g. for callers that need one before writing. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

export function dicomDate(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

export function dicomTime(d: Date): string {
  return d.toISOString().slice(11, 19).replace(/:/g, '');
}

/** DS values are at most 16 characters. */
export function formatDs(value: number): string {
  for (let digits = 10; digits >= 1; digits--) {
    const text = String(Number(value.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  return String(Math.round(value));
}

export function encodePart10(dataset: Record<string, unknown>, sopInstanceUid: string): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset['SOPClassUID'],
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  };
  try {
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
    return new Uint8Array(dict.write());
  } catch (error) {
    throw new AppError(
      'internal',
      `cannot encode DICOM: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
