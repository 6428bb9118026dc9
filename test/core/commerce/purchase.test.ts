import { describe, expect, it, beforeAll } from 'vitest';
import type { Signer } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { signStatement, statementDigest as statementDigestOf, verifyStatement, type Statement } from '../../../core/statements/index.js';
import {
  newMerchantDeal,
  stepMerchant,
  startPurchase,
  stepShopper,
  pendingSends,
  isTerminal,
  wakeAt,
  type CatalogItem,
  type MerchantContext,
  type MerchantStep,
  type OrderReply,
  type Outbound,
  type ShopperContext,
  type ShopperState,
  type ShopperStep,
  type MerchantDealState,
} from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import { digestDelivered } from '../../../core/commerce/common.js';
import type { OfferBody } from '../../../core/protocol/commerce.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';
import { catalog, makePurchaseWorld, ORIGIN } from './fixtures.js';

let ca: TestCa;
let merchant: MerchantContext;
let shopperSigner: Signer;
beforeAll(async () => {
  ({ ca, merchant, shopperSigner } = await makePurchaseWorld());
});

/** The merchant's offer for a request: the `offer-requested` event on a new deal (the answer is send[0].body). */
async function makeOffer(request: unknown, ctx: MerchantContext, now = Date.now()): Promise<{ state: MerchantDealState; offer: Statement<OfferBody> }> {
  const dealId = (request as { dealId?: unknown } | null)?.dealId;
  const r = await stepMerchant(newMerchantDeal(typeof dealId === 'string' ? dealId : ''), { type: 'offer-requested', request, now }, ctx);
  return { state: r.state, offer: (r.send[0]!.body as { offer: Statement<OfferBody> }).offer };
}

/** The merchant's answer to an order (send[0].body). */
const replyOf = (r: MerchantStep): OrderReply => r.send[0]!.body as OrderReply;

const shopperCtx = (): ShopperContext => ({ roots: [ca.root], signer: shopperSigner, random: cryptoRandom });

/** JSON round trip: states must be plain JSON for the worker to persist them. */
const persist = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function orderOf(out: Outbound): unknown {
  if (out.path !== '/semper/order') throw new Error(`expected an order, got ${out.path}`);
  return persist(out.body.order);
}

function start(items = [{ sku: 'colour-report', quantity: 2 }]) {
  return startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: ORIGIN, items, now: Date.now() });
}

