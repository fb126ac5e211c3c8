// The sandboxed preload cannot load modules, so it is bundled into one CommonJS file.
import { build } from 'esbuild';

await build({
  entryPoints: ['main/shell/preload.ts'],
  outfile: 'out/main/shell/preload.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['electron'],
  logLevel: 'warning',
});
