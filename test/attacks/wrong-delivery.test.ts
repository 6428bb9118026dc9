/**
 * Issue 8, item 1, in real Chromium: a merchant delivers something other than it offered. Its
 * offer committed to the content (digest, media type, size) of the good; after the order it
 * delivers other content, signed, with the digest of what it delivers. Before, the shopper checked
 * the delivery only against the digest the merchant wrote into it and called the deal completed.
 * Now the deal ends in 'delivery-mismatch': the page is told ERR_DELIVERY_MISMATCH, the popup says
 * the delivery does not match the offer, and the offer, order, confirmation and delivery stay in
 * the archive as evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import { join } from 'node:path';
import {
  RESULTS,
  clickInTrustedWindow,
  closeResult,
  launchExtension,
  pageResult,
  popupSection,
  waitForResult,
  waitForTrustedWindow,
  type ExtensionHarness,
} from '../e2e/harness.js';
import { expectAccessible } from '../e2e/first-sight.js';
import { FAULTY_CONTENT, dealOfWindow, merchantDeal, startFaultyShop, type FaultyShop } from './faulty-shop.js';

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

describe('1. the merchant delivers other content than it offered', () => {
  it('ends in delivery-mismatch with the evidence archived; the page learns ERR_DELIVERY_MISMATCH', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${shop.url}/`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    const dealId = dealOfWindow(tw);
    // After the offer (which committed to FAULTY_CONTENT), the merchant's catalogue says something else.
    shop.goods.content = 'Three blank pages.\n';
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(page)).toMatchObject({ status: 'error', code: '4100', reason: 'ERR_DELIVERY_MISMATCH' });
    expect((await merchantDeal(shop, dealId))?.phase).toBe('confirmed');
    // The trusted window shows the failure: what was signed, what came, and why it does not count.
    expect(await waitForResult(tw)).toBe('failed');
    expect(await tw.locator('#tw-heading').textContent()).toBe('This did not go through');
    expect(await tw.locator('#result-error').textContent()).toMatch(/^ERR_DELIVERY_MISMATCH: /);
    await expectAccessible(tw, 'trusted window, failed purchase result (en)');
    await tw.screenshot({ path: join(RESULTS, 'result-failed-en.png') });
    await closeResult(tw);

    const deal = await harness.operation('getDeal', { dealId });
    expect(deal.deal).toMatchObject({ status: 'delivery-mismatch', error: { code: 'ERR_DELIVERY_MISMATCH' } });
    expect(deal.statements.map((s) => [s.type, s.direction])).toEqual([
      [STATEMENT_TYPES.offer, 'received'],
      [STATEMENT_TYPES.order, 'sent'],
      [STATEMENT_TYPES.confirmation, 'received'],
      [STATEMENT_TYPES.delivery, 'received'],
    ]);
    // The evidence: the offer's commitment and the delivery that breaks it, both signed by the merchant.
    const offer = deal.statements.find((s) => s.type === STATEMENT_TYPES.offer)!.statement as { body: { items: { content?: { digest: string } }[] } };
    expect(offer.body.items[0]!.content?.digest).toBeDefined();
    expect(deal.goods.map((g) => g.content)).toEqual(['Three blank pages.\n']);
    expect(deal.goods[0]!.content).not.toBe(FAULTY_CONTENT);

    const popup = await harness.context.newPage();
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'deals');
    await expect
      .poll(() => popup.locator(`#deals tr[data-deal="${dealId}"] td.status-delivery-mismatch`).textContent())
      .toBe('Delivery does not match the offer');
    await popup.close();
    await page.close();
  });
});