describe('purchase: offer → order → confirmation → delivery', () => {
  it('completes, with every state plain JSON and every statement archived', async () => {
    const ctx = shopperCtx();
    let s: ShopperStep = start();
    expect(s.send).toHaveLength(1);
    const offerReq = s.send[0]!;
    expect(offerReq.path).toBe('/semper/offer');
    const made = await makeOffer(persist(offerReq.body), merchant);
    let mState: MerchantDealState = persist(made.state);
    s = await stepShopper(persist(s.state), { type: 'offer-response', response: persist({ offer: made.offer }), now: Date.now() }, ctx);
    expect(s.state.phase).toBe('awaiting-confirmation');
    const show = s.effects.find((e) => e.kind === 'show-offer');
    expect(show?.kind === 'show-offer' && show.view.merchant.legalName).toBe('Fogra Forschungsgesellschaft Druck e.V.');
    expect(show?.kind === 'show-offer' && show.view.total).toEqual({ amount: 2500, currency: 'EUR' });
    s = await stepShopper(persist(s.state), { type: 'user-confirmed', now: Date.now() }, ctx);
    expect(s.state.phase).toBe('ordering');
    expect(pendingSends(s.state)).toEqual(s.send); // what a restarted worker re-sends
    const orderMsg = s.send[0]!;
    const r1 = await stepMerchant(mState, { type: 'order-received', order: orderOf(orderMsg), now: Date.now() }, merchant);
    mState = persist(r1.state);
    // A resend after a worker restart gets the identical reply.
    const r2 = await stepMerchant(mState, { type: 'order-received', order: orderOf(orderMsg), now: Date.now() }, merchant);
    expect(replyOf(r2)).toEqual(replyOf(r1));
    s = await stepShopper(persist(s.state), { type: 'order-response', response: persist(replyOf(r1)), now: Date.now() }, ctx);
    expect(s.state.phase).toBe('completed');
    expect(isTerminal(s.state)).toBe(true);
    const finished = s.effects.find((e) => e.kind === 'finished');
    expect(finished?.kind === 'finished' && finished.outcome.delivered).toEqual([{ sku: 'colour-report', title: 'Colour management report' }]);
    // The merchant's stored order verifies against the shopper's key.
    if (mState.phase !== 'confirmed') throw new Error('merchant not confirmed');
    const v = await verifyStatement(mState.order, { types: ['semper.order'] });
    expect(v.signerJwk).toEqual(shopperSigner.publicJwk);
    // Late duplicates do not move a finished deal.
    await expect(stepShopper(s.state, { type: 'order-response', response: replyOf(r1), now: Date.now() }, ctx)).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
  });

  it('an offer nobody confirms before it expires ends on the timeout event; an early timeout changes nothing', async () => {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    const due = wakeAt(s.state)!;
    expect(due).toBe(Date.parse(made.offer.body.expiresAt));
    await expect(stepShopper(s.state, { type: 'timeout', now: due - 1 }, ctx)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    const ended = await stepShopper(s.state, { type: 'timeout', now: due }, ctx);
    expect(ended.state.phase === 'failed' && ended.state.error.code).toBe('ERR_OFFER_EXPIRED');
    expect(ended.send).toEqual([]);
    expect(wakeAt(ended.state)).toBeNull();
  });

  it('a declined offer ends rejected without signing anything', async () => {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-rejected', now: Date.now() }, ctx);
    expect(s.state.phase).toBe('rejected');
    expect(s.send).toEqual([]);
    expect(s.effects).toEqual([{ kind: 'rejected', dealId: s.state.dealId }]);
  });
});

describe('offers that must never reach the trusted window', () => {
  async function tryOffer(mutate: (offer: Statement<OfferBody>, state: ShopperState) => Promise<unknown> | unknown, roots?: string[]) {
    const s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    const response = await mutate(made.offer, s.state);
    const next = await stepShopper(s.state, { type: 'offer-response', response, now: Date.now() }, { ...shopperCtx(), roots: roots ?? [ca.root] });
    expect(next.effects.some((e) => e.kind === 'show-offer')).toBe(false);
    expect(next.state.phase).toBe('failed');
    return next.state.phase === 'failed' ? next.state.error.code : 'none';
  }
  const resign = async (offer: Statement<OfferBody>, body: Partial<OfferBody>, signer = merchant.identity.signer, chain = merchant.identity.chain) => {
    const { signature: _s, ...unsigned } = offer;
    return { offer: await signStatement({ ...unsigned, body: { ...offer.body, ...body } }, signer, { signerRef: { kind: 'x509', chain } }) };
  };

  it('bad signature', async () => {
    expect(await tryOffer((o) => ({ offer: { ...o, body: { ...o.body, total: { amount: 1, currency: 'EUR' } } } }))).toBe('ERR_SIGNATURE_INVALID');
  });
  it('certificate for another origin', async () => {
    const other = await ca.issue({ commonName: 'Evil GmbH', role: 'merchant', origins: ['http://127.0.0.1:9999'] });
    expect(await tryOffer((o) => resign(o, {}, other.signer, other.chain))).toBe('ERR_CERT_ORIGIN');
  });
  it('offer body claiming another origin than the page', async () => {
    expect(await tryOffer((o) => resign(o, { origin: 'http://127.0.0.1:9999' }))).toBe('ERR_CERT_ORIGIN');
  });
  it('expired certificate', async () => {
    const old = await ca.issue({
      commonName: 'Fogra',
      role: 'merchant',
      origins: [ORIGIN],
      notBefore: new Date(Date.now() - 9e8),
      notAfter: new Date(Date.now() - 1000),
    });
    expect(await tryOffer((o) => resign(o, {}, old.signer, old.chain))).toBe('ERR_CERT_EXPIRED');
  });
  it('unknown CA', async () => {
    const rogue = await makeTestCa('Rogue CA');
    const m = await rogue.issue({ commonName: 'Fogra', role: 'merchant', origins: [ORIGIN] });
    expect(await tryOffer((o) => resign(o, {}, m.signer, m.chain))).toBe('ERR_CERT_UNTRUSTED');
  });
  it('a certificate of another role (shopper) cannot make offers', async () => {
    const m = await ca.issue({ commonName: 'Some Shopper', role: 'shopper', origins: [ORIGIN] });
    expect(await tryOffer((o) => resign(o, {}, m.signer, m.chain))).toBe('ERR_CERT_UNTRUSTED');
  });
  it('replayed nonce', async () => {
    expect(await tryOffer((o) => resign(o, { nonce: randomId(32) }))).toBe('ERR_NONCE_MISMATCH');
  });
  it('offer for another deal', async () => {
    expect(
      await tryOffer(async (o) => {
        const { signature: _s, ...u } = o;
        return {
          offer: await signStatement({ ...u, dealId: randomId(18) }, merchant.identity.signer, { signerRef: { kind: 'x509', chain: merchant.identity.chain } }),
        };
      }),
    ).toBe('ERR_REPLAY');
  });
  it('expired offer', async () => {
    expect(await tryOffer((o) => resign(o, { expiresAt: new Date(Date.now() - 1000).toISOString() }))).toBe('ERR_OFFER_EXPIRED');
  });
  it('other items or a wrong total', async () => {
    expect(await tryOffer((o) => resign(o, { items: o.body.items.map((i) => ({ ...i, quantity: 5 })) }))).toBe('ERR_OFFER_INVALID');
    expect(await tryOffer((o) => resign(o, { total: { amount: 1, currency: 'EUR' } }))).toBe('ERR_OFFER_INVALID');
  });
  it('a bare-key (uncertified) offer and garbage', async () => {
    expect(
      await tryOffer(async (o) => {
        const { signature: _s, ...u } = o;
        return { offer: await signStatement(u, merchant.identity.signer) };
      }),
    ).toBe('ERR_CERT_UNTRUSTED');
    expect(await tryOffer(() => ({ offer: 'hello' }))).toBe('ERR_SCHEMA');
    expect(await tryOffer(() => null)).toBe('ERR_SCHEMA');
  });
});

describe('merchant refuses bad orders', () => {
  async function offered() {
    const s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    const sh = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, shopperCtx());
    const ordered = await stepShopper(sh.state, { type: 'user-confirmed', now: Date.now() }, shopperCtx());
    const order = (ordered.send[0]!.body as { order: Statement }).order;
    return { mState: made.state, order };
  }
  it('tampered order, order for another offer, expired offer, different second order', async () => {
    const { mState, order } = await offered();
    await expect(
      stepMerchant(
        mState,
        { type: 'order-received', order: { ...order, body: { ...order.body, paymentMethod: 'invoice', offerId: 'x'.repeat(24) } }, now: Date.now() },
        merchant,
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    const other = await offered();
    await expect(stepMerchant(mState, { type: 'order-received', order: other.order, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ORDER_INVALID',
    });
    await expect(stepMerchant(mState, { type: 'order-received', order, now: Date.now() + 3_600_000 }, merchant)).rejects.toMatchObject({
      code: 'ERR_OFFER_EXPIRED',
    });
    const ok = await stepMerchant(mState, { type: 'order-received', order, now: Date.now() }, merchant);
    const { signature: _s, ...u } = order;
    const second = await signStatement({ ...u, issuedAt: new Date(Date.now() + 1).toISOString() }, shopperSigner);
    await expect(stepMerchant(ok.state, { type: 'order-received', order: second, now: Date.now() }, merchant)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
  });
  it('unknown product and duplicate SKUs in a request', async () => {
    await expect(makeOffer({ dealId: randomId(18), nonce: randomId(32), items: [{ sku: 'nope', quantity: 1 }] }, merchant)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    await expect(
      makeOffer(
        {
          dealId: randomId(18),
          nonce: randomId(32),
          items: [
            { sku: 'ink-abstract', quantity: 1 },
            { sku: 'ink-abstract', quantity: 2 },
          ],
        },
        merchant,
      ),
    ).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(makeOffer({ dealId: 'short', nonce: randomId(32), items: [{ sku: 'ink-abstract', quantity: 1 }] }, merchant)).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
  });
  it('items priced in different currencies cannot be offered together', async () => {
    const mixed: MerchantContext = {
      ...merchant,
      lookup: (sku) => (sku === 'usd-item' ? { ...catalog[1]!, sku, unitPrice: { amount: 300, currency: 'USD' } } : catalog.find((c) => c.sku === sku)),
    };
    await expect(
      makeOffer(
        {
          dealId: randomId(18),
          nonce: randomId(32),
          items: [
            { sku: 'ink-abstract', quantity: 1 },
            { sku: 'usd-item', quantity: 1 },
          ],
        },
        mixed,
      ),
    ).rejects.toMatchObject({ code: 'ERR_ORDER_INVALID' });
  });
  it('a repeated offer request (a restarted worker) gets the same offer while it is valid; anything else for the deal is a replay', async () => {
    const request = { dealId: randomId(18), nonce: randomId(32), items: [{ sku: 'ink-abstract', quantity: 1 }] };
    const made = await makeOffer(request, merchant);
    const again = await stepMerchant(persist(made.state), { type: 'offer-requested', request, now: Date.now() }, merchant);
    expect(again.state).toEqual(made.state);
    expect((again.send[0]!.body as { offer: unknown }).offer).toEqual(made.offer);
    for (const other of [
      { ...request, nonce: randomId(32) },
      { ...request, items: [{ sku: 'ink-abstract', quantity: 2 }] },
    ]) {
      await expect(stepMerchant(made.state, { type: 'offer-requested', request: other, now: Date.now() }, merchant)).rejects.toMatchObject({
        code: 'ERR_REPLAY',
      });
    }
    await expect(stepMerchant(made.state, { type: 'offer-requested', request, now: Date.now() + 3_600_000 }, merchant)).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
    // No order without an offer.
    await expect(stepMerchant(newMerchantDeal(randomId(18)), { type: 'order-received', order: {}, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_OFFER_UNKNOWN',
    });
  });
});

describe('confirmations and deliveries the shopper refuses', () => {
  async function ordering() {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const r = await stepMerchant(made.state, { type: 'order-received', order: (s.send[0]!.body as { order: unknown }).order, now: Date.now() }, merchant);
    return { ctx, s, reply: replyOf(r) };
  }
  const resignAs = async <B>(st: Statement<B>, body: Partial<B>, signer = merchant.identity.signer, chain = merchant.identity.chain) => {
    const { signature: _s, ...u } = st;
    return signStatement({ ...u, body: { ...st.body, ...body } }, signer, { signerRef: { kind: 'x509', chain } });
  };
  /** The shopper's phase after the (changed) answer: the error code if it failed, and its error if it retries. */
  async function outcome(f: (reply: Awaited<ReturnType<typeof ordering>>['reply']) => Promise<unknown>) {
    const { ctx, s, reply } = await ordering();
    const next = await stepShopper(s.state, { type: 'order-response', response: await f(reply), now: Date.now() }, ctx);
    expect(next.effects.some((e) => e.kind === 'finished')).toBe(false);
    if (next.state.phase === 'retrying-order') return `retrying-order ${next.state.lastError.code}`;
    return next.state.phase === 'failed' ? next.state.error.code : next.state.phase;
  }
  it('a delivery whose content does not match its digest', async () => {
    expect(
      await outcome(async (r) => ({
        ...r,
        delivery: await resignAs(r.delivery, { goods: r.delivery.body.goods.map((g) => ({ ...g, content: 'something else' })) }),
      })),
    ).toBe('delivery-mismatch');
  });
  it('a delivery that leaves out the goods', async () => {
    expect(await outcome(async (r) => ({ ...r, delivery: await resignAs(r.delivery, { goods: [] }) }))).toBe('delivery-mismatch');
  });
  it('a confirmation for another order, offer or total; a delivery for another order: ERR_ORDER_INVALID, the signed answer archived', async () => {
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { orderDigest: randomId(32) }) }))).toBe('ERR_ORDER_INVALID');
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { offerDigest: randomId(32) }) }))).toBe('ERR_ORDER_INVALID');
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { total: { amount: 1, currency: 'EUR' } }) }))).toBe(
      'ERR_ORDER_INVALID',
    );
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { total: { amount: 2500, currency: 'USD' } }) }))).toBe(
      'ERR_ORDER_INVALID',
    );
    expect(await outcome(async (r) => ({ ...r, delivery: await resignAs(r.delivery, { orderDigest: randomId(32) }) }))).toBe('ERR_ORDER_INVALID');
    expect(await outcome(async (r) => ({ ...r, delivery: await resignAs(r.delivery, { orderId: randomId(18) }) }))).toBe('ERR_ORDER_INVALID');
    const { ctx, s, reply } = await ordering();
    const next = await stepShopper(
      s.state,
      { type: 'order-response', response: { ...reply, confirmation: await resignAs(reply.confirmation, { orderDigest: randomId(32) }) }, now: Date.now() },
      ctx,
    );
    expect(next.effects.filter((e) => e.kind === 'archive').map((e) => (e.kind === 'archive' ? e.statement.type : ''))).toEqual([
      'semper.order-confirmation',
      'semper.delivery',
    ]);
  });
  it("a confirmation or a delivery signed by another certified merchant is not the merchant's answer: the order is sent again", async () => {
    const other = await ca.issue({ commonName: 'Other Shop', role: 'merchant', origins: [ORIGIN] });
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, {}, other.signer, other.chain) }))).toBe(
      'retrying-order ERR_SIGNATURE_INVALID',
    );
    expect(await outcome(async (r) => ({ ...r, delivery: await resignAs(r.delivery, {}, other.signer, other.chain) }))).toBe(
      'retrying-order ERR_SIGNATURE_INVALID',
    );
  });
  it("answers of another deal, forged, uncertified or malformed are not the merchant's answer either", async () => {
    const forOtherDeal = async <B>(st: Statement<B>) => {
      const { signature: _s, ...u } = st;
      return signStatement({ ...u, dealId: randomId(18) }, merchant.identity.signer, { signerRef: { kind: 'x509', chain: merchant.identity.chain } });
    };
    expect(await outcome(async (r) => ({ ...r, confirmation: await forOtherDeal(r.confirmation) }))).toBe('retrying-order ERR_REPLAY');
    expect(await outcome(async (r) => ({ ...r, delivery: await forOtherDeal(r.delivery) }))).toBe('retrying-order ERR_REPLAY');
    expect(await outcome(async (r) => ({ ...r, delivery: { ...r.delivery, body: { ...r.delivery.body, goods: [] } } }))).toBe(
      'retrying-order ERR_SIGNATURE_INVALID',
    );
    expect(
      await outcome(async (r) => {
        const { signature: _s, ...u } = r.confirmation;
        return { ...r, confirmation: await signStatement(u, merchant.identity.signer) };
      }),
    ).toBe('retrying-order ERR_CERT_UNTRUSTED');
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { status: 'maybe' } as never) }))).toBe(
      'retrying-order ERR_SCHEMA',
    );
    expect(await outcome(async (r) => ({ ...r, delivery: await resignAs(r.delivery, { goods: 'none' } as never) }))).toBe('retrying-order ERR_SCHEMA');
    expect(await outcome(async () => ({ confirmation: 'hello' }))).toBe('retrying-order ERR_SCHEMA');
  });
  it('a merchant error reply ends the deal with that error', async () => {
    expect(await outcome(async () => ({ error: { code: 'ERR_OFFER_EXPIRED', message: 'too late' } }))).toBe('ERR_OFFER_EXPIRED');
  });
});

