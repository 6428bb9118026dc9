/**
 * Fair purchase end to end: the built extension in real Chromium, the real marketplace (CA, TTP with
 * its sealing key, bank, demo shop) in-process. The shopper opens its purse at the bank with the
 * code `npm start` prints and withdraws e-cash; on the shop's /fair page it asks for a guide; the
 * trusted window shows the verified offer (price, goods, merchant, bank, TTP) and what the purse can
 * pay (the purse's e-cash, the shopper's account); Confirm starts the purchase, the worker pays
 * (spends deposited at the bank for the shop, or a transfer order signed by the account key) only
 * once m1 bound the shop, and decrypts the guide with the key from m3 — or, when the shop withholds
 * it, from the TTP's affidavit. Money is conserved after every test.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TTP_TYPES } from '../../core/exchange/index.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import type { FairPurchaseFaults } from '../../server/merchant/kit.js';
import { FAIR_GOODS } from '../../server/shop/fair-goods.js';
import { poolKeys } from '../core/payment/helpers.js';
import { RESULTS, clickInTrustedWindow, launchExtension, tempDir, waitForTrustedWindow, type ExtensionHarness, popupSection } from './harness.js';
import { expectAccessible, expectFirstSight } from './first-sight.js';

const GUIDE = FAIR_GOODS[0]!;
/** Short timers so a shop that withholds the key is overcome within seconds. */
const TIMING = { peerMs: 1_000, ttpRetryMs: 1_000, ttpMarginMs: 2_000, peerRetries: 1 };

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;
let page: Page;
const fairFaults: FairPurchaseFaults = {};

/** German: the guarantee policy in the popup (2 of the shop's 3 TTPs) and the guarantors in an exchange's window, then declined. */
async function guarantorsInGerman(h: ExtensionHarness, p: Page): Promise<void> {
  for (const t of market.ttps.slice(1)) await h.operation('settings.addTtp', { certificate: t.pem, url: t.url });
  const popup = await h.context.newPage();
  await popup.setViewportSize({ width: 600, height: 1000 });
  await popup.goto(h.url('popup/index.html'));
  await popupSection(popup, 'trust');
  const boxes = popup.locator('#quorum-settings input[type=checkbox]');
  await expect.poll(() => boxes.count()).toBe(3);
  for (const box of await boxes.all()) await box.check();
  expect(await popup.locator('#quorum-meaning').textContent()).toContain('2 von 3 müssen übereinstimmen');
  expect(await popup.locator('#quorum-meaning').textContent()).toContain('müssen 3 von 3 übereinstimmen (bei 3 dritten Parteien: alle 3)');
  await popup.locator('#quorum-save').click();
  await expect.poll(() => popup.locator('#quorum-in-use').textContent()).toBe('Aktiv: 2 von 3 müssen übereinstimmen.');
  await expectAccessible(popup, 'popup, who guarantees an exchange (de)');
  await popup.locator('#quorum-settings').screenshot({ path: join(RESULTS, 'popup-quorum-settings-de.png') });
  await popup.close();
  await p.goto(`${market.shopUrl}/agreements`);
  await p.click('#receive-test-report');
  const tw = await waitForTrustedWindow(h);
  await tw.locator('#glance-guarantors').waitFor();
  expect(await tw.locator('#glance-guarantors').textContent()).toBe('2 von 3 müssen übereinstimmen: Semper Demo TTP, Semper Demo TTP 2, Semper Demo TTP 3');
  // At first sight at 480×600, in German too: everything the first-sight rule names, and the guarantors.
  await expectFirstSight(tw, 'first-sight-quorum-de.png', ['glance-guarantors']);
  await expectAccessible(tw, 'trusted window, exchange guaranteed by 2 of 3 (de)');
  await tw.screenshot({ path: join(RESULTS, 'trusted-window-quorum-de.png'), fullPage: true });
  await clickInTrustedWindow(tw, '#decline');
}

async function trusting(h: ExtensionHarness): Promise<void> {
  await h.operation('settings.addRoot', { certificate: market.rootPem });
  await h.operation('settings.addTtp', { certificate: market.ttpPem, url: market.ttpUrl });
}

