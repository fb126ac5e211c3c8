import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: new URL('../out/renderer/', import.meta.url).pathname,
    emptyOutDir: true,
    target: 'chrome130',
    sourcemap: true,
    // No inline scripts or styles: the CSP allows 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // The viewer chunk is Cornerstone3D + vtk.js (~4 MB); it loads lazily from disk, never a network.
    chunkSizeWarningLimit: 4500,
  },
});
