/**
 * Issue 8, item 8, in real Chromium: Chrome stops the service worker while a page's purchase
 * request is in flight. Before, a request whose deal id had not reached the content script was
 * failed with "please retry" although the deal was already stored; later a trusted window opened
 * for the purchase the page was told had failed, and the page's retry made two live deals. Now the
 * content script sends the request again with its random key after the restart: the worker finds
 * the deal that request started (or starts it, if it was never stored). One purchase, one deal,
 * and the page ends with that deal's outcome.
 *
 * The worker is stopped at two moments, each held open by slowing the worker down from inside
 * (Playwright evaluates in the worker): (a) after the deal is stored, before the page hears its
 * id — the host's first browser call after the store (`chrome.alarms.clear`) is held 5 s; (b)
 * before the deal is stored — the deal id's random bytes take 4 s to come.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { clickInTrustedWindow, launchExtension, pageResult, stopServiceWorker, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';
import { startFaultyShop, type FaultyShop } from './faulty-shop.js';
import { dealsOf, serviceWorkerOf, sleep } from './helpers.js';

let harness: ExtensionHarness;
let shop: FaultyShop;

beforeAll(async () => {
  shop = await startFaultyShop();
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: shop.root });
});

afterAll(async () => {
  await harness?.close();
  await shop?.close();
});

const dealsOfShop = async () => (await dealsOf(harness)).filter((d) => d.origin === shop.url);

async function resultNow(page: Page): Promise<string | null> {
  return page.locator('#semper-result').getAttribute('data-status');
}

/** After the restart: the deal's window opens (its offer request was sent again); confirm it. */
async function confirmInWindow(): Promise<string> {
  const tw = await waitForTrustedWindow(harness, 30_000);
  await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
  const dealId = new URL(tw.url()).searchParams.get('deal')!;
  await clickInTrustedWindow(tw, '#confirm');
  return dealId;
}

describe('8. the worker stopped while a purchase request is in flight', () => {
  it('(a) after the deal was stored, before the page heard of it: the page gets that deal, which completes; one deal', async () => {
    const before = (await dealsOfShop()).length;
    const page = await harness.context.newPage();
    await page.goto(`${shop.url}/`);
    await serviceWorkerOf(harness).evaluate(() => {
      const alarms = chrome.alarms as unknown as { clear: (...args: unknown[]) => unknown };
      const original = alarms.clear;
      let armed = true;
      alarms.clear = (...args: unknown[]) => {
        if (!armed) return original.apply(chrome.alarms, args);
        armed = false;
        return new Promise((resolve) => setTimeout(() => resolve(original.apply(chrome.alarms, args)), 5_000));
      };
    });
    await page.click('#buy');
    // The deal is stored; the page has not been told its id.
    await expect.poll(async () => (await dealsOfShop()).length, { timeout: 10_000, interval: 50 }).toBe(before + 1);
    expect(await resultNow(page)).toBe('pending');
    await stopServiceWorker(harness);

    const dealId = await confirmInWindow();
    const result = await pageResult(page, 30_000);
    expect(result).toMatchObject({ status: 'completed', dealId });
    const deals = await dealsOfShop();
    expect(deals).toHaveLength(before + 1);
    expect(deals.find((d) => d.dealId === dealId)?.status).toBe('completed');
    // The merchant made one offer for one deal and holds one order.
    expect(new Set(shop.requests.filter((r) => r.path === '/semper/offer').map((r) => (JSON.parse(r.body) as { dealId: string }).dealId))).toEqual(
      new Set([dealId]),
    );
    await page.close();
  });

  it('(b) before the deal was stored: the request is sent again and starts it; one deal, completed', async () => {
    const before = await dealsOfShop();
    const page = await harness.context.newPage();
    await page.goto(`${shop.url}/`);
    await serviceWorkerOf(harness).evaluate(() => {
      const original = crypto.getRandomValues.bind(crypto);
      let armed = true;
      crypto.getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
        if (armed) {
          armed = false;
          const until = Date.now() + 4_000;
          while (Date.now() < until) {
            // the deal id is being drawn: the worker is stopped in the middle of it
          }
        }
        return original(array as never) as T;
      }) as typeof crypto.getRandomValues;
    });
    await page.click('#buy');
    await sleep(1_000);
    const stoppingAt = Date.now();
    await stopServiceWorker(harness);

    const dealId = await confirmInWindow();
    expect(await pageResult(page, 30_000)).toMatchObject({ status: 'completed', dealId });
    const after = await dealsOfShop();
    expect(after.map((d) => d.dealId).filter((id) => !before.some((b) => b.dealId === id))).toEqual([dealId]);
    // The stopped worker had not stored it: the restarted worker started the deal for the re-sent request.
    expect(Date.parse(after.find((d) => d.dealId === dealId)!.createdAt)).toBeGreaterThanOrEqual(stoppingAt);
    await page.close();
  });
});
