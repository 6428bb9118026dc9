/**
 * The history (issue 12, issue 11's rows without products): after a purchase and a certified-mail
 * exchange in the marketplace, the popup's history finds deals by item title, by shop and by kind,
 * names the product in each row, and draws a deal as a timeline picture with one arrow per archived
 * statement. Screenshots in English and German; axe-core on both views.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { SHOP_LEGAL_NAME } from '../../server/shop/catalog.js';
import { EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import {
  RESULTS,
  clickInTrustedWindow,
  closeResult,
  launchExtension,
  pageResult,
  popupSection,
  tempDir,
  waitForResult,
  waitForTrustedWindow,
  type ExtensionHarness,
} from './harness.js';
import { expectAccessible } from './first-sight.js';

const PRODUCT = 'ink-drying-report';
const PRODUCT_TITLE = 'Report: Drying Behaviour of Oxidative Offset Inks';
const DOCUMENT = EXCHANGE_DOCUMENTS[0]!;

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let profile: ReturnType<typeof tempDir>;
let harness: ExtensionHarness | undefined;

beforeAll(async () => {
  dataDir = tempDir('semper-history-');
  profile = tempDir('semper-history-profile-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, ttpPort: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
  profile?.remove();
});

async function confirmInTrustedWindow(h: ExtensionHarness): Promise<void> {
  const tw = await waitForTrustedWindow(h);
  await tw.locator('#merchant-name').waitFor();
  await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
  await clickInTrustedWindow(tw, '#confirm');
  // The window shows the result once the deal ends; the user closes it.
  expect(await waitForResult(tw)).toBe('done');
  await closeResult(tw);
}

async function openPopup(h: ExtensionHarness): Promise<Page> {
  const popup = await h.context.newPage();
  await popup.setViewportSize({ width: 560, height: 900 });
  await popup.goto(h.url('popup/index.html'));
  await popupSection(popup, 'deals');
  return popup;
}

const shownDeals = (popup: Page) => popup.locator('#history-results tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-deal')));

describe('history: search every deal, see one as a timeline', () => {
  it('finds the purchase by item title, both by shop, one by kind; the timeline has one arrow per archived statement (en, de)', async () => {
    const h = await launchExtension({ userDataDir: profile.path });
    harness = h;
    await h.operation('settings.addRoot', { certificate: market.rootPem });
    await h.operation('settings.addTtp', { certificate: market.ttpPem, url: market.ttpUrl });

    const shop = await h.context.newPage();
    await shop.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await shop.click('#buy');
    await confirmInTrustedWindow(h);
    const bought = await pageResult(shop);
    expect(bought.status).toBe('completed');
    const purchaseId = bought.dealId!;

    await shop.goto(`${market.shopUrl}/agreements`);
    await shop.click(`#receive-${DOCUMENT.id}`);
    await confirmInTrustedWindow(h);
    const mail = shop.locator('#semper-result[data-status=completed]');
    await mail.waitFor({ timeout: 30_000 });
    const mailId = (await mail.getAttribute('data-deal-id'))!;

    // The operation: every kind, newest first, the product named.
    const all = await h.operation('history.search', {});
    expect(all.deals.map((d) => [d.dealId, d.kind, d.product, d.merchant])).toEqual([
      [mailId, 'exchange', DOCUMENT.title, SHOP_LEGAL_NAME],
      [purchaseId, 'purchase', PRODUCT_TITLE, SHOP_LEGAL_NAME],
    ]);
    // Paged through IndexedDB's byCreated index: one row a page, each page continuing after the last.
    const first = await h.operation('history.search', { limit: 1 });
    expect(first.deals.map((d) => d.dealId)).toEqual([mailId]);
    expect(first.next).toBeDefined();
    const second = await h.operation('history.search', { limit: 1, after: first.next! });
    expect(second.deals.map((d) => d.dealId)).toEqual([purchaseId]);
    expect(second.next).toBeUndefined();

    const popup = await openPopup(h);
    await expect.poll(() => shownDeals(popup)).toEqual([mailId, purchaseId]);
    expect(await popup.locator('#history-older').count()).toBe(0);
    // The per-kind lists are still there.
    expect(await popup.locator(`#deals tr[data-deal="${purchaseId}"]`).count()).toBe(1);
    // ... and name the product, with the shop under it.
    expect(await popup.locator(`#deals tr[data-deal="${purchaseId}"] .history-product`).textContent()).toBe(PRODUCT_TITLE);
    expect(await popup.locator(`#exchanges [data-deal="${mailId}"]`).count()).toBeGreaterThan(0);

    await popup.fill('#history-text', 'drying behaviour');
    await expect.poll(() => shownDeals(popup)).toEqual([purchaseId]);
    expect(await popup.locator('#history-results .history-product').textContent()).toBe(PRODUCT_TITLE);
    await popup.fill('#history-text', 'ＦＯＧＲＡ'); // full-width: NFKC finds the shop
    await expect.poll(() => shownDeals(popup)).toEqual([mailId, purchaseId]);
    await popup.selectOption('#history-kind', 'exchange');
    await expect.poll(() => shownDeals(popup)).toEqual([mailId]);
    await popup.selectOption('#history-kind', '');
    // Dates: from tomorrow finds nothing; from today finds both (the shopper's own time zone).
    const day = (offset: number) => {
      const d = new Date(Date.now() + offset * 86_400_000);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    };
    await popup.fill('#history-from', day(1));
    await expect.poll(() => popup.locator('#history-count').textContent()).toBe('No deal matches.');
    await popup.fill('#history-from', day(0));
    await popup.fill('#history-to', day(0));
    await expect.poll(() => shownDeals(popup)).toEqual([mailId, purchaseId]);
    await popup.fill('#history-from', '');
    await popup.fill('#history-to', '');
    await popup.selectOption('#history-status', 'failed');
    await expect.poll(() => popup.locator('#history-count').textContent()).toBe('No deal matches.');
    await popup.selectOption('#history-status', 'completed');
    await popup.fill('#history-text', '');
    await expect.poll(() => shownDeals(popup)).toEqual([mailId, purchaseId]);
    await popup.screenshot({ path: join(RESULTS, 'popup-history-en.png'), fullPage: true });
    await expectAccessible(popup, 'popup, history (en)');

    // The purchase's timeline: one arrow per archived statement, drawn and listed.
    const purchase = await h.operation('getDeal', { dealId: purchaseId });
    await popup.click(`#history-results tr[data-deal="${purchaseId}"] button`);
    await popup.locator('#timeline-svg').waitFor();
    expect(await popup.locator('#timeline-svg .tl-arrow').count()).toBe(purchase.statements.length);
    expect(await popup.locator('#timeline-list li').count()).toBe(purchase.statements.length);
    expect(await popup.locator('#history-items li').allTextContents()).toEqual([PRODUCT_TITLE]);
    expect(
      await popup.locator('#timeline-svg .tl-arrow').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-from')}>${g.getAttribute('data-to')}`)),
    ).toEqual(['merchant>shopper', 'shopper>merchant', 'merchant>shopper', 'merchant>shopper']);
    expect(await popup.locator('#timeline-svg-desc').textContent()).toContain('4 statements');
    expect(await popup.locator('#timeline-list li').first().textContent()).toContain(SHOP_LEGAL_NAME);
    await popup.screenshot({ path: join(RESULTS, 'popup-timeline-en.png'), fullPage: true });
    await expectAccessible(popup, 'popup, timeline (en)');
    // The deal exports its evidence and what it delivered: the good under the product's name, as committed (text/plain).
    const evidence = popup.waitForEvent('download');
    await popup.click('#export-evidence');
    expect((await evidence).suggestedFilename()).toBe(`semper-evidence-${purchaseId}.json`);
    const download = popup.waitForEvent('download');
    await popup.click('#goods-downloads button');
    const good = await download;
    expect(good.suggestedFilename()).toBe('Report - Drying Behaviour of Oxidative Offset Inks.txt');
    const saved = join(dataDir.path, 'good.txt');
    await good.saveAs(saved);
    expect(readFileSync(saved, 'utf8')).toBe(purchase.goods[0]!.content);

    // The exchange's timeline too.
    const exchange = await h.operation('getExchange', { dealId: mailId });
    await popup.click('#history-timeline > button');
    await popup.click(`#history-results tr[data-deal="${mailId}"] button`);
    await popup.locator('#timeline-svg').waitFor();
    expect(await popup.locator('#timeline-svg .tl-arrow').count()).toBe(exchange.statements.length);
    const sent = exchange.statements.filter((x) => x.direction === 'sent').length;
    expect(await popup.locator('#timeline-svg .tl-arrow[data-from="shopper"]').count()).toBe(sent);
    expect(await popup.locator('#timeline-svg .tl-arrow[data-to="shopper"]').count()).toBe(exchange.statements.length - sent);
    await popup.screenshot({ path: join(RESULTS, 'popup-timeline-exchange-en.png'), fullPage: true });
    // Certified mail delivered a document: saved as the document it is.
    const mailDownload = popup.waitForEvent('download');
    await popup.click('#goods-downloads button');
    const doc = await mailDownload;
    expect(doc.suggestedFilename()).toBe('Test report - rub resistance of the reference ink set.txt');
    const savedDoc = join(dataDir.path, 'doc.txt');
    await doc.saveAs(savedDoc);
    expect(readFileSync(savedDoc, 'utf8')).toBe(DOCUMENT.content);

    // German: the same profile in a browser whose language is German.
    await h.close();
    harness = undefined;
    const de = await launchExtension({ userDataDir: profile.path, lang: 'de' });
    harness = de;
    const popupDe = await openPopup(de);
    await expect.poll(() => shownDeals(popupDe)).toEqual([mailId, purchaseId]);
    expect(await popupDe.locator('#history-heading').textContent()).toBe('Verlauf');
    await popupDe.screenshot({ path: join(RESULTS, 'popup-history-de.png'), fullPage: true });
    await expectAccessible(popupDe, 'popup, history (de)');
    await popupDe.click(`#history-results tr[data-deal="${purchaseId}"] button`);
    await popupDe.locator('#timeline-svg').waitFor();
    expect(await popupDe.locator('#timeline-svg .tl-arrow').count()).toBe(purchase.statements.length);
    expect(await popupDe.locator('#timeline-list li').first().textContent()).toContain('Angebot');
    await popupDe.screenshot({ path: join(RESULTS, 'popup-timeline-de.png'), fullPage: true });
    await expectAccessible(popupDe, 'popup, timeline (de)');
  });
});
