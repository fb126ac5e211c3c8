// The app channel.
import type { Services } from '../app/services.ts';
import type { appChannels } from '../contract/app.ts';
import type { Input } from '../contract/types.ts';
import type { DomainHandlers } from './jobs.ts';

export type PathPickerRequest = Input<'pickPath'>;
/**
 * The OS file/folder picker, given by the shell (Electron's dialog): services never import Electron.
 * Resolves to the chosen absolute path, or null when the user cancelled.
 */
export type PathPicker = (request: PathPickerRequest) => Promise<string | null>;

export function appHandlers(
  services: Services,
  shell: { pickPath?: PathPicker } = {},
): DomainHandlers<typeof appChannels> {
  return {
    async pickPath(request) {
      if (!shell.pickPath) return { available: false, path: null };
      return { available: true, path: await shell.pickPath(request) };
    },
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
