import { describe, expect, it, beforeAll } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../../core/crypto/index.js';
import { createWebAuthnVerifier } from '../../../core/crypto/webauthn.js';
import { randomId } from '../../../core/encoding/index.js';
import {
  newMerchantDeal,
  orderToSign,
  startPurchase,
  stepMerchant,
  stepShopper,
  type CatalogItem,
  type MerchantContext,
  type ShopperContext,
  type ShopperState,
} from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import type { Statement } from '../../../core/statements/index.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import { makeTestCa } from '../../helpers/pki.js';

const ORIGIN = 'http://127.0.0.1:8451';
const EXT = 'chrome-extension://ogebgngddklbcapdihmjkemgigajimlo';
const verifier = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT], requireUserVerification: false });
const catalog: CatalogItem[] = [
  {
    sku: 'archive',
    title: 'Complete Standards Archive',
    unitPrice: { amount: 24900, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'All of it.' },
  },
  { sku: 'abstract', title: 'Abstract', unitPrice: { amount: 300, currency: 'EUR' }, kind: 'digital', good: { mediaType: 'text/plain', content: 'Short.' } },
];

let merchant: MerchantContext;
let device: Signer;
let roots: string[];
beforeAll(async () => {
  const ca = await makeTestCa();
  roots = [ca.root];
  const m = await ca.issue({ commonName: 'Fogra', role: 'merchant', origins: [ORIGIN] });
  merchant = {
    identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
    lookup: (sku) => catalog.find((c) => c.sku === sku),
    offerTtlMs: 600_000,
    terms: 'Terms.',
    random: cryptoRandom,
    webauthn: verifier,
    // The merchant demands a token with user verification above 100 EUR.
    requireHardwareToken: (_items, total) => (total.amount > 10_000 ? { hardwareToken: true, userVerification: true } : undefined),
  };
  device = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
});

async function offered(sku: string, ctx: ShopperContext) {
  const s = startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: ORIGIN, items: [{ sku, quantity: 1 }], now: Date.now() });
  const made = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now: Date.now() }, merchant);
  const next = await stepShopper(s.state, { type: 'offer-response', response: made.send[0]!.body, now: Date.now() }, ctx);
  return { state: next.state, mState: made.state, effects: next.effects };
}

async function tokenOrder(state: ShopperState, token: SoftAuthenticator): Promise<Statement> {
  const { signature: _h, ...unsigned } = orderToSign(state, Date.now(), { alg: 'webauthn-ES256', signer: token.signerRef });
  return token.signStatement(unsigned);
}

