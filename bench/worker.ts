/**
 * The background worker (issue 13): what it loads at start (gzip) and its cold start in real
 * Chromium against an empty MV3 worker, both built and measured in this run.
 *
 *   - The extension is built with `vite build --manifest` into a temporary directory; the worker's
 *     start closure is the service-worker loader's import and the chunks its chunk imports
 *     statically (vite's manifest `imports`; `dynamicImports` load later, on demand).
 *   - Cold start: the worker is stopped (CDP ServiceWorker.stopAllWorkers, as Chrome stops an idle
 *     worker), then an extension page sends one message and times, in the page, until the answer
 *     (Semper: the `settings.get` operation; the empty worker answers any message at once). The
 *     median of ROUNDS such starts per extension, interleaved.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { benchArchive } from './archive.js';
import type { Figure } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROUNDS = Number(process.env.BENCH_WORKER_ROUNDS ?? 7);

interface ManifestChunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
}

/** The files the worker loads at start, and their gzip size (bytes). */
export function workerStartFiles(dist: string): { files: string[]; gzipBytes: number; rawBytes: number } {
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as { background: { service_worker: string } };
  const vite = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestChunk>;
  const byFile = new Map(Object.entries(vite).map(([key, chunk]) => [chunk.file, key]));
  const loader = manifest.background.service_worker;
  const files = [loader];
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = vite[key]!;
    files.push(chunk.file);
    for (const i of chunk.imports ?? []) visit(i);
  };
  // The loader (written by @crxjs) is one static import of the worker's chunk.
  for (const m of readFileSync(join(dist, loader), 'utf8').matchAll(/import\s+['"]\.\/([^'"]+)['"]/g)) {
    const key = byFile.get(m[1]!);
    if (!key) throw new Error(`bench worker: ${m[1]} is not in vite's manifest`);
    visit(key);
  }
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const f of files) {
    const bytes = readFileSync(join(dist, f));
    rawBytes += bytes.length;
    gzipBytes += gzipSync(bytes).length;
  }
  return { files, gzipBytes, rawBytes };
}

function emptyExtension(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ manifest_version: 3, name: 'empty', version: '1.0', background: { service_worker: 'worker.js', type: 'module' } }),
  );
  writeFileSync(join(dir, 'worker.js'), 'chrome.runtime.onMessage.addListener((message, sender, sendResponse) => { sendResponse({ ok: true }); });\n');
  writeFileSync(join(dir, 'page.html'), '<!doctype html><title>empty</title>\n');
}

interface Launched {
  context: BrowserContext;
  page: Page;
  scope: string;
  profile?: string;
}

