// The browser-test harness: serves the BUILT renderer over HTTP with the app's security headers and
// provides window.r2c backed by the REAL main-process handler table (same as Electron's ipcMain).
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, type Page } from '@playwright/test';
import { createServices, type Services } from '../../main/app/services.ts';
import { channelNames } from '../../main/contract/names.ts';
import type { AppEvent, Envelope } from '../../main/contract/types.ts';
import { dispatch } from '../../main/ipc/dispatch.ts';
import { createHandlers } from '../../main/ipc/handlers.ts';
import { threadTransport } from '../../main/jobs/runner.ts';
import { mimeTypeOf, SECURITY_HEADERS } from '../../main/shell/security.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const rendererRoot = join(repoRoot, 'out', 'renderer');
export const screenshotDir = join(repoRoot, 'test-results', 'screenshots');

async function serveRenderer(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const relative = path === '/' ? 'index.html' : decodeURIComponent(path).replace(/^\/+/, '');
    if (relative.split('/').includes('..')) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(rendererRoot, relative));
      response.writeHead(200, { 'Content-Type': mimeTypeOf(relative), ...SECURITY_HEADERS }).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

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
    try {
      await readFile(join(rendererRoot, 'index.html'));
    } catch {
      throw new Error('out/renderer is missing: run `npm run build` before the e2e tests');
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'r2c-e2e-'));
    const services = createServices({
      dataDir,
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
    });
    const handlers = createHandlers(services);
    const { server, url } = await serveRenderer();
    const calls: AppHarness['calls'] = [];
    const responses: AppHarness['responses'] = [];
    const emit = (event: AppEvent) => {
      void page
        .evaluate(
          (e) => (window as unknown as { __r2cDeliver?: (e: unknown) => void }).__r2cDeliver?.(e),
          event,
        )
        .catch(() => {});
    };
    await page.exposeFunction('__r2cInvoke', async (channel: string, payload: unknown) => {
      const envelope = await dispatch(handlers, channel, payload, { emit });
      calls.push({ channel, ok: envelope.ok });
      responses.push({ channel, envelope });
      return envelope;
    });
    // Mirrors main/shell/preload.ts: one method per channel plus onEvent.
    await page.addInitScript((names: readonly string[]) => {
      const w = window as unknown as Record<string, unknown>;
      const invoke = w['__r2cInvoke'] as (channel: string, payload: unknown) => Promise<unknown>;
      const listeners = new Set<(event: unknown) => void>();
      w['__r2cDeliver'] = (event: unknown) => {
        for (const listener of listeners) listener(event);
      };
      const bridge: Record<string, unknown> = {};
      for (const name of names) bridge[name] = (payload: unknown) => invoke(name, payload);
      bridge['onEvent'] = (listener: (event: unknown) => void) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      };
      w['r2c'] = Object.freeze(bridge);
    }, channelNames);
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
