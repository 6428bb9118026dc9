/**
 * Updating an installed extension keeps the shopper's keys, deals and settings. The first release
 * kept three IndexedDB databases ('semper', 'semper-identity', 'semper-exchange'); this release
 * keeps one (extension/worker/store.ts) and migrates on first open.
 *
 * test/fixtures/first-release-profile.tgz is what a shopper of the first release has on disk, made
 * by that release against that release's marketplace (test/fixtures/make-first-release-profile.ts:
 * set-up, a completed purchase, a completed certified-mail exchange, a purchase left awaiting the
 * user): the extension's IndexedDB directory of the profile, and the marketplace's data directory.
 * Here today's marketplace opens that data (its own migrations run) on the same loopback ports,
 * and today's build opens a profile holding that IndexedDB: everything is there, the old databases
 * are gone, the deal that was waiting completes, and a new purchase is signed by the same key.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import { fingerprintOf } from '../../core/pki/index.js';
import { verifyStatement } from '../../core/statements/index.js';
import { STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import { FIXTURE_PHRASE, FIXTURE_PORTS, FIXTURE_PRODUCT, type FirstReleaseExpectations } from '../fixtures/make-first-release-profile.js';
import { clickInTrustedWindow, launchExtension, pageResult, RESULTS, tempDir, waitForTrustedWindow, type ExtensionHarness } from './harness.js';

const FIXTURE = resolve('test/fixtures/first-release-profile.tgz');

let market: Marketplace;
let unpacked: ReturnType<typeof tempDir>;
let profile: ReturnType<typeof tempDir>;
let before: FirstReleaseExpectations;

async function buy(h: ExtensionHarness): Promise<string> {
  const page = await h.context.newPage();
  await page.goto(`${market.shopUrl}/product/${FIXTURE_PRODUCT}`);
  await page.click('#buy');
  const tw = await waitForTrustedWindow(h);
  await tw.locator('#confirm:enabled').waitFor({ timeout: 20_000 });
  const dealId = new URL(tw.url()).searchParams.get('deal')!;
  await clickInTrustedWindow(tw, '#confirm');
  expect(await pageResult(page)).toMatchObject({ status: 'completed', dealId });
  return dealId;
}

beforeAll(async () => {
  unpacked = tempDir('semper-first-release-');
  profile = tempDir('semper-migration-profile-');
  execFileSync('tar', ['xzf', FIXTURE, '-C', unpacked.path]);
  before = JSON.parse(readFileSync(join(unpacked.path, 'expected.json'), 'utf8')) as FirstReleaseExpectations;
  // Today's marketplace on the first release's data, where the shopper's deals say the shop is.
  market = await startMarketplace({
    dataDir: join(unpacked.path, 'data'),
    caPort: FIXTURE_PORTS.ca,
    shopPort: FIXTURE_PORTS.shop,
    ttpPort: FIXTURE_PORTS.ttp,
    host: '127.0.0.1',
  });
  expect(market.shopUrl).toBe(before.shopUrl);
  // The shopper's profile: the extension's IndexedDB as the first release left it.
  mkdirSync(join(profile.path, 'Default'), { recursive: true });
  cpSync(join(unpacked.path, 'IndexedDB'), join(profile.path, 'Default', 'IndexedDB'), { recursive: true });
}, 120_000);

afterAll(async () => {
  await market?.close();
  for (const d of [unpacked, profile]) d?.remove();
});

describe('updating from the first release', () => {
  let h: ExtensionHarness;

  beforeAll(async () => {
    h = await launchExtension({ userDataDir: profile.path, onboarded: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps the identity key and its certificate, the phrase, the settings, the trusted root and TTP', async () => {
    const status = await h.operation('identity.status', {});
    expect(status.personalisation).toEqual({ phrase: FIXTURE_PHRASE, picture: 5 });
    expect(status.identity?.keyId).toBe(before.identityKeyId);
    expect(status.identity?.certificate).toMatchObject({ name: 'Demo Shopper', trusted: true });
    expect(status.hardwareTokenAbove).toEqual({ amount: 50_000, currency: 'EUR' });
    expect(status.caUrl).toBe(market.caUrl);
    expect((await h.operation('getIdentity', {})).keyId).toBe(before.identityKeyId);
    expect((await h.operation('settings.listRoots', {})).roots.map((r) => r.fingerprint)).toEqual(before.roots);
    // Today's CA kept its root (its own migration), so the shopper's trust still holds.
    expect(await fingerprintOf(market.rootCertificate)).toBe(before.roots[0]);
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
      .toEqual(['semper 5']);
  });

  it('the purchase that was waiting reopens and completes; a new one is signed by the same key', async () => {
    const tw = await waitForTrustedWindow(h);
    expect(new URL(tw.url()).searchParams.get('deal')).toBe(before.waitingDealId);
    await expect.poll(() => tw.locator('#confirm').isEnabled(), { timeout: 20_000 }).toBe(true);
    await tw.screenshot({ path: join(RESULTS, 'migration-waiting-deal.png'), fullPage: true });
    await clickInTrustedWindow(tw, '#confirm');
    await expect.poll(async () => (await h.operation('getDeal', { dealId: before.waitingDealId })).deal.status, { timeout: 20_000 }).toBe('completed');

    const dealId = await buy(h);
    const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as { state: { order: unknown } };
    const verified = await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order] });
    expect(await jwkThumbprint(verified.signerJwk)).toBe(before.identityKeyId);
  });
});
