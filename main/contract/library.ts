// Library channels: hashing and importing files, browsing studies, series and instances, thumbnails.
import { z } from 'zod';
import { absolutePath, type ChannelSchemas, filePath, jobId, rowId } from './common.ts';

const studyDate = z.string().regex(/^\d{4}-?\d{2}-?\d{2}$/, 'must be a date, YYYY-MM-DD or YYYYMMDD');
const processingStatus = z.enum(['not_processed', 'restored', 'classified']);

const studySummary = z.object({
  id: rowId,
  studyInstanceUid: z.string(),
  patient: z.object({ id: rowId, patientId: z.string().nullable(), patientName: z.string().nullable() }),
  studyDate: z.string().nullable(),
  studyTime: z.string().nullable(),
  description: z.string().nullable(),
  accessionNumber: z.string().nullable(),
  modalities: z.array(z.string()),
  seriesCount: z.number().int().nonnegative(),
  instanceCount: z.number().int().nonnegative(),
});

const seriesSummary = z.object({
  id: rowId,
  seriesInstanceUid: z.string(),
  studyId: rowId,
  modality: z.string().nullable(),
  seriesNumber: z.number().int().nullable(),
  description: z.string().nullable(),
  instanceCount: z.number().int().nonnegative(),
});

const instanceSummary = z.object({
  id: rowId,
  sopInstanceUid: z.string(),
  seriesId: rowId,
  instanceNumber: z.number().int().nullable(),
  rows: z.number().int().nonnegative(),
  columns: z.number().int().nonnegative(),
  numberOfFrames: z.number().int().nonnegative(),
  photometricInterpretation: z.string(),
  transferSyntaxName: z.string(),
  decodable: z.boolean(),
  undecodableReason: z.string().nullable(),
  sourceFormat: z.enum(['dicom', 'image']),
  storage: z.enum(['managed', 'reference']),
  processingStatus,
});

export const libraryChannels = {
  hashFiles: {
    input: z.object({ jobId, paths: z.array(filePath).min(1).max(10000) }).strict(),
    output: z.object({
      files: z.array(
        z.union([
          z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: z.string().length(64) }),
          z.object({ path: z.string(), error: z.string() }),
        ]),
      ),
    }),
  },
  importPaths: {
    input: z
      .object({ jobId, paths: z.array(absolutePath).min(1).max(10000), mode: z.enum(['copy', 'reference']) })
      .strict(),
    output: z.object({
      total: z.number().int().nonnegative(),
      added: z.number().int().nonnegative(),
      duplicates: z.number().int().nonnegative(),
      failed: z.array(z.object({ path: z.string(), reason: z.string() })),
      duplicateItems: z.array(z.object({ path: z.string(), match: z.enum(['content', 'sopInstanceUid']) })),
      cancelled: z.boolean(),
    }),
  },
  listStudies: {
    input: z
      .object({
        search: z.string().max(200).optional(),
        modality: z
          .string()
          .regex(/^[A-Za-z0-9]{1,16}$/, 'must be a modality code such as CR or DX')
          .optional(),
        dateFrom: studyDate.optional(),
        dateTo: studyDate.optional(),
        limit: z.number().int().min(1).max(1000).optional(),
        offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
      })
      .strict(),
    output: z.object({ studies: z.array(studySummary) }),
  },
  listSeries: {
    input: z.object({ studyId: rowId }).strict(),
    output: z.object({ series: z.array(seriesSummary) }),
  },
  listInstances: {
    input: z.object({ seriesId: rowId }).strict(),
    output: z.object({ instances: z.array(instanceSummary) }),
  },
  getThumbnail: {
    input: z.object({ instanceId: rowId, size: z.number().int().min(32).max(512) }).strict(),
    output: z.object({
      dataUrl: z.string().regex(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    }),
  },
} satisfies Record<string, ChannelSchemas>;
