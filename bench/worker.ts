/**
 * The background worker (issue 13): what it loads at start (gzip) and its cold start in real
 * Chromium against an empty MV3 worker, both built and measured in this run.
 *
 *   - The extension is built with `vite build --manifest` into a temporary directory. Its worker's
 *     start script is one classic script (scripts/classic-worker.ts) bundled from the start
 *     script's chunk and the chunks it imports statically (vite's manifest `imports`); that is what
 *     it loads at start. The rest of the worker (worker-main.js) is loaded on first use; its size
 *     is printed too.
 *   - Cold start: the worker is stopped (CDP ServiceWorker.stopAllWorkers, as Chrome stops an idle
 *     worker), then an extension page sends one message and times, in the page, until the answer
 *     (Semper: the `settings.get` operation; the empty worker, a classic script like Semper's,
 *     answers any message at once; an empty module worker is measured alongside). The median of
 *     ROUNDS such starts per extension, interleaved.
 *   - Where the time goes, in the same rounds: an empty worker that opens the extension's
 *     IndexedDB and reads one record before answering (the floor of any worker that answers from
 *     durable state); copies of the built extension whose worker (bundled as the build bundles
 *     it) answers a ping at once after evaluating only the start bundle's shared chunks, or the
 *     whole start bundle with the worker's own top level; the build with a stub in place of
 *     worker-main.js (Chromium streams every script a service worker imported while installing, with
 *     its code cache, to each start: this is what that costs); Semper answering `identity.status`,
 *     which loads worker-main.js first. BENCH_WORKER_COMPARE=<another dist> adds that build (before/after
 *     in one run). BENCH_WORKER_ARCHIVE=0 skips the long history (bench/archive.ts).
 *   - Then BENCH_WORKER_TRACED_ROUNDS more starts of each, traced (Chromium's tracing over the
 *     DevTools port): the CPU time of the worker's thread by phase, steadier than the wall clock
 *     on a loaded machine (docs/speed.md, "Worker start").
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { benchArchive } from './archive.js';
import type { Figure } from './harness.js';
import { DB_VERSION } from '../extension/worker/store.js';
import { CLASSIC_WORKER_MAIN, classicServiceWorker } from '../scripts/classic-worker.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROUNDS = Number(process.env.BENCH_WORKER_ROUNDS ?? 7);
const TRACED_ROUNDS = Number(process.env.BENCH_WORKER_TRACED_ROUNDS ?? 5);

interface ManifestChunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
}

/**
 * The files the worker loads at start, and their gzip size (bytes); `chunks`: the worker's module
 * chunk then the chunks it imports statically (vite's manifest), which the Chromium build bundles
 * into its one classic script (scripts/classic-worker.ts) and the decomposition evaluates apart.
 */
export function workerStartFiles(dist: string): { files: string[]; chunks: string[]; gzipBytes: number; rawBytes: number } {
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as { background: { service_worker: string; type?: string } };
  const vite = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestChunk>;
  const chunks: string[] = [];
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = vite[key]!;
    chunks.push(chunk.file);
    for (const i of chunk.imports ?? []) visit(i);
  };
  if (!vite[WORKER_SOURCE]) throw new Error(`bench worker: ${WORKER_SOURCE} is not in vite's manifest`);
  visit(WORKER_SOURCE);
  const loader = manifest.background.service_worker;
  // A module worker loads its loader (one static import of the worker's chunk, written by @crxjs) and the chunks; a classic one, its script.
  const files = manifest.background.type === 'module' ? [loader, ...chunks] : [loader];
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const f of files) {
    const bytes = readFileSync(join(dist, f));
    rawBytes += bytes.length;
    gzipBytes += gzipSync(bytes).length;
  }
  return { files, chunks, gzipBytes, rawBytes };
}

/** The worker's entry in manifest.json (the source), vite's key for its chunk. */
const WORKER_SOURCE = 'extension/worker/background.ts';

