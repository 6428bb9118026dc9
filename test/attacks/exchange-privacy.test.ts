/**
 * Attack 6 of issue 8: no page learns the shopper's keys without a click. The first release sent
 * the identity public key to the page's origin (in the descriptor request of `semper_certifiedMail`
 * / `semper_signContract`) before anything was verified and before the user agreed: a cross-site
 * identifier, which also linked "anonymous" pseudonym deals to the identity.
 *
 * The built extension in Chromium, the real marketplace in-process. The shop is the adversary here:
 * it logs every exchange request that reaches its merchant kit (`faults.arrived`) and keeps what it
 * stored per deal. The shopper first buys anonymously at that shop (so a pseudonym for it exists),
 * then the page starts an exchange of each kind and the user never confirms (declines, or leaves the
 * window open): nothing of the shopper's keys reached the shop — not the identity key, not the
 * pseudonym, not in a request and not in what the shop stored. After a confirmed exchange exactly the
 * key that signed it (the identity key: the one the trusted window offers for exchanges) appears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import type { ExchangeFaults } from '../../server/merchant/kit.js';
import { EXCHANGE_CONTRACTS, EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import { clickInTrustedWindow, launchExtension, pageResult, tempDir, trustedWindows, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';

const TIMING = { peerMs: 1_000, ttpRetryMs: 1_000, ttpMarginMs: 2_000, peerRetries: 1 };
const CHEAP = 'fm-screening-abstract';

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;
const arrived: { path: string; body: unknown }[] = [];
const faults: ExchangeFaults = { arrived };

interface ShopperKey {
  purpose: string;
  keyId: string;
  publicJwk: { x: string; y?: string };
}

beforeAll(async () => {
  dataDir = tempDir('semper-exchange-privacy-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, ttpPort: 0, host: '127.0.0.1', exchange: { timing: TIMING, faults } });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: market.rootPem });
  await harness.operation('settings.addTtp', { certificate: market.ttpPem, url: market.ttpUrl });
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

/** Every key of the shopper's (identity, pseudonyms, ...) and the strings that would identify it. */
async function shopperKeys(): Promise<{ key: ShopperKey; traces: string[] }[]> {
  const { keys } = (await harness.operation('keys.list', {})) as unknown as { keys: ShopperKey[] };
  return keys.map((key) => ({ key, traces: [key.keyId, key.publicJwk.x, ...(key.publicJwk.y ? [key.publicJwk.y] : [])] }));
}

/** Which of the shopper's keys appear in `texts`, by purpose. */
async function keysIn(texts: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { key, traces } of await shopperKeys()) if (traces.some((t) => texts.some((x) => x.includes(t)))) found.push(key.purpose);
  return found;
}

/** What the shop knows about a deal: every request of it that arrived, and what its kit stored. */
async function shopKnows(dealId: string): Promise<string[]> {
  const requests = arrived.filter((a) => JSON.stringify(a.body).includes(dealId)).map((a) => JSON.stringify(a.body));
  const stored = await fetch(`${market.shopUrl}/semper/deals/${dealId}`);
  return [...requests, stored.ok ? await stored.text() : ''];
}

async function startExchange(page: Page, button: string): Promise<{ tw: Page; dealId: string }> {
  await page.goto(`${market.shopUrl}/agreements`);
  await page.click(button);
  const tw = await waitForTrustedWindow(harness);
  await tw.locator('#merchant-name').waitFor();
  return { tw, dealId: new URL(tw.url()).searchParams.get('deal')! };
}

describe('6. no page learns the shopper’s keys without a click', () => {
  it('an anonymous purchase at the shop first: a pseudonym for it exists (and the identity key)', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/${CHEAP}`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await tw.locator('#merchant-name').waitFor();
    await tw.check('#anonymous');
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(page)).toMatchObject({ status: 'completed' });
    await page.close();
    const purposes = (await shopperKeys()).map((k) => k.key.purpose);
    expect(purposes).toContain('identity');
    expect(purposes).toContain('pseudonym');
  });

  it('a page that starts exchanges and never gets a confirmation learns none of the shopper’s keys', async () => {
    const page = await harness.context.newPage();
    const declined = await startExchange(page, `#sign-${EXCHANGE_CONTRACTS[0]!.id}`);
    // The shop has answered the descriptor request: everything it will get before the user decides has arrived.
    expect(arrived.some((a) => a.path === '/semper/exchange/descriptor' && JSON.stringify(a.body).includes(declined.dealId))).toBe(true);
    await expect.poll(() => declined.tw.locator('#decline').isEnabled()).toBe(true);
    await clickInTrustedWindow(declined.tw, '#decline');
    expect(await pageResult(page)).toMatchObject({ code: '4001' });
    await expect.poll(() => trustedWindows(harness).length).toBe(0);
    expect(await keysIn(await shopKnows(declined.dealId))).toEqual([]);

    // Another page of the shop leaves the window open, undecided: the same.
    const open = await startExchange(page, `#receive-${EXCHANGE_DOCUMENTS[0]!.id}`);
    expect(arrived.some((a) => JSON.stringify(a.body).includes(open.dealId))).toBe(true);
    expect(await keysIn(await shopKnows(open.dealId))).toEqual([]);
    // Not even with the whole log: no request the shop ever received names a key of the shopper's, except the purchase's order.
    const exchangeRequests = arrived.map((a) => JSON.stringify(a.body));
    expect(await keysIn(exchangeRequests)).toEqual([]);
    await clickInTrustedWindow(open.tw, '#decline');
    await expect.poll(() => trustedWindows(harness).length).toBe(0);
    await page.close();
  });

  it('after the user confirmed, exactly the key that signs the exchange appears: the identity key, never the pseudonym', async () => {
    const page = await harness.context.newPage();
    const before = arrived.length;
    const { tw, dealId } = await startExchange(page, `#sign-${EXCHANGE_CONTRACTS[0]!.id}`);
    expect(await keysIn(await shopKnows(dealId))).toEqual([]);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    await page.locator('#semper-result[data-status=completed]').waitFor({ timeout: 30_000 });
    expect(await keysIn(await shopKnows(dealId))).toEqual(['identity']);
    expect(await keysIn(arrived.slice(before).map((a) => JSON.stringify(a.body)))).toEqual(['identity']);
    // It arrived with m1 first: the descriptor request before it named nothing.
    const requests = arrived.slice(before).filter((a) => JSON.stringify(a.body).includes(dealId));
    expect(requests[0]?.path).toBe('/semper/exchange/descriptor');
    expect(await keysIn([JSON.stringify(requests[0]!.body)])).toEqual([]);
    const firstNaming = requests.findIndex((a) => (a.body as { message?: { type?: string } }).message?.type === 'semper.exchange.propose');
    expect(firstNaming).toBeGreaterThan(0);
    await page.close();
  });
});
