/**
 * The walking skeleton end to end: the built extension in Chromium, the real marketplace (CA +
 * demo shop) in-process, a shopper clicking "Buy with Semper" and deciding in the trusted window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyStatement } from '../../core/statements/index.js';
import { STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import { fingerprintOf } from '../../core/pki/index.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { SHOP_LEGAL_NAME } from '../../server/shop/catalog.js';
import {
  HARNESS_PHRASE,
  RESULTS,
  clickInTrustedWindow,
  closeResult,
  launchExtension,
  pageResult,
  popupSection,
  stopServiceWorker,
  tempDir,
  trustedWindows,
  waitForResult,
  waitForTrustedWindow,
  type ExtensionHarness,
} from './harness.js';
import { expectAccessible, expectFirstSight } from './first-sight.js';

const PRODUCT = 'ink-drying-report';
let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  dataDir = tempDir('semper-market-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await market?.close();
  dataDir?.remove();
});

describe('purchase in Chromium (English)', () => {
  let harness: ExtensionHarness;

  beforeAll(async () => {
    harness = await launchExtension();
    // The root is a setting: fetched from the CA like a user would, added through the operation API.
    const published = (await (await fetch(`${market.caUrl}/ca/root`)).json()) as { certificate: string; pem: string };
    expect(published.certificate).toBe(market.rootCertificate);
    await harness.operation('settings.addRoot', { certificate: published.pem });
    expect((await harness.operation('settings.listRoots', {})).roots).toHaveLength(1);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('the provider is in the page before its scripts run, frozen', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
    const info = await page.evaluate(() => {
      const w = window as unknown as { semper: { isSemper: boolean; request: unknown } };
      const frozen = Object.isFrozen(w.semper);
      const descriptor = Object.getOwnPropertyDescriptor(window, 'semper');
      try {
        (window as unknown as { semper: unknown }).semper = {};
      } catch {
        /* strict-mode assignment to a read-only property throws */
      }
      return { isSemper: w.semper.isSemper, frozen, writable: descriptor?.writable, configurable: descriptor?.configurable };
    });
    expect(info).toEqual({ isSemper: true, frozen: true, writable: false, configurable: false });
    const bad = await page.evaluate(() =>
      (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper
        .request({ method: 'semper_purchase', params: { items: [{ sku: 'NOT A SKU', quantity: 1 }] } })
        .catch((e: { code: number; data: { reason: string } }) => ({ code: e.code, reason: e.data.reason })),
    );
    expect(bad).toEqual({ code: -32602, reason: 'ERR_SCHEMA' });
    const unknown = await page.evaluate(() =>
      (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper
        .request({ method: 'eth_sendTransaction' })
        .catch((e: { code: number }) => ({ code: e.code })),
    );
    expect(unknown).toEqual({ code: 4200 });
    await page.close();
  });

  it('confirmed purchase: verified window, signed order at the merchant, evidence archived', async () => {
    // Every write the worker makes for the purchase waits for the disk (IndexedDB durability 'strict';
    // Chromium's default is 'relaxed'): the worker's transactions are observed where they are made.
    await harness.worker.evaluate(() => {
      const seen: string[] = [];
      (globalThis as unknown as { semperWriteDurability: string[] }).semperWriteDurability = seen;
      const transaction = IDBDatabase.prototype.transaction;
      IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
        const tx = transaction.apply(this, args);
        if (tx.mode === 'readwrite') seen.push(tx.durability);
        return tx;
      };
    });
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(SHOP_LEGAL_NAME);
    expect(await tw.locator('#total').textContent()).toBe('€12.00');
    expect(await tw.locator('#requesting-origin').textContent()).toBe(market.shopUrl);
    expect(await tw.locator('#certified-origins').textContent()).toBe(market.shopUrl);
    expect(await tw.locator('#issuer').textContent()).toBe('Semper Demo Root CA');
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await expectFirstSight(tw, 'first-sight-purchase-en.png');
    await expectAccessible(tw, 'trusted window, purchase (en)');
    await tw.screenshot({ path: join(RESULTS, 'trusted-window-en.png'), fullPage: true });

    // The deal-deciding operations are for the trusted window only, not for other extension pages.
    const dealId = new URL(tw.url()).searchParams.get('deal')!;
    const forged = await harness.operationResult('confirmDeal', { dealId });
    expect(forged).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });

    // The worker tells the window each step of its deal as it is persisted (the result screen reloads then, not on a timer).
    await tw.evaluate(() => {
      const seen: unknown[] = [];
      (window as unknown as { dealChanges: unknown[] }).dealChanges = seen;
      window.addEventListener('semper-deal-changed', (e) => seen.push((e as CustomEvent).detail));
    });
    await clickInTrustedWindow(tw, '#confirm');
    const result = await pageResult(page);
    expect(result).toMatchObject({ status: 'completed', dealId });

    // The window stays, on the result: what was signed, what came, where the evidence is; the focus on its heading.
    expect(await waitForResult(tw)).toBe('done');
    expect(await tw.locator('#tw-heading').textContent()).toBe('Purchase completed');
    expect(await tw.evaluate(() => document.activeElement?.id)).toBe('tw-heading');
    expect(await tw.evaluate(() => (window as unknown as { dealChanges: unknown[] }).dealChanges)).toContain(dealId);
    expect(await tw.locator('#result-signed').textContent()).toBe(`Your order over €12.00 to ${SHOP_LEGAL_NAME}`);
    expect(await tw.locator('#result-received').textContent()).toBe('Report: Drying Behaviour of Oxidative Offset Inks');
    expect(await tw.locator('#security-phrase').textContent()).toBe(HARNESS_PHRASE);
    await expectAccessible(tw, 'trusted window, purchase result (en)');
    await tw.screenshot({ path: join(RESULTS, 'result-purchase-en.png') });
    // The deal's evidence bundle, downloaded from the window.
    const download = tw.waitForEvent('download');
    await tw.click('#result-export');
    expect((await download).suggestedFilename()).toBe(`semper-evidence-${dealId}.json`);
    await closeResult(tw);

    // The merchant's stored order is signed by this browser's device key.
    const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as { state: { phase: string; order: unknown } };
    expect(stored.state.phase).toBe('confirmed');
    const verified = await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order] });
    const identity = await harness.operation('getIdentity', {});
    expect(verified.signerJwk).toEqual(identity.publicJwk);
    expect(verified.statement.dealId).toBe(dealId);

    // The shopper's archive holds the whole exchange.
    const deal = await harness.operation('getDeal', { dealId });
    expect(deal.deal).toMatchObject({ status: 'completed', merchant: SHOP_LEGAL_NAME, total: { amount: 1200, currency: 'EUR' } });
    expect(deal.statements.map((s) => [s.type, s.direction])).toEqual([
      [STATEMENT_TYPES.offer, 'received'],
      [STATEMENT_TYPES.order, 'sent'],
      [STATEMENT_TYPES.confirmation, 'received'],
      [STATEMENT_TYPES.delivery, 'received'],
    ]);
    expect(deal.goods.map((g) => g.sku)).toEqual([PRODUCT]);
    const durability = await harness.worker.evaluate(() => (globalThis as unknown as { semperWriteDurability: string[] }).semperWriteDurability);
    // The deal's steps at least: created, offer verified, order signed, answer received.
    expect(durability.length).toBeGreaterThanOrEqual(4);
    expect(new Set(durability)).toEqual(new Set(['strict']));
    await page.close();
  });

  it('declining → 4001; a second request queues; closing its window → 4001', async () => {
    const first = await harness.context.newPage();
    const second = await harness.context.newPage();
    await first.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await second.goto(`${market.shopUrl}/product/fm-screening-abstract`);
    await first.click('#buy');
    const tw1 = await waitForTrustedWindow(harness);
    await tw1.locator('#merchant-name').waitFor();
    await second.click('#buy');
    // The second deal waits for the first window: still only one trusted window.
    await expect.poll(async () => (await harness.operation('listDeals', {})).deals.filter((d) => d.status === 'awaiting-confirmation').length).toBe(2);
    expect(trustedWindows(harness)).toHaveLength(1);

    const nextWindow = harness.context.waitForEvent('page', { predicate: (p) => p.url().startsWith(harness.url('trusted-window/')) && p !== tw1 });
    await clickInTrustedWindow(tw1, '#decline');
    expect(await pageResult(first)).toMatchObject({ status: 'error', code: '4001' });

    const tw2 = await nextWindow;
    await tw2.locator('#merchant-name').waitFor();
    expect(await tw2.locator('#total').textContent()).toBe('€2.50');
    await tw2.close(); // the user closes the window instead of deciding
    expect(await pageResult(second)).toMatchObject({ status: 'error', code: '4001' });
    expect(trustedWindows(harness)).toHaveLength(0);
    await first.close();
    await second.close();
  });

  it('survives the worker being stopped: confirm after a restart completes; a window closed meanwhile declines', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#merchant-name').waitFor();
    await stopServiceWorker(harness);
    // The page's port dropped; its content script re-attaches by deal id (waking the worker),
    // and the resumed worker keeps the open window instead of opening a second one.
    await expect.poll(async () => (await harness.operation('listDeals', {})).deals[0]?.status).toBe('awaiting-confirmation');
    expect(trustedWindows(harness)).toHaveLength(1);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(page)).toMatchObject({ status: 'completed' });

    // Stopped worker, then the user closes the window: onRemoved wakes it and the deal is declined.
    await page.reload();
    await page.click('#buy');
    const tw2 = await waitForTrustedWindow(harness);
    await tw2.locator('#merchant-name').waitFor();
    await stopServiceWorker(harness);
    await tw2.close();
    expect(await pageResult(page)).toMatchObject({ status: 'error', code: '4001' });
    await page.close();
  });

  it('popup: sections as tabs (arrows, remembered), purchases, evidence and settings', async () => {
    // A cold start: the popup's first questions are the start script's (extension/worker/background.ts).
    await stopServiceWorker(harness);
    const popup = await harness.context.newPage();
    await popup.setViewportSize({ width: 600, height: 900 });
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'deals');
    const rows = popup.locator('#deals tbody tr');
    await expect.poll(() => rows.count()).toBe(5);
    const mainLoaded = async () => {
      const worker = harness.context.serviceWorkers().filter((w) => w.url().startsWith(harness.url('')));
      return worker.at(-1)?.evaluate(() => '__semperWorkerMain' in globalThis);
    };
    // Every section of the Deals tab answered, and the rest of the worker (worker-main.js) was never loaded: no deal is active.
    expect(await mainLoaded()).toBe(false);
    await popup.locator('#deals tbody tr[data-status=completed] button').first().click();
    await expect.poll(() => popup.locator('#statements tbody tr').count()).toBe(4);
    // A purchase's details are the rest of the worker's.
    expect(await mainLoaded()).toBe(true);
    await expectAccessible(popup, 'popup, deals (en)');
    await popup.screenshot({ path: join(RESULTS, 'popup-section-deals-en.png'), fullPage: true });
    // The tabs: one tab stop; arrows move and activate (wrapping), Home/End; the other panels are not rendered.
    await popup.focus('#tab-deals');
    await popup.keyboard.press('ArrowRight');
    expect(await popup.locator('#tab-identity').getAttribute('aria-selected')).toBe('true');
    expect(await popup.locator('#tab-deals').getAttribute('aria-selected')).toBe('false');
    expect(await popup.evaluate(() => document.activeElement?.id)).toBe('tab-identity');
    expect(await popup.locator('[role=tab][tabindex="0"]').count()).toBe(1);
    await expect.poll(() => popup.locator('#device-key-id').textContent()).toBe((await harness.operation('getIdentity', {})).keyId);
    expect(await popup.locator('#deals').count()).toBe(0);
    expect(await popup.locator('#panel-identity').getAttribute('aria-labelledby')).toBe('tab-identity');
    await expectAccessible(popup, 'popup, identity (en)');
    await popup.screenshot({ path: join(RESULTS, 'popup-section-identity-en.png'), fullPage: true });
    await popup.keyboard.press('ArrowLeft');
    await popup.keyboard.press('ArrowLeft');
    expect(await popup.locator('#tab-settings').getAttribute('aria-selected')).toBe('true');
    await popup.locator('#threshold-amount').waitFor();
    await expectAccessible(popup, 'popup, settings (en)');
    await popup.screenshot({ path: join(RESULTS, 'popup-section-settings-en.png'), fullPage: true });
    await popup.keyboard.press('Home');
    expect(await popup.locator('#tab-deals').getAttribute('aria-selected')).toBe('true');
    await popup.keyboard.press('End');
    await popup.keyboard.press('ArrowLeft');
    expect(await popup.locator('#tab-trust').getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => popup.locator('#roots li').count()).toBe(1);
    await expectAccessible(popup, 'popup, trust (en)');
    await popup.screenshot({ path: join(RESULTS, 'popup-section-trust-en.png'), fullPage: true });
    // Remembered: the popup opens again where the shopper left it.
    await popup.reload();
    expect(await popup.locator('#tab-trust').getAttribute('aria-selected')).toBe('true');
    await popup.locator('#ca-settings').waitFor();
    await popup.close();
  });

  it('a purchase with the keyboard only: the focus starts on the heading, Tab and Shift-Tab reach the buttons, Enter confirms, Space closes the result', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await page.focus('#buy');
    await page.keyboard.press('Enter');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#merchant-name').waitFor();
    // The focused element: its id, else its tag (the certificate disclosure's <summary> has none).
    const focused = () => tw.evaluate(() => document.activeElement?.id || document.activeElement?.tagName.toLowerCase() || '');
    await expect.poll(focused).toBe('tw-heading');
    // Confirm takes keys only once armed (a disabled button is not in the tab order).
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    const path: string[] = [];
    for (let n = 0; n < 40 && (await focused()) !== 'confirm'; n++) {
      await tw.keyboard.press('Tab');
      path.push(await focused());
    }
    expect(path.at(-1), `tab order: ${path.join(' → ')}`).toBe('confirm');
    // Every stop on the way is something the keyboard can use or read (the focus never falls back to the body).
    expect(path.filter((id) => id === '' || id === 'body')).toEqual([]);
    expect(path).toContain('summary');
    expect(path).toContain('terms-text');
    await tw.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('decline');
    await tw.keyboard.press('Tab');
    expect(await focused()).toBe('confirm');
    await tw.keyboard.press('Enter');
    expect(await pageResult(page)).toMatchObject({ status: 'completed' });
    expect(await waitForResult(tw)).toBe('done');
    await expect.poll(focused).toBe('tw-heading');
    for (let n = 0; n < 10 && (await focused()) !== 'result-close'; n++) await tw.keyboard.press('Tab');
    expect(await focused()).toBe('result-close');
    const closed = tw.waitForEvent('close');
    // The window may close before the key press returns (like clickInTrustedWindow's click).
    await tw.keyboard.press('Space').catch((e: unknown) => {
      if (!tw.isClosed()) throw e;
    });
    await closed;
    await page.close();
  });
});

