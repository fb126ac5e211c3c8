// The real Electron app, driven by Playwright. Runs wherever an Electron binary is installed; on
// machines where it cannot be downloaded (our CI) it skips and says why.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { _electron, expect, test } from '@playwright/test';
import { channelNames } from '../../main/contract/names.ts';
import { repoRoot, screenshotDir } from './harness.ts';

function electronBinary(): string | null {
  const pkg = join(repoRoot, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const relative = readFileSync(pathFile, 'utf8').trim();
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkg, 'dist');
  const binary = join(dist, relative);
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();

test.describe('Electron app', () => {
  test.skip(
    binary === null,
    'no Electron binary: it is downloaded on first `npm start`, which needs internet (not available on CI machines)',
  );

  test('opens the main window securely with the app:// renderer and the bridge', async () => {
    const app = await _electron.launch({ executablePath: binary!, args: [repoRoot] });
    try {
      const window = await app.firstWindow();
      await expect(window.getByRole('heading', { name: 'Library' })).toBeVisible();
      expect(window.url()).toBe('app://r2c/index.html');
      await expect(window.getByTestId('app-version')).toContainText('R2C Workstation');
      const exposed = await window.evaluate(() => ({
        bridge: Object.keys((window as unknown as { r2c: object }).r2c).sort(),
        require: typeof (window as unknown as { require?: unknown }).require,
        process: typeof (window as unknown as { process?: unknown }).process,
      }));
      expect(exposed).toEqual({
        bridge: [...channelNames, 'onEvent', 'pathForFile'].sort(),
        require: 'undefined',
        process: 'undefined',
      });
      const prefs = await app.evaluate(({ BrowserWindow }) =>
        BrowserWindow.getAllWindows()[0]?.webContents.getLastWebPreferences(),
      );
      expect(prefs).toMatchObject({
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
      });
      await window.screenshot({ path: join(screenshotDir, 'electron.png') });
    } finally {
      await app.close();
    }
  });
});
