// What a PACS search asks and answers, independent of the protocol (QIDO-RS or C-FIND).
import { z } from 'zod';
import { AppError } from '../util/errors.ts';

const dicomDate = z.string().regex(/^\d{8}$/, 'a date is YYYYMMDD');
const keyText = z
  .string()
  .max(64)
  .regex(/^[^\\\r\n]*$/, 'no backslash or line breaks');

export const studyQuerySchema = z.strictObject({
  patientName: keyText.optional(),
  patientId: keyText.optional(),
  accessionNumber: keyText.optional(),
  /** Inclusive range; either end may be missing. */
  dateFrom: dicomDate.optional(),
  dateTo: dicomDate.optional(),
  /** e.g. ['CR', 'DX']: studies with any of them. */
  modalities: z
    .array(z.string().regex(/^[A-Z]{2,16}$/, 'a modality is an upper-case code like CR'))
    .max(16)
    .optional(),
  bodyPart: keyText.optional(),
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).max(1_000_000).default(0),
});
export type StudyQuery = z.input<typeof studyQuerySchema>;

export const studyResultSchema = z.strictObject({
  studyInstanceUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  accessionNumber: z.string(),
  studyDate: z.string(),
  studyDescription: z.string(),
  modalities: z.array(z.string()),
  numberOfSeries: z.number().nullable(),
  numberOfInstances: z.number().nullable(),
});
export type StudyResult = z.infer<typeof studyResultSchema>;

export const seriesResultSchema = z.strictObject({
  studyInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  modality: z.string(),
  seriesNumber: z.string(),
  seriesDescription: z.string(),
  bodyPart: z.string(),
  numberOfInstances: z.number().nullable(),
});
export type SeriesResult = z.infer<typeof seriesResultSchema>;

export interface InstanceRef {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

export function parseStudyQuery(input: unknown): z.infer<typeof studyQuerySchema> {
  const parsed = studyQuerySchema.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'bad_input',
      `invalid PACS search: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const q = parsed.data;
  if (q.dateFrom && q.dateTo && q.dateFrom > q.dateTo)
    throw new AppError(
      'bad_input',
      `invalid PACS search: dateFrom ${q.dateFrom} is after dateTo ${q.dateTo}`,
    );
  return q;
}

/** A typed name matches as a prefix (as PACS viewers do): "smith" asks for "smith*". */
export function nameMatch(name: string): string {
  return /[*?]/.test(name) ? name : `${name}*`;
}

/** DICOM range matching: "from-to", "from-", "-to". */
export function dateRange(from?: string, to?: string): string | undefined {
  if (!from && !to) return undefined;
  if (from && from === to) return from;
  return `${from ?? ''}-${to ?? ''}`;
}

export const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;
export function checkUid(uid: string, what: string): string {
  if (uid.length > 64 || !UID_PATTERN.test(uid))
    throw new AppError('bad_input', `${what} is not a DICOM UID`);
  return uid;
}
