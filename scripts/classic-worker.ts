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
import { basename, join, relative, resolve, sep } from 'node:path';
import { build, type Plugin as EsbuildPlugin } from 'esbuild';
import type { Plugin } from 'vite';
import { WORKER_MAIN_SCRIPT as CLASSIC_WORKER_MAIN } from '../extension/worker/main-script.js';

export const CLASSIC_WORKER = 'service-worker.js';
/** vite.config.ts's rollup input for extension/worker/main.ts. */
export const WORKER_MAIN_INPUT = 'worker-main';
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

/** The global the start script's modules are kept on for the rest of the worker: chunk file (relative to dist) → its namespace. */
export const SHARED_CHUNKS = '__semperChunks';
/** The rest of the worker's classic script: the name the start script imports (extension/worker/main-script.ts). */
export { CLASSIC_WORKER_MAIN };

const esbuildOptions = {
  bundle: true,
  format: 'iife',
  minify: true,
  charset: 'ascii',
  target: 'chrome116',
  banner: { js: STRICT },
  define: { 'import.meta.url': 'self.location.href', 'import.meta.resolve': 'undefined' },
  logLevel: 'error',
} as const;

/** The chunk a dynamic import names stays where vite put it, addressed from the script's own directory. */
const dynamicImportsStay: EsbuildPlugin = {
  name: 'semper-dynamic-imports-stay',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: `./assets/${basename(args.path)}`, external: true } : undefined));
  },
};

function checkClassic(out: string): void {
  const problems = classicWorkerProblems(readFileSync(out, 'utf8'));
  if (problems.length > 0) throw new Error(`${out}: ${problems.join('; ')}`);
}

/** The dist-relative files of a module graph (its entry and every chunk it imports statically), in esbuild's order. */
async function moduleGraph(dist: string, entry: string): Promise<string[]> {
  const graph = await build({ ...esbuildOptions, entryPoints: [join(dist, entry)], write: false, metafile: true, plugins: [dynamicImportsStay] });
  return Object.keys(graph.metafile.inputs).map((file) => relative(dist, resolve(file)).split(sep).join('/'));
}

/**
 * Bundles dist's module service worker into one classic script and rewrites dist/manifest.json to
 * load it. With `main` (the dist-relative module chunk of extension/worker/main.ts), the rest of
 * the worker becomes a second classic script, worker-main.js, which the first imports with
 * importScripts() on first use: the first script keeps every chunk's namespace on the global scope
 * (SHARED_CHUNKS), and the second takes the chunks the first has from there instead of bundling
 * them again, so both share one instance of each module (one IndexedDB connection, one badge,
 * one zod) and the second evaluates only what the first does not have.
 */
export async function classicServiceWorker(dist: string, options: { main?: string } = {}): Promise<string> {
  const manifestPath = join(dist, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BuiltManifest;
  const loader = manifest.background?.service_worker;
  if (!loader || manifest.background?.type !== 'module')
    throw new Error(`${manifestPath}: expected a module service worker, found ${JSON.stringify(manifest.background)}`);
  const out = join(dist, CLASSIC_WORKER);
  const sourcemap = process.env.SEMPER_CLASSIC_SOURCEMAP === '1';
  if (options.main === undefined) {
    await build({ ...esbuildOptions, entryPoints: [join(dist, loader)], outfile: out, sourcemap, plugins: [dynamicImportsStay] });
  } else {
    const shared = (await moduleGraph(dist, loader)).filter((file) => file !== loader);
    // The loader's graph, then every chunk of it kept by name: evaluated in the graph's order, as before.
    const entry = [
      `import ${JSON.stringify(`./${loader}`)};`,
      ...shared.map((file, i) => `import * as m${i} from ${JSON.stringify(`./${file}`)};`),
      `globalThis.${SHARED_CHUNKS} = { ${shared.map((file, i) => `${JSON.stringify(file)}: m${i}`).join(', ')} };`,
      '',
    ].join('\n');
    await build({
      ...esbuildOptions,
      stdin: { contents: entry, resolveDir: dist, sourcefile: 'service-worker-entry.js' },
      outfile: out,
      sourcemap,
      plugins: [dynamicImportsStay],
    });
    const sharedSet = new Set(shared);
    const fromStartScript: EsbuildPlugin = {
      name: 'semper-chunks-from-the-start-script',
      setup(b) {
        b.onResolve({ filter: /^\.\.?\// }, (args) => {
          if (args.kind !== 'import-statement') return undefined;
          const file = relative(dist, resolve(args.resolveDir, args.path)).split(sep).join('/');
          return sharedSet.has(file) ? { path: file, namespace: 'semper-start-script' } : undefined;
        });
        b.onLoad({ filter: /.*/, namespace: 'semper-start-script' }, (args) => ({
          contents: `module.exports = globalThis.${SHARED_CHUNKS}[${JSON.stringify(args.path)}];`,
          loader: 'js',
        }));
      },
    };
    const mainOut = join(dist, CLASSIC_WORKER_MAIN);
    await build({ ...esbuildOptions, entryPoints: [join(dist, options.main)], outfile: mainOut, sourcemap, plugins: [fromStartScript, dynamicImportsStay] });
    checkClassic(mainOut);
  }
  checkClassic(out);
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
      async handler(options, bundle) {
        // The rest of the worker (extension/worker/main.ts), an entry of its own (vite.config.ts).
        const main = Object.values(bundle).find((c) => c.type === 'chunk' && c.isEntry && c.name === WORKER_MAIN_INPUT);
        await classicServiceWorker(options.dir ?? outDir, main ? { main: main.fileName } : {});
      },
    },
  };
}
