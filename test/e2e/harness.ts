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

/** Runs one teardown phase; one that takes over 10 s is reported (as it goes and when done). */
async function timed(phase: string, run: () => Promise<void>): Promise<void> {
  const started = Date.now();
  const slow = setInterval(
    () => console.error(`e2e teardown: still ${phase} after ${Math.round((Date.now() - started) / 1000)} s`),
    10_000,
  );
  try {
    await run();
  } finally {
    clearInterval(slow);
    const seconds = (Date.now() - started) / 1000;
    if (seconds > 10) console.error(`e2e teardown: ${phase} took ${seconds.toFixed(1)} s`);
  }
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
    // The page goes first, so the renderer sends no more calls while the services close. A slow
    // phase is named in the log: a teardown that hangs must say where.
    await timed('closing the page', () => page.close());
    await timed('closing the renderer server', () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await timed('closing the services', () => services.close());
    rmSync(dataDir, { recursive: true, force: true });
  },
});

export { expect } from '@playwright/test';
