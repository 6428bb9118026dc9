/**
 * scripts/classic-worker.ts (vite.config.ts): the Chromium build's service worker bundled into one
 * classic script, so Chromium keeps its V8 code cache (issue 13, docs/speed.md "Worker start"). The
 * classic script must mean what the module graph meant: strict, in the graph's order, its one
 * dynamic import still naming the chunk vite emitted.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { CLASSIC_WORKER, CLASSIC_WORKER_MAIN, SHARED_CHUNKS, classicServiceWorker, classicWorkerProblems } from '../../scripts/classic-worker.js';
import { WORKER_MAIN_SCRIPT } from '../../extension/worker/main-script.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A dist/ as @crxjs writes it: a loader importing the worker's chunk, which imports a shared chunk and lazily a task chunk. */
function moduleDist(background: Record<string, unknown> = { service_worker: 'service-worker-loader.js', type: 'module' }): string {
  const dist = mkdtempSync(join(tmpdir(), 'semper-classic-'));
  dirs.push(dist);
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'manifest.json'), JSON.stringify({ manifest_version: 3, name: 'x', version: '1', background }));
  writeFileSync(join(dist, 'service-worker-loader.js'), "import './assets/background.ts-abc.js';\n");
  writeFileSync(join(dist, 'assets', 'shared-1.js'), 'export const order = [];\norder.push("shared");\nexport const frozen = Object.freeze({ a: 1 });\n');
  writeFileSync(
    join(dist, 'assets', 'background.ts-abc.js'),
    [
      "import { order, frozen } from './shared-1.js';",
      'order.push("worker");',
      'let strict; try { frozen.a = 2; strict = false; } catch { strict = true; }',
      'globalThis.result = { order, strict, lazy: () => import("./tasks-2.js"), meta: import.meta.url };',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dist, 'assets', 'tasks-2.js'), 'export const t = 1;\n');
  return dist;
}

describe('classicServiceWorker', () => {
  it('bundles the module graph into one strict classic script and points the manifest at it', async () => {
    const dist = moduleDist();
    await classicServiceWorker(dist);
    const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
    expect(manifest.background).toEqual({ service_worker: CLASSIC_WORKER });
    expect(existsSync(join(dist, 'service-worker-loader.js'))).toBe(false);
    // The chunks stay for the pages that load them as modules.
    expect(existsSync(join(dist, 'assets', 'shared-1.js'))).toBe(true);
    const code = readFileSync(join(dist, CLASSIC_WORKER), 'utf8');
    expect(classicWorkerProblems(code)).toEqual([]);
    // The dynamic import names the chunk under assets/, from the script's directory.
    expect(code).toContain('import("./assets/tasks-2.js")');
    const scope: { self?: unknown; result?: { order: string[]; strict: boolean; meta: string } } = {};
    scope.self = { location: { href: 'chrome-extension://id/service-worker.js' } };
    runInNewContext(code, scope);
    // Strict as the modules were (the frozen object's assignment threw), evaluated in the graph's order.
    expect(scope.result).toMatchObject({ order: ['shared', 'worker'], strict: true, meta: 'chrome-extension://id/service-worker.js' });
  });

  it("with the rest of the worker: a second classic script that takes the start script's modules from it, not a second copy", async () => {
    const dist = moduleDist();
    // main.ts's chunk as vite writes it: it imports the shared chunk the start script has, and one of its own.
    writeFileSync(join(dist, 'assets', 'own-3.js'), 'import { order } from "./shared-1.js";\norder.push("own");\nexport const own = 1;\n');
    writeFileSync(
      join(dist, 'assets', 'worker-main-4.js'),
      [
        "import { order, frozen } from './shared-1.js';",
        "import { own } from './own-3.js';",
        'order.push("main");',
        'globalThis.main = { order, frozen, own, lazy: () => import("./tasks-2.js") };',
        '',
      ].join('\n'),
    );
    await classicServiceWorker(dist, { main: 'assets/worker-main-4.js' });
    expect(CLASSIC_WORKER_MAIN).toBe(WORKER_MAIN_SCRIPT);
    const start = readFileSync(join(dist, CLASSIC_WORKER), 'utf8');
    const main = readFileSync(join(dist, CLASSIC_WORKER_MAIN), 'utf8');
    expect(classicWorkerProblems(start)).toEqual([]);
    expect(classicWorkerProblems(main)).toEqual([]);
    expect(main).toContain('import("./assets/tasks-2.js")');
    const scope: Record<string, unknown> & {
      result?: { order: string[] };
      main?: { order: string[]; frozen: unknown; own: number };
      [SHARED_CHUNKS]?: Record<string, unknown>;
    } = { self: { location: { href: 'chrome-extension://id/service-worker.js' } } };
    runInNewContext(start, scope);
    expect(Object.keys(scope[SHARED_CHUNKS] ?? {}).sort()).toEqual(['assets/background.ts-abc.js', 'assets/shared-1.js']);
    expect(scope.main).toBeUndefined();
    runInNewContext(main, scope);
    // One instance of the shared module: evaluated once, the same objects on both sides; the main script's own chunk after it.
    expect(scope.main?.order).toEqual(['shared', 'worker', 'own', 'main']);
    expect(scope.main?.order).toBe(scope.result?.order);
    const shared = scope[SHARED_CHUNKS]?.['assets/shared-1.js'] as { frozen: unknown } | undefined;
    expect(scope.main?.frozen).toBe(shared?.frozen);
    expect(shared?.frozen).toBeDefined();
    expect(scope.main?.own).toBe(1);
  });

  it('refuses a build whose worker is not a module worker, and leaves it as it was', async () => {
    const dist = moduleDist({ service_worker: 'service-worker-loader.js' });
    await expect(classicServiceWorker(dist)).rejects.toThrow(/expected a module service worker/);
    expect(existsSync(join(dist, 'service-worker-loader.js'))).toBe(true);
    expect(existsSync(join(dist, CLASSIC_WORKER))).toBe(false);
  });
});

describe('classicWorkerProblems', () => {
  it('names what would make the classic script unlike its modules', () => {
    expect(classicWorkerProblems('"use strict";(()=>{})();')).toEqual([]);
    expect(classicWorkerProblems('(()=>{})();')).toEqual(['the script does not open with "use strict" (modules are strict)']);
    expect(classicWorkerProblems('"use strict";x=import.meta.url;')).toEqual(['import.meta is left in a classic script']);
    expect(classicWorkerProblems('"use strict";\nimport "./a.js";')).toEqual(['a static import or export is left in a classic script']);
    expect(classicWorkerProblems('"use strict";x="\u00e9";')).toEqual(['a non-ASCII character at 16']);
  });
});
