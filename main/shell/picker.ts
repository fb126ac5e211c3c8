// The operating system's file and folder picker (Electron's dialog) for the pickPath channel. The
// services never import Electron: the shell hands this to createHandlers.
import type { BrowserWindow, Dialog } from 'electron';
import type { PathPicker } from '../ipc/app.ts';

export function dialogPicker(dialog: Dialog, window: () => BrowserWindow | null): PathPicker {
  return async (request) => {
    const parent = window();
    const filters = request.filters?.map((f) => ({ name: f.name, extensions: f.extensions }));
    if (request.kind === 'saveFile') {
      const options = {
        title: request.title,
        ...(request.defaultName ? { defaultPath: request.defaultName } : {}),
        ...(filters ? { filters } : {}),
      };
      const result = parent
        ? await dialog.showSaveDialog(parent, options)
        : await dialog.showSaveDialog(options);
      return result.canceled || !result.filePath ? null : result.filePath;
    }
    const options = {
      title: request.title,
      properties: [request.kind === 'openFolder' ? ('openDirectory' as const) : ('openFile' as const)],
      ...(filters && request.kind === 'openFile' ? { filters } : {}),
    };
    const result = parent
      ? await dialog.showOpenDialog(parent, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  };
}
