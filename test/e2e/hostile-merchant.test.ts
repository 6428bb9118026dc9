/**
 * Offers that must never reach the trusted window. A hostile merchant (a real origin on
 * 127.0.0.1) answers the extension's offer request with an offer that is wrong in one way; the
 * page must get 4100 with the SemperErrorCode as `data.reason`, and no trusted window may open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import {
  RESULTS,
  clickInTrustedWindow,
  launchExtension,
  pageResult,
  trustedWindows,
  waitForTrustedWindow,
  type ExtensionHarness,
  popupSection,
} from './harness.js';
import { expectAccessible } from './first-sight.js';
import { HOSTILE_LEGAL_NAME, startHostileMerchant, type HostileMerchant, type HostileMode } from './hostile-merchant.js';

let harness: ExtensionHarness;
let merchant: HostileMerchant;
let shopPage: Page;
/** Every trusted window that opened during this file. */
const windowsOpened: string[] = [];

beforeAll(async () => {
  merchant = await startHostileMerchant();
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: merchant.trustedRoot });
  harness.context.on('page', (p) => {
    if (p.url().startsWith(harness.url('trusted-window/'))) windowsOpened.push(p.url());
  });
  shopPage = await harness.context.newPage();
});

afterAll(async () => {
  await harness?.close();
  await merchant?.close();
});

async function buy(mode: HostileMode): Promise<Awaited<ReturnType<typeof pageResult>>> {
  merchant.mode = mode;
  await shopPage.goto(`${merchant.url}/`);
  await shopPage.click('#buy');
  return pageResult(shopPage);
}

describe('hostile page', () => {
  it('finds window.semper already at its first script, and cannot reach the trusted window', async () => {
    await shopPage.goto(`${merchant.url}/`);
    expect(await shopPage.evaluate(() => document.documentElement.dataset.semperAtFirstScript)).toBe('object');
    // Not web-accessible: a page can neither fetch nor frame the trusted window.
    const url = harness.url('trusted-window/index.html?deal=abcdefghijklmnopqrstuvwx');
    expect(
      await shopPage.evaluate(
        (u) =>
          fetch(u).then(
            () => 'loaded',
            () => 'blocked',
          ),
        url,
      ),
    ).toBe('blocked');
  });
});

describe('hostile merchant: bad offers are refused before the trusted window', () => {
  const cases: [HostileMode, string][] = [
    ['bad-signature', 'ERR_SIGNATURE_INVALID'],
    ['other-origin-certificate', 'ERR_CERT_ORIGIN'],
    ['expired-certificate', 'ERR_CERT_EXPIRED'],
    ['unknown-ca', 'ERR_CERT_UNTRUSTED'],
    ['replayed-nonce', 'ERR_NONCE_MISMATCH'],
    ['expired-offer', 'ERR_OFFER_EXPIRED'],
  ];

  for (const [mode, reason] of cases) {
    it(`${mode} → 4100 ${reason}, no trusted window`, async () => {
      const before = merchant.requests.length;
      const result = await buy(mode);
      expect(result).toMatchObject({ status: 'error', code: '4100', reason });
      // The extension did ask (so the refusal is its verification, not a transport failure).
      expect(merchant.requests.length).toBe(before + 1);
      expect(windowsOpened).toEqual([]);
      expect(trustedWindows(harness)).toEqual([]);
      const deals = await harness.operation('listDeals', {});
      const deal = deals.deals.find((d) => d.dealId === merchant.requests.at(-1)!.dealId);
      expect(deal).toMatchObject({ status: 'failed', error: { code: reason } });
      expect(deal?.merchant).toBeUndefined(); // never verified, never shown
    });
  }

  it('the shopper is told in Semper\'s own UI: a notice per refused request with what to do, "!" on the badge until read', async () => {
    const badgeText = () => harness.opsPage.evaluate(() => chrome.action.getBadgeText({}));
    await expect.poll(badgeText).toBe('!');
    const { notices, unseen } = await harness.operation('notices.list', {});
    expect(unseen).toBe(cases.length);
    // Newest first; each refusal with its advice, never more than one entry per request.
    expect(notices.map((n) => n.code)).toEqual(cases.map(([, reason]) => reason).reverse());
    const adviceOf = (code: string) => notices.find((n) => n.code === code)?.advice;
    expect(adviceOf('ERR_CERT_UNTRUSTED')).toBe('untrusted-ca');
    expect(adviceOf('ERR_CERT_ORIGIN')).toBe('origin-mismatch');
    expect(adviceOf('ERR_CERT_EXPIRED')).toBe('expired');
    expect(adviceOf('ERR_SIGNATURE_INVALID')).toBe('not-verified');
    expect(notices.every((n) => n.origin === merchant.url)).toBe(true);

    const popup = await harness.context.newPage();
    await popup.setViewportSize({ width: 600, height: 900 });
    // The popup was last left on Trust; unread notices (the badge's "!") open it on Deals, where they are.
    await harness.opsPage.evaluate(() => localStorage.setItem('semper.popup.section', 'trust'));
    await popup.goto(harness.url('popup/index.html'));
    const untrusted = popup.locator('#notices li[data-advice="untrusted-ca"]');
    await untrusted.waitFor();
    expect(await popup.locator('#tab-deals').getAttribute('aria-selected')).toBe('true');
    expect(await popup.locator('#tab-deals').textContent()).toContain('unread notices');
    expect(await untrusted.textContent()).toContain('a certification authority you have not chosen to trust');
    expect(await untrusted.locator('a[href="#ca-settings"]').count()).toBe(1);
    await expectAccessible(popup, 'popup, notices (en)');
    await popup.locator('#notices').screenshot({ path: join(RESULTS, 'popup-notices-en.png') });
    // "Trust a CA" leads to the roots in the Trust section, focused there.
    await untrusted.locator('a[href="#ca-settings"]').click();
    await expect.poll(() => popup.locator('#tab-trust').getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => popup.evaluate(() => document.activeElement?.id)).toBe('ca-settings-heading');
    await popupSection(popup, 'deals');
    await popup.click('#notices-read');
    await expect.poll(badgeText).toBe('');
    await expect.poll(() => popup.locator('#notices-read').count()).toBe(0);
    expect((await harness.operation('notices.list', {})).unseen).toBe(0);
    await popup.close();
  });

  it('control: a correct offer from the same merchant does reach the trusted window', async () => {
    merchant.mode = 'valid';
    await shopPage.goto(`${merchant.url}/`);
    await shopPage.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(HOSTILE_LEGAL_NAME);
    await clickInTrustedWindow(tw, '#decline');
    expect(await pageResult(shopPage)).toMatchObject({ status: 'error', code: '4001' });
    windowsOpened.length = 0;
  });
});
