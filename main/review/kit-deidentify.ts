// De-identification of reading kits (PS3.15 Annex E, the Basic Application Level Confidentiality
// Profile of dicom/deidentify.ts). A kit carries pixels only (PNGs without text chunks, a sidecar of
// display values) and a protocol keyed by img-<n>, so the header risk is what the kit's text might
// still carry: every value the profile removes or replaces (patient, study, UIDs, dates, accession,
// descriptions) and the source file's name is collected here and the whole kit is checked for it
// before it is written. Burned-in text is in the pixels: an image whose header says Burned In
// Annotation YES, or a secondary capture that does not say NO, is refused unless the owner includes
// it explicitly (recorded in the audit trail and the kit).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDicomBytes, patientAndStudy, readDicomHeader } from '../dicom/index.ts';

export const kitDeidentificationProfile =
  'PS3.15 Annex E Basic Application Level Confidentiality Profile (attributes not carried; kit text checked)';

/** What the kit export needs to know of a source image to de-identify and check it. */
export interface KitImageSource {
  /** How the owner knows the image, for messages (never written into the kit). */
  name: string;
  /** (0028,0301) as stored: 'YES', 'NO' or null when absent. */
  burnedInAnnotation: string | null;
  modality: string | null;
  sopClassUid: string | null;
  /** (0008,0008) values joined with '\'. */
  imageType: string | null;
  /** Values the Annex E profile removes or replaces, and the file name: none may appear in the kit. */
  identifiers: string[];
}

const SECONDARY_CAPTURE = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.7(\.|$)/;

/**
 * Why an image may show burned-in text, or null. YES says so; a secondary capture (modality SC/OT or
 * an SC SOP class) is a screen or film capture that often carries text, so it passes only with an
 * explicit NO. (Image type DERIVED\SECONDARY alone, e.g. a reformat, is not taken as a risk.)
 */
export function burnedInRisk(source: KitImageSource): string | null {
  const flag = source.burnedInAnnotation?.trim().toUpperCase() ?? null;
  if (flag === 'YES') return 'its DICOM header says Burned In Annotation = YES';
  if (flag === 'NO') return null;
  const modality = source.modality?.trim().toUpperCase();
  if (modality === 'SC' || modality === 'OT')
    return `modality ${modality} (a secondary capture) without Burned In Annotation = NO`;
  if (source.sopClassUid && SECONDARY_CAPTURE.test(source.sopClassUid))
    return 'a Secondary Capture image without Burned In Annotation = NO';
  return null;
}

/** Identifying strings worth checking: long enough not to match by chance (UIDs, names, dates, ids). */
function identifying(values: readonly (string | null | undefined)[]): string[] {
  const out = new Set<string>();
  for (const raw of values) {
    const value = raw?.trim();
    if (!value || value.length < 4) continue;
    out.add(value);
    // Person names: each component (Family^Given) on its own as well.
    if (value.includes('^'))
      for (const part of value.split('^')) if (part.trim().length >= 4) out.add(part.trim());
  }
  return [...out];
}

/**
 * A library image's source as the kit export sees it: the DICOM header's burned-in flags and every
 * value the Annex E Basic Profile would remove or replace. A PNG/JPEG import has no header (only
 * its file name identifies it).
 */
export function kitImageSource(image: {
  name: string;
  filePath: string;
  sourcePath: string;
  sourceFormat: 'dicom' | 'image';
}): KitImageSource {
  const fileName = basename(image.sourcePath.split('!/').pop() ?? image.sourcePath);
  const stem = fileName.replace(/\.[A-Za-z0-9]{1,5}$/, '');
  if (image.sourceFormat !== 'dicom')
    return {
      name: image.name,
      burnedInAnnotation: 'NO',
      modality: null,
      sopClassUid: null,
      imageType: null,
      identifiers: identifying([fileName, stem.length >= 6 ? stem : null]),
    };
  const bytes = readFileSync(image.filePath);
  const header = readDicomHeader(bytes);
  const ds = parseDicomBytes(bytes).dataSet;
  const text = (tag: string) => ds.string(tag)?.trim() || null;
  const profile = patientAndStudy(header, undefined, (uid) => uid);
  return {
    name: image.name,
    burnedInAnnotation: text('x00280301'),
    modality: header.modality ?? null,
    sopClassUid: header.sopClassUid || null,
    imageType: text('x00080008'),
    identifiers: identifying([
      ...Object.values(profile).map((v) => (typeof v === 'string' ? v : null)),
      header.sopInstanceUid,
      header.seriesInstanceUid,
      header.seriesDescription,
      text('x00080012'), // Instance Creation Date
      text('x00080021'), // Series Date
      text('x00080022'), // Acquisition Date
      text('x00080023'), // Content Date
      text('x00080080'), // Institution Name
      text('x00081070'), // Operators' Name
      text('x00181000'), // Device Serial Number
      text('x00200052'), // Frame of Reference UID
      fileName,
      stem.length >= 6 ? stem : null,
    ]),
  };
}

/** The identifiers of `sources` found in `bytes` (a kit entry), with the image each belongs to. */
export function leakedIdentifiers(
  bytes: Uint8Array,
  sources: Iterable<KitImageSource>,
): { image: string; value: string }[] {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: { image: string; value: string }[] = [];
  for (const source of sources)
    for (const value of source.identifiers)
      if (haystack.includes(Buffer.from(value, 'utf8')) || haystack.includes(Buffer.from(value, 'latin1')))
        found.push({ image: source.name, value });
  return found;
}

/** A library image's kit source, named as the owner knows it ("library image 12 (CR, CHEST PA)"). */
export function libraryKitSource(
  library: {
    getInstance(id: number): {
      filePath: string;
      sourcePath: string;
      sourceFormat: 'dicom' | 'image';
      header: { modality: string | null; bodyPartExamined?: string | null };
    };
  },
  imageId: string,
): KitImageSource {
  const detail = library.getInstance(Number(imageId));
  const what = [detail.header.modality, detail.sourceFormat === 'image' ? 'PNG/JPEG import' : null]
    .filter(Boolean)
    .join(', ');
  return kitImageSource({
    name: `library image ${imageId}${what ? ` (${what})` : ''}`,
    filePath: detail.filePath,
    sourcePath: detail.sourcePath,
    sourceFormat: detail.sourceFormat,
  });
}
