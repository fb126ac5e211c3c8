#!/usr/bin/env node
// In a source checkout run the TypeScript directly (tsx); in a packaged build use the compiled output.
import { existsSync } from 'node:fs';

const source = new URL('../main/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  const cli = await import(source.href);
  await cli.main();
} else {
  const cli = await import(new URL('../out/main/cli/main.js', import.meta.url).href);
  await cli.main();
}