describe('issue 8 item 1: the delivery is checked against what the offer committed to, not against itself', () => {
  async function ordering() {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const r = await stepMerchant(made.state, { type: 'order-received', order: (s.send[0]!.body as { order: unknown }).order, now: Date.now() }, merchant);
    return { ctx, s, reply: replyOf(r), offer: made.offer };
  }
  const resignDelivery = async (d: OrderReply['delivery'], goods: OrderReply['delivery']['body']['goods']) => {
    const { signature: _s, ...u } = d;
    return signStatement({ ...u, body: { ...d.body, goods } }, merchant.identity.signer, { signerRef: { kind: 'x509', chain: merchant.identity.chain } });
  };
  /** The shopper's step on an order answer whose delivery's goods were changed by `change` (and re-signed by the merchant). */
  async function deliver(change: (g: OrderReply['delivery']['body']['goods'][number]) => Promise<OrderReply['delivery']['body']['goods'][number]>) {
    const { ctx, s, reply } = await ordering();
    const goods = await Promise.all(reply.delivery.body.goods.map(change));
    const delivery = await resignDelivery(reply.delivery, goods);
    return stepShopper(s.state, { type: 'order-response', response: { ...reply, delivery }, now: Date.now() }, ctx);
  }

  it('the offer commits to each digital item: its content digest, media type and size', async () => {
    const { offer } = await ordering();
    const item = offer.body.items[0]!;
    const good = catalog.find((c) => c.sku === item.sku)!.good as { mediaType: string; content: string };
    expect(item.content).toEqual({
      kind: 'content',
      mediaType: good.mediaType,
      digest: await digestDelivered({ content: good.content, encoding: 'utf8' }),
      size: new TextEncoder().encode(good.content).length,
    });
  });

  it('other content with a matching self-declared digest and another title ends in delivery-mismatch, with the evidence', async () => {
    const next = await deliver(async (g) => {
      const content = 'Three blank pages.';
      return { ...g, title: 'Another title', content, digest: await digestDelivered({ content, encoding: 'utf8' }) };
    });
    expect(next.state.phase).toBe('delivery-mismatch');
    expect(next.effects.some((e) => e.kind === 'finished')).toBe(false);
    expect(next.effects).toContainEqual(expect.objectContaining({ kind: 'failed', error: expect.objectContaining({ code: 'ERR_DELIVERY_MISMATCH' }) }));
    // The evidence stays: the confirmation and the delivery are archived (the offer and the order were already).
    const archived = next.effects.filter((e) => e.kind === 'archive').map((e) => (e.kind === 'archive' ? e.statement.type : ''));
    expect(archived).toEqual(['semper.order-confirmation', 'semper.delivery']);
    if (next.state.phase !== 'delivery-mismatch') throw new Error('unreachable');
    expect(next.state.mismatches).toEqual([
      { sku: 'colour-report', what: 'title' },
      { sku: 'colour-report', what: 'content' },
    ]);
    expect(next.state.offer.body.items[0]!.content).toBeDefined();
    expect(next.state.delivery.body.goods[0]!.content).toBe('Three blank pages.');
    expect(isTerminal(next.state)).toBe(true);
    expect(wakeAt(next.state)).toBeNull();
  });

  it('another media type, or only another title, is a mismatch too', async () => {
    const media = await deliver(async (g) => ({ ...g, mediaType: 'text/html' }));
    expect(media.state.phase === 'delivery-mismatch' && media.state.mismatches).toEqual([{ sku: 'colour-report', what: 'media-type' }]);
    const title = await deliver(async (g) => ({ ...g, title: 'Colour management report (abridged)' }));
    expect(title.state.phase === 'delivery-mismatch' && title.state.mismatches).toEqual([{ sku: 'colour-report', what: 'title' }]);
  });

  it('a good the offer did not name, or a missing one, is a mismatch', async () => {
    const { ctx, s, reply } = await ordering();
    const extra = { ...reply.delivery.body.goods[0]!, sku: 'ink-abstract' };
    const more = await stepShopper(
      s.state,
      {
        type: 'order-response',
        response: { ...reply, delivery: await resignDelivery(reply.delivery, [...reply.delivery.body.goods, extra]) },
        now: Date.now(),
      },
      ctx,
    );
    expect(more.state.phase === 'delivery-mismatch' && more.state.mismatches).toEqual([{ sku: 'ink-abstract', what: 'not-offered' }]);
    const none = await stepShopper(
      s.state,
      { type: 'order-response', response: { ...reply, delivery: await resignDelivery(reply.delivery, []) }, now: Date.now() },
      ctx,
    );
    expect(none.state.phase === 'delivery-mismatch' && none.state.mismatches).toEqual([{ sku: 'colour-report', what: 'missing' }]);
  });

  it('an offer whose digital item commits to nothing never reaches the trusted window', async () => {
    const s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    const { signature: _s, ...u } = made.offer;
    const bare = await signStatement(
      { ...u, body: { ...made.offer.body, items: made.offer.body.items.map(({ content: _c, ...i }) => i) } },
      merchant.identity.signer,
      { signerRef: { kind: 'x509', chain: merchant.identity.chain } },
    );
    const next = await stepShopper(s.state, { type: 'offer-response', response: { offer: bare }, now: Date.now() }, shopperCtx());
    expect(next.state.phase === 'failed' && next.state.error.code).toBe('ERR_OFFER_INVALID');
    expect(next.effects.some((e) => e.kind === 'show-offer')).toBe(false);
  });

  it('a good not yet produced: the offer commits to a description, media type and size bound; the delivery is held to them', async () => {
    let produced = 'The report, written after the order.';
    const toOrder: CatalogItem = {
      sku: 'custom-report',
      title: 'Custom report',
      unitPrice: { amount: 5000, currency: 'EUR' },
      kind: 'digital',
      good: { mediaType: 'text/plain', description: 'A two-page report on your press, written after the order.', maxSize: 100, produce: () => produced },
    };
    const m: MerchantContext = { ...merchant, lookup: (sku) => (sku === toOrder.sku ? toOrder : undefined) };
    const run = async () => {
      const ctx = shopperCtx();
      let s = start([{ sku: 'custom-report', quantity: 1 }]);
      const made = await makeOffer(s.send[0]!.body, m);
      expect(made.offer.body.items[0]!.content).toEqual({
        kind: 'described',
        mediaType: 'text/plain',
        description: 'A two-page report on your press, written after the order.',
        maxSize: 100,
      });
      s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
      s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
      const r = await stepMerchant(made.state, { type: 'order-received', order: (s.send[0]!.body as { order: unknown }).order, now: Date.now() }, m);
      return stepShopper(s.state, { type: 'order-response', response: replyOf(r), now: Date.now() }, ctx);
    };
    expect((await run()).state.phase).toBe('completed');
    produced = 'x'.repeat(101);
    const tooBig = await run();
    expect(tooBig.state.phase === 'delivery-mismatch' && tooBig.state.mismatches).toEqual([{ sku: 'custom-report', what: 'size' }]);
  });
});

