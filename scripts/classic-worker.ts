/**
 * The Chromium build's service worker as one *classic* script (issue 13, worker start;
 * vite.config.ts, docs/speed.md "Worker start").
 *
 * @crxjs/vite-plugin emits a module service worker: a loader (`import './assets/background…js'`)
 * over the chunks rolldown shares with the popup and the trusted window. Chromium compiles a module
 * service worker's modules from source on every start (the traces show a full parse of each), and
 * the worker stops whenever it is idle. A classic service worker's script is stored with its V8
 * code cache when the worker is installed, so a start deserialises compiled code instead: measured
 * in one run, the worker thread's CPU per cold start 134.9 → 63.9 ms, the same code either way.
 *
 * After vite has written the extension, this bundles the loader's static import graph into
 * `service-worker.js` (esbuild, IIFE, minified, ASCII) and points the manifest's
 * background.service_worker at it, without `"type": "module"`. The chunks stay: the popup, the
 * trusted window and the offscreen document load them as modules.
 *
 * What differs between a module and a classic script, and how each is kept:
 * - Strict mode: modules are strict, classic scripts are not unless they say so. The script opens
 *   with "use strict", so assigning to a frozen statement still throws. `classicWorkerProblems`
 *   (run by the build and by test/extension/classic-worker.test.ts) refuses a script without it.
 * - import(): Chromium refuses it in any service worker, module or classic. The worker's one
 *   dynamic import (Firefox's path to the offscreen tasks) stays an import() of the chunk under
 *   assets/, never taken in Chromium, where the tasks run in the offscreen document.
 * - import.meta: a classic script has none; esbuild would make it an empty object. Only vite's
 *   preload helper reads it, for dynamic imports, so the same rule applies; it is defined as the
 *   script's own URL rather than left undefined.
 * - Top-level await: none in the worker (Chromium refuses it in module service workers too).
 *
 * SEMPER_CLASSIC_SOURCEMAP=1 with `vite build --sourcemap` writes the script's source map, chained
 * to vite's, for profiling a start; the extension ships without it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import type { Plugin } from 'vite';

export const CLASSIC_WORKER = 'service-worker.js';
const STRICT = '"use strict";';

interface BuiltManifest {
  background?: { service_worker?: string; type?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** What makes a built classic worker script unlike the module graph it came from; empty when none. */
export function classicWorkerProblems(code: string): string[] {
  const problems: string[] = [];
  if (!code.startsWith(STRICT)) problems.push('the script does not open with "use strict" (modules are strict)');
  if (/\bimport\.meta\b/.test(code)) problems.push('import.meta is left in a classic script');
  if (/^\s*(import|export)\s[^(]/m.test(code)) problems.push('a static import or export is left in a classic script');
  for (let i = 0; i < code.length; i++) {
    if (code.charCodeAt(i) > 0x7f) {
      problems.push(`a non-ASCII character at ${i}`);
      break;
    }
  }
  return problems;
}

/** Bundles dist's module service worker into one classic script and rewrites dist/manifest.json to load it. */
export async function classicServiceWorker(dist: string): Promise<string> {
  const manifestPath = join(dist, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BuiltManifest;
  const loader = manifest.background?.service_worker;
  if (!loader || manifest.background?.type !== 'module')
    throw new Error(`${manifestPath}: expected a module service worker, found ${JSON.stringify(manifest.background)}`);
  const out = join(dist, CLASSIC_WORKER);
  await build({
    entryPoints: [join(dist, loader)],
    bundle: true,
    format: 'iife',
    minify: true,
    charset: 'ascii',
    target: 'chrome116',
    banner: { js: STRICT },
    define: { 'import.meta.url': 'self.location.href', 'import.meta.resolve': 'undefined' },
    outfile: out,
    logLevel: 'error',
    sourcemap: process.env.SEMPER_CLASSIC_SOURCEMAP === '1',
    plugins: [
      {
        name: 'semper-dynamic-imports-stay',
        setup(b) {
          // The chunk a dynamic import names stays where vite put it, addressed from the script's own directory.
          b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: `./assets/${basename(args.path)}`, external: true } : undefined));
        },
      },
    ],
  });
  const code = readFileSync(out, 'utf8');
  const problems = classicWorkerProblems(code);
  if (problems.length > 0) throw new Error(`${out}: ${problems.join('; ')}`);
  const { type: _module, ...background } = manifest.background;
  manifest.background = { ...background, service_worker: CLASSIC_WORKER };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(join(dist, loader));
  return out;
}

/** vite plugin: after the extension is written, its service worker becomes one classic script. */
export function classicWorker(): Plugin {
  let outDir = 'dist';
  return {
    name: 'semper-classic-worker',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle: {
      sequential: true,
      order: 'post',
      async handler(options) {
        await classicServiceWorker(options.dir ?? outDir);
      },
    },
  };
}
