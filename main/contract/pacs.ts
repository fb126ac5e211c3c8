// PACS channels: connections (secrets go in, never out), search, retrieve into the library, sending
// derived results back, and the watch loop as a job.
// The shapes are declared here rather than imported from main/pacs: the renderer's type check follows
// the contract's imports, and main/pacs reaches main/dicom (dcmjs, no renderer typings).
// test/main/pacs/contract.test.ts checks they accept and refuse what the service does.
import { z } from 'zod';
import { absolutePath, type ChannelSchemas, jobId, modelId, rowId } from './common.ts';

const aeTitle = z
  .string()
  .regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title is 1 to 16 printable characters without backslash')
  .refine((s) => s.trim().length > 0, 'an AE title is not blank');
export const connectionSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a connection id is lower-case letters, digits, - and _'),
  name: z.string().min(1).max(128),
  dicomweb: z
    .strictObject({
      baseUrl: z.url({ protocol: /^https?$/ }),
      auth: z.enum(['none', 'basic', 'bearer']).default('none'),
      username: z.string().max(256).optional(),
      caFile: z.string().max(4096).optional(),
      timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
    })
    .optional(),
  dimse: z
    .strictObject({
      host: z.string().min(1).max(255),
      port: z.number().int().min(1).max(65535),
      calledAet: aeTitle,
      callingAet: aeTitle,
      retrieve: z.enum(['get', 'move']).default('get'),
      movePort: z.number().int().min(1).max(65535).optional(),
      timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
    })
    .optional(),
  prefer: z.enum(['dicomweb', 'dimse']).default('dicomweb'),
});
const keyText = z
  .string()
  .max(64)
  .regex(/^[^\\\r\n]*$/, 'no backslash or line breaks');
