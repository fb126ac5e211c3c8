import { createHash } from 'node:crypto';
import {
  detectKind,
  HEADER_BYTES,
  isRasterKind,
  type RasterKind,
  unsupportedReason,
} from '../data/input/index.ts';
import { createSecondaryCapture, type DicomHeader, readDicomHeader } from '../dicom/index.ts';
import { AppError } from '../util/errors.ts';

/** The header fields the library indexes: the DICOM reader's, with decodability flattened for SQL. */
export type InstanceHeader = Pick<
  DicomHeader,
  | 'sopInstanceUid'
  | 'sopClassUid'
  | 'studyInstanceUid'
  | 'seriesInstanceUid'
  | 'patientId'
  | 'patientName'
  | 'patientBirthDate'
  | 'patientSex'
  | 'studyDate'
  | 'studyTime'
  | 'studyDescription'
  | 'accessionNumber'
  | 'seriesNumber'
  | 'seriesDescription'
  | 'modality'
  | 'instanceNumber'
  | 'rows'
  | 'columns'
  | 'bitsAllocated'
  | 'bitsStored'
  | 'pixelRepresentation'
  | 'photometricInterpretation'
  | 'samplesPerPixel'
  | 'numberOfFrames'
  | 'transferSyntaxUid'
  | 'transferSyntaxName'
> & {
  /** Whether the viewer/model can decode the pixels; when not, the reader's reason. */
  decodable: boolean;
  undecodableReason?: string;
};

export type SourceFormat = 'dicom' | RasterKind;

/**
 * What the bytes are, by the input module's detector (the one every command uses): DICOM with or
 * without the preamble, PNG, JPEG or TIFF; anything else is refused with the reason every command
 * gives. A file with a DICOM extension (.dcm, .dicom, .dic) but unrecognisable bytes goes to the DICOM
 * reader, which says what is wrong.
 */
export function detectFormat(bytes: Uint8Array, name?: string): SourceFormat {
  const kind = detectKind(bytes.subarray(0, HEADER_BYTES), name);
  if (kind === 'dicom' || isRasterKind(kind)) return kind;
  throw new AppError('unsupported', unsupportedReason(kind));
}

/**
 * Header of a DICOM file; throws the reader's AppError('bad_input') naming what is wrong. Some
 * valid-enough files lack UIDs: those get UIDs derived from the content hash, so each such file
 * becomes its own instance/series/study instead of being refused or merged with others.
 */
export function decodeDicom(bytes: Uint8Array, sha256: string): InstanceHeader {
  const { decodable, ...header } = readDicomHeader(bytes);
  return {
    ...header,
    sopInstanceUid: header.sopInstanceUid || hashUid(sha256, 0),
    studyInstanceUid: header.studyInstanceUid || hashUid(sha256, 1),
    seriesInstanceUid: header.seriesInstanceUid || hashUid(sha256, 2),
    decodable: decodable.ok,
    ...(decodable.ok ? {} : { undecodableReason: decodable.reason }),
  };
}

/** A UID under the 2.25 root (UUID-sized integer, DICOM PS3.5 B.2) derived from a content hash. */
function hashUid(sha256: string, salt: number): string {
  return `2.25.${BigInt(`0x${sha256.slice(salt * 8, salt * 8 + 32)}`).toString()}`;
}

/**
 * A PNG, JPEG or TIFF becomes a DICOM Secondary Capture (8-bit MONOCHROME2, colour converted to luma) made
 * by the DICOM service; the library keeps that DICOM (always in its store: there is no original DICOM
 * to reference) and indexes it through the same reader as any other file. Each image gets its own
 * new study under an unnamed patient.
 */
export async function decodeImage(
  bytes: Uint8Array,
  format: RasterKind,
  fileName?: string,
): Promise<{ header: InstanceHeader; storedBytes: Uint8Array; extension: string; referenceable: boolean }> {
  const label = format.toUpperCase();
  const written = await createSecondaryCapture({
    image: bytes,
    // Study Description is LO: 64 characters at most.
    ...(fileName ? { study: { studyDescription: fileName.slice(0, 64) } } : {}),
    seriesDescription: `Imported ${label} image`,
  });
  const storedSha256 = createHash('sha256').update(written.bytes).digest('hex');
  return {
    header: decodeDicom(written.bytes, storedSha256),
    storedBytes: written.bytes,
    extension: 'dcm',
    referenceable: false,
  };
}
