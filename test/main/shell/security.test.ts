import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  resolveAppRequest,
  SECURITY_HEADERS,
  secureWebPreferences,
} from '../../../main/shell/security.ts';
import { repoRoot } from '../../helpers/paths.ts';

test('windows get isolated, sandboxed, node-free web preferences', () => {
  const prefs = secureWebPreferences('/app/preload.cjs');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.webviewTag, false);
});

test('the CSP allows only our own scripts (plus wasm) and nothing remote', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  // Inline style attributes are the one exception (Cornerstone's SVG annotations); never scripts.
  assert.deepEqual(directives.get('style-src'), ["'self'"]);
  assert.deepEqual(directives.get('style-src-attr'), ["'unsafe-inline'"]);
  for (const [name, values] of directives) {
    for (const value of values) {
      if (name === 'style-src-attr') continue;
      assert.ok(!/^https?:|^\*$|^'unsafe-eval'$|^'unsafe-inline'$/.test(value), `${name} allows ${value}`);
    }
  }
  assert.equal(SECURITY_HEADERS['Content-Security-Policy'], CONTENT_SECURITY_POLICY);
  // The built page carries the same policy as a meta tag, for any path that bypasses the protocol handler.
  const html = readFileSync(join(repoRoot, 'renderer/index.html'), 'utf8');
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
  assert.ok(meta, 'index.html has a CSP meta tag');
  assert.ok(CONTENT_SECURITY_POLICY.startsWith(meta.replace(/; frame-ancestors.*$/, '')), 'meta CSP matches');
});

test('only app:// pages of our own host may call IPC or be navigated to', () => {
  assert.equal(isTrustedSender('app://r2c/index.html'), true);
  assert.equal(isTrustedSender('app://r2c/index.html#/viewer'), true);
  for (const url of [
    'https://evil.example/',
    'file:///etc/passwd',
    'app://other/index.html',
    'devtools://x',
    '',
    undefined,
    'not a url',
  ]) {
    assert.equal(isTrustedSender(url), false, String(url));
    if (url) assert.equal(isAllowedNavigation(url), false, url);
  }
});

test('app:// requests resolve inside the renderer folder only', () => {
  const root = '/opt/r2c/renderer';
  assert.equal(resolveAppRequest('app://r2c/', root), '/opt/r2c/renderer/index.html');
  assert.equal(resolveAppRequest('app://r2c/assets/index.js?x=1', root), '/opt/r2c/renderer/assets/index.js');
  // The URL parser already folds plain dot segments, so they stay inside the root.
  assert.equal(resolveAppRequest('app://r2c/../secret', root), '/opt/r2c/renderer/secret');
  assert.equal(resolveAppRequest('app://r2c/%2e%2e/%2e%2e/etc/passwd', root), '/opt/r2c/renderer/etc/passwd');
  for (const evil of [
    'app://r2c/assets/..%2f..%2fsecret',
    'app://r2c/a%5c..%5c..%5csecret',
    'app://r2c/a%00b',
    'app://other/index.html',
    'https://r2c/index.html',
  ]) {
    assert.equal(resolveAppRequest(evil, root), null, evil);
  }
});

// The Electron shell cannot run here (no binary), so its wiring is checked at the source level;
// test/e2e/electron.spec.ts checks the same things for real where Electron is installed.
test('the Electron shell wires the single-instance lock, permission denial and checked IPC', () => {
  const source = readFileSync(join(repoRoot, 'main/shell/main.ts'), 'utf8');
  for (const needle of [
    'requestSingleInstanceLock()',
    'setPermissionRequestHandler((_contents, _permission, callback) => callback(false))',
    'setPermissionCheckHandler(() => false)',
    "setWindowOpenHandler(() => ({ action: 'deny' }))",
    "contents.on('will-navigate'",
    "contents.on('will-attach-webview'",
    'isTrustedSender(event.senderFrame?.url)',
    'dispatch(handlers, name, payload',
    'secureWebPreferences(preloadPath)',
    'loadURL(APP_ENTRY_URL)',
  ]) {
    assert.ok(source.includes(needle), `main/shell/main.ts must contain ${needle}`);
  }
  const preload = readFileSync(join(repoRoot, 'main/shell/preload.ts'), 'utf8');
  assert.equal(preload.match(/exposeInMainWorld\(/g)?.length, 1, 'the preload exposes exactly one object');
  assert.ok(preload.includes("exposeInMainWorld('r2c'"));
});
