/**
 * Attack 3: a page floods the extension with purchase requests. The extension bounds it: at most
 * MAX_ACTIVE_PER_ORIGIN unfinished deals per origin (the worker), at most MAX_PENDING
 * requests in flight per page (the content script); the rest are refused quickly with a typed
 * error; only one trusted window exists at any moment; and another origin's purchase still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTestCa } from '../helpers/pki.js';
import { clickInTrustedWindow, launchExtension, trustedWindows, type ExtensionHarness } from '../e2e/harness.js';
import {
  MAX_ACTIVE_PER_ORIGIN as MAX_ACTIVE_DEALS_PER_ORIGIN,
  MAX_PER_ORIGIN_PER_WINDOW as MAX_DEALS_PER_ORIGIN_PER_WINDOW,
} from '../../extension/deals/purchase.js';
import { PROVIDER_METHODS } from '../../extension/content/port-protocol.js';
import { ATTACK_SKU, dealsOf, rawOperation, startAttackServer, type AttackServer } from './helpers.js';

let harness: ExtensionHarness;
let flooder: AttackServer;
let honest: AttackServer;
let fastFail: AttackServer;
/** Trusted-window pages open right now, and the most that were ever open at once. */
let openWindows = 0;
let maxOpenWindows = 0;

beforeAll(async () => {
  const ca = await makeTestCa('Attack Test Root');
  flooder = await startAttackServer({ ca, legalName: 'Flooding Shop' });
  honest = await startAttackServer({ ca, legalName: 'Honest Shop' });
  fastFail = await startAttackServer({ ca, legalName: 'Fast Failing Shop' });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: ca.root });
  harness.context.on('page', (p) => {
    if (!p.url().startsWith(harness.url('trusted-window/'))) return;
    openWindows++;
    maxOpenWindows = Math.max(maxOpenWindows, openWindows);
    p.once('close', () => openWindows--);
  });
});

afterAll(async () => {
  await harness?.close();
  await flooder?.close();
  await honest?.close();
  await fastFail?.close();
});

/** Fire `count` purchases in a synchronous loop; outcomes (with settle times) land in window.__flood. */
async function flood(page: Page, count: number): Promise<void> {
  await page.evaluate(
    ({ count, sku }) => {
      const w = window as unknown as { semper: { request(a: unknown): Promise<unknown> }; __flood: unknown[]; __floodStart: number };
      w.__flood = [];
      w.__floodStart = performance.now();
      for (let i = 0; i < count; i++) {
        w.semper.request({ method: 'semper_purchase', params: { items: [{ sku, quantity: 1 }] } }).then(
          (value) => w.__flood.push({ i, ok: true, value, ms: performance.now() - w.__floodStart }),
          (e: { code: number; data: { reason: string } }) =>
            w.__flood.push({ i, ok: false, code: e.code, reason: e.data.reason, ms: performance.now() - w.__floodStart }),
        );
      }
    },
    { count, sku: ATTACK_SKU },
  );
}

type Settled = { i: number; ok: boolean; code?: number; reason?: string; ms: number };
const settled = (page: Page) => page.evaluate(() => (window as unknown as { __flood: Settled[] }).__flood);

