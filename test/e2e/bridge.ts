// The built renderer served over HTTP with the app's security headers, and window.r2c in a page
// backed by the REAL main-process handler table (what Electron's preload + ipcMain provide). Used
// by the e2e harness and the viewer benchmark.
import { randomUUID } from 'node:crypto';
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

/** Byte arrays from this size up travel through the binary route instead of the JSON bridge. */
const BINARY_SIDE_CHANNEL_BYTES = 64 * 1024;

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
  // Large byte arrays (pixels) skip Playwright's JSON serialiser, which sends them element by element
  // (seconds for an 8 MiB frame): the answer carries a token and the page fetches the raw bytes from a
  // same-origin route. Electron's IPC needs none of this: it sends them by structured clone.
  const binaries = new Map<string, Uint8Array>();
  await page.route('**/__r2c-binary/*', async (route) => {
    const token = new URL(route.request().url()).pathname.split('/').pop() ?? '';
    const bytes = binaries.get(token);
    binaries.delete(token);
    if (!bytes) return route.fulfill({ status: 404, body: 'no such binary' });
    return route.fulfill({
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    });
  });
  const detachBinaries = (value: unknown, depth = 0): unknown => {
    if (value instanceof Uint8Array && value.byteLength >= BINARY_SIDE_CHANNEL_BYTES) {
      const token = randomUUID();
      binaries.set(token, value);
      return { __r2cBinary: token };
    }
    if (depth > 8 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
    if (Array.isArray(value)) return value.map((v) => detachBinaries(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, detachBinaries(v, depth + 1)]));
  };
  await page.exposeFunction('__r2cInvoke', async (channel: string, payload: unknown) => {
    const envelope = await dispatch(handlers, channel, payload, { emit });
    onCall(channel, envelope);
    return detachBinaries(envelope);
  });
  // Mirrors main/shell/preload.ts: one method per channel plus onEvent and pathForFile.
  await page.addInitScript((names: readonly string[]) => {
    const w = globalThis as unknown as Record<string, unknown>;
    const invokeRaw = w['__r2cInvoke'] as (channel: string, payload: unknown) => Promise<unknown>;
    // Puts back the byte arrays the Node side sent through the binary route (see detachBinaries).
    // A property, not a `const` arrow: tsx wraps named arrows in a __name() helper the page lacks.
    const helpers: {
      attach?: (value: unknown, depth: number) => Promise<unknown>;
      invoke?: (channel: string, payload: unknown) => Promise<unknown>;
    } = {};
    helpers.attach = async (value, depth) => {
      if (depth > 8 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
      const token = (value as { __r2cBinary?: unknown }).__r2cBinary;
      if (typeof token === 'string') {
        const response = await fetch(`/__r2c-binary/${token}`);
        if (!response.ok) throw new Error(`binary ${token}: HTTP ${response.status}`);
        return new Uint8Array(await response.arrayBuffer());
      }
      if (Array.isArray(value)) return Promise.all(value.map((v) => helpers.attach?.(v, depth + 1)));
      const entries = await Promise.all(
        Object.entries(value).map(async ([k, v]) => [k, await helpers.attach?.(v, depth + 1)] as const),
      );
      return Object.fromEntries(entries);
    };
    helpers.invoke = async (channel: string, payload: unknown) =>
      helpers.attach?.(await invokeRaw(channel, payload), 0);
    const listeners = new Set<(event: unknown) => void>();
    w['__r2cDeliver'] = (event: unknown) => {
      for (const listener of listeners) listener(event);
    };
    const bridge: Record<string, unknown> = {};
    for (const name of names) bridge[name] = (payload: unknown) => helpers.invoke?.(name, payload);
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
