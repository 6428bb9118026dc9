/**
 * Issue 8, item 7, in real Chromium: the connection to the merchant drops after the merchant
 * stored the order. Before, the worker marked the deal failed and never retried, though the kit
 * answers a repeated order identically, and the page's retry made a second binding order. Now the
 * deal waits for the merchant ('retrying-order', the trusted window let go, the page not
 * settled), the alarm sends the persisted order again, and the deal completes: one order at the
 * merchant, one deal, the page told `completed`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import {
  clickInTrustedWindow,
  closeResult,
  launchExtension,
  pageResult,
  popupSection,
  trustedWindows,
  waitForResult,
  waitForTrustedWindow,
  type ExtensionHarness,
} from '../e2e/harness.js';
import { dealOfWindow, merchantDeal, startFaultyShop, type FaultyShop } from './faulty-shop.js';
import { dealsOf } from './helpers.js';

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

describe('7. a lost answer to the order', () => {
  it('the connection is cut after the merchant stored the order: the order is sent again and the deal completes; one order at the merchant', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${shop.url}/`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    const dealId = dealOfWindow(tw);
    // Two: Chromium itself retries a POST once when a reused keep-alive connection is reset
    // before any answer (the first cut); the second cut reaches the worker as a failed fetch.
    shop.faults.cutOrderAnswers = 2;
    await clickInTrustedWindow(tw, '#confirm');

    // The merchant holds the order; the shopper waits for its answer instead of calling the deal failed.
    await expect.poll(async () => (await merchantDeal(shop, dealId))?.phase, { timeout: 20_000 }).toBe('confirmed');
    const statuses: string[] = [];
    await expect
      .poll(
        async () => {
          const status = (await dealsOf(harness)).find((d) => d.dealId === dealId)?.status ?? '';
          statuses.push(status);
          return status;
        },
        { timeout: 30_000, interval: 100 },
      )
      .toBe('completed');
    expect(statuses).not.toContain('failed');
    expect(await pageResult(page)).toMatchObject({ status: 'completed', dealId });

    // The same signed order went out three times (Chromium's retry, the worker's retry), and the merchant confirmed it once.
    const orders = shop.orders();
    expect(orders.length).toBeGreaterThanOrEqual(3);
    expect(new Set(orders.map((o) => o.body)).size).toBe(1);
    const held = await merchantDeal(shop, dealId);
    expect(held?.phase).toBe('confirmed');
    // One deal in the browser, with the whole exchange archived once.
    const deals = await dealsOf(harness);
    expect(deals.filter((d) => d.origin === shop.url).map((d) => d.dealId)).toEqual([dealId]);
    const deal = await harness.operation('getDeal', { dealId });
    expect(deal.statements.map((s) => s.type)).toEqual([STATEMENT_TYPES.offer, STATEMENT_TYPES.order, STATEMENT_TYPES.confirmation, STATEMENT_TYPES.delivery]);
    expect(trustedWindows(harness)).toEqual([]);
    await page.close();
  });

  it('while the merchant stays silent the popup and the result screen say the order was sent and wait; the window no longer asks anything', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${shop.url}/`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    const dealId = dealOfWindow(tw);
    shop.faults.cutOrderAnswers = 1_000;
    await clickInTrustedWindow(tw, '#confirm');
    await expect.poll(async () => (await dealsOf(harness)).find((d) => d.dealId === dealId)?.status, { timeout: 20_000 }).toBe('retrying-order');
    // The deal no longer holds the window: it is on its result screen, saying what the deal is doing.
    await expect.poll(() => tw.locator('#result-progress').textContent()).toContain('Order sent, waiting for the merchant');
    expect(trustedWindows(harness)).toEqual([]);
    const popup = await harness.context.newPage();
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'deals');
    await expect
      .poll(() => popup.locator(`#deals tr[data-deal="${dealId}"] td.status-retrying-order`).textContent())
      .toBe('Order sent, waiting for the merchant');
    expect(await page.locator('#semper-result').getAttribute('data-status')).toBe('pending');
    // The merchant comes back: the next attempt completes the deal.
    shop.faults.cutOrderAnswers = 0;
    expect(await pageResult(page, 60_000)).toMatchObject({ status: 'completed', dealId });
    expect(await waitForResult(tw)).toBe('done');
    await closeResult(tw);
    expect((await merchantDeal(shop, dealId))?.phase).toBe('confirmed');
    await popup.close();
    await page.close();
  });
});
