// Settings channels: the effective settings (and which come from the admin's policy), the user's
// own settings, the activity log, deleting from the library and retention.
import { z } from 'zod';
import { type ChannelSchemas, rowId } from './common.ts';

const source = z.enum(['policy', 'environment', 'user', 'default']);
const setting = <T extends z.ZodType>(value: T) => z.object({ value, source }).strict();
const retentionDays = z.number().int().min(1).max(36500);

export const effectiveSettingsSchema = z
  .object({
    policyFile: z
      .object({ path: z.string(), origin: z.enum(['system', 'environment']), present: z.boolean() })
      .strict(),
    dataDir: setting(z.string()),
    activeModel: setting(z.string().nullable()),
    fineTuningAllowed: setting(z.boolean()),
    retentionDays: setting(retentionDays.nullable()),
    requireSignedPackages: setting(z.boolean()),
    trustedPublicKeys: setting(z.array(z.string())),
  })
  .strict();

const settingsView = effectiveSettingsSchema.extend({ logFolder: z.string() }).strict();

const removedSchema = z
  .object({
    instances: z.number().int().nonnegative(),
    series: z.number().int().nonnegative(),
    studies: z.number().int().nonnegative(),
    patients: z.number().int().nonnegative(),
    storeFiles: z.number().int().nonnegative(),
    resultFolders: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  })
  .strict();

const logLevel = z.enum(['info', 'warn', 'error']);

export const settingsChannels = {
  getSettings: {
    input: z.object({}).strict(),
    output: settingsView,
  },
  /** Changes the user's own settings; a value the policy fixes is refused (forbidden). null clears. */
  updateSettings: {
    input: z
      .object({
        retentionDays: retentionDays.nullable().optional(),
      })
      .strict(),
    output: settingsView,
  },
  /** The newest activity-log entries (no patient data: ids are hashed). */
  readLogs: {
    input: z
      .object({
        limit: z.number().int().min(1).max(5000).optional(),
        level: logLevel.optional(),
        event: z.string().max(100).optional(),
      })
      .strict(),
    output: z
      .object({
        entries: z.array(
          z
            .object({ time: z.string(), level: logLevel, event: z.string(), source: z.string() })
            .catchall(z.unknown()),
        ),
        folder: z.string(),
      })
      .strict(),
  },
  /** Every kept log line (JSON lines, oldest first) for saving as a file. */
  exportLogs: {
    input: z.object({}).strict(),
    output: z.object({ fileName: z.string(), text: z.string() }).strict(),
  },
  /** Deletes studies, series or instances with their store copies and analyses (audited). */
  deleteFromLibrary: {
    input: z
      .object({
        targets: z
          .array(z.object({ level: z.enum(['patient', 'study', 'series', 'instance']), id: rowId }).strict())
          .min(1)
          .max(10000),
      })
      .strict(),
    output: removedSchema,
  },
  /** Runs retention now with the effective retention period (bad_input when retention is off). */
  applyRetention: {
    input: z.object({ dryRun: z.boolean() }).strict(),
    output: z
      .object({
        days: retentionDays,
        cutoff: z.string(),
        due: z.number().int().nonnegative(),
        kept: z.number().int().nonnegative(),
        dryRun: z.boolean(),
        removed: removedSchema,
      })
      .strict(),
  },
} satisfies Record<string, ChannelSchemas>;