describe('issue 8 item 7: an order without an answer is sent again, never reported failed until the merchant answered or the deal expired', () => {
  const retry = { firstMs: 2_000, maxMs: 60_000, answerWindowMs: 3_600_000 };
  async function orderingAt(t0: number) {
    const ctx: ShopperContext = { ...shopperCtx(), orderRetry: retry };
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant, t0);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: t0 }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: t0 }, ctx);
    const sent = s.send[0]!;
    return { ctx, s, sent, merchantState: made.state, expiresAt: Date.parse(made.offer.body.expiresAt) };
  }
  const lost = (sent: Outbound, now: number, status?: number) =>
    ({
      type: 'reply',
      sent,
      reply: { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'connection reset' }, ...(status === undefined ? {} : { status }) },
      now,
    }) as const;

  it('the connection drops after the merchant stored the order: the same order goes again at wakeAt, and the identical answer completes the deal', async () => {
    const t0 = Date.now();
    const { ctx, s, sent, merchantState } = await orderingAt(t0);
    // The merchant stores the order and answers; the answer is lost.
    const stored = await stepMerchant(merchantState, { type: 'order-received', order: orderOf(sent), now: t0 + 10 }, merchant);
    const r1 = await stepShopper(persist(s.state), lost(sent, t0 + 20), ctx);
    expect(r1.state.phase).toBe('retrying-order');
    expect(r1.effects).toEqual([]); // not failed: nothing settles the page
    expect(r1.send).toEqual([]);
    expect(pendingSends(r1.state)).toEqual([]); // a restart now sends nothing before the alarm
    expect(isTerminal(r1.state)).toBe(false);
    expect(wakeAt(r1.state)).toBe(t0 + 20 + retry.firstMs);
    // An early alarm changes nothing.
    await expect(stepShopper(r1.state, { type: 'timeout', now: t0 + 21 }, ctx)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    // The alarm: the very same order again (idempotent by deal at the merchant).
    const r2 = await stepShopper(persist(r1.state), { type: 'timeout', now: t0 + 20 + retry.firstMs }, ctx);
    expect(r2.send).toEqual([sent]);
    expect(pendingSends(r2.state)).toEqual([sent]); // in flight: a restart re-sends it
    const again = await stepMerchant(persist(stored.state), { type: 'order-received', order: orderOf(r2.send[0]!), now: t0 + 3_000 }, merchant);
    expect(replyOf(again)).toEqual(replyOf(stored));
    const r3 = await stepShopper(persist(r2.state), { type: 'reply', sent, reply: { kind: 'response', body: persist(replyOf(again)) }, now: t0 + 3_000 }, ctx);
    expect(r3.state.phase).toBe('completed');
  });

  it('backs off (doubling, capped) while the merchant is unreachable or overloaded (no answer, 408, 429, 5xx, an unreadable 2xx)', async () => {
    const t0 = Date.now();
    const { ctx, s, sent } = await orderingAt(t0);
    let state = s.state;
    let now = t0;
    const waits: number[] = [];
    for (const status of [undefined, 503, 429, 502, 408, 500, 200, undefined, undefined]) {
      const r = await stepShopper(state, lost(sent, now, status), ctx);
      expect(r.state.phase).toBe('retrying-order');
      const due = wakeAt(r.state)!;
      waits.push(due - now);
      now = due;
      const fire = await stepShopper(r.state, { type: 'timeout', now }, ctx);
      expect(fire.send).toEqual([sent]);
      state = fire.state;
    }
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
    expect(state.phase === 'retrying-order' && state.attempts).toBe(9);
  });

  it('a late transport error of an earlier attempt, while the next one waits, moves nothing', async () => {
    const t0 = Date.now();
    const { ctx, s, sent } = await orderingAt(t0);
    const r1 = await stepShopper(s.state, lost(sent, t0), ctx);
    const late = await stepShopper(r1.state, lost(sent, t0 + 1), ctx);
    expect(late.state).toBe(r1.state);
  });

  it("the merchant's error answer (4xx with its code) ends the deal with that code, also after retries", async () => {
    const t0 = Date.now();
    const { ctx, s, sent } = await orderingAt(t0);
    const refused = (now: number) =>
      ({ type: 'reply', sent, reply: { kind: 'error', status: 410, error: { code: 'ERR_OFFER_EXPIRED', message: 'offer expired' } }, now }) as const;
    const direct = await stepShopper(s.state, refused(t0), ctx);
    expect(direct.state.phase === 'failed' && direct.state.error.code).toBe('ERR_OFFER_EXPIRED');
    const r1 = await stepShopper(s.state, lost(sent, t0), ctx);
    const r2 = await stepShopper(r1.state, { type: 'timeout', now: wakeAt(r1.state)! }, ctx);
    const r3 = await stepShopper(r2.state, refused(wakeAt(r1.state)! + 5), ctx);
    expect(r3.state.phase === 'failed' && r3.state.error.code).toBe('ERR_OFFER_EXPIRED');
    expect(r3.effects).toEqual([{ kind: 'failed', dealId: s.state.dealId, error: { code: 'ERR_OFFER_EXPIRED', message: 'offer expired' } }]);
    // A typed error in a 200 body is the merchant's answer too.
    const r4 = await stepShopper(
      r2.state,
      { type: 'reply', sent, reply: { kind: 'response', body: { error: { code: 'ERR_REPLAY', message: 'no' } } }, now: t0 + 9 },
      ctx,
    );
    expect(r4.state.phase === 'failed' && r4.state.error.code).toBe('ERR_REPLAY');
  });

  it('no answer until the answer deadline (the offer expiry plus the window): ERR_ORDER_UNANSWERED, never before', async () => {
    const t0 = Date.now();
    const { ctx, s, sent, expiresAt } = await orderingAt(t0);
    const answerBy = expiresAt + retry.answerWindowMs;
    let state = s.state;
    let now = t0;
    let attempts = 0;
    for (;;) {
      const r = await stepShopper(state, lost(sent, now), ctx);
      attempts++;
      if (r.state.phase !== 'retrying-order') {
        expect(r.state.phase === 'failed' && r.state.error.code).toBe('ERR_ORDER_UNANSWERED');
        expect(now).toBeGreaterThanOrEqual(answerBy);
        break;
      }
      expect(r.state.answerBy).toBe(answerBy);
      const due = wakeAt(r.state)!;
      expect(due).toBeLessThanOrEqual(answerBy);
      now = due;
      const fire = await stepShopper(r.state, { type: 'timeout', now }, ctx);
      if (fire.state.phase === 'failed') {
        expect(fire.state.error.code).toBe('ERR_ORDER_UNANSWERED');
        expect(now).toBe(answerBy);
        expect(fire.effects).toEqual([expect.objectContaining({ kind: 'failed', error: expect.objectContaining({ code: 'ERR_ORDER_UNANSWERED' }) })]);
        break;
      }
      state = fire.state;
      expect(attempts).toBeLessThan(200);
    }
    // An attempt still on its way at the deadline does not keep the deal open for ever either.
    const r1 = await stepShopper(s.state, lost(sent, t0), ctx);
    const inFlight = await stepShopper(r1.state, { type: 'timeout', now: wakeAt(r1.state)! }, ctx);
    expect(wakeAt(inFlight.state)).toBe(answerBy);
    const ended = await stepShopper(inFlight.state, { type: 'timeout', now: answerBy }, ctx);
    expect(ended.state.phase === 'failed' && ended.state.error.code).toBe('ERR_ORDER_UNANSWERED');
  });

  it('the offer request is not retried: a failed offer request ends the deal (nothing was signed)', async () => {
    const s = start();
    const r = await stepShopper(s.state, lost(s.send[0]!, Date.now()), shopperCtx());
    expect(r.state.phase === 'failed' && r.state.error.code).toBe('ERR_INTERNAL');
  });
});