describe('hardware-token orders', () => {
  it('a merchant demand is shown in the verified view, refuses the device key, and accepts a UV token order end to end', async () => {
    const ctx: ShopperContext = { roots, signer: device, random: cryptoRandom, webauthn: verifier };
    const { state, mState } = await offered('archive', ctx);
    if (state.phase !== 'awaiting-confirmation') throw new Error(state.phase);
    expect(state.view.signature).toEqual({ hardwareToken: true, userVerification: true, because: ['merchant'] });
    await expect(stepShopper(state, { type: 'user-confirmed', now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_HARDWARE_TOKEN_REQUIRED' });
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT, userVerification: true });
    const s = await stepShopper(state, { type: 'order-signed', order: await tokenOrder(state, token), now: Date.now() }, ctx);
    expect(s.state.phase).toBe('ordering');
    const order = (s.send[0]!.body as { order: Statement }).order;
    const r = await stepMerchant(mState, { type: 'order-received', order, now: Date.now() }, merchant);
    expect(r.state.phase).toBe('confirmed');
  });

  it('a token without user verification is refused by the shopper machine and by the merchant', async () => {
    const ctx: ShopperContext = { roots, signer: device, random: cryptoRandom, webauthn: verifier };
    const { state, mState } = await offered('archive', ctx);
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT, userVerification: false });
    const order = await tokenOrder(state, token);
    await expect(stepShopper(state, { type: 'order-signed', order, now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_HARDWARE_TOKEN_REQUIRED' });
    await expect(stepMerchant(mState, { type: 'order-received', order, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_HARDWARE_TOKEN_REQUIRED',
    });
  });

  it('the merchant refuses a device-key order for an offer that demands a token (a shopper cannot skip the demand)', async () => {
    const ctx: ShopperContext = { roots, signer: device, random: cryptoRandom };
    const { state, mState } = await offered('archive', ctx);
    const { signature: h, ...unsigned } = orderToSign(state, Date.now(), { alg: 'ES256', signer: { kind: 'jwk', jwk: device.publicJwk } });
    const { signStatement } = await import('../../../core/statements/index.js');
    const order = await signStatement(unsigned, device, { signerRef: h.signer });
    await expect(stepMerchant(mState, { type: 'order-received', order, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_HARDWARE_TOKEN_REQUIRED',
    });
  });

  it("the shopper's own amount threshold requires a token even when the merchant does not", async () => {
    const ctx: ShopperContext = {
      roots,
      signer: device,
      random: cryptoRandom,
      webauthn: verifier,
      policy: { hardwareTokenAbove: { amount: 200, currency: 'EUR' } },
    };
    const { state } = await offered('abstract', ctx);
    if (state.phase !== 'awaiting-confirmation') throw new Error(state.phase);
    expect(state.view.signature).toEqual({ hardwareToken: true, userVerification: true, because: ['amount'] });
    await expect(stepShopper(state, { type: 'user-confirmed', now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_HARDWARE_TOKEN_REQUIRED' });
    const below = await offered('abstract', { ...ctx, policy: { hardwareTokenAbove: { amount: 300, currency: 'EUR' } } });
    const s = await stepShopper(below.state, { type: 'user-confirmed', now: Date.now() }, ctx);
    expect(s.state.phase).toBe('ordering');
  });

  it('a token-signed order for something else is refused and the deal stays open', async () => {
    const ctx: ShopperContext = { roots, signer: device, random: cryptoRandom, webauthn: verifier };
    const a = await offered('archive', ctx);
    const b = await offered('archive', ctx);
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const orderForB = await tokenOrder(b.state, token);
    await expect(stepShopper(a.state, { type: 'order-signed', order: orderForB, now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_ORDER_INVALID' });
    // Without a WebAuthn verifier configured, token orders are not accepted at all.
    await expect(
      stepShopper(b.state, { type: 'order-signed', order: orderForB, now: Date.now() }, { roots, signer: device, random: cryptoRandom }),
    ).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
  });
});

describe('mutation table (docs/mutation-purchase.md): the token checks one at a time', () => {
  it('a demand for a hardware token without user verification still refuses a device key (merchant)', async () => {
    const tokenOnly: MerchantContext = { ...merchant, requireHardwareToken: () => ({ hardwareToken: true, userVerification: false }) };
    const s = startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: ORIGIN, items: [{ sku: 'abstract', quantity: 1 }], now: Date.now() });
    const made = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now: Date.now() }, tokenOnly);
    const ctx: ShopperContext = { roots, signer: device, random: cryptoRandom, webauthn: verifier };
    const shown = await stepShopper(s.state, { type: 'offer-response', response: made.send[0]!.body, now: Date.now() }, ctx);
    const state = shown.state;
    const { signature: h, ...unsigned } = orderToSign(state, Date.now(), { alg: 'ES256', signer: { kind: 'jwk', jwk: device.publicJwk } });
    const { signStatement } = await import('../../../core/statements/index.js');
    const order = await signStatement(unsigned, device, { signerRef: h.signer });
    await expect(stepMerchant(made.state, { type: 'order-received', order, now: Date.now() }, tokenOnly)).rejects.toMatchObject({
      code: 'ERR_HARDWARE_TOKEN_REQUIRED',
    });
    // A token without user verification is enough here.
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT, userVerification: false });
    const byToken = await tokenOrder(state, token);
    expect((await stepMerchant(made.state, { type: 'order-received', order: byToken, now: Date.now() }, tokenOnly)).state.phase).toBe('confirmed');
  });

  it('a token-signed order naming this offer but another deal, or this deal but another offer, is refused', async () => {
    const ctx: ShopperContext = { roots, signer: device, random: cryptoRandom, webauthn: verifier };
    const a = await offered('archive', ctx);
    const b = await offered('archive', ctx);
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const forA = orderToSign(a.state, Date.now(), { alg: 'webauthn-ES256', signer: token.signerRef });
    const forB = orderToSign(b.state, Date.now(), { alg: 'webauthn-ES256', signer: token.signerRef });
    const { signature: _a, ...unsignedA } = forA;
    const { signature: _b, ...unsignedB } = forB;
    // B's order, relabelled with A's deal id.
    const otherDeal = await token.signStatement({ ...unsignedB, dealId: a.state.dealId });
    await expect(stepShopper(b.state, { type: 'order-signed', order: otherDeal, now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_ORDER_INVALID' });
    // B's deal id, A's offer.
    const otherOffer = await token.signStatement({ ...unsignedB, body: unsignedA.body });
    await expect(stepShopper(b.state, { type: 'order-signed', order: otherOffer, now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_ORDER_INVALID' });
    // The right one is taken.
    const right = await token.signStatement(unsignedB);
    expect((await stepShopper(b.state, { type: 'order-signed', order: right, now: Date.now() }, ctx)).state.phase).toBe('ordering');
  });
});
