// Settings channels: thin calls into the settings store, the activity log and the library.
import type { Services } from '../app/services.ts';
import type { settingsChannels } from '../contract/settings.ts';
import type { DomainHandlers } from './jobs.ts';

export function settingsHandlers(services: Services): DomainHandlers<typeof settingsChannels> {
  const view = () => ({ ...services.settings.get(), logFolder: services.log.dir });
  return {
    async getSettings() {
      return view();
    },
    async updateSettings(changes) {
      await services.settings.update(changes);
      return view();
    },
    async readLogs(query) {
      return { entries: services.log.read(query), folder: services.log.dir };
    },
    async exportLogs() {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      services.log.info('export', { what: 'activity log' });
      return { fileName: `r2c-activity-log-${stamp}.jsonl`, text: services.log.exportText() };
    },
    async deleteFromLibrary({ targets }) {
      return services.library.delete(targets);
    },
    async applyRetention({ dryRun }) {
      return services.applyRetention({ dryRun });
    },
  };
}
