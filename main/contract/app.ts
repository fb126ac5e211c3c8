// The app channel: name, version, platform and the active model (the status bar).
import { z } from 'zod';
import { absolutePath, type ChannelSchemas } from './common.ts';

export const appChannels = {
  getAppInfo: {
    input: z.object({}).strict(),
    output: z.object({
      name: z.string(),
      version: z.string(),
      platform: z.string(),
      arch: z.string(),
      activeModel: z.object({ id: z.string(), version: z.string() }).nullable(),
      executionProvider: z.string().nullable(),
    }),
  },
  /** The operating system's file or folder picker (Electron's dialog); the typed path stays as a fallback. */
  pickPath: {
    input: z
      .object({
        kind: z.enum(['openFile', 'openFolder', 'saveFile']),
        title: z.string().min(1).max(200),
        /** For saveFile: the suggested file name. */
        defaultName: z.string().max(255).optional(),
        filters: z
          .array(
            z
              .object({
                name: z.string().max(100),
                extensions: z.array(z.string().regex(/^[A-Za-z0-9*]{1,10}$/)).max(20),
              })
              .strict(),
          )
          .max(10)
          .optional(),
      })
      .strict(),
    output: z.object({
      /** False where there is no picker (the browser-test harness): type the path instead. */
      available: z.boolean(),
      /** The chosen absolute path; null when cancelled or unavailable. */
      path: absolutePath.nullable(),
    }),
  },
} satisfies Record<string, ChannelSchemas>;
