/**
 * The shopper's exchange-deal machine (core/commerce/exchange-shopper.ts) on its own, against the
 * real merchant kit: what confirmation re-checks (expiry, the TTP still trusted, the items and the
 * protocol for the signing key), that the exchange runs on with the key that signed m1 only, that
 * a late descriptor answer moves nothing and a merchant cannot make the worker take more than a few
 * replies at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmedItems,
  exchangeShopper,
  signFixedStatement,
  type ExchangeAgreement,
  type ExchangeDealState,
  type ExchangeShopperContext,
} from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import type { Signer } from '../../../core/crypto/index.js';
import { nowIso, signStatement } from '../../../core/statements/index.js';
import { EXCHANGE_CONTRACTS } from '../../../server/shop/exchange-uses.js';
import { EX_ORIGIN, makeExchangeWorld, newShopper, type ExchangeWorld } from '../../helpers/exchange.js';

let world: ExchangeWorld;
let shopper: Signer;
beforeAll(async () => {
  world = await makeExchangeWorld();
  shopper = await newShopper();
});
afterAll(async () => {
  await world?.close();
});

const ctx = (over: Partial<ExchangeShopperContext> = {}): ExchangeShopperContext => ({
  random: cryptoRandom,
  signer: shopper,
  roots: [world.ca.root],
  ttps: [world.ttpEntry],
  ...over,
});

/** A deal awaiting confirmation: the descriptor request went to the kit, its answer verified. */
async function awaiting(): Promise<Extract<ExchangeDealState, { phase: 'awaiting-confirmation' }>> {
  const d0 = await exchangeShopper.start({ origin: EX_ORIGIN, use: 'contract-signing', documentId: EXCHANGE_CONTRACTS[0]!.id, now: world.clock.now }, ctx());
  const sent = d0.send[0]!;
  const res = await world.host.app.request(sent.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sent.body) });
  const d1 = await exchangeShopper.step(d0.state, { type: 'reply', sent, reply: { kind: 'response', body: await res.json() }, now: world.clock.now }, ctx());
  if (d1.state.phase !== 'awaiting-confirmation') throw new Error(d1.state.phase);
  return d1.state;
}

describe('confirmation re-checks what may have changed while the user read', () => {
  it('an expired proposal, or a TTP the user no longer trusts, fails before anything is signed or sent', async () => {
    const s = await awaiting();
    const late = await exchangeShopper.step(s, { type: 'user-confirmed', now: s.agreement.expiresAt }, ctx());
    expect(late.state.phase).toBe('failed');
    expect(late.send).toEqual([]);
    expect(late.effects).toContainEqual(expect.objectContaining({ kind: 'failed', error: expect.objectContaining({ code: 'ERR_OFFER_EXPIRED' }) }));
    const untrusted = await exchangeShopper.step(s, { type: 'user-confirmed', now: world.clock.now }, ctx({ ttps: [] }));
    expect(untrusted.state.phase).toBe('failed');
    expect(untrusted.send).toEqual([]);
    expect(untrusted.effects).toContainEqual(expect.objectContaining({ kind: 'failed', error: expect.objectContaining({ code: 'ERR_TTP' }) }));
  });

  it('the items are derived for the signing key and the protocol negotiated from them; only fixed content is signed in advance', async () => {
    const s = await awaiting();
    const items = confirmedItems(s.descriptor, s.agreement, shopper.keyId);
    expect(items.shopperGives).toMatchObject({ signer: { keyId: shopper.keyId } });
    const wrong: ExchangeAgreement = { ...s.agreement, protocol: 'generatable-verifiable' };
    expect(() => confirmedItems(s.descriptor, wrong, shopper.keyId)).toThrow(expect.objectContaining({ code: 'ERR_EXCHANGE_UNFAIR' }));
    await expect(signFixedStatement({ kind: 'information', digest: 'A'.repeat(43) }, s.dealId, shopper, world.clock.now)).rejects.toMatchObject({
      code: 'ERR_ITEM_MISMATCH',
    });
  });
});

describe('a running exchange', () => {
  it('runs on only with the key that signed m1', async () => {
    const s = await awaiting();
    const c = await exchangeShopper.step(s, { type: 'user-confirmed', now: world.clock.now }, ctx());
    expect(c.state.phase).toBe('exchanging');
    const other = await newShopper();
    await expect(exchangeShopper.step(c.state, { type: 'timeout', now: world.clock.now + 60_000 }, ctx({ signer: other }))).rejects.toMatchObject({
      code: 'ERR_KEY',
    });
  });

  it('a descriptor answer that comes late (the deal is past it) moves nothing', async () => {
    const s = await awaiting();
    const sent = {
      kind: 'http' as const,
      to: 'merchant' as const,
      path: '/semper/exchange/descriptor' as const,
      body: { dealId: s.dealId, nonce: s.nonce, use: s.use, documentId: s.documentId },
    };
    const again = await exchangeShopper.step(
      s,
      { type: 'reply', sent, reply: { kind: 'response', body: { descriptor: s.descriptor } }, now: world.clock.now },
      ctx(),
    );
    expect(again.state).toBe(s);
    expect(again.effects).toEqual([]);
  });

  it('a merchant answer with many replies: at most eight are taken', async () => {
    const s = await awaiting();
    const c = await exchangeShopper.step(s, { type: 'user-confirmed', now: world.clock.now }, ctx());
    const sent = c.send[0]!;
    const junk = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        signStatement(
          { type: 'semper.exchange.accept', version: 1, dealId: s.dealId, issuedAt: nowIso(world.clock.now), body: { exchangeId: `${i}`.padStart(43, 'A') } },
          shopper,
        ),
      ),
    );
    const res = await exchangeShopper.step(c.state, { type: 'reply', sent, reply: { kind: 'response', body: { replies: junk } }, now: world.clock.now }, ctx());
    expect(res.effects.filter((e) => e.kind === 'problem')).toHaveLength(8);
  });
});

describe('mutation table (docs/mutation-exchange.md): answers to a deal that does not run', () => {
  it("a merchant's replies or a TTP answer for a deal still awaiting confirmation (or rejected) move nothing", async () => {
    const s = await awaiting();
    const toMerchant = { kind: 'http' as const, to: 'merchant' as const, path: '/semper/exchange/messages' as const, body: { message: s.descriptor } };
    const replies = { kind: 'response' as const, body: { replies: [s.descriptor] } };
    const before = await exchangeShopper.step(s, { type: 'reply', sent: toMerchant, reply: replies, now: world.clock.now }, ctx());
    expect(before.state).toBe(s);
    expect(before.send).toEqual([]);
    expect(before.effects).toEqual([]);
    const rejected = await exchangeShopper.step(s, { type: 'user-rejected', now: world.clock.now }, ctx());
    const after = await exchangeShopper.step(rejected.state, { type: 'reply', sent: toMerchant, reply: replies, now: world.clock.now }, ctx());
    expect(after.state).toBe(rejected.state);
    expect(after.effects).toEqual([]);
    // The TTP's answer (its URL the user's setting) to a deal that never asked it.
    const toTtp = { kind: 'http' as const, to: 'ttp' as const, url: 'http://127.0.0.1:8452', path: '/ttp/requests' as const, body: { request: s.descriptor } };
    for (const state of [s, rejected.state]) {
      const answer = await exchangeShopper.step(
        state,
        { type: 'reply', sent: toTtp, reply: { kind: 'response', body: { answer: s.descriptor } }, now: world.clock.now },
        ctx(),
      );
      expect(answer.state).toBe(state);
      expect(answer.effects).toEqual([]);
    }
  });
});
