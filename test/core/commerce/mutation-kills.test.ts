/**
 * Tests written for the mutation table (docs/mutation-purchase.md, test/mutation/purchase.ts): each
 * attacks one check of the purchase roles that no other test failed without. The attacker holds
 * valid keys and certificates, signs his own messages and picks every field.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Signer } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { signStatement, type Statement } from '../../../core/statements/index.js';
import {
  newMerchantDeal,
  startPurchase,
  stepMerchant,
  stepShopper,
  type MerchantContext,
  type MerchantDealState,
  type Outbound,
  type ShopperContext,
  type ShopperStep,
} from '../../../core/commerce/index.js';
import { createWebAuthnVerifier } from '../../../core/crypto/webauthn.js';
import { cryptoRandom } from '../../../core/machine.js';
import { EXTENSION_ORIGIN } from '../../../core/protocol/extension-id.js';
import type { OfferBody } from '../../../core/protocol/commerce.js';
import { orderToSign, type ShopperState } from '../../../core/commerce/shopper.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import type { TestCa } from '../../helpers/pki.js';
import { makePurchaseWorld, ORIGIN } from './fixtures.js';

const EXT = EXTENSION_ORIGIN;
const verifier = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT], requireUserVerification: false });

let ca: TestCa;
let merchant: MerchantContext;
let shopperSigner: Signer;
beforeAll(async () => {
  ({ ca, merchant, shopperSigner } = await makePurchaseWorld());
});

const shopperCtx = (): ShopperContext => ({ roots: [ca.root], signer: shopperSigner, random: cryptoRandom });
const persist = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function orderOf(out: Outbound): Statement {
  if (out.path !== '/semper/order') throw new Error(`expected an order, got ${out.path}`);
  return persist(out.body.order) as Statement;
}

function start(items = [{ sku: 'colour-report', quantity: 1 }]) {
  return startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: ORIGIN, items, now: Date.now() });
}

/** A deal up to the shopper's order: the shopper's state (ordering), the merchant's (offered), the order. */
async function ordering(items?: { sku: string; quantity: number }[], ctx: ShopperContext = shopperCtx()) {
  let s: ShopperStep = start(items);
  const made = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now: Date.now() }, merchant);
  const offer = (made.send[0]!.body as { offer: Statement<OfferBody> }).offer;
  s = await stepShopper(s.state, { type: 'offer-response', response: { offer }, now: Date.now() }, ctx);
  s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
  return { ctx, s, mState: made.state as MerchantDealState, offer, order: orderOf(s.send[0]!) };
}

describe("the merchant's error answers", () => {
  it('a code that is not an ERR_ code reaches the page as ERR_INTERNAL, whether in a 2xx body or a 4xx answer', async () => {
    const { ctx, s } = await ordering();
    const inBody = await stepShopper(
      s.state,
      { type: 'order-response', response: { error: { code: 'ERR_x"><img src=x>', message: 'no' } }, now: Date.now() },
      ctx,
    );
    expect(inBody.state.phase === 'failed' && inBody.state.error.code).toBe('ERR_INTERNAL');
    const refused = await stepShopper(s.state, { type: 'transport-error', error: { code: 'PAY_ME_FIRST', message: 'no' }, status: 403, now: Date.now() }, ctx);
    expect(refused.state.phase === 'failed' && refused.state.error.code).toBe('ERR_INTERNAL');
    const typed = await stepShopper(
      s.state,
      { type: 'transport-error', error: { code: 'ERR_OFFER_EXPIRED', message: 'late' }, status: 410, now: Date.now() },
      ctx,
    );
    expect(typed.state.phase === 'failed' && typed.state.error.code).toBe('ERR_OFFER_EXPIRED');
  });
});