describe('mutation table (docs/mutation-purchase.md): each offer check has a test that fails without it', () => {
  const resignOffer = async (offer: Statement<OfferBody>, change: Omit<Partial<Statement<OfferBody>>, 'body'> & { body?: Partial<OfferBody> }) => {
    const { signature: _s, ...u } = offer;
    return signStatement({ ...u, ...change, body: { ...offer.body, ...(change.body ?? {}) } }, merchant.identity.signer, {
      signerRef: { kind: 'x509', chain: merchant.identity.chain },
    });
  };
  async function offerOutcome(items: { sku: string; quantity: number }[], change: (o: Statement<OfferBody>) => Promise<unknown>, ctx = shopperCtx()) {
    const s = start(items);
    const made = await makeOffer(s.send[0]!.body, { ...merchant, lookup: (sku) => [...catalog, atlas].find((c) => c.sku === sku) });
    const next = await stepShopper(s.state, { type: 'offer-response', response: await change(made.offer), now: Date.now() }, ctx);
    expect(next.effects.some((e) => e.kind === 'show-offer')).toBe(next.state.phase === 'awaiting-confirmation');
    return next.state.phase === 'failed' ? next.state.error.code : next.state.phase;
  }
  const atlas: CatalogItem = {
    sku: 'printed-atlas',
    title: 'Printed colour atlas',
    unitPrice: { amount: 9900, currency: 'EUR' },
    kind: 'physical',
    good: { mediaType: 'text/plain', content: '(shipped)' },
  };
  const ink = catalog[1]!;
  const item = (c: CatalogItem, quantity: number) => ({ sku: c.sku, title: c.title, quantity, unitPrice: c.unitPrice, kind: c.kind });

  it('an offer for other items than requested, with a total that adds up, is refused (extra item, missing item, other quantity)', async () => {
    const two = [
      { sku: 'colour-report', quantity: 1 },
      { sku: 'ink-abstract', quantity: 1 },
    ];
    const control = await offerOutcome(two, async (o) => ({ offer: o }));
    expect(control).toBe('awaiting-confirmation');
    // An item nobody asked for, priced into the total.
    expect(
      await offerOutcome([{ sku: 'colour-report', quantity: 1 }], async (o) => {
        const extra = { ...item(ink, 1), content: o.body.items[0]!.content! };
        return { offer: await resignOffer(o, { body: { items: [...o.body.items, extra], total: { amount: 1250 + 300, currency: 'EUR' } } }) };
      }),
    ).toBe('ERR_OFFER_INVALID');
    // A requested item left out, the total of the rest.
    expect(
      await offerOutcome(two, async (o) => ({
        offer: await resignOffer(o, { body: { items: [o.body.items[0]!], total: { amount: 1250, currency: 'EUR' } } }),
      })),
    ).toBe('ERR_OFFER_INVALID');
    // Another quantity, the total of it.
    expect(
      await offerOutcome([{ sku: 'colour-report', quantity: 1 }], async (o) => ({
        offer: await resignOffer(o, { body: { items: [{ ...o.body.items[0]!, quantity: 3 }], total: { amount: 3750, currency: 'EUR' } } }),
      })),
    ).toBe('ERR_OFFER_INVALID');
  });

  it('an offer whose items are in two currencies, or whose total is in another currency than its items, is refused', async () => {
    const two = [
      { sku: 'colour-report', quantity: 1 },
      { sku: 'ink-abstract', quantity: 1 },
    ];
    expect(
      await offerOutcome(two, async (o) => ({
        offer: await resignOffer(o, {
          body: { items: [o.body.items[0]!, { ...o.body.items[1]!, unitPrice: { amount: 300, currency: 'USD' } }], total: { amount: 1550, currency: 'EUR' } },
        }),
      })),
    ).toBe('ERR_OFFER_INVALID');
    expect(
      await offerOutcome([{ sku: 'colour-report', quantity: 1 }], async (o) => ({
        offer: await resignOffer(o, { body: { total: { amount: 1250, currency: 'USD' } } }),
      })),
    ).toBe('ERR_OFFER_INVALID');
  });

  it('a physical item that claims a content commitment is refused (it is not delivered in the deal)', async () => {
    expect(
      await offerOutcome([{ sku: 'printed-atlas', quantity: 1 }], async (o) => ({
        offer: await resignOffer(o, {
          body: { items: [{ ...o.body.items[0]!, content: { kind: 'content', mediaType: 'text/plain', digest: randomId(32), size: 9 } }] },
        }),
      })),
    ).toBe('ERR_OFFER_INVALID');
    expect(await offerOutcome([{ sku: 'printed-atlas', quantity: 1 }], async (o) => ({ offer: o }))).toBe('awaiting-confirmation');
  });

  it('an offer issued in the future (beyond the clock skew) is refused', async () => {
    expect(
      await offerOutcome([{ sku: 'colour-report', quantity: 1 }], async (o) => ({
        offer: await resignOffer(o, { issuedAt: new Date(Date.now() + 10 * 60_000).toISOString() }),
      })),
    ).toBe('ERR_OFFER_INVALID');
    expect(
      await offerOutcome([{ sku: 'colour-report', quantity: 1 }], async (o) => ({
        offer: await resignOffer(o, { issuedAt: new Date(Date.now() + 60_000).toISOString() }),
      })),
    ).toBe('awaiting-confirmation');
  });

  it("the merchant's certificate is checked for revocation: a revoked one never reaches the window", async () => {
    const checked: string[] = [];
    const ctx: ShopperContext = {
      ...shopperCtx(),
      isRevoked: async (cert) => {
        checked.push(cert.commonName);
        return cert.commonName === 'Fogra Forschungsgesellschaft Druck e.V.';
      },
    };
    expect(await offerOutcome([{ sku: 'colour-report', quantity: 1 }], async (o) => ({ offer: o }), ctx)).toBe('ERR_CERT_REVOKED');
    expect(checked).toContain('Fogra Forschungsgesellschaft Druck e.V.');
  });

  it('the confirmation and the delivery are checked for the revocation of their signer', async () => {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const r = await stepMerchant(made.state, { type: 'order-received', order: orderOf(s.send[0]!), now: Date.now() }, merchant);
    // Revoked after the offer: the answer is not accepted as the merchant's (it is sent again, and ends at the deadline).
    const revoked: ShopperContext = { ...ctx, isRevoked: async () => true };
    const next = await stepShopper(s.state, { type: 'order-response', response: replyOf(r), now: Date.now() }, revoked);
    expect(next.state.phase === 'retrying-order' && next.state.lastError.code).toBe('ERR_CERT_REVOKED');
  });

  it('the user confirms after the offer expired: no order is signed or sent (ERR_OFFER_EXPIRED)', async () => {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    const late = Date.parse(made.offer.body.expiresAt) + 1;
    const confirmed = await stepShopper(s.state, { type: 'user-confirmed', now: late }, ctx);
    expect(confirmed.state.phase === 'failed' && confirmed.state.error.code).toBe('ERR_OFFER_EXPIRED');
    expect(confirmed.send).toEqual([]);
    expect(confirmed.effects.some((e) => e.kind === 'archive')).toBe(false);
  });

  it("a delivery signed by a bare key is not the merchant's answer (ERR_CERT_UNTRUSTED)", async () => {
    const ctx = shopperCtx();
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const reply = replyOf(await stepMerchant(made.state, { type: 'order-received', order: orderOf(s.send[0]!), now: Date.now() }, merchant));
    const { signature: _s, ...u } = reply.delivery;
    const bare = await signStatement(u, merchant.identity.signer);
    const next = await stepShopper(s.state, { type: 'order-response', response: { ...reply, delivery: bare }, now: Date.now() }, ctx);
    expect(next.state.phase === 'retrying-order' && next.state.lastError.code).toBe('ERR_CERT_UNTRUSTED');
  });
});

