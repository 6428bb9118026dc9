/**
 * The worker with a long history (issue 13, memory): 1,000 archived deals in the real extension's
 * IndexedDB, then the worker's JS heap (after GC) and its cold start, against the same worker with
 * one deal, in the same run. The deals are copies of one real purchase made through the built
 * extension in Chromium against the marketplace of `npm start` (offer, order, confirmation and
 * delivery archived as the worker wrote them), each under a fresh deal id: the record shape and
 * sizes are the real ones, only the ids repeat their content.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { startMarketplace } from '../server/marketplace.js';
import { clickInTrustedWindow, launchExtension, pageResult, tempDir, waitForTrustedWindow } from '../test/e2e/harness.js';
import type { Figure } from './harness.js';

const DEALS = Number(process.env.BENCH_ARCHIVE_DEALS ?? 1000);

export interface WorkerProbe {
  context: BrowserContext;
  page: Page;
  scope: string;
}

interface ArchiveProbes {
  coldAnswer(l: WorkerProbe, message: unknown): Promise<number>;
  workerHeap(l: WorkerProbe): Promise<number>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Copies of `dealId`'s record and archive entries under `count` new ids, written from an extension page. */
async function cloneDeal(page: Page, dealId: string, count: number): Promise<{ dealBytes: number; archiveEntries: number }> {
  // A string, not a function: tsx's keepNames would wrap the inner functions in a helper the page lacks.
  return page.evaluate(`(${CLONE_IN_PAGE})(${JSON.stringify(dealId)}, ${count})`) as Promise<{ dealBytes: number; archiveEntries: number }>;
}

const CLONE_IN_PAGE = `async function (dealId, count) {
  function request(r) {
    return new Promise(function (resolve, reject) { r.onsuccess = function () { resolve(r.result); }; r.onerror = function () { reject(r.error); }; });
  }
  const db = await request(indexedDB.open('semper'));
  const read = db.transaction(['deals', 'archive'], 'readonly');
  const deal = await request(read.objectStore('deals').get(dealId));
  const entries = await request(read.objectStore('archive').index('byDeal').getAll(dealId));
  if (!deal || entries.length === 0) throw new Error('bench archive: deal ' + dealId + ' has no record or no archive');
  const write = db.transaction(['deals', 'archive'], 'readwrite');
  for (let i = 0; i < count; i++) {
    const id = 'bench-' + i.toString(36) + '-' + crypto.randomUUID();
    const t = deal.createdAt - (count - i) * 60000;
    write.objectStore('deals').put(Object.assign({}, deal, { dealId: id, createdAt: t, updatedAt: t }));
    for (const e of entries) write.objectStore('archive').put(Object.assign({}, e, { dealId: id }));
  }
  await new Promise(function (resolve, reject) { write.oncomplete = function () { resolve(); }; write.onerror = function () { reject(write.error); }; });
  db.close();
  return { dealBytes: JSON.stringify(deal).length + JSON.stringify(entries).length, archiveEntries: entries.length };
}`;

export async function benchArchive(dist: string, probes: ArchiveProbes, rounds: number): Promise<{ lines: string[]; figures: Figure[] }> {
  const dataDir = tempDir('semper-bench-market-');
  const market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
  const harness = await launchExtension({ dist });
  try {
    const published = (await (await fetch(`${market.caUrl}/ca/root`)).json()) as { pem: string };
    await harness.operation('settings.addRoot', { certificate: published.pem });
    // One real purchase: offer verified, confirmed in the trusted window, delivered, archived.
    const shop = await harness.context.newPage();
    await shop.goto(`${market.shopUrl}/product/ink-drying-report`);
    await shop.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    const dealId = new URL(tw.url()).searchParams.get('deal')!;
    await clickInTrustedWindow(tw, '#confirm');
    const result = (await pageResult(shop)) as { status?: string };
    if (result.status !== 'completed') throw new Error(`bench archive: the purchase ended ${JSON.stringify(result)}`);
    await shop.close();

    const probe: WorkerProbe = { context: harness.context, page: harness.opsPage, scope: `chrome-extension://${harness.extensionId}/` };
    const search = { op: 'history.search', request: {} };
    const measureNow = async () => {
      const cold: number[] = [];
      const searched: number[] = [];
      for (let i = 0; i < rounds; i++) {
        cold.push(await probes.coldAnswer(probe, { op: 'settings.get', request: {} }));
        searched.push(await probes.coldAnswer(probe, search));
      }
      // The heap right after a cold start whose first message asked for the history's first page.
      await probes.coldAnswer(probe, search);
      return { cold: median(cold), searched: median(searched), heap: await probes.workerHeap(probe) };
    };
    const one = await measureNow();
    const cloned = await cloneDeal(harness.opsPage, dealId, DEALS - 1);
    const many = await measureNow();
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
    return {
      lines: [
        `archive: ${DEALS} deals (copies of one real purchase: ${cloned.archiveEntries} statements, ${(cloned.dealBytes / 1024).toFixed(1)} KB of JSON each)`,
        `worker JS heap after a cold start and a history search (after GC): 1 deal ${mb(one.heap)}, ${DEALS} deals ${mb(many.heap)}`,
        `stopped worker → settings.get answered (median of ${rounds}): 1 deal ${one.cold.toFixed(0)} ms, ${DEALS} deals ${many.cold.toFixed(0)} ms = ${(many.cold / one.cold).toFixed(2)}×`,
        `stopped worker → history.search (first page) answered (median of ${rounds}): 1 deal ${one.searched.toFixed(0)} ms, ${DEALS} deals ${many.searched.toFixed(0)} ms = ${(many.searched / one.searched).toFixed(2)}×`,
      ],
      figures: [
        {
          figure: `worker JS heap after ${DEALS} archived deals`,
          ratio: many.heap / 1024 / 1024,
          unit: ' MB',
          goal: { op: '<=', value: 30 },
          detail: `1 deal: ${mb(one.heap)}`,
        },
      ],
    };
  } finally {
    await harness.close().catch(() => undefined);
    await market.close().catch(() => undefined);
    dataDir.remove();
  }
}