describe('trusted window in German (--lang=de)', () => {
  let harness: ExtensionHarness;

  beforeAll(async () => {
    harness = await launchExtension({ lang: 'de' });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it("the popup's settings add a trusted root from pasted PEM", async () => {
    const popup = await harness.context.newPage();
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'trust');
    expect(await popup.locator('#ca-settings-heading').textContent()).toBe('Vertrauenswürdige Zertifizierungsstellen');
    await popup.locator('#root-pem').fill(market.rootPem);
    await popup.getByRole('button', { name: 'Diesem Zertifikat vertrauen' }).click();
    await expect.poll(() => popup.locator('#roots li').count()).toBe(1);
    expect(await popup.locator('#roots li strong').textContent()).toBe('Semper Demo Root CA');
    await popup.close();
  });

  it('the popup fetches a TTP certificate and a CA root from their addresses and trusts each only after showing its fingerprint', async () => {
    const popup = await harness.context.newPage();
    await popup.setViewportSize({ width: 600, height: 1000 });
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'trust');
    await popup.locator('#fetch-ttp-url').fill(`${market.ttpUrl}/`);
    await popup.click('#fetch-ttp-go');
    await expect.poll(() => popup.locator('#fetch-ttp-fingerprint').textContent()).toBe(await fingerprintOf(market.ttpCertificate));
    await expectAccessible(popup, 'popup, fetched TTP certificate to compare (de)');
    expect((await harness.operation('settings.listTtps', {})).ttps).toEqual([]); // fetched, not trusted
    await popup.click('#fetch-ttp-trust');
    await expect.poll(() => popup.locator('#ttps li').count()).toBe(1);
    expect((await harness.operation('settings.listTtps', {})).ttps[0]).toMatchObject({ url: market.ttpUrl, commonName: 'Semper Demo TTP' });

    // The CA: its root again, from its address this time; the CA address setting follows what was trusted.
    for (const r of (await harness.operation('settings.listRoots', {})).roots) await harness.operation('settings.removeRoot', { fingerprint: r.fingerprint });
    await popup.reload(); // the popup remembers the Trust section
    await popup.locator('#fetch-ca-url').fill(market.caUrl);
    await popup.click('#fetch-ca-go');
    await expect.poll(() => popup.locator('#fetch-ca-fingerprint').textContent()).toBe(await fingerprintOf(market.rootCertificate));
    expect(await popup.locator('#roots li').count()).toBe(0);
    await popup.click('#fetch-ca-trust');
    await expect.poll(() => popup.locator('#roots li').count()).toBe(1);
    expect((await harness.operation('settings.get', {})).caUrl).toBe(market.caUrl);
    await popup.close();
  });

  it('shows German labels and German number formats', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#merchant-name').waitFor();
    expect(await tw.locator('#tw-heading').textContent()).toBe('Kauf bestätigen');
    expect(await tw.locator('#decline').textContent()).toBe('Ablehnen');
    expect(await tw.locator('#total').textContent()).toMatch(/^12,00\s€$/);
    expect(await tw.evaluate(() => document.documentElement.lang)).toMatch(/^de/);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await expectFirstSight(tw, 'first-sight-purchase-de.png');
    await expectAccessible(tw, 'trusted window, purchase (de)');
    await tw.screenshot({ path: join(RESULTS, 'trusted-window-de.png'), fullPage: true });
    await clickInTrustedWindow(tw, '#decline');
    expect(await pageResult(page)).toMatchObject({ status: 'error', code: '4001' });
    await page.close();
  });
  it("a contract's key terms in German: at first sight and above the full text; the result screen after signing", async () => {
    if ((await harness.operation('settings.listTtps', {})).ttps.length === 0)
      await harness.operation('settings.addTtp', { certificate: market.ttpPem, url: market.ttpUrl });
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/agreements`);
    await page.click('#sign-subscription-agreement');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#key-terms').waitFor();
    expect(await tw.locator('#glance-terms').textContent()).toMatch(/^240,00\s€ alle 12 Monate, verlängert sich automatisch; Kündigung 3 Monate vor Ende$/);
    expect(await tw.locator('#key-terms-heading').textContent()).toBe('Eckdaten des Vertrags');
    expect(await tw.locator('#key-terms-notice').textContent()).toBe('3 Monate vor Ende der Laufzeit');
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    await expectFirstSight(tw, 'first-sight-contract-de.png', ['glance-terms']);
    await expectAccessible(tw, 'trusted window, contract with key terms (de)');
    await tw.screenshot({ path: join(RESULTS, 'trusted-window-contract-de.png'), fullPage: true });
    await clickInTrustedWindow(tw, '#confirm');
    // The result screen in German.
    expect(await waitForResult(tw)).toBe('done');
    expect(await tw.locator('#tw-heading').textContent()).toBe('Vertrag von beiden unterschrieben');
    expect(await tw.locator('#result-signed').textContent()).toBe('Ihre Unterschrift unter „Subscription agreement: Fogra research reports“');
    await expectAccessible(tw, 'trusted window, contract result (de)');
    await tw.screenshot({ path: join(RESULTS, 'result-contract-de.png') });
    await closeResult(tw);
    await page.close();

    // The signed contract's disputes in the trusted window, in German (issue 12, item 5).
    const dealId = new URL(tw.url()).searchParams.get('deal')!;
    await harness.operation('settings.addArbiter', { certificate: market.arbiterPem, url: market.arbiterUrl });
    const opened = harness.context.waitForEvent('page', { predicate: (p) => p.url().includes('view=dispute') });
    await harness.operation('disputes.openWindow', { dealId });
    const dw = await opened;
    await dw.locator('#dispute-submit').waitFor();
    expect(await dw.locator('#tw-heading').textContent()).toBe('Streitfälle zu diesem Geschäft');
    await dw.click('#dispute-submit'); // the one claim for a contract: it was signed by both
    await dw.locator('#verdicts .verdict').waitFor({ timeout: 15_000 });
    expect(await dw.locator('#dsw-archived').isVisible()).toBe(true);
    await expectAccessible(dw, 'trusted window, disputes (de)');
    await dw.screenshot({ path: join(RESULTS, 'dispute-window-de.png'), fullPage: true });
    await dw.close();
  });

  it('the popup in German: every section passes axe, amounts in German notation (100,00)', async () => {
    const popup = await harness.context.newPage();
    await popup.setViewportSize({ width: 600, height: 900 });
    await popup.goto(harness.url('popup/index.html'));
    expect(await popup.locator('[role=tab]').allTextContents()).toEqual(['Geschäfte', 'Identität', 'Vertrauen', 'Einstellungen']);
    for (const section of ['deals', 'identity', 'trust', 'settings'] as const) {
      await popupSection(popup, section);
      if (section === 'deals') await popup.locator('#deals tbody tr').first().waitFor();
      if (section === 'settings') await expect.poll(() => popup.locator('#threshold-amount').inputValue()).toMatch(/^\d+,\d{2}$/);
      await expectAccessible(popup, `popup, ${section} (de)`);
      await popup.screenshot({ path: join(RESULTS, `popup-section-${section}-de.png`), fullPage: true });
    }
    await popup.close();
  });
});
