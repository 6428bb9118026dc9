/**
 * A dispute from the popup, end to end: the built extension in Chromium, the marketplace of
 * `npm start` in-process (CA, demo shop, arbiter). A completed purchase; the shopper trusts the
 * marketplace's arbiter in the popup (fetched by address, fingerprint compared) and raises
 * "offer-denied" from the deal's detail; the arbiter upholds it (the merchant's certified offer is
 * in the evidence) and the popup shows the verdict; complaint and verdict are in the deal's archive.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../core/pki/index.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import {
  HARNESS_PHRASE,
  RESULTS,
  clickInTrustedWindow,
  launchExtension,
  pageResult,
  tempDir,
  waitForTrustedWindow,
  popupSection,
  type ExtensionHarness,
} from './harness.js';
import { SHOP_LEGAL_NAME } from '../../server/shop/catalog.js';
import { expectAccessible } from './first-sight.js';

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;

beforeAll(async () => {
  dataDir = tempDir('semper-market-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
  harness = await launchExtension();
  const published = (await (await fetch(`${market.caUrl}/ca/root`)).json()) as { pem: string };
  await harness.operation('settings.addRoot', { certificate: published.pem });
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

describe('dispute in Chromium (English)', () => {
  it('a completed purchase, the arbiter trusted in the popup, offer-denied raised → upheld verdict shown and archived', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/ink-drying-report`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    // Armed once loaded and shown (a loaded machine may take more than expect.poll's default second).
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    const dealId = new URL(tw.url()).searchParams.get('deal')!;
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(page)).toMatchObject({ status: 'completed', dealId });
    await page.close();

    // Trust the arbiter as a shopper would: fetch it by address, compare the fingerprint, trust.
    const popup = harness.opsPage;
    await popup.reload();
    await popupSection(popup, 'trust');
    await popup.fill('#fetch-arbiter-url', market.arbiterUrl);
    await popup.click('#fetch-arbiter-go');
    await expect.poll(() => popup.locator('#fetch-arbiter-fingerprint').textContent()).toBe(await fingerprintOf(market.arbiterCertificate));
    await popup.click('#fetch-arbiter-trust');
    await expect.poll(() => popup.locator('#arbiters li').count()).toBe(1);

    // The deal's detail: raise "the merchant denies its offer" with that arbiter.
    await popupSection(popup, 'deals');
    await popup.click(`#deals tr[data-deal="${dealId}"] button`);
    await popup.locator('#dispute-claim').selectOption('offer-denied');
    await popup.click('#dispute-submit');
    const verdict = popup.locator('#verdicts .verdict');
    await expect.poll(() => verdict.getAttribute('data-decision'), { timeout: 15_000 }).toBe('upheld');
    expect(await verdict.getAttribute('data-rule')).toBe('offer-denied/certified-offer');
    expect(await verdict.locator('.verdict-decision').textContent()).toMatch(/^Upheld/);
    expect(await verdict.locator('.verdict-reasons li').count()).toBeGreaterThan(0);
    await popup.locator('#dispute').scrollIntoViewIfNeeded();
    await popup.screenshot({ path: join(RESULTS, 'popup-dispute-en.png'), fullPage: true });
    await expectAccessible(popup, 'popup, dispute (en)');

    // Kept with the deal: the next evidence export carries complaint and verdict.
    const deal = await harness.operation('getDeal', { dealId });
    expect(deal.statements.filter((s) => s.type.startsWith('semper.arbiter.')).map((s) => [s.type, s.direction])).toEqual([
      ['semper.arbiter.complaint', 'sent'],
      ['semper.arbiter.verdict', 'received'],
    ]);
    expect(market.arbiter.count()).toBe(1);

    // The verdict's time stamp (the arbiter has it stamped after answering): valid, but by a TSA the
    // shopper has not chosen, it is shown as untrusted; once the TSA is trusted in the Trust section, as a time.
    const verdictDigest = deal.statements.find((s) => s.type === 'semper.arbiter.verdict')!.digest;
    await expect.poll(async () => (await harness.operation('disputes.timestamp', { dealId, verdict: verdictDigest })).status).toBe('untrusted-tsa');
    const stampResult = verdict.locator('.verdict-timestamp-result');
    await verdict.locator('.verdict-timestamp-check').click();
    await expect.poll(() => stampResult.getAttribute('data-status')).toBe('untrusted-tsa');
    expect(await stampResult.textContent()).toContain('not chosen to trust');
    const exportedTimestamps = async () =>
      (JSON.parse((await harness.operation('exportEvidence', { dealId })).json) as { timestamps: { of: string; token: string }[] }).timestamps;
    expect(await exportedTimestamps()).toEqual([]);
    await popupSection(popup, 'trust');
    await popup.fill('#fetch-tsa-url', market.tsaUrl);
    await popup.click('#fetch-tsa-go');
    await expect.poll(() => popup.locator('#fetch-tsa-fingerprint').textContent()).toBe(await fingerprintOf(market.tsaCertificate));
    await popup.click('#fetch-tsa-trust');
    await expect.poll(() => popup.locator('#tsas li').count()).toBe(1);
    await expectAccessible(popup, 'popup, trust with a TSA (en)');
    await popup.locator('#tsa-settings').screenshot({ path: join(RESULTS, 'popup-tsa-settings-en.png') });
    await popupSection(popup, 'deals'); // the deal's details are still open there
    await verdict.locator('.verdict-timestamp-check').click();
    await expect.poll(() => stampResult.getAttribute('data-status')).toBe('trusted');
    expect(await stampResult.textContent()).toMatch(/^Time-stamped by .+ \(a TSA you trust\)\.$/);
    // A time the shopper can rely on is kept with the verdict (IndexedDB): the deal's evidence export carries it.
    expect((await exportedTimestamps()).map((t) => t.of)).toEqual([verdictDigest]);
    await expectAccessible(popup, 'popup, verdict time stamp (en)');

    // The same deal's disputes in the trusted window, opened from the deal's detail (issue 12, item 5).
    const opened = harness.context.waitForEvent('page', { predicate: (p) => p.url().includes('view=dispute') });
    await popup.click('#dispute-open-window');
    const dw = await opened;
    expect(new URL(dw.url()).searchParams.get('deal')).toBe(dealId);
    await dw.locator('#verdicts .verdict').first().waitFor();
    await expect.poll(() => dw.evaluate(() => document.activeElement?.id)).toBe('tw-heading');
    expect(await dw.locator('#security-phrase').textContent()).toBe(HARNESS_PHRASE);
    expect(await dw.locator('#dsw-merchant').textContent()).toContain(SHOP_LEGAL_NAME);
    expect(await dw.locator('#verdicts .verdict').getAttribute('data-rule')).toBe('offer-denied/certified-offer');
    // Raised from the window: "the goods never came" about a deal whose delivery is in the evidence.
    await dw.locator('#dispute-claim').selectOption('goods-not-delivered');
    await dw.click('#dispute-submit');
    await expect.poll(() => dw.locator('#verdicts .verdict').count(), { timeout: 15_000 }).toBe(2);
    expect(await dw.locator('#verdicts .verdict').nth(1).getAttribute('data-decision')).toBe('dismissed');
    await expectAccessible(dw, 'trusted window, disputes (en)');
    await dw.screenshot({ path: join(RESULTS, 'dispute-window-en.png'), fullPage: true });
    // Kept with the deal, like the popup's.
    expect((await harness.operation('disputes.list', { dealId })).disputes.map((d) => d.decision)).toEqual(['upheld', 'dismissed']);
    const closed = dw.waitForEvent('close');
    await clickInTrustedWindow(dw, '#dispute-close');
    await closed;
  });
});