/** The shopper's step on the offer the merchant `m` makes for `items`. */
async function shown(items = [{ sku: 'colour-report', quantity: 1 }], ctx: ShopperContext = shopperCtx(), m: MerchantContext = merchant) {
  const s = start(items);
  const made = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now: Date.now() }, m);
  const next = await stepShopper(s.state, { type: 'offer-response', response: made.send[0]!.body, now: Date.now() }, ctx);
  return {
    next,
    mState: made.state as MerchantDealState,
    request: s.send[0]!.body as { dealId: string; nonce: string; items: { sku: string; quantity: number }[] },
  };
}

describe('offers', () => {
  it("the merchant's error answer to the offer request ends the deal with ERR_OFFER_UNKNOWN, nothing shown", async () => {
    const s = start();
    const next = await stepShopper(
      s.state,
      { type: 'offer-response', response: { error: { code: 'ERR_NOT_FOUND', message: 'no product' } }, now: Date.now() },
      shopperCtx(),
    );
    expect(next.state.phase === 'failed' && next.state.error.code).toBe('ERR_OFFER_UNKNOWN');
    expect(next.effects.some((e) => e.kind === 'show-offer')).toBe(false);
  });
});

describe("the shopper's signature requirement", () => {
  it('a threshold in another currency than the offer always asks for a hardware token with user verification', async () => {
    const ctx: ShopperContext = { ...shopperCtx(), policy: { hardwareTokenAbove: { amount: 1_000_000, currency: 'USD' } } };
    const { next } = await shown(undefined, ctx);
    if (next.state.phase !== 'awaiting-confirmation') throw new Error(next.state.phase);
    expect(next.state.view.signature).toEqual({ hardwareToken: true, userVerification: true, because: ['amount'] });
    await expect(stepShopper(next.state, { type: 'user-confirmed', now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_HARDWARE_TOKEN_REQUIRED' });
    // The same threshold in the offer's currency, above the total: the device key signs.
    const same: ShopperContext = { ...shopperCtx(), policy: { hardwareTokenAbove: { amount: 1_000_000, currency: 'EUR' } } };
    const ok = await shown(undefined, same);
    expect((await stepShopper(ok.next.state, { type: 'user-confirmed', now: Date.now() }, same)).state.phase).toBe('ordering');
  });

  it('a merchant demand for user verification alone still refuses the device key (it cannot verify the user)', async () => {
    const uvOnly: MerchantContext = { ...merchant, requireHardwareToken: () => ({ hardwareToken: false, userVerification: true }) };
    const ctx = shopperCtx();
    const { next } = await shown(undefined, ctx, uvOnly);
    if (next.state.phase !== 'awaiting-confirmation') throw new Error(next.state.phase);
    expect(next.state.view.signature).toEqual({ hardwareToken: false, userVerification: true, because: ['merchant'] });
    await expect(stepShopper(next.state, { type: 'user-confirmed', now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_HARDWARE_TOKEN_REQUIRED' });
  });
});

describe('orders signed with a hardware token in the trusted window', () => {
  const tokenCtx = (): ShopperContext => ({ ...shopperCtx(), webauthn: verifier });
  async function tokenOrder(state: ShopperState, token: SoftAuthenticator, issuedAt: number): Promise<Statement> {
    const { signature: _h, ...unsigned } = orderToSign(state, issuedAt, { alg: 'webauthn-ES256', signer: token.signerRef });
    return token.signStatement(unsigned);
  }

  it('an order issued more than 10 minutes before or after now is not fresh (ERR_ORDER_INVALID); the deal stays open', async () => {
    const ctx = tokenCtx();
    const { next } = await shown(undefined, ctx);
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const now = Date.now();
    for (const issuedAt of [now - 11 * 60_000, now + 11 * 60_000]) {
      const order = await tokenOrder(next.state, token, issuedAt);
      await expect(stepShopper(next.state, { type: 'order-signed', order, now }, ctx)).rejects.toMatchObject({
        code: 'ERR_ORDER_INVALID',
        message: expect.stringMatching(/not fresh/),
      });
    }
    const fresh = await tokenOrder(next.state, token, now - 9 * 60_000);
    expect((await stepShopper(next.state, { type: 'order-signed', order: fresh, now }, ctx)).state.phase).toBe('ordering');
  });

  it('an order signed after the offer expired is not sent: the deal ends ERR_OFFER_EXPIRED', async () => {
    const ctx = tokenCtx();
    const { next } = await shown(undefined, ctx);
    if (next.state.phase !== 'awaiting-confirmation') throw new Error(next.state.phase);
    const late = Date.parse(next.state.view.expiresAt) + 1;
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const order = await tokenOrder(next.state, token, late);
    const r = await stepShopper(next.state, { type: 'order-signed', order, now: late }, ctx);
    expect(r.state.phase === 'failed' && r.state.error.code).toBe('ERR_OFFER_EXPIRED');
    expect(r.send).toEqual([]);
  });
});

describe('the merchant: repeated offer requests', () => {
  it('a request naming another deal with the same nonce and items is a replay', async () => {
    const { mState, request } = await shown();
    await expect(
      stepMerchant(mState, { type: 'offer-requested', request: { ...request, dealId: randomId(18) }, now: Date.now() }, merchant),
    ).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
    expect((await stepMerchant(mState, { type: 'offer-requested', request, now: Date.now() }, merchant)).state).toBe(mState);
  });

  it('a request naming only some of the offered items is a replay', async () => {
    const two = [
      { sku: 'colour-report', quantity: 1 },
      { sku: 'ink-abstract', quantity: 1 },
    ];
    const { mState, request } = await shown(two);
    await expect(stepMerchant(mState, { type: 'offer-requested', request: { ...request, items: [two[0]!] }, now: Date.now() }, merchant)).rejects.toMatchObject(
      { code: 'ERR_REPLAY' },
    );
  });
});

describe('the merchant: orders', () => {
  const resignOrder = async (order: Statement, body: Record<string, unknown>, signer: Signer = shopperSigner) => {
    const { signature: _s, ...u } = order;
    return signStatement({ ...u, body }, signer);
  };

  it('an order whose signed body carries more than an order (extra terms) is refused (ERR_SCHEMA), nothing confirmed', async () => {
    const { mState, order } = await ordering();
    const extra = await resignOrder(order, { ...(order.body as Record<string, unknown>), note: 'I pay 1 EUR only' });
    await expect(stepMerchant(mState, { type: 'order-received', order: extra, now: Date.now() }, merchant)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    const { paymentMethod: _p, ...noMethod } = order.body as Record<string, unknown>;
    await expect(stepMerchant(mState, { type: 'order-received', order: await resignOrder(order, noMethod), now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
  });

  it("an order with the offer's digest but another offer id is refused (ERR_ORDER_INVALID)", async () => {
    const { mState, order } = await ordering();
    const other = await resignOrder(order, { ...(order.body as Record<string, unknown>), offerId: randomId(18) });
    await expect(stepMerchant(mState, { type: 'order-received', order: other, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ORDER_INVALID',
    });
  });

  it("an order with the offer's id but another offer digest is refused (ERR_ORDER_INVALID)", async () => {
    const { mState, order } = await ordering();
    const other = await resignOrder(order, { ...(order.body as Record<string, unknown>), offerDigest: randomId(32) });
    await expect(stepMerchant(mState, { type: 'order-received', order: other, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ORDER_INVALID',
    });
  });

  it("a certified order whose shopper certificate is revoked is refused (ERR_CERT_REVOKED); the merchant asked about the shopper's certificate", async () => {
    const { mState, order } = await ordering();
    const shopper = await ca.issue({ commonName: 'A Shopper', role: 'shopper' });
    const { signature: _s, ...u } = order;
    const certified = await signStatement(u, shopper.signer, { signerRef: { kind: 'x509', chain: shopper.chain } });
    const asked: string[] = [];
    const revoked: MerchantContext = {
      ...merchant,
      trust: {
        roots: [ca.root],
        isRevoked: async (cert) => {
          asked.push(cert.commonName);
          return cert.commonName === 'A Shopper';
        },
      },
    };
    await expect(stepMerchant(mState, { type: 'order-received', order: certified, now: Date.now() }, revoked)).rejects.toMatchObject({
      code: 'ERR_CERT_REVOKED',
    });
    expect(asked).toContain('A Shopper');
    const good: MerchantContext = { ...merchant, trust: { roots: [ca.root], isRevoked: async () => false } };
    expect((await stepMerchant(mState, { type: 'order-received', order: certified, now: Date.now() }, good)).state.phase).toBe('confirmed');
  });
});

describe('statement types: a signer cannot pass one kind of statement off as another', () => {
  const merchantSigns = <B>(st: Statement<B>, type: string) => {
    const { signature: _s, ...u } = st;
    return signStatement({ ...u, type }, merchant.identity.signer, { signerRef: { kind: 'x509', chain: merchant.identity.chain } });
  };

  it('an offer body the merchant signed as another type of statement is not an offer (ERR_STATEMENT_TYPE), nothing shown', async () => {
    const s = start();
    const made = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now: Date.now() }, merchant);
    const offer = (made.send[0]!.body as { offer: Statement<OfferBody> }).offer;
    const next = await stepShopper(
      s.state,
      { type: 'offer-response', response: { offer: await merchantSigns(offer, 'semper.order-confirmation') }, now: Date.now() },
      shopperCtx(),
    );
    expect(next.state.phase === 'failed' && next.state.error.code).toBe('ERR_STATEMENT_TYPE');
    expect(next.effects.some((e) => e.kind === 'show-offer')).toBe(false);
  });

  it("a confirmation or a delivery signed as another type is not the merchant's answer (retried, ERR_STATEMENT_TYPE)", async () => {
    const { ctx, s, mState, order } = await ordering();
    const answer = (await stepMerchant(mState, { type: 'order-received', order, now: Date.now() }, merchant)).send[0]!.body as {
      confirmation: Statement;
      delivery: Statement;
    };
    for (const response of [
      { ...answer, confirmation: await merchantSigns(answer.confirmation, 'semper.offer') },
      { ...answer, delivery: await merchantSigns(answer.delivery, 'semper.offer') },
    ]) {
      const next = await stepShopper(s.state, { type: 'order-response', response, now: Date.now() }, ctx);
      expect(next.state.phase === 'retrying-order' && next.state.lastError.code).toBe('ERR_STATEMENT_TYPE');
    }
    expect((await stepShopper(s.state, { type: 'order-response', response: answer, now: Date.now() }, ctx)).state.phase).toBe('completed');
  });

  it('an order body the shopper signed as another type is not an order (ERR_STATEMENT_TYPE), nothing confirmed', async () => {
    const { mState, order } = await ordering();
    const { signature: _s, ...u } = order;
    const offerTyped = await signStatement({ ...u, type: 'semper.offer' }, shopperSigner);
    await expect(stepMerchant(mState, { type: 'order-received', order: offerTyped, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_STATEMENT_TYPE',
    });
  });

  it('a token-signed order body of another type is not sent (ERR_STATEMENT_TYPE); the deal stays open', async () => {
    const ctx: ShopperContext = { ...shopperCtx(), webauthn: verifier };
    const { next } = await shown(undefined, ctx);
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const { signature: _h, ...unsigned } = orderToSign(next.state, Date.now(), { alg: 'webauthn-ES256', signer: token.signerRef });
    const offerTyped = await token.signStatement({ ...unsigned, type: 'semper.offer' });
    await expect(stepShopper(next.state, { type: 'order-signed', order: offerTyped, now: Date.now() }, ctx)).rejects.toMatchObject({
      code: 'ERR_STATEMENT_TYPE',
    });
    const right = await token.signStatement(unsigned);
    expect((await stepShopper(next.state, { type: 'order-signed', order: right, now: Date.now() }, ctx)).state.phase).toBe('ordering');
  });
});