/** The next trusted window whose deal is not in `seen`. */
async function nextWindow(seen: Set<string>): Promise<{ tw: Page; dealId: string }> {
  let found: Page | undefined;
  await expect
    .poll(
      () => {
        found = trustedWindows(harness).find((p) => !seen.has(new URL(p.url()).searchParams.get('deal') ?? ''));
        return found !== undefined;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  const tw = found!;
  await tw.waitForLoadState('domcontentloaded');
  const dealId = new URL(tw.url()).searchParams.get('deal')!;
  seen.add(dealId);
  return { tw, dealId };
}

describe('3. a flood of purchase requests is bounded', () => {
  it(`50 purchases in a loop (and 3 more tabs of 20): ${MAX_ACTIVE_DEALS_PER_ORIGIN} deals, the rest refused quickly, one window at a time, other origins unaffected`, async () => {
    expect(MAX_ACTIVE_DEALS_PER_ORIGIN).toBe(3);
    const page = await harness.context.newPage();
    await page.goto(`${flooder.url}/`);
    await flood(page, 50);
    // All but the allowed ones are refused with a typed error while the allowed ones still wait for
    // the shopper (nobody has decided anything yet): refused at once, not queued behind the windows.
    await expect.poll(async () => (await settled(page)).length, { timeout: 10_000 }).toBe(50 - MAX_ACTIVE_DEALS_PER_ORIGIN);
    const refused = await settled(page);
    for (const r of refused) expect(r).toMatchObject({ ok: false, code: 4100, reason: 'ERR_PROTOCOL_STATE' });

    // More tabs of the same origin (each with its own content script and its own pending budget)
    // do not get around the per-origin bound either.
    const tabs: Page[] = [];
    for (let t = 0; t < 3; t++) {
      const tab = await harness.context.newPage();
      await tab.goto(`${flooder.url}/`);
      tabs.push(tab);
    }
    await Promise.all(tabs.map((tab) => flood(tab, 20)));
    for (const tab of tabs) {
      await expect.poll(async () => (await settled(tab)).length, { timeout: 10_000 }).toBe(20);
      for (const r of await settled(tab)) expect(r).toMatchObject({ ok: false, code: 4100, reason: 'ERR_PROTOCOL_STATE' });
    }

    // The worker holds exactly the allowed number of deals for that origin, and asked the merchant exactly that often.
    const floodDeals = (await dealsOf(harness)).filter((d) => d.origin === flooder.url);
    expect(floodDeals).toHaveLength(MAX_ACTIVE_DEALS_PER_ORIGIN);
    expect(flooder.requests.filter((r) => r.path === '/semper/offer')).toHaveLength(MAX_ACTIVE_DEALS_PER_ORIGIN);
    await expect.poll(async () => (await dealsOf(harness)).filter((d) => d.status === 'awaiting-confirmation').length).toBe(MAX_ACTIVE_DEALS_PER_ORIGIN);

    // The worker stays responsive, and another origin may still ask: its deal queues behind the flood.
    const started = Date.now();
    await dealsOf(harness);
    expect(Date.now() - started).toBeLessThan(2_000);
    const shopper = await harness.context.newPage();
    await shopper.goto(`${honest.url}/`);
    await shopper.click('#buy');
    await expect.poll(async () => (await dealsOf(harness)).filter((d) => d.origin === honest.url).map((d) => d.status)).toEqual(['awaiting-confirmation']);
    expect(trustedWindows(harness)).toHaveLength(1);

    // The shopper declines the flood's windows one at a time; each settles one flood request with 4001.
    const seen = new Set<string>();
    for (let n = 1; n <= MAX_ACTIVE_DEALS_PER_ORIGIN; n++) {
      const { tw, dealId } = await nextWindow(seen);
      expect(floodDeals.map((d) => d.dealId)).toContain(dealId);
      await expect.poll(() => tw.locator('#requesting-origin').textContent()).toBe(flooder.url);
      await expect.poll(() => tw.locator('#decline').isEnabled()).toBe(true);
      const closed = tw.waitForEvent('close');
      await clickInTrustedWindow(tw, '#decline');
      await closed;
      await expect.poll(async () => (await settled(page)).filter((r) => r.code === 4001).length).toBe(n);
    }
    expect((await settled(page)).filter((r) => r.code === 4001).every((r) => r.reason === 'ERR_USER_REJECTED')).toBe(true);

    // The honest purchase then completes.
    const { tw, dealId } = await nextWindow(seen);
    await expect.poll(() => tw.locator('#requesting-origin').textContent()).toBe(honest.url);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    const result = shopper.locator('#semper-result[data-status=completed]');
    await result.waitFor({ timeout: 20_000 });
    expect(await result.getAttribute('data-deal-id')).toBe(dealId);
    expect(maxOpenWindows).toBe(1);
    await expect.poll(() => trustedWindows(harness).length).toBe(0);

    // The flood's deals all ended as declined.
    expect((await dealsOf(harness)).filter((d) => d.origin === flooder.url && d.status !== 'rejected')).toEqual([]);
    for (const p of [page, shopper, ...tabs]) await p.close();
  });

  it(`requests that fail at once cannot fill the archive: at most ${MAX_DEALS_PER_ORIGIN_PER_WINDOW} deals per origin and minute`, async () => {
    const page = await harness.context.newPage();
    await page.goto(`${fastFail.url}/`);
    // One after the other, each refused by the merchant at once (unknown product), so the
    // per-origin bound on unfinished deals never applies.
    const run = (args: unknown, count: number) =>
      page.evaluate(
        async ({ args, count }) => {
          const tally: Record<string, number> = {};
          for (let i = 0; i < count; i++) {
            const key = await (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper.request(args).then(
              () => 'ok',
              (e: { code: number; data: { reason: string } }) => `${e.code} ${e.data.reason}`,
            );
            tally[key] = (tally[key] ?? 0) + 1;
          }
          return tally;
        },
        { args, count },
      );
    const tally = await run({ method: 'semper_purchase', params: { items: [{ sku: 'no-such-product', quantity: 1 }] } }, 60);
    expect(tally).toEqual({ '4100 ERR_NOT_FOUND': MAX_DEALS_PER_ORIGIN_PER_WINDOW, '4100 ERR_RATE_LIMITED': 60 - MAX_DEALS_PER_ORIGIN_PER_WINDOW });
    expect((await dealsOf(harness)).filter((d) => d.origin === fastFail.url)).toHaveLength(MAX_DEALS_PER_ORIGIN_PER_WINDOW);
    expect(fastFail.requests.filter((r) => r.path === '/semper/offer')).toHaveLength(MAX_DEALS_PER_ORIGIN_PER_WINDOW);

    // The exchange methods (certified mail, contract signing) start deals too: the same bound.
    if ((PROVIDER_METHODS as readonly string[]).includes('semper_certifiedMail')) {
      const exchanges = await run({ method: 'semper_certifiedMail', params: { documentId: 'no-such-document' } }, 60);
      expect(exchanges['4100 ERR_RATE_LIMITED']).toBe(60 - MAX_DEALS_PER_ORIGIN_PER_WINDOW);
      const listed = await rawOperation(harness, 'listExchanges', {});
      expect(listed.ok).toBe(true);
      const stored = (listed.response as { exchanges: { origin: string }[] }).exchanges.filter((x) => x.origin === fastFail.url);
      expect(stored).toHaveLength(MAX_DEALS_PER_ORIGIN_PER_WINDOW);
    }
    // Another origin is not affected.
    const other = await harness.context.newPage();
    await other.goto(`${honest.url}/`);
    expect(
      await other.evaluate(() =>
        (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper
          .request({ method: 'semper_purchase', params: { items: [{ sku: 'no-such-product', quantity: 1 }] } })
          .catch((e: { data: { reason: string } }) => e.data.reason),
      ),
    ).toBe('ERR_NOT_FOUND');
    await other.close();
    await page.close();
  });
});