describe('mutation table (docs/mutation-purchase.md): each delivery and retry check has a test that fails without it', () => {
  async function ordered() {
    const ctx: ShopperContext = { ...shopperCtx(), orderRetry: { firstMs: 2_000, maxMs: 60_000, answerWindowMs: 3_600_000 } };
    let s = start();
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const reply = replyOf(await stepMerchant(made.state, { type: 'order-received', order: orderOf(s.send[0]!), now: Date.now() }, merchant));
    return { ctx, s, reply, offer: made.offer };
  }
  const resignAs = async <B>(st: Statement<B>, body: Partial<B>) => {
    const { signature: _s, ...u } = st;
    return signStatement({ ...u, body: { ...st.body, ...body } }, merchant.identity.signer, { signerRef: { kind: 'x509', chain: merchant.identity.chain } });
  };

  it('the same good delivered twice is a mismatch (duplicate), even when both are what was offered', async () => {
    const { ctx, s, reply } = await ordered();
    const g = reply.delivery.body.goods[0]!;
    const next = await stepShopper(
      s.state,
      { type: 'order-response', response: { ...reply, delivery: await resignAs(reply.delivery, { goods: [g, g] }) }, now: Date.now() },
      ctx,
    );
    expect(next.state.phase === 'delivery-mismatch' && next.state.mismatches).toEqual([{ sku: 'colour-report', what: 'duplicate' }]);
  });

  it('the right content under a wrong digest of its own is a mismatch (digest): the signed delivery must state its content right', async () => {
    const { ctx, s, reply } = await ordered();
    const goods = reply.delivery.body.goods.map((g) => ({ ...g, digest: randomId(32) }));
    const next = await stepShopper(
      s.state,
      { type: 'order-response', response: { ...reply, delivery: await resignAs(reply.delivery, { goods }) }, now: Date.now() },
      ctx,
    );
    expect(next.state.phase === 'delivery-mismatch' && next.state.mismatches).toEqual([{ sku: 'colour-report', what: 'digest' }]);
  });

  it('an offer whose committed size is not the size of the content it names: the delivery is a mismatch (size)', async () => {
    const ctx = shopperCtx();
    let s = start([{ sku: 'colour-report', quantity: 1 }]);
    const made = await makeOffer(s.send[0]!.body, merchant);
    const { signature: _s, ...u } = made.offer;
    const items = made.offer.body.items.map((i) => (i.content?.kind === 'content' ? { ...i, content: { ...i.content, size: i.content.size + 1000 } } : i));
    const offer = await signStatement({ ...u, body: { ...made.offer.body, items } }, merchant.identity.signer, {
      signerRef: { kind: 'x509', chain: merchant.identity.chain },
    });
    // The merchant's own state holds the offer it signed: the shopper orders that one.
    const mState = { ...made.state, offer, offerDigest: await statementDigestOf(offer) } as MerchantDealState;
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer }, now: Date.now() }, ctx);
    s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const reply = replyOf(await stepMerchant(mState, { type: 'order-received', order: orderOf(s.send[0]!), now: Date.now() }, merchant));
    const next = await stepShopper(s.state, { type: 'order-response', response: reply, now: Date.now() }, ctx);
    expect(next.state.phase === 'delivery-mismatch' && next.state.mismatches).toEqual([{ sku: 'colour-report', what: 'size' }]);
  });

  it('an attempt that fails after the answer deadline ends the deal at once (no further attempt, no further alarm)', async () => {
    const { ctx, s, offer } = await ordered();
    const answerBy = Date.parse(offer.body.expiresAt) + 3_600_000;
    const sent = s.send[0]!;
    const lost = (now: number) => ({ type: 'reply', sent, reply: { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'reset' } }, now }) as const;
    const r1 = await stepShopper(s.state, lost(Date.now()), ctx);
    const inFlight = await stepShopper(r1.state, { type: 'timeout', now: wakeAt(r1.state)! }, ctx);
    const late = await stepShopper(inFlight.state, lost(answerBy + 5), ctx);
    expect(late.state.phase === 'failed' && late.state.error.code).toBe('ERR_ORDER_UNANSWERED');
    expect(wakeAt(late.state)).toBeNull();
  });
});

