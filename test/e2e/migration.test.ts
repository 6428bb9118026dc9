/**
 * Updating an installed extension keeps the shopper's keys, deals and settings. The first release
 * (test/fixtures/release-0.1.0.tgz: its built dist/, the same manifest key, so the same extension
 * id and the same IndexedDB) kept three databases ('semper', 'semper-identity', 'semper-exchange');
 * this release keeps one (extension/worker/store.ts) and migrates on first open.
 *
 * The profile is made by that release itself, in Chromium, against the real marketplace: set up
 * (phrase, picture, CA registration, trusted root and TTP, a threshold), a completed purchase, a
 * completed certified-mail exchange, and a purchase left awaiting the user. Then the same profile
 * is opened with this build, put in the place of the old one as an update of an unpacked
 * extension is (same directory, higher version): everything is there, the old databases are gone,
 * the deal that was waiting completes, and a new purchase is signed by the same identity key.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import { verifyStatement } from '../../core/statements/index.js';
import { STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import { DIST, clickInTrustedWindow, launchExtension, pageResult, RESULTS, tempDir, waitForTrustedWindow, type ExtensionHarness } from './harness.js';

const FIRST_RELEASE = resolve('test/fixtures/release-0.1.0.tgz');
const PRODUCT = 'ink-drying-report';
const PHRASE = 'first release: green kettle';

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
/** The installed extension's directory: the first release, then this build in its place. */
let installed: ReturnType<typeof tempDir>;
let profile: ReturnType<typeof tempDir>;

/** What the first release showed, to compare after the update. */
interface Before {
  identity: { keyId: string };
  deals: { dealId: string; status: string }[];
  exchanges: { dealId: string; status: string; exchangeId?: string }[];
  statements: Record<string, number>;
  roots: string[];
  ttps: string[];
  waitingDealId: string;
}
let before: Before;

async function buy(h: ExtensionHarness, confirm: boolean): Promise<{ dealId: string; page: import('playwright-core').Page }> {
  const page = await h.context.newPage();
  await page.goto(`${market.shopUrl}/product/${PRODUCT}`);
  await page.click('#buy');
  const tw = await waitForTrustedWindow(h);
  await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
  const dealId = new URL(tw.url()).searchParams.get('deal')!;
  if (confirm) {
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(page)).toMatchObject({ status: 'completed', dealId });
  }
  return { dealId, page };
}

beforeAll(async () => {
  dataDir = tempDir('semper-migration-market-');
  installed = tempDir('semper-installed-');
  profile = tempDir('semper-migration-profile-');
  execFileSync('tar', ['xzf', FIRST_RELEASE, '-C', installed.path]);
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, ttpPort: 0, host: '127.0.0.1' });

  // ── the first release makes the profile ──────────────────────────────────
  const old = await launchExtension({ dist: installed.path, userDataDir: profile.path, onboarded: false });
  try {
    await old.operation('identity.personalise', { phrase: PHRASE, picture: 5 });
    await old.operation('settings.addRoot', { certificate: market.rootPem });
    await old.operation('settings.addTtp', { certificate: market.ttpPem, url: market.ttpUrl });
    await old.operation('settings.set', { hardwareTokenAbove: { amount: 50_000, currency: 'EUR' } });
    const registered = await old.operation('identity.register', { caUrl: market.caUrl, registrationCode: market.demoRegistrationCode });
    expect(registered.identity.certificate?.name).toBe('Demo Shopper');

    await buy(old, true);
    // Certified mail from the shop's agreements page.
    const page = await old.context.newPage();
    await page.goto(`${market.shopUrl}/agreements`);
    await page.click(`#receive-${EXCHANGE_DOCUMENTS[0]!.id}`);
    const tw = await waitForTrustedWindow(old);
    await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
    await clickInTrustedWindow(tw, '#confirm');
    await page.locator('#semper-result[data-status=completed]').waitFor({ timeout: 30_000 });
    // And one purchase left waiting for the user when the browser closes.
    const waiting = await buy(old, false);

    const identity = await old.operation('getIdentity', {});
    const deals = (await old.operation('listDeals', {})).deals;
    const exchanges = (await old.operation('listExchanges', {})).exchanges;
    const statements: Record<string, number> = {};
    for (const d of deals) statements[d.dealId] = (await old.operation('getDeal', { dealId: d.dealId })).statements.length;
    for (const x of exchanges) statements[x.dealId] = (await old.operation('getExchange', { dealId: x.dealId })).statements.length;
    before = {
      identity: { keyId: identity.keyId },
      deals: deals.map((d) => ({ dealId: d.dealId, status: d.status })),
      exchanges: exchanges.map((x) => ({ dealId: x.dealId, status: x.status, ...(x.exchangeId ? { exchangeId: x.exchangeId } : {}) })),
      statements,
      roots: (await old.operation('settings.listRoots', {})).roots.map((r) => r.fingerprint),
      ttps: (await old.operation('settings.listTtps', {})).ttps.map((t) => t.fingerprint),
      waitingDealId: waiting.dealId,
    };
    expect(before.deals.map((d) => d.status).sort()).toEqual(['awaiting-confirmation', 'completed']);
    expect(before.exchanges.map((x) => x.status)).toEqual(['completed']);
  } finally {
    await old.close();
  }
}, 240_000);