const EMPTY_WORKER = 'chrome.runtime.onMessage.addListener((message, sender, sendResponse) => { sendResponse({ ok: true }); });\n';

/** An extension with nothing but `worker` as its service worker: a classic script unless `module`. */
export function emptyExtension(dir: string, worker = EMPTY_WORKER, module = false): void {
  mkdirSync(dir, { recursive: true });
  const background = module ? { service_worker: 'worker.js', type: 'module' } : { service_worker: 'worker.js' };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ manifest_version: 3, name: 'empty', version: '1.0', background }));
  writeFileSync(join(dir, 'worker.js'), worker);
  writeFileSync(join(dir, 'page.html'), '<!doctype html><title>empty</title>\n');
}

/**
 * The floor of any durable worker (issue 13's decomposition): an empty worker that, for each
 * message, opens the extension's IndexedDB ('semper', the same version and stores, created on its
 * first start) and reads one record (the settings record `settings.get` reads) before answering.
 */
const IDB_WORKER = `let db;
function open() {
  db ??= new Promise((resolve, reject) => {
    const r = indexedDB.open('semper', ${DB_VERSION});
    r.onupgradeneeded = () => {
      const d = r.result;
      const deals = d.createObjectStore('deals', { keyPath: 'dealId' });
      deals.createIndex('byCreated', 'createdAt');
      deals.createIndex('byActive', 'activeSince');
      deals.createIndex('byUpdated', 'updatedAt');
      deals.createIndex('byPageRequest', 'pageRequest');
      d.createObjectStore('archive', { keyPath: ['dealId', 'digest'] }).createIndex('byDeal', 'dealId');
      d.createObjectStore('roots', { keyPath: 'fingerprint' });
      d.createObjectStore('keys', { keyPath: 'keyId' }).createIndex('byPurpose', 'purpose');
      d.createObjectStore('tokens', { keyPath: 'credentialId' });
      d.createObjectStore('settings').put({ caUrl: 'http://127.0.0.1:1/', hardwareTokenAbove: null }, 'shopper');
      d.createObjectStore('ttps', { keyPath: 'fingerprint' });
      d.createObjectStore('meta');
      d.createObjectStore('wallets', { keyPath: 'dealId' }).createIndex('byCreated', 'createdAt');
      d.createObjectStore('arbiters', { keyPath: 'fingerprint' });
      d.createObjectStore('tsas', { keyPath: 'fingerprint' });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return db;
}
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  open().then((d) => new Promise((resolve, reject) => {
    const g = d.transaction('settings').objectStore('settings').get('shopper');
    g.onsuccess = () => resolve(g.result);
    g.onerror = () => reject(g.error);
  })).then((settings) => sendResponse({ ok: settings !== undefined }), (e) => sendResponse({ ok: false, error: String(e) }));
  return true;
});
`;

/** worker-main.js's contract (extension/worker/main-script.ts) and nothing else. */
const STUB_WORKER_MAIN = '"use strict";globalThis.__semperWorkerMain={onMessage:async()=>({ok:false}),onConnect(){},onAlarm(){},onWindowRemoved(){}};\n';

/** Answers \`{ ping: true }\` at once, registered before anything else the worker evaluates. */
const PING_MODULE =
  'chrome.runtime.onMessage.addListener((message, sender, sendResponse) => { if (message && message.ping === true) sendResponse({ ok: true }); });\n';

/**
 * A copy of the built extension whose worker first registers the ping listener, then imports
 * `files` (paths in the build) — the start bundle's shared chunks alone, or the whole start bundle
 * with the worker's own top level (its listeners, and its start, which the ping answer does not
 * wait for: the ping is answered synchronously when the message is dispatched, which Chromium does
 * once the module graph has evaluated).
 */
