/**
 * A purchase paid by cheque end to end: the built extension in real Chromium, the real marketplace
 * (CA, bank, demo shop) in-process. The shopper opens an account at the bank (a one-time code for a
 * nearly empty account); on a product page it buys, picks "Cheque" in the trusted window and
 * confirms: the worker writes the cheque with the account key, the order names it, the shop presents
 * it at the bank and delivers only once it cleared. First the cheque bounces (insufficient funds):
 * the page and the popup say so, nothing is delivered, no money moved. Then the account is paid in
 * and the same product is bought again: the cheque clears, the bank moved the money once.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { poolKeys } from '../core/payment/helpers.js';
import { clickInTrustedWindow, launchExtension, tempDir, waitForTrustedWindow, popupSection, type ExtensionHarness } from './harness.js';

const PRODUCT = 'ink-drying-report';
const PRICE = 1_200;

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;
let page: Page;
let account: string;

beforeAll(async () => {
  dataDir = tempDir('semper-cheque-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1', bank: { keyFactory: poolKeys(0) } });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: market.rootPem });
  // An account holding 1.00 EUR: a cheque for the 12.00 EUR report bounces.
  const code = await market.bank.createAccountOpeningCode({ name: 'Cheque Shopper', amount: 100 });
  await harness.operation('wallet.openAccount', { bankUrl: market.bankUrl, code });
  account = (await market.bank.accountOpenedFor('Cheque Shopper'))!;
  page = await harness.context.newPage();
}, 120_000);

afterEach(async () => await market.bank.checkInvariants());

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

async function pageResult(p: Page): Promise<{ status: string; dealId?: string; reason?: string; text: string }> {
  const output = p.locator('#semper-result:is([data-status=completed], [data-status=error])');
  await output.waitFor({ timeout: 60_000 });
  return output.evaluate((el) => ({
    status: el.getAttribute('data-status') ?? '',
    ...(el.getAttribute('data-deal-id') ? { dealId: el.getAttribute('data-deal-id')! } : {}),
    ...(el.getAttribute('data-reason') ? { reason: el.getAttribute('data-reason')! } : {}),
    text: el.textContent ?? '',
  }));
}

/** Buy the report, choose cheque in the trusted window and confirm; the deal id from the window. */
async function buyByCheque(): Promise<string> {
  await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
  await page.click('#buy');
  const tw = await waitForTrustedWindow(harness);
  await tw.locator('#pay-cheque').waitFor();
  expect(await tw.locator('#pay-cheque-note').textContent()).toContain(market.bankUrl);
  await tw.click('#pay-cheque');
  await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
  const dealId = new URL(tw.url()).searchParams.get('deal')!;
  await clickInTrustedWindow(tw, '#confirm');
  return dealId;
}

async function merchantPhase(dealId: string): Promise<string> {
  return ((await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as { state: { phase: string } }).state.phase;
}

describe('purchase paid by cheque in Chromium', () => {
  it('a bounced cheque (insufficient funds): the order is refused with the reason, nothing delivered, no money moved', async () => {
    const shopBefore = await market.bank.balance(market.merchantAccount);
    const dealId = await buyByCheque();
    const result = await pageResult(page);
    expect(result).toMatchObject({ status: 'error', reason: 'ERR_CHEQUE_BOUNCED' });
    expect(result.text).toContain('insufficient-funds');
    expect(await merchantPhase(dealId)).toBe('refused');
    expect(await market.bank.balance(market.merchantAccount)).toBe(shopBefore);
    expect(await market.bank.balance(account)).toBe(100);
    const mine = await harness.operation('getDeal', { dealId });
    expect(mine.goods).toHaveLength(0);
    expect(mine.deal.error?.code).toBe('ERR_CHEQUE_BOUNCED');
    // The popup says so too.
    const popup = harness.opsPage;
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'deals');
    const row = popup.locator(`#deals tr[data-deal="${dealId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('failed');
    await row.locator('button').click();
    await expect.poll(() => popup.locator('#deal-detail').textContent()).toContain('insufficient-funds');
  });

  it('a cheque that clears: the shop presents it, the bank moves the money once, then the goods are delivered', async () => {
    await market.bank.fund(account, 5_000);
    const shopBefore = await market.bank.balance(market.merchantAccount);
    const dealId = await buyByCheque();
    const result = await pageResult(page);
    expect(result).toMatchObject({ status: 'completed', dealId });
    expect(await merchantPhase(dealId)).toBe('confirmed');
    expect((await market.bank.balance(market.merchantAccount)) - shopBefore).toBe(PRICE);
    expect(await market.bank.balance(account)).toBe(100 + 5_000 - PRICE);
    const mine = await harness.operation('getDeal', { dealId });
    expect(mine.goods.map((g) => g.sku)).toEqual([PRODUCT]);
    expect(mine.statements.map((s) => s.type)).toEqual(
      expect.arrayContaining([
        'semper.order',
        'semper.bank.cheque',
        'semper.bank.cheque-clearing',
        'semper.payment.proof',
        'semper.order-confirmation',
        'semper.delivery',
      ]),
    );
  });
});
