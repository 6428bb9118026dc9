/**
 * The merchant kit in the demo marketplace accepts orders signed three ways: a device key (jwk),
 * the shopper's CA certificate (x509, checked against the CA root and its CRL), or a hardware
 * token (webauthn-ES256, the extension's pinned origin; from Firefox the pinned add-on's origin with
 * the marketplace host as RP ID); and a product whose offer demands a
 * hardware token with user verification refuses anything less. Real HTTP, real SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Signer } from '../../core/crypto/index.js';
import type { MerchantDealState } from '../../core/commerce/merchant.js';
import type { ConfirmationBody, DeliveryBody, OfferBody, OrderBody } from '../../core/protocol/commerce.js';
import { createCrl, readCertificate } from '../../core/pki/index.js';
import { signStatement, verifyStatement, type Statement } from '../../core/statements/index.js';
import { EXTENSION_ORIGIN, FIREFOX_WEBAUTHN_ORIGIN, firefoxWebAuthnOrigin } from '../../core/protocol/extension-id.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { createMerchantKit, catalogFromItems, MERCHANT_DEALS_SCHEMA, SqliteMerchantDealStore, type StoredDeal } from '../../server/merchant/index.js';
import { crlRevocationSource } from '../../server/host/revocation.js';
import { PRODUCTS, SHOP_TERMS, signatureDemandOf } from '../../server/shop/catalog.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { signerFromKeyPair, generateKeyPair } from '../../core/crypto/index.js';
import { getJson, newDealId, newNonce, postJson, requestOffer, signOrder, tempDataDir, testShopper, type ErrorJson, type HttpResult } from './helpers.js';
import { EXCHANGE_CONTRACTS, EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import { registerShopper, revocationBody, signRevocation, unsignedOrder, x509Signer } from './registration-helpers.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { makeTestCa } from '../helpers/pki.js';

type Reply = { confirmation: Statement<ConfirmationBody>; delivery: Statement<DeliveryBody> };

const tmp = tempDataDir('merchant-signers');
let market: Marketplace;

function expectError(res: HttpResult<unknown>, status: number, code: string): void {
  const json = res.json as ErrorJson | undefined;
  expect({ status: res.status, code: json?.error?.code }).toEqual({ status, code });
  expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|"stack"/);
}

const placeOrder = (order: Statement<OrderBody>) => postJson<Reply & ErrorJson>(`${market.shopUrl}/semper/order`, { order });

async function offerFor(sku: string): Promise<Statement<OfferBody>> {
  const { res, offer } = await requestOffer(market.shopUrl, [{ sku, quantity: 1 }]);
  expect(res.status).toBe(200);
  return offer;
}

/** A shopper registered at the marketplace CA: the certificate and the signer of its key. */
async function certifiedShopper(name: string): Promise<{ signer: Signer; certificate: string; serial: string }> {
  const code = await market.createRegistrationCode(name);
  const { res, signer } = await registerShopper(market.caUrl, code);
  expect(res.status).toBe(200);
  return { signer, certificate: res.json.certificate, serial: res.json.serial };
}

async function signCertifiedOrder(offer: Statement<OfferBody>, shopper: { signer: Signer; certificate: string }): Promise<Statement<OrderBody>> {
  return signStatement(await unsignedOrder(offer), shopper.signer, x509Signer([shopper.certificate]));
}

beforeAll(async () => {
  market = await startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort: 0 });
});

afterAll(async () => {
  await market?.close();
  tmp.remove();
});

