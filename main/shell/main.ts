// Electron entry: a thin shell that wires windows, the app:// protocol, security and IPC to the
// plain-Node services. No business logic here.
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session } from 'electron';
import { shippedModelsDir } from '../app/paths.ts';
import { createServices } from '../app/services.ts';
import { channelNames, EVENT_CHANNEL, ipcChannel } from '../contract/names.ts';
import { dispatch } from '../ipc/dispatch.ts';
import { platformDataDir, resolveWorkstation, type Workstation } from '../settings/index.ts';
import { cliArguments } from './cli-entry.ts';
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
import { dialogPicker } from './picker.ts';
import { utilityTransport } from './utility-transport.ts';

const rendererRoot = fileURLToPath(new URL('../../renderer/', import.meta.url));
const preloadPath = fileURLToPath(new URL('./preload.cjs', import.meta.url));
// $R2C_MODELS_DIR, else resources/models of the installed app, else models/shipped of a checkout.
const modelsDir = shippedModelsDir();
const cliArgs = cliArguments(process.argv);
// The admin's policy and THE data folder, resolved exactly as the CLI resolves them (settings/).
let workstation: Workstation | undefined;
let startupError: string | undefined;
// Electron's own folder (single-instance lock, Chromium's caches): the data folder, except when the
// policy makes that one folder for every user: then each user keeps their own (the lock is per user).
let electronDir: string | undefined;
try {
  workstation = resolveWorkstation();
  electronDir = workstation.dataDir.source === 'policy' ? platformDataDir() : workstation.dataDir.value;
  // Electron's setPath (below) throws for a folder that does not exist yet (first start).
  if (cliArgs === null) mkdirSync(join(electronDir, 'chromium'), { recursive: true });
} catch (error) {
  workstation = undefined;
  startupError = error instanceof Error ? error.message : String(error);
}

if (cliArgs !== null) {
  // `r2c ...` of the installed app: run the command line, create no window.
  app.disableHardwareAcceleration();
  app.dock?.hide();
  void import('../cli/main.ts')
    .then((cli) => cli.main(cliArgs))
    .then(
      (code) => app.exit(code),
      (error) => {
        process.stderr.write(`r2c: ${error instanceof Error ? error.message : error}\n`);
        app.exit(1);
      },
    );
} else if (!workstation) {
  void app.whenReady().then(() => {
    dialog.showErrorBox('R2C Workstation cannot start', startupError ?? 'unknown error');
    app.exit(1);
  });
} else {
  app.setPath('userData', electronDir ?? workstation.dataDir.value);
  app.setPath('sessionData', join(electronDir ?? workstation.dataDir.value, 'chromium'));
  startGui(workstation);
}

function startGui(workstation: Workstation): void {
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
    void app.whenReady().then(() => start(workstation));
  }
}

async function start(workstation: Workstation): Promise<void> {
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
    dataDir: workstation.dataDir.value,
    workstation,
    modelsDir,
    workerTransport: utilityTransport,
    // PACS passwords/tokens encrypted by the OS key store where Electron has one (else a 0600 file).
    ...(safeStorage.isEncryptionAvailable()
      ? {
          pacsCipher: {
            encrypt: (plain: string) => safeStorage.encryptString(plain),
            decrypt: (encrypted: Buffer) => safeStorage.decryptString(encrypted),
          },
        }
      : {}),
  });
  services.log.info('app.start', {
    version: services.identity.version,
    dataDirSource: workstation.dataDir.source,
  });
  scheduleRetention(services);
  // The OS picker for the pickPath channel, parented to the app's window once it exists.
  let mainWindow: BrowserWindow | null = null;
  const handlers = createHandlers(services, { pickPath: dialogPicker(dialog, () => mainWindow) });
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
  mainWindow = window;
  window.once('ready-to-show', () => window.show());
  await window.loadURL(APP_ENTRY_URL);
}

/** Retention at start and then daily, while the effective setting asks for it (policy or user). */
function scheduleRetention(services: ReturnType<typeof createServices>): void {
  const run = () => {
    if (services.settings.get().retentionDays.value === null) return;
    try {
      services.applyRetention();
    } catch (error) {
      services.log.error('library.retention', error);
    }
  };
  setTimeout(run, 60_000).unref();
  setInterval(run, 24 * 60 * 60 * 1000).unref();
}
