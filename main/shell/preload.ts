// Sandboxed preload: exposes exactly one object, window.r2c, with one method per contract channel.
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
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
contextBridge.exposeInMainWorld('r2c', bridge);