beforeAll(async () => {
  dataDir = tempDir('semper-fair-');
  market = await startMarketplace({
    dataDir: dataDir.path,
    caPort: 0,
    shopPort: 0,
    ttpPort: 0,
    host: '127.0.0.1',
    bank: { keyFactory: poolKeys(0) },
    exchange: { timing: TIMING, fairFaults },
  });
  harness = await launchExtension();
  await trusting(harness);
  // The purse: the demo shopper's account opened with npm start's one-time code, 20.00 EUR withdrawn as e-cash.
  await harness.operation('wallet.openAccount', { bankUrl: market.bankUrl, code: market.demoAccountCode! });
  const withdrawn = await harness.operation('wallet.withdraw', { bankUrl: market.bankUrl, amount: { amount: 2_000, currency: 'EUR' } });
  expect(withdrawn.status).toBe('done');
  page = await harness.context.newPage();
}, 120_000);

afterEach(async () => await market.bank.checkInvariants());

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

interface PageResult {
  status: string;
  dealId?: string;
  code?: string;
  reason?: string;
}

async function pageResult(p: Page, timeout = 60_000): Promise<PageResult> {
  const output = p.locator('#semper-result:is([data-status=completed], [data-status=resolved], [data-status=error])');
  await output.waitFor({ timeout });
  return output.evaluate((el) => ({
    status: el.getAttribute('data-status') ?? '',
    ...(el.getAttribute('data-deal-id') ? { dealId: el.getAttribute('data-deal-id')! } : {}),
    ...(el.getAttribute('data-code') ? { code: el.getAttribute('data-code')! } : {}),
    ...(el.getAttribute('data-reason') ? { reason: el.getAttribute('data-reason')! } : {}),
  }));
}

async function purseBalance(h: ExtensionHarness): Promise<number> {
  const { purses } = await h.operation('wallet.status', {});
  return purses[0]?.balance?.amount ?? 0;
}

async function openOffer(h: ExtensionHarness, p: Page): Promise<Page> {
  await p.goto(`${market.shopUrl}/fair`);
  await p.click(`#fair-${GUIDE.sku}`);
  const tw = await waitForTrustedWindow(h);
  await tw.locator('#you-pay').waitFor();
  return tw;
}

