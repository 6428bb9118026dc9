/**
 * The two commerce uses of the fair exchange, end to end: the built extension in Chromium, the
 * real marketplace (CA, TTP, demo shop) in-process. The shopper starts from the shop's page, the
 * trusted window shows the merchant's verified descriptor with the TTP that guarantees fairness,
 * and the worker runs the exchange as originator (timeouts through chrome.alarms).
 *
 *   contract signing, honest merchant   → completed, the TTP never heard of it (404)
 *   certified mail, honest merchant     → the shopper has the document, the merchant the receipt
 *   the merchant stops after receiving the shopper's signature → the TTP resolves: the shopper
 *                                         ends with the contract (resolution + affidavit verify
 *                                         from Node with the TTP's certificate), the page gets 'resolved'
 *   a descriptor bound to another origin → refused, no trusted window
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { AffidavitBody, ResolutionBody, TTP_TYPES } from '../../core/exchange/index.js';
import { ContractBody, EXCHANGE_DEAL_TYPES } from '../../core/commerce/exchange-deal.js';
import { verifyStatement, type Statement } from '../../core/statements/index.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import type { ExchangeFaults } from '../../server/merchant/kit.js';
import { SHOP_LEGAL_NAME } from '../../server/shop/catalog.js';
import { EXCHANGE_CONTRACTS, EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import {
  HARNESS_PHRASE,
  RESULTS,
  clickInTrustedWindow,
  closeResult,
  launchExtension,
  stopServiceWorker,
  tempDir,
  trustedWindows,
  waitForResult,
  waitForTrustedWindow,
  type ExtensionHarness,
  popupSection,
} from './harness.js';
import { expectAccessible, expectFirstSight } from './first-sight.js';

const CONTRACT = EXCHANGE_CONTRACTS[0]!;
const DOCUMENT = EXCHANGE_DOCUMENTS[0]!;
/** Short timers so a merchant that stops is overcome within seconds (the shopper clamps them to ≥ 1 s). */
const TIMING = { peerMs: 1_000, ttpRetryMs: 1_000, ttpMarginMs: 2_000, peerRetries: 1 };

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;
let page: Page;
const faults: ExchangeFaults = {};
const windowsOpened: string[] = [];

