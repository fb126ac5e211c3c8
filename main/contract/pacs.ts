// PACS channels: connections (secrets go in, never out), search, retrieve into the library, sending
// derived results back, and the watch loop as a job.
import { z } from 'zod';
import { connectionSchema, seriesResultSchema, studyQuerySchema, studyResultSchema } from '../pacs/index.ts';
import { absolutePath, type ChannelSchemas, jobId } from './common.ts';

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
        node: z
          .object({ index: z.number().int().min(1).max(1024), count: z.number().int().min(1).max(1024) })
          .strict(),
        query: studyQuerySchema,
        since: z
          .string()
          .regex(/^\d{8}$/, 'a date is YYYYMMDD')
          .optional(),
        pollIntervalS: z.number().int().min(5).max(86_400).default(60),
        once: z.boolean().default(false),
      })
      .strict(),
    output: z.object({
      polled: z.number().int().nonnegative(),
      queued: z.number().int().nonnegative(),
      processed: z.number().int().nonnegative(),
      sent: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      queue: z.string(),
    }),
  },
} satisfies Record<string, ChannelSchemas>;