async function launch(dist: string, pagePath: string): Promise<Launched> {
  const profile = mkdtempSync(join(tmpdir(), 'semper-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      `--disable-extensions-except=${dist}`,
      `--load-extension=${dist}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  let worker = context.serviceWorkers().find((w) => w.url().startsWith('chrome-extension://'));
  worker ??= await context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith('chrome-extension://'), timeout: 20_000 });
  const scope = `chrome-extension://${new URL(worker.url()).host}/`;
  const page = await context.newPage();
  await page.goto(`${scope}${pagePath}`);
  return { context, page, scope, profile };
}

async function stopWorker(l: Omit<Launched, 'profile'>): Promise<void> {
  const cdp = await l.context.newCDPSession(l.page);
  try {
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    cdp.on('ServiceWorker.workerVersionUpdated', (event) => {
      if (event.versions.some((v) => v.scriptURL.startsWith(l.scope) && v.runningStatus === 'stopped')) resolveStopped();
    });
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    await Promise.race([stopped, new Promise((_, reject) => setTimeout(() => reject(new Error('service worker did not stop')), 10_000))]);
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/** Stop the worker, then time one message from the page until its answer (ms, measured in the page). */
async function coldAnswer(l: Omit<Launched, 'profile'>, message: unknown): Promise<number> {
  await stopWorker(l);
  await new Promise((r) => setTimeout(r, 200));
  return l.page.evaluate(async (m) => {
    const t0 = performance.now();
    const answer = (await chrome.runtime.sendMessage(m)) as { ok?: boolean } | undefined;
    const t = performance.now() - t0;
    if (answer?.ok !== true) throw new Error(`cold start: the worker answered ${JSON.stringify(answer)}`);
    return t;
  }, message);
}

/**
 * The worker's JS heap after a full GC (CDP Runtime.getHeapUsage on the service worker's target,
 * reached from a page's session with Target.attachToTarget / sendMessageToTarget).
 */
async function workerHeap(l: Omit<Launched, 'profile'>): Promise<number> {
  const cdp = await l.context.newCDPSession(l.page);
  try {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
    const sw = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(l.scope));
    if (!sw) throw new Error('bench worker: no running service worker');
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: sw.targetId, flatten: false })) as { sessionId: string };
    let nextId = 0;
    const call = (method: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const id = ++nextId;
        const onMessage = (e: { sessionId?: string; message: string }) => {
          const m = JSON.parse(e.message) as { id?: number; result?: Record<string, unknown>; error?: unknown };
          if (e.sessionId !== sessionId || m.id !== id) return;
          cdp.off('Target.receivedMessageFromTarget', onMessage);
          if (m.error) reject(new Error(`${method}: ${JSON.stringify(m.error)}`));
          else resolve(m.result ?? {});
        };
        cdp.on('Target.receivedMessageFromTarget', onMessage);
        void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
      });
    await call('HeapProfiler.enable');
    await call('HeapProfiler.collectGarbage');
    const { usedSize } = (await call('Runtime.getHeapUsage')) as { usedSize: number };
    await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => undefined);
    return usedSize;
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchWorker(): Promise<{ lines: string[]; figures: Figure[] }> {
  const root = mkdtempSync(join(tmpdir(), 'semper-bench-worker-'));
  const dist = process.env.BENCH_DIST ?? join(root, 'dist');
  try {
    if (!process.env.BENCH_DIST) {
      execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', dist, '--emptyOutDir', '--manifest', '--logLevel', 'error'], {
        stdio: 'inherit',
      });
    }
    const start = workerStartFiles(dist);
    // vite's manifest is for this bench only; Chromium loads the directory without it.
    rmSync(join(dist, '.vite'), { recursive: true, force: true });
    const empty = join(root, 'empty');
    emptyExtension(empty);

    const semper = await launch(dist, 'popup/index.html');
    const bare = await launch(empty, 'page.html');
    const semperMs: number[] = [];
    const emptyMs: number[] = [];
    let heap = { semper: 0, empty: 0 };
    try {
      for (let i = 0; i < ROUNDS; i++) {
        semperMs.push(await coldAnswer(semper, { op: 'settings.get', request: {} }));
        emptyMs.push(await coldAnswer(bare, { ping: true }));
      }
      // The heaps right after a cold start and its first answer.
      heap = { semper: await workerHeap(semper), empty: await workerHeap(bare) };
    } finally {
      for (const l of [semper, bare]) {
        await l.context.close().catch(() => undefined);
        if (l.profile) rmSync(l.profile, { recursive: true, force: true });
      }
    }
    // The same build with a long history (bench/archive.ts).
    const archive = await benchArchive(dist, { coldAnswer, workerHeap }, Math.max(3, Math.ceil(ROUNDS / 2)));
    const s = median(semperMs);
    const e = median(emptyMs);
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KB (${(b / 1000).toFixed(1)} kB)`;
    return {
      lines: [
        `worker loads at start: ${kb(start.gzipBytes)} gzip (${kb(start.rawBytes)} raw): ${start.files.join(', ')}`,
        `worker JS heap after a cold start and its first answer (after GC): Semper ${(heap.semper / 1024 / 1024).toFixed(1)} MB, empty MV3 worker ${(heap.empty / 1024 / 1024).toFixed(1)} MB`,
        ...archive.lines,
        `stopped worker → first answer (median of ${ROUNDS}): Semper ${s.toFixed(0)} ms [${semperMs.map((x) => x.toFixed(0)).join(' ')}], empty MV3 worker ${e.toFixed(0)} ms [${emptyMs.map((x) => x.toFixed(0)).join(' ')}]`,
      ],
      figures: [
        {
          figure: 'background worker loaded at start',
          ratio: start.gzipBytes / 1024,
          unit: ' KB gzip',
          goal: { op: '<=', value: 150 },
          detail: `${start.files.length} files`,
        },
        {
          figure: 'worker cold start (stopped → first answer)',
          ratio: s / e,
          unit: '× the empty MV3 worker',
          goal: { op: '<=', value: 2 },
          detail: `${s.toFixed(0)} ms vs ${e.toFixed(0)} ms`,
        },
        ...archive.figures,
      ],
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
