// Electron entry: a thin shell that wires windows, the app:// protocol, security and IPC to the
// plain-Node services. No business logic here.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain, protocol, session } from 'electron';
import { shippedModelsDir } from '../app/paths.ts';
import { createServices } from '../app/services.ts';
import { channelNames, EVENT_CHANNEL, ipcChannel } from '../contract/names.ts';
import { dispatch } from '../ipc/dispatch.ts';
import { createHandlers } from '../ipc/handlers.ts';
import {
  APP_ENTRY_URL,
  APP_SCHEME,
  isAllowedNavigation,
  isTrustedSender,
  mimeTypeOf,
  resolveAppRequest,
  SECURITY_HEADERS,
  secureWebPreferences,
} from './security.ts';
import { utilityTransport } from './utility-transport.ts';

const rendererRoot = fileURLToPath(new URL('../../renderer/', import.meta.url));
const preloadPath = fileURLToPath(new URL('./preload.cjs', import.meta.url));
const modelsDir = app.isPackaged ? `${process.resourcesPath}/models` : shippedModelsDir();

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });
  app.on('window-all-closed', () => app.quit());
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event, url) => {
      if (!isAllowedNavigation(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  void app.whenReady().then(start);
}

async function start(): Promise<void> {
  const defaultSession = session.defaultSession;
  defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  defaultSession.setPermissionCheckHandler(() => false);
  // Nothing outside the app bundle is ever loaded: no remote content, even by accident.
  defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const allowed = details.url.startsWith(`${APP_SCHEME}:`) || details.url.startsWith('devtools:');
    callback({ cancel: !allowed });
  });

  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppRequest(request.url, rendererRoot);
    if (!file) return new Response('not found', { status: 404 });
    try {
      const body = await readFile(file);
      return new Response(body, { headers: { 'Content-Type': mimeTypeOf(file), ...SECURITY_HEADERS } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });

  const services = createServices({
    dataDir: app.getPath('userData'),
    modelsDir,
    workerTransport: utilityTransport,
  });
  const handlers = createHandlers(services);
  for (const name of channelNames) {
    ipcMain.handle(ipcChannel(name), (event, payload: unknown) => {
      if (!isTrustedSender(event.senderFrame?.url)) {
        return {
          ok: false,
          error: { code: 'forbidden', message: 'IPC call from an untrusted page refused' },
        };
      }
      return dispatch(handlers, name, payload, { emit: (e) => event.sender.send(EVENT_CHANNEL, e) });
    });
  }
  app.on('before-quit', () => void services.close());

  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'R2C Workstation',
    backgroundColor: '#0f1115',
    webPreferences: secureWebPreferences(preloadPath),
  });
  window.once('ready-to-show', () => window.show());
  await window.loadURL(APP_ENTRY_URL);
}