afterAll(async () => {
  await market?.close();
  for (const d of [dataDir, installed, profile]) d?.remove();
});

describe('updating from the first release', () => {
  let h: ExtensionHarness;

  beforeAll(async () => {
    // The update: this build's files replace the first release's in the same directory.
    rmSync(installed.path, { recursive: true, force: true });
    cpSync(DIST, installed.path, { recursive: true });
    // An update registers the new service worker. Chromium started with --load-extension keeps the
    // worker script it registered for the profile (measured: the first release's code kept running
    // over this build's files), so its registration goes, as an update replaces it; the data stays.
    rmSync(join(profile.path, 'Default', 'Service Worker'), { recursive: true, force: true });
    h = await launchExtension({ dist: installed.path, userDataDir: profile.path, onboarded: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps the identity key and its certificate, the phrase, the settings, the trusted root and TTP', async () => {
    const status = await h.operation('identity.status', {});
    expect(status.personalisation).toEqual({ phrase: PHRASE, picture: 5 });
    expect(status.identity?.keyId).toBe(before.identity.keyId);
    expect(status.identity?.certificate).toMatchObject({ name: 'Demo Shopper', trusted: true });
    expect(status.hardwareTokenAbove).toEqual({ amount: 50_000, currency: 'EUR' });
    expect(status.caUrl).toBe(market.caUrl);
    expect((await h.operation('getIdentity', {})).keyId).toBe(before.identity.keyId);
    expect((await h.operation('settings.listRoots', {})).roots.map((r) => r.fingerprint)).toEqual(before.roots);
    expect((await h.operation('settings.listTtps', {})).ttps.map((t) => t.fingerprint)).toEqual(before.ttps);
  });

  it('keeps every deal and exchange with all its statements, and drops the old databases', async () => {
    const deals = (await h.operation('listDeals', {})).deals;
    expect(deals.map((d) => ({ dealId: d.dealId, status: d.status })).sort((a, b) => a.dealId.localeCompare(b.dealId))).toEqual(
      [...before.deals].sort((a, b) => a.dealId.localeCompare(b.dealId)),
    );
    const exchanges = (await h.operation('listExchanges', {})).exchanges;
    expect(exchanges.map((x) => ({ dealId: x.dealId, status: x.status, ...(x.exchangeId ? { exchangeId: x.exchangeId } : {}) }))).toEqual(before.exchanges);
    for (const d of deals) expect((await h.operation('getDeal', { dealId: d.dealId })).statements).toHaveLength(before.statements[d.dealId]!);
    const x = await h.operation('getExchange', { dealId: exchanges[0]!.dealId });
    expect(x.statements).toHaveLength(before.statements[exchanges[0]!.dealId]!);
    expect(x.document?.text).toBe(EXCHANGE_DOCUMENTS[0]!.content);
    // One database, at this release's version (had the update not run, the first release's three would be there at version 1).
    await expect
      .poll(async () => h.opsPage.evaluate(async () => (await indexedDB.databases()).map((d) => `${d.name} ${d.version}`).sort()))
      .toEqual(['semper 2']);
  });

  it('the purchase that was waiting reopens and completes; a new one is signed by the same key', async () => {
    const tw = await waitForTrustedWindow(h);
    expect(new URL(tw.url()).searchParams.get('deal')).toBe(before.waitingDealId);
    await expect.poll(() => tw.locator('#confirm').isEnabled(), { timeout: 20_000 }).toBe(true);
    await tw.screenshot({ path: join(RESULTS, 'migration-waiting-deal.png'), fullPage: true });
    await clickInTrustedWindow(tw, '#confirm');
    await expect.poll(async () => (await h.operation('getDeal', { dealId: before.waitingDealId })).deal.status, { timeout: 20_000 }).toBe('completed');

    const { dealId } = await buy(h, true);
    const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as { state: { order: unknown } };
    const verified = await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order] });
    expect(await jwkThumbprint(verified.signerJwk)).toBe(before.identity.keyId);
  });
});