export async function bundleExtension(dist: string, dir: string, files: string[]): Promise<void> {
  cpSync(dist, dir, { recursive: true });
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { background: { service_worker: string; type?: string } };
  const classic = manifest.background.type !== 'module';
  writeFileSync(join(dir, 'bench-ping.js'), PING_MODULE);
  const loader = 'bench-loader.js';
  writeFileSync(join(dir, loader), ["import './bench-ping.js';", ...files.map((f) => `import './${f}';`), ''].join('\n'));
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, background: { service_worker: loader, type: 'module' } }));
  // The same kind of worker as the build's: its classic script is bundled the way the build bundles it.
  if (classic) await classicServiceWorker(dir);
  writeFileSync(join(dir, 'page.html'), '<!doctype html><title>bench</title>\n');
}

interface Launched {
  context: BrowserContext;
  page: Page;
  scope: string;
  profile?: string;
  /** The same browser over its DevTools port: a browser-wide session for tracing. */
  browser?: Browser;
}

export async function launch(dist: string, pagePath: string): Promise<Launched> {
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
      '--remote-debugging-port=0',
    ],
  });
  let worker = context.serviceWorkers().find((w) => w.url().startsWith('chrome-extension://'));
  worker ??= await context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith('chrome-extension://'), timeout: 20_000 });
  const scope = `chrome-extension://${new URL(worker.url()).host}/`;
  const page = await context.newPage();
  await page.goto(`${scope}${pagePath}`);
  const port = readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0];
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  return { context, page, scope, profile, browser };
}

