import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './browser.ts';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: '../../test-results/e2e',
  workers: 1,
  retries: 0,
  timeout: 120_000,
  // CI machines have 2 cores shared by the app's workers and Chromium: allow slow, not wrong.
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    launchOptions: chromiumLaunchOptions(),
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
