import { existsSync } from 'node:fs';

/** Debian's Chromium (apt), since Playwright's own browser download cannot work offline. */
export function chromiumLaunchOptions() {
  const executablePath =
    process.env.CHROMIUM_PATH ??
    ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!executablePath)
    throw new Error('Chromium not found: install the Debian package `chromium` or set CHROMIUM_PATH');
  return {
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  };
}
