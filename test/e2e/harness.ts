// The browser-test harness: serves the BUILT renderer over HTTP with the app's security headers and
// provides window.r2c backed by the REAL main-process handler table (same as Electron's ipcMain).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, type Page } from '@playwright/test';
import { createServices, type Services } from '../../main/app/services.ts';
import type { Envelope } from '../../main/contract/types.ts';
import { createHandlers } from '../../main/ipc/handlers.ts';
import { threadTransport } from '../../main/app/jobs.ts';
import { installBridge, repoRoot, rendererRoot, serveRenderer } from './bridge.ts';

export { repoRoot, rendererRoot };
export const screenshotDir = join(repoRoot, 'test-results', 'screenshots');

export interface AppHarness {
  url: string;
  services: Services;
  dataDir: string;
  /** Every call the page made, as the main process saw it. */
  calls: { channel: string; ok: boolean }[];
  /** What the main process answered to each call, in order (for comparing the UI with it). */
  responses: { channel: string; envelope: Envelope<unknown> }[];
  open(page: Page, hash?: string): Promise<void>;
}

export const test = base.extend<{ app: AppHarness }>({
  app: async ({ page }, use) => {
    const { server, url } = await serveRenderer();
    const dataDir = mkdtempSync(join(tmpdir(), 'r2c-e2e-'));
    const services = createServices({
      dataDir,
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
    });
    const handlers = createHandlers(services);
    const calls: AppHarness['calls'] = [];
    const responses: AppHarness['responses'] = [];
    await installBridge(page, handlers, (channel, envelope) => {
      calls.push({ channel, ok: envelope.ok });
      responses.push({ channel, envelope });
    });
    const harness: AppHarness = {
      url,
      services,
      dataDir,
      calls,
      responses,
      open: async (p, hash = '') => {
        await p.goto(`${url}${hash}`);
      },
    };
    await use(harness);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  },
});

export { expect } from '@playwright/test';
