// The app channel.
import type { Services } from '../app/services.ts';
import type { appChannels } from '../contract/app.ts';
import type { DomainHandlers } from './jobs.ts';

export function appHandlers(services: Services): DomainHandlers<typeof appChannels> {
  return {
    async getAppInfo() {
      const model = await services.activeModel();
      return {
        ...services.identity,
        activeModel: model ? { id: model.id, version: model.version } : null,
        executionProvider: model?.provider ?? null,
      };
    },
  };
}
