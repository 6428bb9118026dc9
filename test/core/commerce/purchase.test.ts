import { describe, expect, it, beforeAll } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { signStatement, verifyStatement, type Statement } from '../../../core/statements/index.js';
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
import type { OfferBody } from '../../../core/protocol/commerce.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';

const ORIGIN = 'http://127.0.0.1:8451';
const catalog: CatalogItem[] = [
  {
    sku: 'colour-report',
    title: 'Colour management report',
    unitPrice: { amount: 1250, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'ISO 12647 in practice…' },
  },
  {
    sku: 'ink-abstract',
    title: 'Ink abstract',
    unitPrice: { amount: 300, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'Abstract.' },
  },
];

let ca: TestCa;
let merchant: MerchantContext;
let shopperSigner: Signer;
beforeAll(async () => {
  ca = await makeTestCa();
  const m = await ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: [ORIGIN] });
  merchant = {
    identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
    lookup: (sku) => catalog.find((c) => c.sku === sku),
    offerTtlMs: 600_000,
    terms: 'Digital goods, no returns.',
    random: cryptoRandom,
  };
  shopperSigner = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
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
  async function outcome(f: (reply: Awaited<ReturnType<typeof ordering>>['reply']) => Promise<unknown>) {
    const { ctx, s, reply } = await ordering();
    const next = await stepShopper(s.state, { type: 'order-response', response: await f(reply), now: Date.now() }, ctx);
    expect(next.effects.some((e) => e.kind === 'finished')).toBe(false);
    return next.state.phase === 'failed' ? next.state.error.code : next.state.phase;
  }
  it('a delivery whose content does not match its digest', async () => {
    expect(
      await outcome(async (r) => ({
        ...r,
        delivery: await resignAs(r.delivery, { goods: r.delivery.body.goods.map((g) => ({ ...g, content: 'something else' })) }),
      })),
    ).toBe('ERR_ORDER_INVALID');
  });
  it('a delivery that leaves out the goods', async () => {
    expect(await outcome(async (r) => ({ ...r, delivery: await resignAs(r.delivery, { goods: [] }) }))).toBe('ERR_ORDER_INVALID');
  });
  it('a confirmation for another order or another total', async () => {
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { orderDigest: randomId(32) }) }))).toBe('ERR_ORDER_INVALID');
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, { total: { amount: 1, currency: 'EUR' } }) }))).toBe(
      'ERR_ORDER_INVALID',
    );
  });
  it('a confirmation signed by another certified merchant', async () => {
    const other = await ca.issue({ commonName: 'Other Shop', role: 'merchant', origins: [ORIGIN] });
    expect(await outcome(async (r) => ({ ...r, confirmation: await resignAs(r.confirmation, {}, other.signer, other.chain) }))).toBe('ERR_SIGNATURE_INVALID');
  });
  it('a merchant error reply ends the deal with that error', async () => {
    expect(await outcome(async () => ({ error: { code: 'ERR_OFFER_EXPIRED', message: 'too late' } }))).toBe('ERR_OFFER_EXPIRED');
  });
});
