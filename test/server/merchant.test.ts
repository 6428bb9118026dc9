/**
 * The merchant kit inside the demo marketplace, over real HTTP on loopback with real SQLite:
 * what a shopper's worker sees, and what the merchant keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Signer } from '../../core/crypto/index.js';
import { digestDelivered } from '../../core/commerce/common.js';
import type { MerchantDealState } from '../../core/commerce/merchant.js';
import type { ConfirmationBody, DeliveryBody, OfferBody, OrderBody } from '../../core/protocol/commerce.js';
import { statementDigest, verifyStatement, type Statement } from '../../core/statements/index.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import type { StoredDeal as StoredDealOf } from '../../server/merchant/index.js';
import { PRODUCTS } from '../../server/shop/catalog.js';
import { getJson, newDealId, newNonce, postJson, requestOffer, signOrder, tempDataDir, testShopper, type ErrorJson } from './helpers.js';

type StoredDeal = StoredDealOf<MerchantDealState>;
type Reply = { confirmation: Statement<ConfirmationBody>; delivery: Statement<DeliveryBody> };

const OFFER_TTL_MS = 60_000;
const tmp = tempDataDir('market');
let skewMs = 0;
let market: Marketplace;
let shopper: Signer;

const trust = () => ({ roots: [market.rootCertificate], now: new Date() });

async function placeOrder(order: Statement<OrderBody>) {
  return postJson<Reply & ErrorJson>(`${market.shopUrl}/semper/order`, { order });
}

function expectError(res: { status: number; json: unknown; text: string }, status: number, code: string): void {
  expect({ status: res.status, code: (res.json as ErrorJson | undefined)?.error?.code }).toEqual({ status, code });
  expect(typeof (res.json as ErrorJson).error.message).toBe('string');
  // No stack traces or source paths leak to the client.
  expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|"stack"/);
}

beforeAll(async () => {
  shopper = await testShopper();
  market = await startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort: 0, now: () => Date.now() + skewMs, offerTtlMs: OFFER_TTL_MS });
});

afterAll(async () => {
  await market?.close();
  tmp.remove();
});

describe('marketplace start-up', () => {
  it('listens on loopback and writes the CA root for the extension', async () => {
    expect(market.caUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(market.shopUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(market.shopUrl).not.toBe(market.caUrl);
    const root = await getJson<{ certificate: string; pem: string }>(`${market.caUrl}/ca/root`);
    expect(root.json.certificate).toBe(market.rootCertificate);
    expect(readFileSync(join(tmp.dir, 'ca-root.pem'), 'utf8')).toBe(root.json.pem);
  });

  it('enrolled the shop for its exact origin, and the CA recorded it', async () => {
    const { leaf } = await verifyChainOf(market.merchantCertificate);
    expect(leaf.origins).toEqual([market.shopUrl]);
    expect(leaf.commonName).toBe('Fogra Forschungsgesellschaft Druck e.V.');
    const status = await getJson<{ status: string }>(`${market.caUrl}/ca/status/${leaf.serialNumber}`);
    expect(status.json.status).toBe('good');
  });

  it('refuses to listen beyond loopback', async () => {
    await expect(startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort: 0, host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});

async function verifyChainOf(certificate: string) {
  const { validateChain } = await import('../../core/pki/index.js');
  return validateChain([certificate], trust());
}

describe('POST /semper/offer', () => {
  it('returns an offer signed under the CA root that echoes the nonce and names the shop origin', async () => {
    const { dealId, nonce, res } = await requestOffer(market.shopUrl, [
      { sku: 'ink-drying-report', quantity: 2 },
      { sku: 'fm-screening-abstract', quantity: 1 },
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const verified = await verifyStatement<OfferBody>(res.json.offer, { types: ['semper.offer'], trust: trust(), requireCertificate: true });
    const body = verified.statement.body;
    expect(verified.statement.dealId).toBe(dealId);
    expect(body.nonce).toBe(nonce);
    expect(body.origin).toBe(market.shopUrl);
    expect(verified.chain?.leaf.origins).toContain(market.shopUrl);
    expect(verified.chain?.root.der).toBe(market.rootCertificate);
    expect(body.items.map((i) => [i.sku, i.quantity, i.unitPrice.amount])).toEqual([
      ['ink-drying-report', 2, 1200],
      ['fm-screening-abstract', 1, 250],
    ]);
    expect(body.total).toEqual({ amount: 2650, currency: 'EUR' });
    const ttl = Date.parse(body.expiresAt) - Date.parse(verified.statement.issuedAt);
    expect(ttl).toBe(OFFER_TTL_MS);
  });

  it('refuses malformed JSON, a wrong media type, schema violations and unknown products', async () => {
    const url = `${market.shopUrl}/semper/offer`;
    expectError(await postJson(url, '{"dealId": "abc", '), 400, 'ERR_SCHEMA');
    expectError(
      await postJson(url, { dealId: newDealId(), nonce: newNonce(), items: [{ sku: 'ink-drying-report', quantity: 1 }] }, { 'content-type': 'text/plain' }),
      400,
      'ERR_SCHEMA',
    );
    expectError(await postJson(url, { dealId: newDealId(), nonce: 'short', items: [{ sku: 'ink-drying-report', quantity: 1 }] }), 400, 'ERR_SCHEMA');
    expectError(await postJson(url, { dealId: newDealId(), nonce: newNonce(), items: [{ sku: 'ink-drying-report', quantity: 100 }] }), 400, 'ERR_SCHEMA');
    expectError(await postJson(url, { dealId: newDealId(), nonce: newNonce(), items: [], extra: 1 }), 400, 'ERR_SCHEMA');
    expectError(await postJson(url, { dealId: newDealId(), nonce: newNonce(), items: [{ sku: 'no-such-report', quantity: 1 }] }), 404, 'ERR_NOT_FOUND');
  });

  it('refuses a body over 64 KiB with 413, whether announced by Content-Length or streamed', async () => {
    const url = `${market.shopUrl}/semper/offer`;
    const huge = JSON.stringify({ dealId: newDealId(), nonce: newNonce(), items: [{ sku: 'ink-drying-report', quantity: 1 }], pad: 'x'.repeat(70_000) });
    expectError(await postJson(url, huge), 413, 'ERR_SCHEMA');

    const bytes = new TextEncoder().encode(huge);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192));
        controller.close();
      },
    });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expectError({ status: res.status, text: await res.clone().text(), json: await res.json() }, 413, 'ERR_SCHEMA');
  });

  it('refuses a deal id that already has an offer, and keeps the first offer', async () => {
    const first = await requestOffer(market.shopUrl);
    expect(first.res.status).toBe(200);
    const again = await postJson(`${market.shopUrl}/semper/offer`, {
      dealId: first.dealId,
      nonce: newNonce(),
      items: [{ sku: 'fm-screening-abstract', quantity: 1 }],
    });
    expectError(again, 409, 'ERR_REPLAY');
    const stored = await getJson<StoredDeal>(`${market.shopUrl}/semper/deals/${first.dealId}`);
    expect(stored.json.state.phase === 'offered' && stored.json.state.offer).toEqual(first.offer);
  });

  it('answers an identical repeated offer request (a restarted worker) with the same offer, and nothing else', async () => {
    const first = await requestOffer(market.shopUrl);
    const items = [{ sku: 'ink-drying-report', quantity: 2 }];
    const repeat = await postJson<{ offer: unknown }>(`${market.shopUrl}/semper/offer`, { dealId: first.dealId, nonce: first.nonce, items });
    expect(repeat.status).toBe(200);
    expect(repeat.json?.offer).toEqual(first.offer);
    const otherItems = await postJson(`${market.shopUrl}/semper/offer`, {
      dealId: first.dealId,
      nonce: first.nonce,
      items: [{ sku: 'ink-drying-report', quantity: 3 }],
    });
    expectError(otherItems, 409, 'ERR_REPLAY');
  });
});

describe('POST /semper/order', () => {
  it('completes offer → order → confirmation + delivery, all verifiable, and stores the order', async () => {
    const { dealId, offer } = await requestOffer(market.shopUrl, [{ sku: 'colour-management-abstract', quantity: 1 }]);
    const order = await signOrder(offer!, shopper);
    const res = await placeOrder(order);
    expect(res.status).toBe(200);
    const orderDigest = await statementDigest(order);
    const offerDigest = await statementDigest(offer!);

    const confirmation = await verifyStatement<ConfirmationBody>(res.json.confirmation, {
      types: ['semper.order-confirmation'],
      trust: trust(),
      requireCertificate: true,
    });
    expect(confirmation.statement.dealId).toBe(dealId);
    expect(confirmation.statement.body).toMatchObject({ status: 'accepted', orderDigest, offerDigest, total: { amount: 250, currency: 'EUR' } });
    expect(confirmation.chain?.leaf.origins).toEqual([market.shopUrl]);

    const delivery = await verifyStatement<DeliveryBody>(res.json.delivery, { types: ['semper.delivery'], trust: trust(), requireCertificate: true });
    expect(delivery.statement.body.orderId).toBe(confirmation.statement.body.orderId);
    expect(delivery.statement.body.orderDigest).toBe(orderDigest);
    const [good] = delivery.statement.body.goods;
    const product = PRODUCTS.find((p) => p.sku === 'colour-management-abstract')!;
    expect(good).toMatchObject({
      sku: product.sku,
      title: product.title,
      mediaType: 'text/plain',
      content: 'content' in product.good ? product.good.content : '',
      encoding: 'utf8',
    });
    expect(good!.digest).toBe(await digestDelivered(good!));

    const stored = await getJson<StoredDeal>(`${market.shopUrl}/semper/deals/${dealId}`);
    expect(stored.status).toBe(200);
    const state = stored.json.state as Extract<MerchantDealState, { phase: 'confirmed' }>;
    expect(state.phase).toBe('confirmed');
    expect(state.orderDigest).toBe(orderDigest);
    expect(state.shopperKey).toEqual(shopper.publicJwk);
    expect(state.reply).toEqual(res.json);
  });

  it('answers an unknown deal with 404 ERR_OFFER_UNKNOWN', async () => {
    const { offer } = await requestOffer(market.shopUrl);
    const order = await signOrder(offer!, shopper, { dealId: newDealId() });
    expectError(await placeOrder(order), 404, 'ERR_OFFER_UNKNOWN');
  });

  it('refuses a tampered order: changed signature or changed body', async () => {
    const { dealId, offer } = await requestOffer(market.shopUrl);
    const order = await signOrder(offer!, shopper);
    const value = order.signature.value;
    const mid = Math.floor(value.length / 2);
    const flipped = value.slice(0, mid) + (value[mid] === 'A' ? 'B' : 'A') + value.slice(mid + 1);
    expectError(await placeOrder({ ...order, signature: { ...order.signature, value: flipped } }), 403, 'ERR_SIGNATURE_INVALID');
    const otherDigest = await statementDigest((await requestOffer(market.shopUrl)).offer!);
    expectError(await placeOrder({ ...order, body: { ...order.body, offerDigest: otherDigest } }), 403, 'ERR_SIGNATURE_INVALID');
    // Nothing was applied: the deal is still waiting for its order, which still goes through.
    const stored = await getJson<StoredDeal>(`${market.shopUrl}/semper/deals/${dealId}`);
    expect(stored.json.state.phase).toBe('offered');
    expect((await placeOrder(order)).status).toBe(200);
  });

  it('refuses a validly signed order that names another offer', async () => {
    const mine = await requestOffer(market.shopUrl);
    const other = await requestOffer(market.shopUrl);
    const order = await signOrder(mine.offer!, shopper, { offerDigest: await statementDigest(other.offer!) });
    expectError(await placeOrder(order), 403, 'ERR_ORDER_INVALID');
    const wrongId = await signOrder(mine.offer!, shopper, { offerId: other.offer!.body.offerId });
    expectError(await placeOrder(wrongId), 403, 'ERR_ORDER_INVALID');
  });

  it('refuses an order after the offer expired (merchant clock moved past expiresAt)', async () => {
    const { dealId, offer } = await requestOffer(market.shopUrl);
    const order = await signOrder(offer!, shopper);
    skewMs = OFFER_TTL_MS + 1000;
    try {
      expectError(await placeOrder(order), 410, 'ERR_OFFER_EXPIRED');
    } finally {
      skewMs = 0;
    }
    const stored = await getJson<StoredDeal>(`${market.shopUrl}/semper/deals/${dealId}`);
    expect(stored.json.state.phase).toBe('offered');
    expect(stored.json.version).toBe(1);
  });

  it('refuses a second, different order for a confirmed deal', async () => {
    const { offer } = await requestOffer(market.shopUrl);
    expect((await placeOrder(await signOrder(offer!, shopper))).status).toBe(200);
    // ECDSA signatures are randomised: the same body signed again is a different statement.
    expectError(await placeOrder(await signOrder(offer!, shopper)), 409, 'ERR_REPLAY');
    expectError(await placeOrder(await signOrder(offer!, await testShopper())), 409, 'ERR_REPLAY');
  });

  it('refuses malformed and non-statement order bodies', async () => {
    const url = `${market.shopUrl}/semper/order`;
    expectError(await postJson(url, 'not json'), 400, 'ERR_SCHEMA');
    expectError(await postJson(url, { order: { type: 'semper.order' } }), 400, 'ERR_SCHEMA');
    const { offer } = await requestOffer(market.shopUrl);
    // A statement of the wrong type (the merchant's own offer) is not an order.
    expectError(await postJson(url, { order: offer }), 400, 'ERR_STATEMENT_TYPE');
  });

  it('applies concurrent duplicate orders once and gives every caller the identical reply', async () => {
    const { dealId, offer } = await requestOffer(market.shopUrl);
    const order = await signOrder(offer!, shopper);
    const replies = await Promise.all(Array.from({ length: 8 }, () => placeOrder(order)));
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
    const first = replies[0]!.text;
    for (const r of replies) expect(r.text).toBe(first);
    const stored = await getJson<StoredDeal>(`${market.shopUrl}/semper/deals/${dealId}`);
    // Version 1 = offered, 2 = confirmed: exactly one update was committed.
    expect(stored.json.version).toBe(2);
    expect(
      JSON.stringify({
        confirmation: (stored.json.state as { reply: Reply }).reply.confirmation,
        delivery: (stored.json.state as { reply: Reply }).reply.delivery,
      }),
    ).toBe(first);
  });
});

describe('GET /semper/deals/:dealId', () => {
  it('is read-only and validates the deal id', async () => {
    expectError(await getJson(`${market.shopUrl}/semper/deals/${newDealId()}`), 404, 'ERR_NOT_FOUND');
    expectError(await getJson(`${market.shopUrl}/semper/deals/bad!id`), 400, 'ERR_SCHEMA');
    const { dealId } = await requestOffer(market.shopUrl);
    const res = await fetch(`${market.shopUrl}/semper/deals/${dealId}`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorJson).error.code).toBe('ERR_NOT_FOUND');
    expect((await getJson(`${market.shopUrl}/semper/deals/${dealId}`)).status).toBe(200);
  });
});

describe('after a restart', () => {
  it('keeps the root, the merchant certificate and the stored order, which still verifies', async () => {
    const { dealId, offer } = await requestOffer(market.shopUrl);
    const order = await signOrder(offer!, shopper);
    const reply = await placeOrder(order);
    expect(reply.status).toBe(200);
    const before = { root: market.rootCertificate, cert: market.merchantCertificate, shopUrl: market.shopUrl };
    const shopPort = Number(new URL(market.shopUrl).port);
    await market.close();
    // This process's fetch pools a keep-alive connection to the closed shop: let it read the shop's
    // FIN (a poll phase of the event loop, so two turns) before the shop comes back on the same port.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));

    market = await startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort, now: () => Date.now() + skewMs, offerTtlMs: OFFER_TTL_MS });
    expect(market.shopUrl).toBe(before.shopUrl);
    expect(market.rootCertificate).toBe(before.root);
    expect(market.merchantCertificate).toBe(before.cert);

    const stored = await getJson<StoredDeal>(`${market.shopUrl}/semper/deals/${dealId}`);
    const state = stored.json.state as Extract<MerchantDealState, { phase: 'confirmed' }>;
    const verifiedOrder = await verifyStatement<OrderBody>(state.order, { types: ['semper.order'] });
    expect(verifiedOrder.signerJwk).toEqual(shopper.publicJwk);
    expect(await statementDigest(state.order)).toBe(await statementDigest(order));
    await verifyStatement(state.reply.confirmation, { types: ['semper.order-confirmation'], trust: trust(), requireCertificate: true });

    // The retried order (a worker resuming after a crash) still gets the same reply.
    const retried = await placeOrder(order);
    expect(retried.text).toBe(reply.text);
  });

  it('re-enrols with the same key when the shop comes back on another origin', async () => {
    const before = await verifyChainOf(market.merchantCertificate);
    await market.close();
    market = await startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort: 0, now: () => Date.now() + skewMs, offerTtlMs: OFFER_TTL_MS });
    const after = await verifyChainOf(market.merchantCertificate);
    if (after.leaf.origins[0] === before.leaf.origins[0]) return; // the OS handed out the same port again
    expect(market.merchantCertificate).not.toBe(before.leaf.der);
    expect(after.leaf.origins).toEqual([market.shopUrl]);
    expect(after.leaf.publicJwk).toEqual(before.leaf.publicJwk);
    const { offer } = await requestOffer(market.shopUrl);
    const verified = await verifyStatement<OfferBody>(offer, { types: ['semper.offer'], trust: trust(), requireCertificate: true });
    expect(verified.statement.body.origin).toBe(market.shopUrl);
  });
});