beforeAll(async () => {
  dataDir = tempDir('semper-exchange-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, ttpPort: 0, host: '127.0.0.1', exchange: { timing: TIMING, faults } });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: market.rootPem });
  // The user chooses whom to trust: the marketplace's TTP, by certificate, at its address.
  const added = await harness.operation('settings.addTtp', { certificate: market.ttpPem, url: market.ttpUrl });
  expect(added.ttp).toMatchObject({ commonName: 'Semper Demo TTP', url: market.ttpUrl, keyId: market.ttpKeyId });
  harness.context.on('page', (p) => {
    if (p.url().startsWith(harness.url('trusted-window/'))) windowsOpened.push(p.url());
  });
  page = await harness.context.newPage();
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

interface ExchangeResult {
  status: string;
  dealId?: string;
  exchangeId?: string;
  code?: string;
  reason?: string;
}

/** What the shop page shows once the exchange request settled. */
async function exchangeResult(timeout = 30_000): Promise<ExchangeResult> {
  const output = page.locator('#semper-result:is([data-status=completed], [data-status=resolved], [data-status=aborted], [data-status=error])');
  await output.waitFor({ timeout });
  return output.evaluate((el) => {
    const out: Record<string, string> = { status: el.getAttribute('data-status') ?? '' };
    for (const [attr, key] of [
      ['data-deal-id', 'dealId'],
      ['data-exchange-id', 'exchangeId'],
      ['data-code', 'code'],
      ['data-reason', 'reason'],
    ] as const) {
      const v = el.getAttribute(attr);
      if (v !== null) out[key] = v;
    }
    return out as unknown as ExchangeResult;
  });
}

async function startFromPage(button: string): Promise<Page> {
  await page.goto(`${market.shopUrl}/agreements`);
  await page.click(button);
  const tw = await waitForTrustedWindow(harness);
  await tw.locator('#merchant-name').waitFor();
  return tw;
}

async function ttpStatus(exchangeId: string): Promise<{ status: number; decision?: string }> {
  const res = await fetch(`${market.ttpUrl}/ttp/exchanges/${exchangeId}`);
  const body = (await res.json()) as { decision?: string };
  return { status: res.status, ...(body.decision ? { decision: body.decision } : {}) };
}

async function merchantSide(dealId: string) {
  // The kit's one operator route: the stored deal of any kind; an exchange's state carries its responder.
  const deal = (await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as {
    halted: boolean;
    state: { responder: { phase: string; received: { kind: string; statement: Statement } | null; outcome: { status: string } | null } };
  };
  return { stopped: deal.halted, state: deal.state.responder };
}

describe('exchanges through the trusted window', () => {
  it('contract signing with an honest merchant: completed, zero TTP requests', async () => {
    const tw = await startFromPage(`#sign-${CONTRACT.id}`);
    expect(await tw.locator('#merchant-name').textContent()).toBe(SHOP_LEGAL_NAME);
    expect(await tw.locator('#requesting-origin').textContent()).toBe(market.shopUrl);
    expect(await tw.locator('#contract-title').textContent()).toBe(CONTRACT.title);
    expect(await tw.locator('#contract-text').textContent()).toBe(CONTRACT.text);
    expect(await tw.locator('#ttp-name').textContent()).toBe('Semper Demo TTP');
    expect(await tw.locator('#ttp-url').textContent()).toBe(market.ttpUrl);
    expect(await tw.locator('#security-phrase').textContent()).toBe(HARNESS_PHRASE);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);

    // Deciding is for the trusted window showing this exchange only.
    const dealId = new URL(tw.url()).searchParams.get('deal')!;
    expect(await harness.operationResult('confirmExchange', { dealId })).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });

    // The key terms, signed with the text: at first sight, and in full above the text (issue 11).
    expect(await tw.locator('#glance-terms').textContent()).toBe('€240.00 every 12 months, renews automatically; notice 3 months before the end');
    expect(await tw.locator('#key-terms-fee').textContent()).toBe('€240.00 every 12 months');
    expect(await tw.locator('#key-terms-renewal').textContent()).toBe('Renews automatically for another 12 months unless notice is given');
    expect(await tw.locator('#key-terms-notice').textContent()).toBe('3 months before the end of a term');
    const above = await tw.evaluate(
      () => document.getElementById('key-terms')!.getBoundingClientRect().bottom <= document.getElementById('contract-text')!.getBoundingClientRect().top,
    );
    expect(above).toBe(true);
    // The full text is a named region the keyboard reaches (axe scrollable-region-focusable).
    expect(await tw.getByRole('region', { name: CONTRACT.title }).getAttribute('id')).toBe('contract-text');
    await expectFirstSight(tw, 'first-sight-contract-en.png', ['glance-terms']);
    await expectAccessible(tw, 'trusted window, contract (en)');
    await tw.screenshot({ path: join(RESULTS, 'trusted-window-contract.png'), fullPage: true });
    await clickInTrustedWindow(tw, '#confirm');
    const result = await exchangeResult();
    expect(result).toMatchObject({ status: 'completed', dealId });
    expect(await ttpStatus(result.exchangeId!)).toEqual({ status: 404 });
    // The window shows what was signed and what came back.
    expect(await waitForResult(tw)).toBe('done');
    expect(await tw.locator('#tw-heading').textContent()).toBe('Contract signed by both');
    expect(await tw.locator('#result-signed').textContent()).toBe(`Your signature on “${CONTRACT.title}”`);
    expect(await tw.locator('#result-received').textContent()).toBe("The merchant's signature on the same contract");
    await expectAccessible(tw, 'trusted window, contract result (en)');
    await tw.screenshot({ path: join(RESULTS, 'result-contract-en.png') });
    await closeResult(tw);

    const merchant = await merchantSide(dealId);
    expect(merchant.state.outcome?.status).toBe('completed');
    const identity = await harness.operation('getIdentity', {});
    const signature = await verifyStatement(merchant.state.received!.statement, { types: [EXCHANGE_DEAL_TYPES.contractSignature] });
    expect(signature.signerJwk).toEqual(identity.publicJwk);
    expect(ContractBody.parse(signature.statement.body).text).toBe(CONTRACT.text);
    // The shopper signed the key terms with the text.
    expect(ContractBody.parse(signature.statement.body).keyTerms).toEqual(CONTRACT.keyTerms);
  });

  it('certified mail: the shopper gets the document, the merchant the signed receipt', async () => {
    const tw = await startFromPage(`#receive-${DOCUMENT.id}`);
    expect(await tw.locator('#document-title').textContent()).toBe(DOCUMENT.title);
    await expectFirstSight(tw, 'first-sight-mail-en.png');
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    const result = await exchangeResult();
    expect(result.status).toBe('completed');
    const dealId = result.dealId!;

    const mine = await harness.operation('getExchange', { dealId });
    expect(mine.document?.text).toBe(DOCUMENT.content);
    expect(mine.exchange.status).toBe('completed');

    // The receipt travels after the document: the merchant may record it a moment later.
    await expect.poll(async () => (await merchantSide(dealId)).state.outcome?.status).toBe('completed');
    const receipt = (await merchantSide(dealId)).state.received!;
    const identity = await harness.operation('getIdentity', {});
    const verified = await verifyStatement(receipt.statement, { types: [EXCHANGE_DEAL_TYPES.receipt] });
    expect(verified.signerJwk).toEqual(identity.publicJwk);
    expect(verified.statement.dealId).toBe(dealId);
    expect(verified.statement.body).toMatchObject({ sender: mine.view!.merchant.keyId, receiver: identity.keyId });
    expect(await ttpStatus(result.exchangeId!)).toEqual({ status: 404 });
  });

  it("the merchant stops after receiving the shopper's signature: the TTP resolves and the shopper ends with the contract (across a worker restart)", async () => {
    faults.stopAfter = 'receiving-originator-item';
    try {
      const tw = await startFromPage(`#sign-${CONTRACT.id}`);
      const dealId = new URL(tw.url()).searchParams.get('deal')!;
      await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
      await clickInTrustedWindow(tw, '#confirm');
      // The merchant took the shopper's signature and went silent; the worker, waiting for m4, is
      // stopped as Chrome stops idle workers. Its alarm wakes it, it resumes from IndexedDB.
      await expect.poll(async () => (await merchantSide(dealId)).stopped, { timeout: 10_000 }).toBe(true);
      await stopServiceWorker(harness);
      const result = await exchangeResult(30_000);
      expect(result).toMatchObject({ status: 'resolved', dealId });
      expect(await ttpStatus(result.exchangeId!)).toMatchObject({ status: 200, decision: 'resolved' });

      // The evidence, verified from Node with the TTP's certificate and nothing the extension says.
      const x = await harness.operation('getExchange', { dealId });
      expect(x.exchange.status).toBe('resolved');
      const trust = { roots: [market.rootCertificate], now: new Date() };
      const resolution = await verifyStatement(x.evidence.resolution, { types: [TTP_TYPES.resolution], requireCertificate: true, trust });
      expect(resolution.chain?.leaf.der).toBe(market.ttpCertificate);
      const rb = ResolutionBody.parse(resolution.statement.body);
      expect(rb.exchangeId).toBe(result.exchangeId);
      const affidavit = await verifyStatement(x.evidence.affidavit, { types: [TTP_TYPES.affidavit], requireCertificate: true, trust });
      expect(affidavit.chain?.leaf.der).toBe(market.ttpCertificate);
      const ab = AffidavitBody.parse(affidavit.statement.body);
      expect(ab.onBehalfOf).toBe(x.view!.merchant.keyId);
      expect(ab.exchangeId).toBe(result.exchangeId);
      // What the affidavit stands in for: the merchant's signature on exactly this contract.
      const described = ab.description as { kind: string; type: string; content: { body: unknown } };
      expect(described.type).toBe(EXCHANGE_DEAL_TYPES.contractSignature);
      expect(ContractBody.parse(described.content.body).text).toBe(CONTRACT.text);
      expect(rb.affidavits.map((a) => JSON.stringify(a))).toContain(JSON.stringify(x.evidence.affidavit));
    } finally {
      delete faults.stopAfter;
    }
  });

  it('a descriptor bound to another origin never reaches the trusted window', async () => {
    faults.descriptorOrigin = 'https://elsewhere.example';
    windowsOpened.length = 0;
    try {
      await page.goto(`${market.shopUrl}/agreements`);
      await page.click(`#sign-${CONTRACT.id}`);
      expect(await exchangeResult()).toMatchObject({ status: 'error', code: '4100', reason: 'ERR_CERT_ORIGIN' });
      expect(windowsOpened).toEqual([]);
      expect(trustedWindows(harness)).toEqual([]);
    } finally {
      delete faults.descriptorOrigin;
    }
  });

  it('the page names a document, never its content; an unknown one is refused before any window', async () => {
    await page.goto(`${market.shopUrl}/agreements`);
    windowsOpened.length = 0;
    const call = (request: unknown) =>
      page.evaluate(
        (r) =>
          (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper.request(r).then(
            (v) => ({ ok: v }),
            (e: { code: number; data: { reason: string } }) => ({ code: e.code, reason: e.data.reason }),
          ),
        request,
      );
    expect(await call({ method: 'semper_signContract', params: { contractId: CONTRACT.id, text: 'The subscriber pays nothing.' } })).toEqual({
      code: -32602,
      reason: 'ERR_SCHEMA',
    });
    expect(await call({ method: 'semper_certifiedMail', params: { documentId: 'no-such-report' } })).toEqual({ code: 4100, reason: 'ERR_OFFER_UNKNOWN' });
    expect(windowsOpened).toEqual([]);
  });

  it('popup: exchanges with their outcome and evidence, the trusted TTP', async () => {
    const popup = await harness.context.newPage();
    await popup.setViewportSize({ width: 600, height: 1000 });
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'deals');
    const rows = popup.locator('#exchanges tbody tr');
    await expect.poll(() => rows.count()).toBe(5);
    expect(await popup.locator('#exchanges tbody tr[data-status=resolved]').count()).toBe(1);
    await popup.locator('#exchanges tbody tr[data-status=resolved] button').click();
    await expect.poll(() => popup.locator('#exchange-statements tbody tr').count()).toBeGreaterThan(5);
    expect(await popup.locator(`#exchange-statements tr[data-type="${TTP_TYPES.affidavit}"]`).count()).toBe(1);
    expect(await popup.locator('#exchange-evidence').isVisible()).toBe(true);
    await expectAccessible(popup, 'popup, exchanges (en)');
    await popup.screenshot({ path: join(RESULTS, 'popup-exchanges.png'), fullPage: true });
    await popupSection(popup, 'trust');
    await expect.poll(() => popup.locator('#ttps li').count()).toBe(1);
    await popup.close();
  });

  it('k of n: the shopper chooses 3 of the shop\'s 3 TTPs in the popup; the window names them and "3 of 3 must agree" at first sight; with the merchant silent after the shopper signed, all three TTPs resolve', async () => {
    for (const t of market.ttps.slice(1)) await harness.operation('settings.addTtp', { certificate: t.pem, url: t.url });
    const popup = await harness.context.newPage();
    await popup.setViewportSize({ width: 600, height: 1000 });
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'trust');
    const boxes = popup.locator('#quorum-settings input[type=checkbox]');
    await expect.poll(() => boxes.count()).toBe(3);
    expect(await popup.locator('#quorum-in-use').textContent()).toBe('In use: the one third party the merchant names.');
    for (const box of await boxes.all()) await box.check();
    // Three chosen: a majority is proposed; what 2 of 3 means is said, including that it is not safe against a dishonest TTP.
    expect(await popup.locator('#quorum-k').inputValue()).toBe('2');
    expect(await popup.locator('#quorum-meaning').textContent()).toContain('3 of 3 must agree (with 3 third parties: all 3)');
    await popup.locator('#quorum-k').fill('1');
    expect(await popup.locator('#quorum-save').isDisabled()).toBe(true);
    await popup.locator('#quorum-k').fill('3');
    expect(await popup.locator('#quorum-meaning').textContent()).toContain('Safe even with up to 2 dishonest third parties');
    await popup.locator('#quorum-save').click();
    await expect.poll(() => popup.locator('#quorum-in-use').textContent()).toBe('In use: 3 of 3 must agree.');
    expect((await harness.operation('settings.getTtpPolicy', {})).policy).toEqual({
      ttps: expect.arrayContaining((await harness.operation('settings.listTtps', {})).ttps.map((t) => t.fingerprint)),
      k: 3,
    });
    await expectAccessible(popup, 'popup, who guarantees an exchange (en)');
    await popup.locator('#quorum-settings').screenshot({ path: join(RESULTS, 'popup-quorum-settings.png') });
    await popup.close();

    faults.stopAfter = 'receiving-originator-item';
    try {
      const tw = await startFromPage(`#sign-${CONTRACT.id}`);
      const dealId = new URL(tw.url()).searchParams.get('deal')!;
      expect(await tw.locator('#glance-quorum').textContent()).toBe('3 of 3 must agree');
      expect(await tw.locator('#glance-guarantors').textContent()).toBe('3 of 3 must agree: Semper Demo TTP, Semper Demo TTP 2, Semper Demo TTP 3');
      expect(await tw.locator('#ttp-quorum').textContent()).toBe('3 of 3 must agree');
      expect(await tw.locator('#ttp-set li').count()).toBe(2);
      // The panel speaks of the set, not of one third party.
      expect(await tw.locator('#xw-ttp').textContent()).toBe('Fairness guaranteed by (trusted third parties)');
      expect(await tw.locator('#ttp-role').textContent()).toContain('these third parties, which you chose to trust');
      await expectFirstSight(tw, 'first-sight-quorum-en.png', ['glance-terms', 'glance-guarantors']);
      await expectAccessible(tw, 'trusted window, contract guaranteed by 3 of 3 (en)');
      await tw.screenshot({ path: join(RESULTS, 'trusted-window-quorum.png'), fullPage: true });
      await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
      await clickInTrustedWindow(tw, '#confirm');
      const result = await exchangeResult(30_000);
      expect(result).toMatchObject({ status: 'resolved', dealId });
      // Every TTP of the set decided (each its own database), and the shopper holds the three resolutions.
      for (const t of market.ttps) {
        const res = await fetch(`${t.url}/ttp/exchanges/${result.exchangeId}`);
        expect(((await res.json()) as { decision?: string }).decision).toBe('resolved');
      }
      const x = await harness.operation('getExchange', { dealId });
      expect(x.exchange.status).toBe('resolved');
      expect(x.view?.quorum?.k).toBe(3);
    } finally {
      delete faults.stopAfter;
    }

    // A choice the shop cannot meet (only "Semper Demo TTP 2": the shop's own k is 2, so 2 of the chosen must agree):
    // refused before any window or signature, and a notice says why and where to change it.
    const second = (await harness.operation('settings.listTtps', {})).ttps.find((t) => t.keyId === market.ttps[1]!.keyId)!;
    await harness.operation('settings.setTtpPolicy', { policy: { ttps: [second.fingerprint], k: 1 } });
    windowsOpened.length = 0;
    try {
      await page.goto(`${market.shopUrl}/agreements`);
      await page.click(`#sign-${CONTRACT.id}`);
      expect(await exchangeResult()).toMatchObject({ status: 'error', reason: 'ERR_TTP' });
      expect(windowsOpened).toEqual([]);
      const { notices } = await harness.operation('notices.list', {});
      expect(notices.find((n) => n.kind === 'exchange' && n.advice === 'ttp-policy')?.message).toMatch(
        /^guarantee policy: 2 of the TTPs you chose must agree, but the merchant accepts only 1 of them/,
      );
    } finally {
      await harness.operation('settings.setTtpPolicy', { policy: null });
    }
  });
});
