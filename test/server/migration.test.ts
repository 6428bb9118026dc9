/**
 * An installed marketplace upgraded to the one host step keeps what is on its disk: the shop's
 * `shop.sqlite` from the release before (purchases in `merchant_deals`, exchange deals in
 * `merchant_exchanges`, the merchant key and certificate in `merchant_key` /
 * `merchant_certificates`) and the TTP's `ttp-identity.sqlite` (`ttp_key` / `ttp_certificates`)
 * are built with that release's schemas (legacy-release.ts) and opened with today's code: the
 * same key and certificate, every deal in the one table, and the deals go on where they stopped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { signerFromKeyPair } from '../../core/crypto/index.js';
import { cryptoRandom } from '../../core/machine.js';
import { issueCertificate, type CertificateRole } from '../../core/pki/index.js';
import { newMerchantDeal, stepMerchant, type MerchantContext, type MerchantDealState, type OrderReply } from '../../core/commerce/merchant.js';
import type { ExchangeMerchantState } from '../../core/commerce/exchange-merchant.js';
import { DEFAULT_EXCHANGE_TIMING, documentItem, timeoutsFrom, type DescriptorBody, type DescriptorRequest } from '../../core/commerce/exchange-deal.js';
import { startResponder } from '../../core/exchange/index.js';
import { describeInformation } from '../../core/items/index.js';
import { receiptDescription } from '../../core/transfer/index.js';
import type { OfferBody } from '../../core/protocol/commerce.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import { catalogFromItems, type StoredDeal } from '../../server/merchant/index.js';
import { PRODUCTS, SHOP_TERMS } from '../../server/shop/catalog.js';
import { EXCHANGE_DOCUMENTS, shopExchangeCatalog } from '../../server/shop/exchange-uses.js';
import { openShop, SHOP_DB_FILE } from '../../server/shop/index.js';
import { generatePersistableEs256 } from '../../server/storage/keys.js';
import { openMarketplaceTtp, TTP_IDENTITY_FILE } from '../../server/ttp/index.js';
import { makeTestCa } from '../helpers/pki.js';
import { newDealId, newNonce, signOrder, tempDataDir, testShopper } from './helpers.js';
import {
  LEGACY_SHOP_SCHEMA,
  LEGACY_TTP_IDENTITY_SCHEMA,
  openLegacy,
  writeLegacyExchange,
  writeLegacyKey,
  writeLegacyMerchantCertificate,
  writeLegacyPurchase,
  writeLegacyTtpCertificate,
} from './legacy-release.js';

const DAY = 86_400_000;
const ORIGIN = 'http://127.0.0.1:8451';
const dirs: { remove(): void }[] = [];
afterAll(() => {
  for (const d of dirs) d.remove();
});

async function testCa() {
  const t = Date.now();
  const ca = await makeTestCa('Legacy Marketplace CA', t);
  const issue = (publicKey: CryptoKey, role: Exclude<CertificateRole, 'ca'>, origins?: string[]) =>
    issueCertificate({
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      subjectPublicKey: publicKey,
      commonName: `Legacy ${role}`,
      role,
      ...(origins ? { origins } : {}),
      notBefore: new Date(t - DAY),
      notAfter: new Date(t + 30 * DAY),
    });
  return { ca, issue };
}

const post = (app: { request(path: string, init: RequestInit): Response | Promise<Response> }, path: string, body: unknown) =>
  Promise.resolve(app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));

describe('shop.sqlite of the previous release', () => {
  it('keeps the merchant key and certificate, and every purchase and exchange deal, which go on', async () => {
    const tmp = tempDataDir('legacy-shop');
    dirs.push(tmp);
    const t = Date.now();
    const { ca, issue } = await testCa();
    const { pkcs8, keys } = await generatePersistableEs256();
    const certificate = await issue(keys.publicKey, 'merchant', [ORIGIN]);
    const identity = { signer: await signerFromKeyPair('ES256', keys), chain: [certificate], origin: ORIGIN };
    const ttp = await ca.issue({ commonName: 'Legacy TTP', role: 'ttp' });
    const ttpConfig = { keyId: ttp.signer.keyId, certificateChain: ttp.chain, url: 'http://127.0.0.1:9' };

    // What the release's merchant kit stored: an offered deal, a confirmed one, two exchange deals (one stopped by a fault).
    const merchantCtx: MerchantContext = {
      identity,
      lookup: catalogFromItems(PRODUCTS, SHOP_TERMS).lookup,
      offerTtlMs: 10 * 60_000,
      terms: SHOP_TERMS,
      random: cryptoRandom,
    };
    const offerIn = async (dealId: string) => {
      const request = { dealId, nonce: newNonce(), items: [{ sku: 'ink-drying-report', quantity: 1 }] };
      const step = await stepMerchant(newMerchantDeal(dealId), { type: 'offer-requested', request, now: t }, merchantCtx);
      return { state: step.state as Extract<MerchantDealState, { phase: 'offered' }>, offer: (step.send[0]!.body as { offer: Statement<OfferBody> }).offer };
    };
    const offered = await offerIn(newDealId());
    const toConfirm = await offerIn(newDealId());
    const shopper = await testShopper();
    const order = await signOrder(toConfirm.offer, shopper);
    const confirmedStep = await stepMerchant(toConfirm.state, { type: 'order-received', order, now: t }, merchantCtx);
    const confirmed = confirmedStep.state as Extract<MerchantDealState, { phase: 'confirmed' }>;
    const reply = confirmedStep.send[0]!.body as OrderReply;

    // What the release's kit stored for a descriptor request (frozen here: today's kit names no shopper before m1): a
    // descriptor naming the shopper's key and both item descriptions, and a responder waiting for m1 from that key.
    const descriptorFor = async (dealId: string) => {
      const request: DescriptorRequest = { dealId, nonce: newNonce(), use: 'certified-mail', documentId: EXCHANGE_DOCUMENTS[0]!.id };
      const doc = shopExchangeCatalog().document(request.documentId)!;
      const item = documentItem(doc);
      const merchantGives = await describeInformation(item);
      const shopperGives = receiptDescription({ receiver: shopper.keyId, sender: identity.signer.keyId, dealId, received: merchantGives });
      const body = {
        descriptorId: newNonce().slice(0, 24),
        nonce: request.nonce,
        origin: ORIGIN,
        use: request.use,
        documentId: request.documentId,
        title: doc.title,
        protocol: 'generatable-verifiable',
        shopper: { keyId: shopper.keyId },
        merchant: { keyId: identity.signer.keyId },
        ttp: { keyId: ttpConfig.keyId, certificateChain: ttpConfig.certificateChain, endpoint: ttpConfig.url },
        shopperGives,
        merchantGives,
        document: { title: doc.title, mediaType: doc.mediaType, size: merchantGives.size!, digest: merchantGives.digest },
        timing: DEFAULT_EXCHANGE_TIMING,
        expiresAt: new Date(t + 10 * 60_000).toISOString(),
      };
      const descriptor = (await signStatement(
        { type: 'semper.exchange.descriptor', version: 1, dealId, issuedAt: new Date(t).toISOString(), body },
        identity.signer,
        { signerRef: { kind: 'x509', chain: identity.chain } },
      )) as unknown as Statement<DescriptorBody>;
      const timeouts = timeoutsFrom(DEFAULT_EXCHANGE_TIMING);
      const started = await startResponder(
        {
          protocol: 'generatable-verifiable',
          dealId,
          originator: { keyId: shopper.keyId },
          ttp: { keyId: ttpConfig.keyId },
          gives: merchantGives,
          item,
          expects: shopperGives,
          now: t,
          waitUntil: t + 10 * 60_000 + (timeouts.peerRetries + 2) * timeouts.peer,
          timeouts,
        },
        {
          signer: identity.signer,
          signerRef: { kind: 'x509', chain: identity.chain },
          trust: { roots: [ca.root], ttps: [ttpConfig.keyId] },
          random: cryptoRandom,
        },
      );
      const { agreed: _agreed, ...responder } = { ...started.state, expectedPeer: shopper.keyId };
      void _agreed;
      const state = { phase: 'responding', dealId, use: request.use, descriptor, responder } as unknown as Extract<
        ExchangeMerchantState,
        { phase: 'responding' }
      >;
      return { request, state };
    };
    const open = await descriptorFor(newDealId());
    const stopped = await descriptorFor(newDealId());
    // Purchases and exchanges had separate deal ids: one exchange used a purchase's id.
    const clash = await descriptorFor(offered.state.dealId);

    const legacy = openLegacy(tmp.dir, SHOP_DB_FILE, LEGACY_SHOP_SCHEMA);
    writeLegacyKey(legacy, 'merchant_key', pkcs8, t - DAY);
    await writeLegacyMerchantCertificate(legacy, ORIGIN, certificate, t - DAY);
    writeLegacyPurchase(legacy, offered.state, 1, t);
    writeLegacyPurchase(legacy, confirmed, 2, t);
    for (const [ex, isStopped] of [
      [open, false],
      [stopped, true],
      [clash, false],
    ] as const) {
      writeLegacyExchange(
        legacy,
        { dealId: ex.state.dealId, use: ex.state.use, descriptor: ex.state.descriptor, state: ex.state.responder, stopped: isStopped, version: 1 },
        t,
      );
    }
    legacy.close();

    let enrolments = 0;
    const shop = await openShop({
      dataDir: tmp.dir,
      origin: ORIGIN,
      ca: {
        rootCertificate: ca.root,
        issueMerchantCertificate: async ({ publicKey, origins }) => {
          enrolments++;
          return { certificate: await issue(publicKey, 'merchant', origins) };
        },
      },
      exchange: { ttp: ttpConfig, timerIntervalMs: 0 },
    });
    try {
      // The same key and certificate: no enrolment.
      expect(enrolments).toBe(0);
      expect(shop.identity.enrolled).toBe(false);
      expect(shop.identity.certificate).toBe(certificate);
      expect(shop.identity.signer.publicJwk).toEqual(identity.signer.publicJwk);

      const get = async (dealId: string) => (await (await shop.app.request(`/semper/deals/${dealId}`)).json()) as StoredDeal;
      expect(await get(confirmed.dealId)).toMatchObject({ kind: 'purchase', phase: 'confirmed', version: 2, halted: false, wakeAt: null, state: confirmed });
      expect(await get(offered.state.dealId)).toMatchObject({ kind: 'purchase', phase: 'offered', version: 1, state: offered.state });
      expect(await get(open.state.dealId)).toMatchObject({
        kind: 'exchange',
        phase: 'responding',
        version: 1,
        halted: false,
        wakeAt: open.state.responder.wakeAt,
        state: open.state,
      });
      expect(await get(stopped.state.dealId)).toMatchObject({ kind: 'exchange', halted: true, state: stopped.state });

      // The purchase the worker retries after the upgrade gets the identical reply; the offered one can be ordered.
      const retried = await post(shop.app, '/semper/order', { order });
      expect(retried.status).toBe(200);
      expect(await retried.json()).toEqual(reply);
      expect((await post(shop.app, '/semper/order', { order: await signOrder(offered.offer, shopper) })).status).toBe(200);
      // The open exchange answers its repeated descriptor request; the stopped one stays stopped.
      const again = await post(shop.app, '/semper/exchange/descriptor', open.request);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ descriptor: open.state.descriptor });
      expect((await post(shop.app, '/semper/exchange/messages', { message: { ...stopped.state.descriptor } })).status).toBe(503);
      // Its timer is due where it was.
      expect(await shop.deals.due(open.state.responder.wakeAt!, 10)).toEqual([{ dealId: open.state.dealId, kind: 'exchange' }]);

      const tables = shop.store.db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((r) => r.name);
      expect(tables).toEqual([
        'identity_certificates',
        'identity_key',
        'merchant_deals',
        'merchant_exchanges_unmigrated',
        'merchant_verdicts',
        'schema_version',
      ]);
      // The exchange that shared a purchase's deal id is kept aside, not lost.
      expect(shop.store.db.prepare('SELECT deal_id FROM merchant_exchanges_unmigrated').all()).toEqual([{ deal_id: clash.state.dealId }]);
      expect(['merchant', 'party-identity', 'shop-identity', 'merchant-exchange'].map((c) => shop.store.schemaVersion(c))).toEqual([5, 1, 2, 2]);
      // Version 5 indexes the deals for the operator's listing (GET /semper/deals).
      const indexes = shop.store.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'merchant_deals'").all();
      expect(indexes.map((i) => i.name)).toEqual(expect.arrayContaining(['merchant_deals_created', 'merchant_deals_phase_created']));
      // Version 3 admits fair purchases in the one deal table (a CHECK constraint, rebuilt with every row).
      const ddl = shop.store.db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'merchant_deals'").get()!.sql;
      expect(ddl).toContain("'fair-purchase'");
    } finally {
      await shop.close();
    }

    // The release itself would now misread the file: it refuses it instead.
    expect(() => openLegacy(tmp.dir, SHOP_DB_FILE, LEGACY_SHOP_SCHEMA)).toThrow(/schema is at version 5/);
    // And a second start of today's code finds everything as it left it.
    const reopened = await openShop({
      dataDir: tmp.dir,
      origin: ORIGIN,
      ca: { rootCertificate: ca.root, issueMerchantCertificate: async () => Promise.reject(new Error('no enrolment expected')) },
    });
    try {
      expect(reopened.identity.certificate).toBe(certificate);
      expect((await reopened.deals.get(confirmed.dealId))?.version).toBe(2);
    } finally {
      await reopened.close();
    }
  });
});

describe('ttp-identity.sqlite of the previous release', () => {
  it('keeps the TTP key (which every m1 pins) and its certificate', async () => {
    const tmp = tempDataDir('legacy-ttp');
    dirs.push(tmp);
    const t = Date.now();
    const { ca, issue } = await testCa();
    const { pkcs8, keys } = await generatePersistableEs256();
    const certificate = await issue(keys.publicKey, 'ttp');
    const legacy = openLegacy(tmp.dir, TTP_IDENTITY_FILE, LEGACY_TTP_IDENTITY_SCHEMA);
    writeLegacyKey(legacy, 'ttp_key', pkcs8, t - DAY);
    await writeLegacyTtpCertificate(legacy, certificate, t - DAY);
    legacy.close();

    let issued = 0;
    const issuer = {
      rootCertificate: ca.root,
      issueTtpCertificate: async ({ publicKey }: { publicKey: CryptoKey }) => {
        issued++;
        return { certificate: await issue(publicKey, 'ttp') };
      },
    };
    const keyId = (await signerFromKeyPair('ES256', keys)).keyId;
    for (let start = 0; start < 2; start++) {
      const ttp = await openMarketplaceTtp({ dataDir: tmp.dir, ca: issuer });
      try {
        expect(ttp.keyId).toBe(keyId);
        expect(ttp.certificateChain).toEqual([certificate]);
      } finally {
        ttp.close();
      }
    }
    expect(issued).toBe(0);
    expect(() => openLegacy(tmp.dir, TTP_IDENTITY_FILE, LEGACY_TTP_IDENTITY_SCHEMA)).toThrow(/schema is at version 2/);
  });
});
