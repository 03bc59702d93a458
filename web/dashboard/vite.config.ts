/**
 * The dashboard page's build: plain TypeScript and uPlot, bundled into hashed files under
 * dist/dashboard/page/ and served at /dashboard/ by src/dashboard/assets.ts. Nothing is
 * fetched from a CDN at run time, and nothing is inlined (the page's CSP forbids inline
 * scripts and styles). scripts/build-dashboard.mjs runs it.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard/page/', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Inlined assets would be data: URLs in scripts and styles; keep every file a file.
    assetsInlineLimit: 0,
    // The polyfill would be an inline script; Node 20-era browsers have modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