describe('fair purchase in Chromium', () => {
  it('pays e-cash from the purse only after the shop is bound, and receives the guide (English)', async () => {
    const shopBefore = await market.bank.balance(market.merchantAccount);
    const purseBefore = await purseBalance(harness);
    const tw = await openOffer(harness, page);
    expect(await tw.locator('#you-pay').textContent()).toBe('€4.50');
    expect(await tw.locator('#you-get').textContent()).toContain(GUIDE.title);
    expect(await tw.locator('#ttp-name').textContent()).toBe('Semper Demo TTP');
    expect(await tw.locator('#bank-url').textContent()).toBe(market.bankUrl);
    // The purse can pay, and so can the account (opened at the offer's bank; its balance is the bank's).
    expect(await tw.locator('#method-cash').isChecked()).toBe(true);
    expect(await tw.locator('#method-account').isDisabled()).toBe(false);
    expect(await tw.locator('#method-cash-note').textContent()).toContain('€20.00');
    expect(await tw.locator('#method-account-note').textContent()).toContain('From your account at this bank');
    // Nothing was paid while the window waits.
    expect(await market.bank.balance(market.merchantAccount)).toBe(shopBefore);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await expectFirstSight(tw, 'first-sight-fair-en.png');
    await expectAccessible(tw, 'trusted window, fair purchase (en)');
    await tw.screenshot({ path: join(RESULTS, 'trusted-window-fair-en.png'), fullPage: true });
    await clickInTrustedWindow(tw, '#confirm');

    const result = await pageResult(page);
    expect(result.status).toBe('completed');
    const mine = await harness.operation('getFairPurchase', { dealId: result.dealId! });
    expect(mine.goods?.text).toBe(GUIDE.content);
    expect(mine.purchase).toMatchObject({ status: 'completed', method: 'cash', price: { amount: GUIDE.price, currency: 'EUR' } });
    expect(mine.statements.map((s) => `${s.direction} ${s.type}`)).toEqual(
      expect.arrayContaining([
        'received semper.fair.offer',
        'sent semper.fair.start',
        'received semper.exchange.propose',
        'sent semper.exchange.accept',
        'received semper.exchange.deliver',
      ]),
    );
    expect((await market.bank.balance(market.merchantAccount)) - shopBefore).toBe(GUIDE.price);
    expect(purseBefore - (await purseBalance(harness))).toBe(GUIDE.price);

    // The popup names the guide, and its detail shows the goods and the statements (the evidence).
    const popup = harness.opsPage;
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'deals');
    const row = popup.locator(`#fair-purchases tr[data-deal="${result.dealId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('completed');
    expect(await row.textContent()).toContain(GUIDE.title);
    await row.locator('button').click();
    expect(await popup.locator('#fair-goods').textContent()).toBe(GUIDE.content);
    await expectAccessible(popup, 'popup, fair purchases (en)');
    expect(await popup.locator('#fair-statements tbody tr').count()).toBeGreaterThanOrEqual(5);
    await popup.locator('#fair-detail').screenshot({ path: join(RESULTS, 'popup-fair-en.png') });
  });

  it("pays by account transfer from the shopper's bank account (chosen in the trusted window): one debit, the shop credited", async () => {
    const shopBefore = await market.bank.balance(market.merchantAccount);
    const account = (await market.bank.accountOpenedFor('Demo Shopper'))!;
    const accountBefore = await market.bank.balance(account);
    const purseBefore = await purseBalance(harness);
    const tw = await openOffer(harness, page);
    await expect.poll(() => tw.locator('#method-account').isEnabled()).toBe(true);
    await tw.click('#method-account');
    expect(await tw.locator('#method-account').isChecked()).toBe(true);
    expect(await market.bank.balance(account)).toBe(accountBefore);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');

    const result = await pageResult(page);
    expect(result.status).toBe('completed');
    const mine = await harness.operation('getFairPurchase', { dealId: result.dealId! });
    expect(mine.goods?.text).toBe(GUIDE.content);
    expect(mine.purchase).toMatchObject({ status: 'completed', method: 'account', price: { amount: GUIDE.price, currency: 'EUR' } });
    expect((await market.bank.balance(market.merchantAccount)) - shopBefore).toBe(GUIDE.price);
    expect(accountBefore - (await market.bank.balance(account))).toBe(GUIDE.price);
    // The e-cash stays in the purse; the purse's history has the transfer with the bank's proof.
    expect(await purseBalance(harness)).toBe(purseBefore);
    const { purses } = await harness.operation('wallet.status', {});
    expect(purses[0]!.history[0]).toMatchObject({ kind: 'transfer', reference: result.dealId, amount: { amount: GUIDE.price, currency: 'EUR' } });
  });

  it('the shop takes the payment and withholds the key: the TTP reveals it, the guide is delivered', async () => {
    fairFaults.withholdKey = true;
    try {
      const shopBefore = await market.bank.balance(market.merchantAccount);
      const tw = await openOffer(harness, page);
      await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
      await clickInTrustedWindow(tw, '#confirm');
      const result = await pageResult(page);
      expect(result.status).toBe('resolved');
      const mine = await harness.operation('getFairPurchase', { dealId: result.dealId! });
      expect(mine.goods?.text).toBe(GUIDE.content);
      const affidavit = mine.statements.find((s) => s.type === TTP_TYPES.affidavit);
      expect((affidavit?.statement.body as { revealed?: { field: string } } | undefined)?.revealed?.field).toBe('key');
      expect((await market.bank.balance(market.merchantAccount)) - shopBefore).toBe(GUIDE.price);
    } finally {
      fairFaults.withholdKey = false;
    }
  });

  it('pays by card through the adapter (a test token saved in Semper): the acquirer captures once, a declined card moves nothing', async () => {
    const bankBefore = await market.bank.balance(market.merchantAccount);
    // Declined first: the acquirer says do_not_honor, the adapter signs nothing, the deal fails with the typed error.
    // Saved in the popup: the adapter's address and a token (never a card number).
    const popup = harness.opsPage;
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'settings');
    await popup.fill('#card-adapter-url', market.card.adapterUrl);
    await popup.fill('#card-token', 'tok_declined');
    await popup.click('#card-settings button[type=submit]');
    await expect.poll(() => popup.locator('#saved-card').textContent()).toContain(market.card.adapterUrl);
    let tw = await openOffer(harness, page);
    await expect.poll(() => tw.locator('#method-card').isEnabled()).toBe(true);
    expect(await tw.locator('#method-card-note').textContent()).toContain(market.card.adapterUrl);
    await tw.click('#method-card');
    const declinedDeal = new URL(tw.url()).searchParams.get('deal')!;
    await clickInTrustedWindow(tw, '#confirm');
    const declined = await pageResult(page);
    // The page learns the purchase was refused (4100) and the typed reason; the deal keeps the error with its message.
    expect(declined).toMatchObject({ status: 'error', code: '4100', reason: 'ERR_PAYMENT_DECLINED' });
    expect(market.card.capturedFor(declinedDeal)).toEqual({ count: 0, amount: 0 });
    const failed = await harness.operation('getFairPurchase', { dealId: declinedDeal });
    expect(failed.purchase).toMatchObject({ status: 'failed', method: 'card', error: { code: 'ERR_PAYMENT_DECLINED' } });
    expect(failed.goods).toBeFalsy();

    await harness.operation('settings.addCard', { adapterUrl: market.card.adapterUrl, token: 'tok_visa' });
    tw = await openOffer(harness, page);
    await expect.poll(() => tw.locator('#method-card').isEnabled()).toBe(true);
    await tw.click('#method-card');
    await clickInTrustedWindow(tw, '#confirm');
    const result = await pageResult(page);
    expect(result.status).toBe('completed');
    const mine = await harness.operation('getFairPurchase', { dealId: result.dealId! });
    expect(mine.goods?.text).toBe(GUIDE.content);
    expect(mine.purchase).toMatchObject({ status: 'completed', method: 'card' });
    // The money is at the acquirer (captured once for this deal), not at the bank.
    expect(market.card.capturedFor(result.dealId!)).toEqual({ count: 1, amount: GUIDE.price });
    expect(await market.bank.balance(market.merchantAccount)).toBe(bankBefore);
  });

  it('without a purse at the bank, nothing can pay: Confirm stays disabled, Decline tells the page (German)', async () => {
    const de = await launchExtension({ lang: 'de' });
    try {
      await trusting(de);
      const p = await de.context.newPage();
      const tw = await openOffer(de, p);
      await tw.locator('#no-method').waitFor();
      expect(await tw.locator('#method-cash').isDisabled()).toBe(true);
      expect(await tw.locator('#method-cash-note').textContent()).toContain('Keine Geldbörse');
      expect(await tw.locator('#method-account').isDisabled()).toBe(true);
      expect(await tw.locator('#method-account-note').textContent()).toContain('Kein Konto');
      expect(await tw.locator('#confirm').isDisabled()).toBe(true);
      await expectFirstSight(tw, 'first-sight-fair-de.png');
      await expectAccessible(tw, 'trusted window, fair purchase (de)');
      await tw.screenshot({ path: join(RESULTS, 'trusted-window-fair-de.png'), fullPage: true });
      // Confirming anyway (the operation, not the disabled button) is refused before anything is signed.
      const dealId = new URL(tw.url()).searchParams.get('deal')!;
      const forced = await tw.evaluate((id) => chrome.runtime.sendMessage({ op: 'confirmFair', request: { dealId: id, method: 'cash' } }), dealId);
      expect(forced).toMatchObject({ ok: false, error: { code: 'ERR_PAYMENT_METHOD' } });
      await clickInTrustedWindow(tw, '#decline');
      expect(await pageResult(p)).toMatchObject({ status: 'error', code: '4001' });
      // In the same German browser: k of n TTPs chosen in the popup, shown in an exchange's window (docs/quorum.md).
      await guarantorsInGerman(de, p);
    } finally {
      await de.close();
    }
  });
});