const dicomDate = z.string().regex(/^\d{8}$/, 'a date is YYYYMMDD');
export const studyQuerySchema = z.strictObject({
  patientName: keyText.optional(),
  patientId: keyText.optional(),
  accessionNumber: keyText.optional(),
  dateFrom: dicomDate.optional(),
  dateTo: dicomDate.optional(),
  modalities: z
    .array(z.string().regex(/^[A-Z]{2,16}$/, 'a modality is an upper-case code like CR'))
    .max(16)
    .optional(),
  bodyPart: keyText.optional(),
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).max(1_000_000).default(0),
});
const studyResultSchema = z.strictObject({
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
const seriesResultSchema = z.strictObject({
  studyInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  modality: z.string(),
  seriesNumber: z.string(),
  seriesDescription: z.string(),
  bodyPart: z.string(),
  numberOfInstances: z.number().nullable(),
});

const connectionId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a connection id is lower-case letters, digits, - and _');
const uid = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID')
  .max(64);
const protocol = z.enum(['dicomweb', 'dimse']);
const connectionView = connectionSchema.extend({ hasSecret: z.boolean() });
const appError = z.object({ code: z.string(), message: z.string() });
const sendStatus = z.enum(['sent', 'already-stored', 'refused', 'failed']);
const nodeShare = z
  .object({ index: z.number().int().min(1).max(1024), count: z.number().int().min(1).max(1024) })
  .strict()
  .refine((n) => n.index <= n.count, { message: 'node k of n needs 1 <= k <= n', path: ['index'] });
const watchStudyState = z.enum(['pending', 'processing', 'sent', 'failed']);
const watchQuery = studyQuerySchema;
const lookBackDays = z.number().int().min(0).max(3650);
const pollCount = z.number().int().nonnegative().nullable();

export const pacsChannels = {
  pacsListConnections: {
    input: z.object({}).strict(),
    output: z.object({
      connections: z.array(connectionView),
      secretProtection: z.enum(['os-keychain', 'file-permissions', 'memory']),
    }),
  },
  pacsSaveConnection: {
    input: z
      .object({
        connection: connectionSchema,
        /** A new password or token; null deletes the stored one; absent keeps it. */
        secret: z.string().min(1).max(4096).nullable().optional(),
      })
      .strict(),
    output: connectionView,
  },
  pacsDeleteConnection: {
    input: z.object({ id: connectionId }).strict(),
    output: z.object({ deleted: z.literal(true) }),
  },
  pacsEcho: {
    input: z.object({ id: connectionId, protocol: protocol.optional() }).strict(),
    output: z.object({ protocol, ms: z.number().int().nonnegative() }),
  },
  pacsSearch: {
    input: z.object({ id: connectionId, query: studyQuerySchema }).strict(),
    output: z.object({ studies: z.array(studyResultSchema) }),
  },
  pacsSeries: {
    input: z.object({ id: connectionId, studyInstanceUid: uid }).strict(),
    output: z.object({ series: z.array(seriesResultSchema) }),
  },
  pacsRetrieve: {
    input: z
      .object({
        jobId,
        id: connectionId,
        targets: z
          .array(z.object({ studyInstanceUid: uid, seriesInstanceUid: uid.optional() }).strict())
          .min(1)
          .max(500),
      })
      .strict(),
    output: z.object({
      results: z.array(
        z.object({
          studyInstanceUid: z.string(),
          seriesInstanceUid: z.string().optional(),
          instances: z.number().int().nonnegative(),
          resumed: z.number().int().nonnegative(),
          added: z.number().int().nonnegative(),
          duplicates: z.number().int().nonnegative(),
          failed: z.array(z.object({ path: z.string(), reason: z.string() })),
        }),
      ),
    }),
  },
  pacsSend: {
    input: z
      .object({
        jobId,
        id: connectionId,
        paths: z.array(absolutePath).min(1).max(1000),
        protocol: protocol.optional(),
      })
      .strict(),
    output: z.object({
      items: z.array(
        z.object({
          file: z.string(),
          path: z.string(),
          sopInstanceUid: z.string(),
          studyInstanceUid: z.string(),
          status: z.enum(['sent', 'already-stored', 'refused', 'failed']),
          attempts: z.number().int().nonnegative(),
          error: appError.optional(),
        }),
      ),
    }),
  },
  pacsWatch: {
    input: z
      .object({
        jobId,
        id: connectionId,
        node: nodeShare,
        query: watchQuery,
        since: z
          .string()
          .regex(/^\d{8}$/, 'a date is YYYYMMDD')
          .optional(),
        pollIntervalS: z.number().int().min(5).max(86_400).default(60),
        /** Days behind the cursor each poll asks again, for studies that reach the PACS late (0: off). */
        lookBackDays: lookBackDays.default(3),
        once: z.boolean().default(false),
      })
      .strict(),
    output: z.object({
      polled: z.number().int().nonnegative(),
      queued: z.number().int().nonnegative(),
      /** Of `queued`: done studies queued again for images that arrived after they were processed. */
      requeued: z.number().int().nonnegative(),
      processed: z.number().int().nonnegative(),
      sent: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      queue: z.string(),
    }),
  },
  /**
   * Sends the results of analysed library images (never the originals): per image its restored image
   * (Secondary Capture) and its classification (SR), made once per image and model and reused, so a
   * Retry or a second send reports 'already-stored'. An image that cannot be prepared is one item
   * with kind null.
   */
  pacsSendResults: {
    input: z
      .object({
        jobId,
        id: connectionId,
        instanceIds: z
          .array(rowId)
          .min(1)
          .max(500)
          .refine((ids) => new Set(ids).size === ids.length, 'an image is listed twice'),
        /** The analysis by this model (default: each image's latest). */
        modelId: modelId.optional(),
        protocol: protocol.optional(),
      })
      .strict(),
    output: z.object({
      items: z.array(
        z.object({
          instanceId: rowId,
          kind: z.enum(['sc', 'sr']).nullable(),
          status: sendStatus,
          sopInstanceUid: z.string(),
          attempts: z.number().int().nonnegative(),
          error: appError.optional(),
        }),
      ),
      /** Cancelled before every image was sent (the items say which were). */
      cancelled: z.boolean(),
    }),
  },
  /**
   * A closed reader study's results, one SR per read image, sent into that image's study on the PACS
   * (the owner's study; refused while it is open or when it was read from a kit). An image the PACS
   * does not hold is skipped ('not-on-pacs'); sending again reports 'already-stored'.
   */
  pacsSendStudyReports: {
    input: z
      .object({
        jobId,
        id: connectionId,
        studyId: z
          .string()
          .min(1)
          .max(64)
          .regex(/^[A-Za-z0-9_.-]+$/, 'ids use letters, digits, _ . or - only'),
        protocol: protocol.optional(),
      })
      .strict(),
    output: z.object({
      items: z.array(
        z.object({
          /** The reader study's image id (the library image). */
          imageId: z.string(),
          status: z.enum(['sent', 'already-stored', 'refused', 'failed', 'not-on-pacs', 'not-in-library']),
          sopInstanceUid: z.string().optional(),
          attempts: z.number().int().nonnegative().optional(),
          error: appError.optional(),
        }),
      ),
      /** Cancelled before every report was sent (the items say which were). */
      cancelled: z.boolean(),
    }),
  },
  /** A watch queue as it is on disk (counts, last poll, recent studies) and the watch running on it. */
  pacsWatchStatus: {
    input: z.object({ id: connectionId, node: nodeShare }).strict(),
    output: z.object({
      running: z
        .object({
          jobId: z.string(),
          startedAt: z.string(),
          query: watchQuery,
          since: z.string().optional(),
          pollIntervalS: z.number(),
          lookBackDays,
        })
        .nullable(),
      queue: z.string(),
      exists: z.boolean(),
      counts: z.record(watchStudyState, z.number().int().nonnegative()),
      results: z.object({ pending: z.number().int().nonnegative(), sent: z.number().int().nonnegative() }),
      cursor: z.string().nullable(),
      /** Counts are null for a poll recorded by an older version. */
      lastPoll: z
        .object({
          at: z.string(),
          ok: z.boolean(),
          message: z.string(),
          found: pollCount,
          queued: pollCount,
          requeued: pollCount,
        })
        .nullable(),
      recent: z.array(
        z.object({
          studyInstanceUid: z.string(),
          studyDate: z.string(),
          state: watchStudyState,
          attempts: z.number().int().nonnegative(),
          error: z.string().nullable(),
          updatedAt: z.string(),
          results: z.array(
            z.object({
              kind: z.enum(['sc', 'sr']),
              state: z.enum(['pending', 'sent']),
              error: z.string().nullable(),
            }),
          ),
        }),
      ),
    }),
  },
} satisfies Record<string, ChannelSchemas>;
