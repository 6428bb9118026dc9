/**
 * Builds the Firefox package into dist-firefox/ (`npm run build:firefox`; scripts/pack-firefox.ts
 * then zips it into dist-firefox.zip).
 *
 * The same sources and the same @crxjs/vite-plugin pipeline as vite.config.ts, with crxjs's
 * `browser: 'firefox'` target: it emits `background.scripts: [loader]` (an event page) instead of a
 * service worker, and its production output has no Chromium-only loader code (the background
 * loader is one `import './assets/background…js'`; the content scripts are self-contained IIFEs;
 * HTML pages are plain module scripts). The manifest is derived from manifest.json by
 * scripts/firefox-manifest.ts.
 */
import { defineConfig } from 'vite';
import { crx, type ManifestV3Export } from '@crxjs/vite-plugin';
import preact from '@preact/preset-vite';
import manifest from './manifest.json' with { type: 'json' };
import { firefoxManifest, type ChromiumManifest } from './scripts/firefox-manifest.js';

export default defineConfig({
  // core/zod-mini.ts: no compiled zod objects under the extension's CSP (it refuses eval).
  define: { __SEMPER_ZOD_COMPILED_OBJECTS__: 'false' },
  plugins: [preact(), crx({ manifest: firefoxManifest(manifest as ChromiumManifest) as unknown as ManifestV3Export, browser: 'firefox' })],
  build: {
    outDir: 'dist-firefox',
    emptyOutDir: true,
    target: 'firefox128',
    sourcemap: false,
    minify: false,
    rollupOptions: {
      input: {
        trusted: 'trusted-window/index.html',
      },
      // Module bodies in source order across chunks. tsyringe (under @peculiar/x509) checks for the
      // reflect-metadata polyfill when it is evaluated, and the CommonJS polyfill runs where its
      // importer's body runs: with the lazily imported @simplewebauthn/server sharing @peculiar's
      // asn1 modules, rolldown put x509 and tsyringe in a chunk evaluated before that, and the event
      // page failed at start. The Chromium build's chunks keep the order (every e2e test starts its
      // worker); Firefox's event page has no start-size goal.
      output: { strictExecutionOrder: true },
    },
  },
});