describe('marketplace start-up', () => {
  it('prints and stores one demo registration code for "Demo Shopper" (0600) that registers', async () => {
    const path = join(tmp.dir, 'registration-code.txt');
    expect(readFileSync(path, 'utf8')).toBe(`${market.demoRegistrationCode}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const { res } = await registerShopper(market.caUrl, market.demoRegistrationCode);
    expect(res.status).toBe(200);
    expect(res.json.name).toBe('Demo Shopper');
  });

  it('offers the archive with a signed hardware-token demand, and the cheap reports without one', async () => {
    const archive = await offerFor('standards-archive');
    expect(archive.body.total).toEqual({ amount: 14900, currency: 'EUR' });
    expect(archive.body.orderSignature).toEqual({ hardwareToken: true, userVerification: true });
    const verified = await verifyStatement<OfferBody>(archive, { trust: { roots: [market.rootCertificate], now: new Date() }, requireCertificate: true });
    expect(verified.statement.body.orderSignature).toEqual({ hardwareToken: true, userVerification: true });
    expect((await offerFor('ink-drying-report')).body.orderSignature).toBeUndefined();
  });
});

describe("orders signed with the shopper's CA certificate", () => {
  it('are accepted while the certificate is good, and the merchant records the certified key', async () => {
    const shopper = await certifiedShopper('Certified Clara');
    const offer = await offerFor('ink-drying-report');
    const res = await placeOrder(await signCertifiedOrder(offer, shopper));
    expect(res.status).toBe(200);
    await verifyStatement(res.json.confirmation, { trust: { roots: [market.rootCertificate], now: new Date() }, requireCertificate: true });
    const deal = (await getJson<StoredDeal<MerchantDealState>>(`${market.shopUrl}/semper/deals/${offer.dealId}`)).json;
    const state = deal.state as Extract<MerchantDealState, { phase: 'confirmed' }>;
    expect(state.phase).toBe('confirmed');
    expect(state.shopperKey).toEqual(shopper.signer.publicJwk);
    expect(state.order.signature.signer).toEqual({ kind: 'x509', chain: [shopper.certificate] });
  });

  it('are refused with 403 ERR_CERT_REVOKED once the holder revoked the certificate', async () => {
    const shopper = await certifiedShopper('Revoking Rolf');
    const request = await signRevocation(revocationBody(shopper.serial, 'keyCompromise'), shopper.signer, [shopper.certificate]);
    expect((await postJson(`${market.caUrl}/ca/revoke`, { request })).status).toBe(200);
    const offer = await offerFor('ink-drying-report');
    expectError(await placeOrder(await signCertifiedOrder(offer, shopper)), 403, 'ERR_CERT_REVOKED');
    // Nothing was applied: the deal is still only offered.
    expect((await getJson<StoredDeal<MerchantDealState>>(`${market.shopUrl}/semper/deals/${offer.dealId}`)).json.state.phase).toBe('offered');
  });

  it('are refused after an operator revocation too, and from another CA or a non-shopper certificate', async () => {
    const shopper = await certifiedShopper('Operator Olga');
    await market.revokeCertificate(shopper.serial);
    expectError(await placeOrder(await signCertifiedOrder(await offerFor('ink-drying-report'), shopper)), 403, 'ERR_CERT_REVOKED');

    const other = await makeTestCa('Other CA');
    const stranger = await other.issue({ commonName: 'Stranger', role: 'shopper' });
    const foreign = await signStatement(await unsignedOrder(await offerFor('ink-drying-report')), stranger.signer, x509Signer(stranger.chain));
    expectError(await placeOrder(foreign), 403, 'ERR_CERT_UNTRUSTED');
  });

  it('a merchant kit whose CRL is stale refuses certified orders with 503 ERR_REVOCATION_UNKNOWN (fails closed)', async () => {
    const ca = await makeTestCa('Kit CA');
    const shopper = await ca.issue({ commonName: 'Kit Shopper', role: 'shopper' });
    const t = Date.now();
    const crl = await createCrl({
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      entries: [],
      thisUpdate: new Date(t - 20 * 60_000),
      nextUpdate: new Date(t - 5 * 60_000),
      crlNumber: 1,
    });
    const store = SqliteStore.open({ dataDir: join(tmp.dir, 'kit'), fileName: 'kit.sqlite', schema: [MERCHANT_DEALS_SCHEMA] });
    try {
      const identity = { signer: await signerFromKeyPair('ES256', await generateKeyPair('ES256')), chain: [], origin: 'https://kit.example' };
      const { app } = createMerchantKit({
        identity,
        deals: new SqliteMerchantDealStore(store),
        purchases: {
          catalog: catalogFromItems(PRODUCTS, SHOP_TERMS),
          offerTtlMs: 60_000,
          shopperTrust: { roots: [ca.root] },
          requireHardwareToken: signatureDemandOf(PRODUCTS),
        },
        revocation: crlRevocationSource({ issuerCertificate: ca.root, currentCrl: async () => crl }),
      });
      const post = (path: string, body: unknown) =>
        app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const { randomId } = await import('../../core/encoding/index.js');
      const offerRes = await post('/semper/offer', { dealId: randomId(16), nonce: randomId(32), items: [{ sku: 'ink-drying-report', quantity: 1 }] });
      const { offer } = (await offerRes.json()) as { offer: Statement<OfferBody> };
      const order = await signStatement(await unsignedOrder(offer), shopper.signer, x509Signer(shopper.chain));
      const logged: unknown[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => logged.push(args);
      let res: Response;
      try {
        res = await post('/semper/order', { order });
      } finally {
        console.error = original;
      }
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorJson).error.code).toBe('ERR_REVOCATION_UNKNOWN');
      expect(String(logged[0])).toMatch(/stale/); // the operator learns why
    } finally {
      store.close();
    }
  });
});

describe('orders signed with a hardware token (WebAuthn)', () => {
  const token = (userVerification: boolean, origin = EXTENSION_ORIGIN) => SoftAuthenticator.create({ rpId: origin, origin, userVerification });

  it('are accepted for the archive when the token verified the user', async () => {
    const key = await token(true);
    const offer = await offerFor('standards-archive');
    const order = await key.signStatement(await unsignedOrder(offer));
    expect(order.signature.alg).toBe('webauthn-ES256');
    const res = await placeOrder(order);
    expect(res.status).toBe(200);
    expect(res.json.delivery.body.goods.map((g) => g.sku)).toEqual(['standards-archive']);
    const state = (await getJson<StoredDeal<MerchantDealState>>(`${market.shopUrl}/semper/deals/${offer.dealId}`)).json.state as Extract<
      MerchantDealState,
      { phase: 'confirmed' }
    >;
    expect(state.shopperKey).toEqual(key.jwk);
    // Idempotent like any order.
    expect((await placeOrder(order)).text).toBe(res.text);
  });

  it('refuse the archive with 403 ERR_HARDWARE_TOKEN_REQUIRED without UV, with a device key, or with a certificate', async () => {
    const presenceOnly = await token(false);
    expectError(
      await placeOrder(await presenceOnly.signStatement(await unsignedOrder(await offerFor('standards-archive')))),
      403,
      'ERR_HARDWARE_TOKEN_REQUIRED',
    );
    expectError(await placeOrder(await signOrder(await offerFor('standards-archive'), await testShopper())), 403, 'ERR_HARDWARE_TOKEN_REQUIRED');
    const certified = await certifiedShopper('Certified But Keyless');
    expectError(await placeOrder(await signCertifiedOrder(await offerFor('standards-archive'), certified)), 403, 'ERR_HARDWARE_TOKEN_REQUIRED');
  });

  it('are accepted without UV where the offer demands nothing; a token of another origin is 403 ERR_WEBAUTHN', async () => {
    const presenceOnly = await token(false);
    expect((await placeOrder(await presenceOnly.signStatement(await unsignedOrder(await offerFor('fm-screening-abstract'))))).status).toBe(200);
    const otherExtension = await token(true, 'chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    expectError(await placeOrder(await otherExtension.signStatement(await unsignedOrder(await offerFor('standards-archive')))), 403, 'ERR_WEBAUTHN');
    // The right rpId, but the assertion claims to come from a web page.
    const key = await token(true);
    expectError(
      await placeOrder(await key.signStatement(await unsignedOrder(await offerFor('standards-archive')), { origin: 'https://evil.example' })),
      403,
      'ERR_WEBAUTHN',
    );
  });

  it('from Firefox: the pinned add-on origin with the marketplace host as RP ID (localhost) is accepted; another add-on, the web site, or another RP ID is 403 ERR_WEBAUTHN', async () => {
    const firefox = (origin: string, rpId = 'localhost') => SoftAuthenticator.create({ rpId, origin, userVerification: true });
    const pinned = await firefox(FIREFOX_WEBAUTHN_ORIGIN);
    const res = await placeOrder(await pinned.signStatement(await unsignedOrder(await offerFor('standards-archive'))));
    expect(res.status).toBe(200);
    for (const [origin, rpId] of [
      [await firefoxWebAuthnOrigin('evil@add-on.example'), 'localhost'],
      ['http://localhost', 'localhost'],
      [FIREFOX_WEBAUTHN_ORIGIN, 'shop.example'],
      [FIREFOX_WEBAUTHN_ORIGIN, EXTENSION_ORIGIN],
    ] as const) {
      const key = await firefox(origin, rpId);
      expectError(await placeOrder(await key.signStatement(await unsignedOrder(await offerFor('standards-archive')))), 403, 'ERR_WEBAUTHN');
    }
  });

  it('device-key orders still work for ordinary products', async () => {
    const res = await placeOrder(await signOrder(await offerFor('colour-management-abstract'), await testShopper()));
    expect(res.status).toBe(200);
    const info = await readCertificate(market.merchantCertificate);
    expect(info.role).toBe('merchant');
  });
});

describe("exchange deals in the marketplace, under the CA's CRL", () => {
  it('issue descriptors for both uses (the merchant checks its own certificate too), and refuse after the merchant certificate is revoked', async () => {
    const ask = (use: 'certified-mail' | 'contract-signing', documentId: string) =>
      postJson<{ descriptor?: Statement } & Partial<ErrorJson>>(`${market.shopUrl}/semper/exchange/descriptor`, {
        dealId: newDealId(),
        nonce: newNonce(),
        use,
        documentId,
      });
    expect((await ask('certified-mail', EXCHANGE_DOCUMENTS[0]!.id)).status).toBe(200);
    expect((await ask('contract-signing', EXCHANGE_CONTRACTS[0]!.id)).status).toBe(200);
    // A descriptor signed under its revoked certificate: refused, not signed away.
    await market.revokeCertificate((await readCertificate(market.merchantCertificate)).serialNumber);
    const refused = await ask('contract-signing', EXCHANGE_CONTRACTS[0]!.id);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.text).toMatch(/ERR_CERT_REVOKED/);
  });
});
