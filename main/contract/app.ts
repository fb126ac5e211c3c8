// The app channel: name, version, platform and the active model (the status bar).
import { z } from 'zod';
import type { ChannelSchemas } from './common.ts';

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
} satisfies Record<string, ChannelSchemas>;