/** CPU time (ms) the worker's thread spent in one cold start, by phase (trace events' thread durations). */
export interface StartCpu {
  /** Every task the worker thread ran from its start until the answer. */
  total: number;
  /** The isolate's set-up (every worker pays it). */
  isolate: number;
  /** UTF-8 → the source strings. */
  decode: number;
  /** Parsing and compiling each module's top level (functions compile later, when first called), or deserialising a classic script's code cache. */
  compile: number;
  /** Running the module graph's top-level code, with the functions it calls compiled on the way. */
  evaluate: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * One cold start traced (Tracing on the browser session; categories for the worker thread's tasks,
 * V8's compile and evaluate and Blink's decoding). CPU time, not wall time: what the start costs,
 * less disturbed by other jobs on the machine than the wall clock.
 */
export async function tracedStart(l: Launched, message: unknown): Promise<StartCpu> {
  if (!l.browser) throw new Error('bench worker: no browser session to trace with');
  const session = await l.browser.newBrowserCDPSession();
  try {
    await stopWorker(l);
    await new Promise((r) => setTimeout(r, 200));
    await session.send('Tracing.start', {
      transferMode: 'ReturnAsStream',
      traceConfig: { includedCategories: ['toplevel', 'v8', 'v8.execute', 'blink', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] },
    });
    await l.page.evaluate(async (m) => {
      await chrome.runtime.sendMessage(m);
    }, message);
    const complete = new Promise<{ stream?: string }>((resolve) => session.once('Tracing.tracingComplete', resolve));
    await session.send('Tracing.end');
    const { stream } = await complete;
    if (!stream) throw new Error('bench worker: the trace came back without a stream');
    let text = '';
    for (;;) {
      const chunk = await session.send('IO.read', { handle: stream });
      text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString('utf8') : chunk.data;
      if (chunk.eof) break;
    }
    await session.send('IO.close', { handle: stream });
    const parsed = JSON.parse(text) as { traceEvents?: TraceEvent[] } | TraceEvent[];
    const events = Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? []);
    // The thread this start ran on: the busiest 'ServiceWorker thread' of the trace.
    const threads = new Set(
      events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'ServiceWorker thread').map((e) => `${e.pid}:${e.tid}`),
    );
    const byThread = new Map<string, TraceEvent[]>();
    for (const e of events) {
      const key = `${e.pid}:${e.tid}`;
      if (e.ph !== 'X' || !threads.has(key)) continue;
      byThread.set(key, [...(byThread.get(key) ?? []), e]);
    }
    const own = [...byThread.values()].sort((a, b) => b.length - a.length)[0];
    if (!own) throw new Error('bench worker: no service worker thread in the trace');
    const cpu = (name: string) => own.filter((e) => e.name === name).reduce((sum, e) => sum + (e.tdur ?? 0), 0) / 1000;
    return {
      total: cpu('ThreadControllerImpl::RunTask'),
      isolate: cpu('V8PerIsolateData::Initialize'),
      decode: cpu('TextResourceDecoder::Decode'),
      // Modules: compiled and evaluated one by one; a classic script: one v8.compile (deserialising its code cache once there is one) and one v8.run.
      compile: cpu('v8.compileModule') + cpu('v8.compile'),
      evaluate: cpu('v8.evaluateModule') + cpu('v8.run'),
    };
  } finally {
    await session.detach().catch(() => undefined);
  }
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
export async function coldAnswer(l: Omit<Launched, 'profile'>, message: unknown): Promise<number> {
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
    const compare = process.env.BENCH_WORKER_COMPARE;
    if (compare) rmSync(join(compare, '.vite'), { recursive: true, force: true });
    const empty = join(root, 'empty');
    emptyExtension(empty);
    const emptyModule = join(root, 'empty-module');
    emptyExtension(emptyModule, EMPTY_WORKER, true);
    const idb = join(root, 'idb');
    emptyExtension(idb, IDB_WORKER);
    // start.chunks: the worker's own chunk, then the chunks it imports.
    const chunks = join(root, 'chunks');
    await bundleExtension(dist, chunks, start.chunks.slice(1));
    const bundle = join(root, 'bundle');
    await bundleExtension(dist, bundle, start.chunks.slice(0, 1));
    // The build with a stub in place of the rest of the worker (never loaded by settings.get): what Chromium's
    // streaming of the installed worker-main.js (and its code cache) to every start costs.
    const stubMain = join(root, 'stub-main');
    cpSync(dist, stubMain, { recursive: true });
    writeFileSync(join(stubMain, CLASSIC_WORKER_MAIN), STUB_WORKER_MAIN);
    const mainBytes = readFileSync(join(dist, CLASSIC_WORKER_MAIN));

    const settingsGet = { op: 'settings.get', request: {} };
    // The popup's Identity section: an operation of the rest of the worker.
    const identityStatus = { op: 'identity.status', request: {} };
    const ping = { ping: true };
    type Variant = { name: string; dir: string; page: string; message: unknown; ms: number[]; cpu: StartCpu[]; launched?: Launched };
    const variant = (name: string, dir: string, page: string, message: unknown): Variant => ({ name, dir, page, message, ms: [], cpu: [] });
    const emptyWorker = variant('empty MV3 worker (classic script)', empty, 'page.html', ping);
    const semperWorker = variant('Semper: settings.get', dist, 'popup/index.html', settingsGet);
    const variants: Variant[] = [
      emptyWorker,
      variant('empty MV3 worker (module)', emptyModule, 'page.html', ping),
      variant('empty worker + IndexedDB open and one read', idb, 'page.html', ping),
      variant("start bundle's shared chunks evaluated (no worker code)", chunks, 'page.html', ping),
      variant("whole start bundle evaluated, answered before the worker's own start", bundle, 'page.html', ping),
      semperWorker,
      variant('Semper: settings.get, worker-main.js a stub', stubMain, 'popup/index.html', settingsGet),
      variant('Semper: identity.status (loads worker-main.js first)', dist, 'popup/index.html', identityStatus),
      ...(compare
        ? [
            variant(`compared build (${compare}): settings.get`, compare, 'popup/index.html', settingsGet),
            variant(`compared build (${compare}): identity.status`, compare, 'popup/index.html', identityStatus),
          ]
        : []),
    ];
    let heap = { semper: 0, empty: 0 };
    try {
      for (const v of variants) v.launched = await launch(v.dir, v.page);
      // One unmeasured start each: the first creates the IndexedDB databases.
      for (const v of variants) await coldAnswer(v.launched!, v.message);
      for (let i = 0; i < ROUNDS; i++) {
        for (const v of variants) v.ms.push(await coldAnswer(v.launched!, v.message));
      }
      // The heaps right after a cold start and its first answer.
      heap = { semper: await workerHeap(semperWorker.launched!), empty: await workerHeap(emptyWorker.launched!) };
      for (let i = 0; i < TRACED_ROUNDS; i++) {
        for (const v of variants) v.cpu.push(await tracedStart(v.launched!, v.message));
      }
    } finally {
      for (const v of variants) {
        const l = v.launched;
        if (!l) continue;
        await l.browser?.close().catch(() => undefined);
        await l.context.close().catch(() => undefined);
        if (l.profile) rmSync(l.profile, { recursive: true, force: true });
      }
    }
    // The same build with a long history (bench/archive.ts).
    const archive =
      process.env.BENCH_WORKER_ARCHIVE === '0'
        ? { lines: ['archive: skipped (BENCH_WORKER_ARCHIVE=0)'], figures: [] }
        : await benchArchive(dist, { coldAnswer, workerHeap }, Math.max(3, Math.ceil(ROUNDS / 2)));
    const s = median(semperWorker.ms);
    const e = median(emptyWorker.ms);
    const decomposition = variants.map(
      (v) => `  ${v.name}: ${median(v.ms).toFixed(0)} ms = ${(median(v.ms) / e).toFixed(2)}× the empty worker [${v.ms.map((x) => x.toFixed(0)).join(' ')}]`,
    );
    const eCpu = median(emptyWorker.cpu.map((c) => c.total));
    const phase = (v: Variant, k: keyof StartCpu) => median(v.cpu.map((c) => c[k]));
    const cpuLines = variants.map((v) => {
      const total = phase(v, 'total');
      const rest = total - phase(v, 'isolate') - phase(v, 'decode') - phase(v, 'compile') - phase(v, 'evaluate');
      return `  ${v.name}: ${total.toFixed(1)} ms = ${(total / eCpu).toFixed(2)}× (isolate ${phase(v, 'isolate').toFixed(1)}, decode ${phase(v, 'decode').toFixed(1)}, compile ${phase(v, 'compile').toFixed(1)}, evaluate ${phase(v, 'evaluate').toFixed(1)}, the rest ${rest.toFixed(1)})`;
    });
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KB (${(b / 1000).toFixed(1)} kB)`;
    return {
      lines: [
        `worker loads at start: ${kb(start.gzipBytes)} gzip (${kb(start.rawBytes)} raw): ${start.files.join(', ')}`,
        `the rest of the worker, loaded on first use: ${kb(gzipSync(mainBytes).length)} gzip (${kb(mainBytes.length)} raw): ${CLASSIC_WORKER_MAIN}`,
        `worker JS heap after a cold start and its first answer (after GC): Semper ${(heap.semper / 1024 / 1024).toFixed(1)} MB, empty MV3 worker ${(heap.empty / 1024 / 1024).toFixed(1)} MB`,
        ...archive.lines,
        `stopped worker → first answer (median of ${ROUNDS}, interleaved): Semper ${s.toFixed(0)} ms, empty MV3 worker ${e.toFixed(0)} ms; each:`,
        ...decomposition,
        `worker thread CPU per cold start (median of ${TRACED_ROUNDS} traced starts; phases are medians each):`,
        ...cpuLines,
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
        {
          figure: "worker cold start, the worker thread's CPU",
          ratio: phase(semperWorker, 'total') / eCpu,
          unit: "× the empty MV3 worker's",
          goal: { op: '<=', value: 2 },
          detail: `${phase(semperWorker, 'total').toFixed(1)} ms vs ${eCpu.toFixed(1)} ms`,
        },
        ...archive.figures,
      ],
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
