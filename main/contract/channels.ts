// The IPC contract: every channel's payload and result schema, one file per domain. Every payload that
// crosses IPC is validated against these schemas, in both directions (ipc/dispatch.ts).
import { appChannels } from './app.ts';
import type { ChannelSchemas } from './common.ts';
import { jobChannels } from './jobs.ts';
import { libraryChannels } from './library.ts';
import { modelChannels } from './models.ts';
import type { ChannelName } from './names.ts';
import { pacsChannels } from './pacs.ts';
import { reviewChannels } from './review.ts';
import { settingsChannels } from './settings.ts';
import { viewerChannels } from './viewer.ts';

export { appEvent } from './jobs.ts';

export const contract = {
  ...appChannels,
  ...libraryChannels,
  ...reviewChannels,
  ...modelChannels,
  ...viewerChannels,
  ...jobChannels,
  ...settingsChannels,
  ...pacsChannels,
} satisfies Record<ChannelName, ChannelSchemas>;
