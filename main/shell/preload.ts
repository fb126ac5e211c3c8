// Sandboxed preload: exposes exactly one object, window.r2c, with one method per contract channel,
// onEvent, and pathForFile (no IPC).
import { contextBridge, type IpcRendererEvent, ipcRenderer, webUtils } from 'electron';
import { channelNames, EVENT_CHANNEL, ipcChannel } from '../contract/names.ts';

const bridge: Record<string, unknown> = {};
for (const name of channelNames) {
  bridge[name] = (payload: unknown) => ipcRenderer.invoke(ipcChannel(name), payload);
}
bridge['onEvent'] = (listener: (event: unknown) => void) => {
  const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
  ipcRenderer.on(EVENT_CHANNEL, forward);
  return () => ipcRenderer.removeListener(EVENT_CHANNEL, forward);
};
// A dropped File's path on disk; only the preload can read it (File.path is gone since Electron 32).
// '' for a File that is not on disk (e.g. dragged from a web page).
bridge['pathForFile'] = (file: File) => webUtils.getPathForFile(file);
contextBridge.exposeInMainWorld('r2c', bridge);
