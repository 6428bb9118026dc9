/**
 * Builds the unpacked MV3 extension into dist/ (`npm run build`).
 *
 * - @crxjs/vite-plugin reads manifest.json: the service worker, the popup (action.default_popup)
 *   and the content scripts. Both content scripts are `*.iife.ts`, so crxjs bundles them as
 *   self-contained classic scripts that run synchronously at document_start. (A non-IIFE content
 *   script becomes a loader that dynamic-imports its module, which would run after page scripts
 *   and would need its chunks listed in web_accessible_resources.)
 * - The trusted window is not referenced by the manifest (it is opened with windows.create), so
 *   it is an explicit rollup input. It is deliberately NOT web-accessible.
 * - Minified (issue 13): the service worker parses everything it imports statically on every start
 *   (`npm run bench` prints its gzip size and its cold start). Nothing it imports can be deferred
 *   with import(): Chromium refuses import() on ServiceWorkerGlobalScope. What a first message never
 *   needs runs in the offscreen document instead (extension/offscreen, an explicit input like the
 *   trusted window; not web-accessible).
 * - Every emitted script is ASCII (scripts/ascii-only.ts): Chromium decodes a script with one
 *   non-ASCII character into two-byte strings, which the worker paid on every start.
 * - The service worker is a classic script (scripts/classic-worker.ts): Chromium keeps a classic
 *   worker's V8 code cache and compiles a module worker's modules from source on every start. Its
 *   start script (extension/worker/background.ts) answers the popup's first questions; the rest of
 *   the worker (extension/worker/main.ts, an input of its own) is a second classic script it
 *   imports on first use.
 */
import { defineConfig } from 'vite';
import { crx, type ManifestV3Export } from '@crxjs/vite-plugin';
import preact from '@preact/preset-vite';
import manifest from './manifest.json' with { type: 'json' };
import { asciiOnly } from './scripts/ascii-only.js';
import { classicWorker, WORKER_MAIN_INPUT } from './scripts/classic-worker.js';

export default defineConfig({
  // core/zod-mini.ts: no compiled zod objects under the extension's CSP (it refuses eval).
  define: { __SEMPER_ZOD_COMPILED_OBJECTS__: 'false' },
  plugins: [preact(), crx({ manifest: manifest as ManifestV3Export }), asciiOnly(), classicWorker()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'chrome116',
    sourcemap: false,
    minify: true,
    rollupOptions: {
      input: {
        trusted: 'trusted-window/index.html',
        // The offscreen document (extension/offscreen): the worker's rarely used heavy code, opened with chrome.offscreen.
        offscreen: 'extension/offscreen/index.html',
        // The rest of the service worker: loaded by the start script on first use (scripts/classic-worker.ts).
        [WORKER_MAIN_INPUT]: 'extension/worker/main.ts',
      },
    },
  },
  server: { strictPort: true, port: 5173, hmr: { port: 5173 } },
});
