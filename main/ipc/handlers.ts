import type { Services } from '../app/services.ts';
import { withActivityLog } from './activity.ts';
import { appHandlers, type PathPicker } from './app.ts';
import type { HandlerTable } from './dispatch.ts';
import { createJobCalls } from './jobs.ts';
import { libraryHandlers } from './library.ts';
import { modelHandlers } from './models.ts';
import { pacsHandlers } from './pacs.ts';
import { reviewHandlers } from './review.ts';
import { settingsHandlers } from './settings.ts';
import { viewerHandlers } from './viewer.ts';

/**
 * The one handler table. Electron's ipcMain and the browser-test harness both bind exactly this,
 * so what the e2e tests exercise is what the app runs. One file per domain of the contract; each
 * handler is a thin call into its service.
 */
export function createHandlers(services: Services, shell: { pickPath?: PathPicker } = {}): HandlerTable {
  const jobs = createJobCalls();
  // Wrapped once: failures, analyses, model changes and exports go to the activity log.
  return withActivityLog(
    {
      ...appHandlers(services, shell),
      ...libraryHandlers(services, jobs),
      ...reviewHandlers(services, jobs),
      ...modelHandlers(services, jobs),
      ...viewerHandlers(services, jobs),
      ...jobs.handlers,
      ...settingsHandlers(services),
      ...pacsHandlers(services, jobs),
    },
    services.log,
  );
}
