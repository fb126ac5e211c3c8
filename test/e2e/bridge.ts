// The built renderer served over HTTP with the app's security headers, and window.r2c in a page
// backed by the REAL main-process handler table (what Electron's preload + ipcMain provide). Used
// by the e2e harness and the viewer benchmark.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { channelNames } from '../../main/contract/names.ts';
import type { AppEvent, Envelope } from '../../main/contract/types.ts';
import { dispatch, type HandlerTable } from '../../main/ipc/dispatch.ts';
import { mimeTypeOf, SECURITY_HEADERS } from '../../main/shell/security.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
// R2C_RENDERER_DIR lets parallel developers test their own build (vite build --outDir ...).
export const rendererRoot = process.env.R2C_RENDERER_DIR ?? join(repoRoot, 'out', 'renderer');

export async function serveRenderer(root = rendererRoot): Promise<{ server: Server; url: string }> {
  try {
    await readFile(join(root, 'index.html'));
  } catch {
    throw new Error(`${root} has no built renderer: run \`npm run build\` first`);
  }
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const relative = path === '/' ? 'index.html' : decodeURIComponent(path).replace(/^\/+/, '');
    if (relative.split('/').includes('..')) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(root, relative));
      response.writeHead(200, { 'Content-Type': mimeTypeOf(relative), ...SECURITY_HEADERS }).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Gives `page` a window.r2c bound to `handlers`; `onCall` sees every call and its answer. */
export async function installBridge(
  page: Page,
  handlers: HandlerTable,
  onCall: (channel: string, envelope: Envelope<unknown>) => void = () => {},
): Promise<void> {
  const emit = (event: AppEvent) => {
    void page
      .evaluate(
        (e) => (globalThis as unknown as { __r2cDeliver?: (e: unknown) => void }).__r2cDeliver?.(e),
        event,
      )
      .catch(() => {});
  };
  await page.exposeFunction('__r2cInvoke', async (channel: string, payload: unknown) => {
    const envelope = await dispatch(handlers, channel, payload, { emit });
    onCall(channel, envelope);
    return envelope;
  });
  // Mirrors main/shell/preload.ts: one method per channel plus onEvent and pathForFile.
  await page.addInitScript((names: readonly string[]) => {
    const w = globalThis as unknown as Record<string, unknown>;
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
    // The one mocked boundary: a File made in the page has no file on disk behind it, so its path
    // comes from the test's map window.__r2cTestFilePaths (file name -> absolute path); '' when
    // unmapped, as Electron's webUtils.getPathForFile returns for a File not from the file system.
    bridge['pathForFile'] = (file: File) => {
      const paths = w['__r2cTestFilePaths'] as Record<string, string> | undefined;
      return paths && Object.hasOwn(paths, file.name) ? (paths[file.name] ?? '') : '';
    };
    w['r2c'] = Object.freeze(bridge);
  }, channelNames);
}