describe('mutation table (docs/mutation-purchase.md): each merchant check has a test that fails without it', () => {
  async function offeredAndOrder() {
    const ctx = shopperCtx();
    let s = start([{ sku: 'ink-abstract', quantity: 1 }]);
    const made = await makeOffer(s.send[0]!.body, merchant);
    s = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    const ordering = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    return { made, order: orderOf(ordering.send[0]!) as Statement };
  }

  it('an offer request for another deal than the one the host stepped is refused', async () => {
    const request = { dealId: randomId(18), nonce: randomId(32), items: [{ sku: 'ink-abstract', quantity: 1 }] };
    await expect(stepMerchant(newMerchantDeal(randomId(18)), { type: 'offer-requested', request, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
  });

  it('once the order is confirmed, the offer request is not answered again (ERR_REPLAY)', async () => {
    const s = start([{ sku: 'ink-abstract', quantity: 1 }]);
    const request = s.send[0]!.body;
    const made = await makeOffer(request, merchant);
    const ctx = shopperCtx();
    const shown = await stepShopper(s.state, { type: 'offer-response', response: { offer: made.offer }, now: Date.now() }, ctx);
    const ordering = await stepShopper(shown.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    const confirmed = await stepMerchant(made.state, { type: 'order-received', order: orderOf(ordering.send[0]!), now: Date.now() }, merchant);
    await expect(stepMerchant(confirmed.state, { type: 'offer-requested', request, now: Date.now() }, merchant)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
  });

  it("an order for this deal's offer that names another deal id is refused", async () => {
    const { made, order } = await offeredAndOrder();
    const { signature: _s, ...u } = order;
    const relabelled = await signStatement({ ...u, dealId: randomId(18) }, shopperSigner);
    await expect(stepMerchant(made.state, { type: 'order-received', order: relabelled, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ORDER_INVALID',
    });
  });

  it('the shopper-role check: an order signed with a certificate of another role (a merchant, a TTP) is refused; a shopper certificate is accepted', async () => {
    const { made, order } = await offeredAndOrder();
    const withTrust: MerchantContext = { ...merchant, trust: { roots: [ca.root] } };
    const { signature: _s, ...u } = order;
    for (const role of ['merchant', 'ttp'] as const) {
      const other = await ca.issue({ commonName: `Not A Shopper (${role})`, role, origins: role === 'merchant' ? [ORIGIN] : [] });
      const signed = await signStatement(u, other.signer, { signerRef: { kind: 'x509', chain: other.chain } });
      await expect(stepMerchant(made.state, { type: 'order-received', order: signed, now: Date.now() }, withTrust)).rejects.toMatchObject({
        code: 'ERR_CERT_UNTRUSTED',
      });
    }
    const shopper = await ca.issue({ commonName: 'A Shopper', role: 'shopper' });
    const signed = await signStatement(u, shopper.signer, { signerRef: { kind: 'x509', chain: shopper.chain } });
    expect((await stepMerchant(made.state, { type: 'order-received', order: signed, now: Date.now() }, withTrust)).state.phase).toBe('confirmed');
  });

  it('an order for a payment method the offer does not list is refused', async () => {
    const { made, order } = await offeredAndOrder();
    if (made.state.phase !== 'offered') throw new Error(made.state.phase);
    // (One payment method exists today, so the stored offer is made to list none.)
    const noInvoice = { ...made.state, offer: { ...made.state.offer, body: { ...made.state.offer.body, paymentMethods: [] } } } as unknown as MerchantDealState;
    await expect(stepMerchant(noInvoice, { type: 'order-received', order, now: Date.now() }, merchant)).rejects.toMatchObject({ code: 'ERR_ORDER_INVALID' });
  });
});
