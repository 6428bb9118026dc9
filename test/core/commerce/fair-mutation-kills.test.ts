/**
 * The tests that fail when one of the fair purchase's security checks is removed
 * (test/mutation/fair.ts; docs/mutation-fair.md): each drives the attack the check stops — a
 * merchant or shopper with valid keys that signs whatever it likes — and expects the refusal.
 * Every test ends with the bank's invariants (money conserved).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, sha256, utf8 } from '../../../core/encoding/index.js';
import { FAIR_TYPES, type FairOfferBody, type FairShopperOutbound, fairPurchaseShopper } from '../../../core/commerce/index.js';
import { prepareFairOffer } from '../../../core/commerce/fair-purchase-merchant.js';
import { stepExchange } from '../../../core/exchange/parties.js';
import { signSealingKey, verifySealingKey } from '../../../core/exchange/sealing.js';
import { generateSealingKeyPair, seal, sealingPublicJwk } from '../../../core/crypto/seal.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../../core/exchange/messages.js';
import type { PublicJwk } from '../../../core/crypto/jwk.js';
import type { Signer } from '../../../core/crypto/index.js';
import { matchItem } from '../../../core/items/match.js';
import { type Description, sealedAad } from '../../../core/items/schema.js';
import { signStatement, statementDigest, type Statement } from '../../../core/statements/index.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { FairRun, type FairWorld, makeFairWorld, payAtBank, SONG } from './fair-fixtures.js';

let w: FairWorld;
beforeEach(async () => {
  w = await makeFairWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

const merchantSigns = <T>(s: { type: string; version: number; dealId: string; issuedAt: string; body: T }) =>
  signStatement(s as never, w.merchant.identity.signer, { signerRef: { kind: 'x509', chain: w.merchant.identity.chain } }) as Promise<Statement>;

type OfferReply = { offer: Statement<FairOfferBody>; ciphertext: string };

/** The merchant's offer for a fresh run, before the shopper sees it. */
async function merchantOffer(run: FairRun): Promise<{ sent: FairShopperOutbound; reply: OfferReply }> {
  await run.start();
  const sent = run.outbox.shift()!;
  if (sent.kind !== 'http' || sent.path !== '/semper/fair/offer') throw new Error('expected the offer request');
  const out = await run.merchantStep({
    type: 'offer-requested',
    request: sent.body,
    prepared: await prepareFairOffer(sent.body.dealId, run.sealingJwk(), w.merchant.identity.signer.keyId),
    now: w.clock.now,
  });
  return { sent, reply: (out[0] as { body: OfferReply }).body };
}

/** The shopper receives the merchant's offer with `change` applied to its body (re-signed by the merchant: a valid signature). */
async function forgedOffer(
  run: FairRun,
  change: (b: FairOfferBody) => FairOfferBody | Promise<FairOfferBody>,
  ciphertext?: (ct: string) => string,
): Promise<void> {
  const { sent, reply } = await merchantOffer(run);
  const offer = await merchantSigns({ ...reply.offer, body: await change(structuredClone(reply.offer.body)) });
  const body = { offer, ciphertext: ciphertext ? ciphertext(reply.ciphertext) : reply.ciphertext };
  await run.shopperStep({ type: 'reply', sent, reply: { kind: 'response', body }, now: w.clock.now });
}

function failedWith(run: FairRun): string | undefined {
  return run.shopper.phase === 'failed' ? run.shopper.error.code : `(${run.shopper.phase})`;
}

async function confirmed(run: FairRun, method: 'cash' | 'account' = 'cash'): Promise<void> {
  await run.start();
  await run.pump();
  expect(run.shopper.phase).toBe('awaiting-confirmation');
  await run.shopperStep({ type: 'user-confirmed', method, now: w.clock.now });
  await run.pump();
}

describe('verifyFairOffer: an active merchant picks the fields of its offer', () => {
  it('an offer for another sku than the page asked for: refused', async () => {
    const run = new FairRun(w);
    await forgedOffer(run, (b) => ({ ...b, sku: 'another-recording' }));
    expect(failedWith(run)).toBe('ERR_OFFER_INVALID');
  });

  it('an offer naming another merchant key than the one that signed it: refused', async () => {
    const run = new FairRun(w);
    await forgedOffer(run, (b) => ({ ...b, merchant: { keyId: w.merchantAccount.keyId } }));
    expect(failedWith(run)).toBe('ERR_SIGNATURE_INVALID');
  });

  it('an offer with a price of zero: refused', async () => {
    const run = new FairRun(w);
    await forgedOffer(run, (b) => ({ ...b, price: { ...b.price, amount: 0 } }));
    expect(failedWith(run)).toBe('ERR_OFFER_INVALID');
  });

  it('an offer listing a method twice: refused', async () => {
    const run = new FairRun(w);
    await forgedOffer(run, (b) => ({ ...b, payment: { ...b.payment, methods: ['cash', 'cash'] } }));
    expect(failedWith(run)).toBe('ERR_OFFER_INVALID');
  });

  it('a ciphertext of another size than the goods the offer names: refused', async () => {
    const run = new FairRun(w);
    await forgedOffer(run, (b) => ({ ...b, goods: { ...b.goods, size: b.goods.size + 1 } }));
    expect(failedWith(run)).toBe('ERR_OFFER_INVALID');
  });

  it('a TTP the user does not trust, or one certified for another role, or a key id not the certified key: refused (ERR_TTP)', async () => {
    const other = await w.ca.issue({ commonName: 'Unknown TTP', role: 'ttp' });
    const notTtp = await w.ca.issue({ commonName: 'Semper TTP', role: 'merchant', origins: ['https://x.example'] });
    // Each TTP announces the merchant's sealing key itself, so only the check at hand can refuse the offer.
    const jwk = (w.merchant.ttp.sealingKey as Statement<{ sealingKey: { jwk: PublicJwk } }>).body.sealingKey.jwk;
    const announced = async (t: { signer: Signer; chain: string[] }) => (await signSealingKey(jwk, t.signer, t.chain, w.clock.now)) as Statement;
    const cases: ((b: FairOfferBody) => Promise<FairOfferBody>)[] = [
      async (b) => ({ ...b, ttp: { keyId: other.signer.keyId, certificateChain: other.chain, sealingKey: await announced(other) } }),
      async (b) => ({ ...b, ttp: { keyId: notTtp.signer.keyId, certificateChain: notTtp.chain, sealingKey: await announced(notTtp) } }),
      async (b) => ({ ...b, ttp: { ...b.ttp, keyId: other.signer.keyId } }),
    ];
    // The untrusted and wrong-role TTPs are trusted by key id here, so only the check at hand can refuse them.
    w.shopperContext = {
      ...w.shopperContext,
      ttps: [...w.shopperContext.ttps, { fingerprint: 'none', keyId: notTtp.signer.keyId, url: 'http://127.0.0.1:1' }],
    };
    for (const change of cases) {
      const run = new FairRun(w);
      await forgedOffer(run, change);
      expect(failedWith(run)).toBe('ERR_TTP');
    }
  });

  it('a sealing key whose id is not its thumbprint, or a TTP statement of another type: refused', async () => {
    const t = await w.ca.issue({ commonName: 'Semper TTP 2', role: 'ttp' });
    const pair = await generateSealingKeyPair();
    const { jwk } = await sealingPublicJwk(pair.publicKey);
    const good = await signSealingKey(jwk, t.signer, t.chain, w.clock.now);
    const trust = { roots: [w.ca.root], now: w.clock.now };
    await expect(verifySealingKey(good, t.signer.keyId, trust)).resolves.toMatchObject({ keyId: good.body.sealingKey.keyId });
    const wrongId = await signStatement(
      { ...good, body: { ...good.body, sealingKey: { ...good.body.sealingKey, keyId: w.merchant.ttp.sealingKeyId } } },
      t.signer,
      {
        signerRef: { kind: 'x509', chain: t.chain },
      },
    );
    await expect(verifySealingKey(wrongId, t.signer.keyId, trust)).rejects.toMatchObject({ code: 'ERR_KEY' });
    const otherType = await signStatement({ ...good, type: 'semper.ttp.something-else' }, t.signer, { signerRef: { kind: 'x509', chain: t.chain } });
    await expect(verifySealingKey(otherType, t.signer.keyId, trust)).rejects.toMatchObject({ code: 'ERR_STATEMENT_TYPE' });
  });

  it('goods that decrypt to something else than the offer committed to: the purchase fails with ERR_DELIVERY_MISMATCH', async () => {
    // A merchant whose offer names the digest of other goods than those it encrypted.
    const run = new FairRun(w);
    const real = run.merchantStep.bind(run);
    run.merchantStep = async (event) => {
      const out = await real(event);
      if (event.type !== 'offer-requested') return out;
      const body = (out[0] as { body: OfferReply }).body;
      const offer = await merchantSigns({
        ...body.offer,
        body: { ...body.offer.body, goods: { ...body.offer.body.goods, digest: encodeBase64url(await sha256(utf8('other goods'))) } },
      });
      if (run.merchant?.phase === 'offered')
        run.merchant = {
          ...run.merchant,
          offer: offer as Statement<FairOfferBody>,
          offerDigest: await statementDigest(offer),
        };
      return [{ to: 'shopper', body: { offer: offer as Statement<FairOfferBody>, ciphertext: body.ciphertext } }];
    };
    await confirmed(run);
    await run.pump((req) => payAtBank(w, w.shopper, req));
    expect(failedWith(run)).toBe('ERR_DELIVERY_MISMATCH');
  });
});

describe('the sealed field of a key statement (core/items/match.ts)', () => {
  async function description(): Promise<{ d: Description; key: Uint8Array<ArrayBuffer> }> {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const digest = encodeBase64url(await sha256(key));
    const d: Description = {
      kind: 'statement',
      type: FAIR_TYPES.goodsKey,
      signer: { keyId: w.merchant.identity.signer.keyId },
      dealId: 'deal-sealed-000001',
      content: { body: { dealId: 'deal-sealed-000001', sku: SONG.sku, goods: digest, ciphertext: digest } },
      sealed: { field: 'key', digest, to: w.merchant.ttp.sealingKeyId, box: 'x' },
    };
    return { d, key };
  }
  const statementWith = (body: Record<string, unknown>) =>
    merchantSigns({ type: FAIR_TYPES.goodsKey, version: 1, dealId: 'deal-sealed-000001', issuedAt: new Date(w.clock.now).toISOString(), body });
  const ctx = () => ({ roots: [w.ca.root], now: w.clock.now });

  it('the right key with the agreed content fits; a key that is not base64url, another key, or other content does not', async () => {
    const { d, key } = await description();
    const content = (d as { content: { body: Record<string, unknown> } }).content.body;
    const ok = await matchItem({ kind: 'statement', statement: await statementWith({ ...content, key: encodeBase64url(key) }) }, d, ctx());
    expect(ok.ok).toBe(true);
    for (const body of [
      { ...content, key: 42 },
      { ...content, key: `${encodeBase64url(key)}=` },
      { ...content, key: encodeBase64url(new Uint8Array(32)) },
      { ...content, sku: 'another-recording', key: encodeBase64url(key) },
    ]) {
      const r = await matchItem({ kind: 'statement', statement: await statementWith(body) }, d, ctx());
      expect(r.ok, JSON.stringify(body)).toBe(false);
    }
  });
});

describe("the merchant's checks of the shopper's start", () => {
  async function startFor(body: Record<string, unknown>, dealId: string, signer = w.shopper.signer): Promise<Statement> {
    return signStatement({ type: FAIR_TYPES.start, version: 1, dealId, issuedAt: new Date(w.clock.now).toISOString(), body }, signer) as Promise<Statement>;
  }

  async function offeredRun(): Promise<FairRun> {
    const run = new FairRun(w);
    await run.start();
    await run.pump();
    expect(run.merchant?.phase).toBe('offered');
    return run;
  }

  it('a start after the offer expired (and its grace) is refused', async () => {
    const run = await offeredRun();
    const m = run.merchant!;
    if (m.phase !== 'offered') throw new Error(m.phase);
    const start = await startFor({ offer: m.offerDigest, method: 'cash' }, m.dealId);
    w.clock.now = Date.parse(m.offer.body.expiresAt) + 60_000;
    await expect(run.merchantStep({ type: 'message', message: start, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({ code: 'ERR_OFFER_EXPIRED' });
  });

  it('a start for another deal, or naming another offer, is refused', async () => {
    const run = await offeredRun();
    const m = run.merchant!;
    if (m.phase !== 'offered') throw new Error(m.phase);
    const otherDeal = await startFor({ offer: m.offerDigest, method: 'cash' }, 'another-deal-00000001');
    await expect(run.merchantStep({ type: 'message', message: otherDeal, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    const otherOffer = await startFor({ offer: encodeBase64url(await sha256(utf8('another offer'))), method: 'cash' }, m.dealId);
    await expect(run.merchantStep({ type: 'message', message: otherOffer, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({
      code: 'ERR_OFFER_INVALID',
    });
    expect(run.merchant?.phase).toBe('offered');
  });

  it('a start with a method the offer does not take, or signed by the merchant key itself, is refused', async () => {
    w.merchant.payment = { ...w.merchant.payment, methods: ['cash'] };
    const run = await offeredRun();
    const m = run.merchant!;
    if (m.phase !== 'offered') throw new Error(m.phase);
    const account = await startFor({ offer: m.offerDigest, method: 'account' }, m.dealId);
    await expect(run.merchantStep({ type: 'message', message: account, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({ code: 'ERR_PAYMENT_METHOD' });
    const self = await startFor({ offer: m.offerDigest, method: 'cash' }, m.dealId, w.merchant.identity.signer);
    await expect(run.merchantStep({ type: 'message', message: self, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    expect(run.merchant?.phase).toBe('offered');
  });

  it('an offer request filed under another deal, or another request for a deal already offered, gets no offer', async () => {
    const run = await offeredRun();
    const m = run.merchant!;
    if (m.phase !== 'offered') throw new Error(m.phase);
    const prepared = await prepareFairOffer(m.dealId, run.sealingJwk(), w.merchant.identity.signer.keyId);
    const request = { dealId: m.dealId, nonce: m.offer.body.nonce, sku: SONG.sku };
    // The same request again: the same offer.
    const again = await run.merchantStep({ type: 'offer-requested', request, prepared, now: w.clock.now });
    expect((again[0] as { body: OfferReply }).body.offer).toEqual(m.offer);
    // Another nonce: no second offer for the deal.
    const otherNonce = { ...request, nonce: encodeBase64url(crypto.getRandomValues(new Uint8Array(32))) };
    await expect(run.merchantStep({ type: 'offer-requested', request: otherNonce, prepared, now: w.clock.now })).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    // A fresh deal's state given a request for another deal.
    const fresh = new FairRun(w);
    await fresh.start();
    await expect(
      fresh.merchantStep({ type: 'offer-requested', request: { ...request, dealId: 'another-deal-00000001' }, prepared, now: w.clock.now }),
    ).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
  });
});

describe("the shopper's confirmation", () => {
  it('an offer that expired while the window was open cannot be confirmed; nothing is sent', async () => {
    const run = new FairRun(w);
    await run.start();
    await run.pump();
    if (run.shopper.phase !== 'awaiting-confirmation') throw new Error(run.shopper.phase);
    w.clock.now = run.shopper.agreement.expiresAt;
    await run.shopperStep({ type: 'user-confirmed', method: 'cash', now: w.clock.now });
    expect(failedWith(run)).toBe('ERR_OFFER_EXPIRED');
    expect(run.outbox).toEqual([]);
  });

  it('a TTP the user stopped trusting while the window was open: refused at confirmation', async () => {
    const run = new FairRun(w);
    await run.start();
    await run.pump();
    w.shopperContext = { ...w.shopperContext, ttps: [] };
    await run.shopperStep({ type: 'user-confirmed', method: 'cash', now: w.clock.now });
    expect(failedWith(run)).toBe('ERR_TTP');
    expect(run.outbox).toEqual([]);
  });

  it('a merchant that refuses the start (4xx): the deal ends before any payment', async () => {
    const run = new FairRun(w);
    await run.start();
    await run.pump();
    await run.shopperStep({ type: 'user-confirmed', method: 'cash', now: w.clock.now });
    const sent = run.outbox.shift()!;
    await run.shopperStep({
      type: 'reply',
      sent,
      reply: { kind: 'error', error: { code: 'ERR_OFFER_EXPIRED', message: 'expired' }, status: 409 },
      now: w.clock.now,
    });
    expect(failedWith(run)).toBe('ERR_OFFER_UNKNOWN');
    expect(run.outbox.some((o) => o.kind === 'pay')).toBe(false);
  });
});

describe("the responder's item after m1 ('awaiting-item', own-item)", () => {
  it('an own item handed in again after m2 left is refused (a second payment makes no second m2)', async () => {
    const run = new FairRun(w);
    await confirmed(run);
    await run.pump((req) => payAtBank(w, w.shopper, req));
    const s = run.shopper;
    if (s.phase !== 'completed') throw new Error(s.phase);
    const trust = { roots: [w.ca.root], ttps: [w.merchant.ttp.keyId] };
    const ctx = { signer: w.shopper.signer, trust, random: w.shopperContext.random };
    await expect(stepExchange(s.responder, { type: 'own-item', item: s.paid, now: w.clock.now }, ctx)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
  });

  it('a shopper that never pays: at deadline+margin its deal ends failed, nothing given, and no money moved', async () => {
    const run = new FairRun(w);
    await confirmed(run);
    expect(run.shopper.phase).toBe('paying');
    const at = fairPurchaseShopper.wakeAt(run.shopper);
    expect(at).not.toBeNull();
    await run.shopperTimeout();
    expect(run.shopper.phase).toBe('failed');
    expect(run.shopper.phase === 'failed' && run.shopper.responder?.m2).toBeNull();
    expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(0);
  });
});

describe('the TTP opens the box only for this deal, with its own sealing key', () => {
  /** A merchant that takes the money and withholds m3, with the box `makeBox` gives: the shopper complains; the affidavit's word on the box. */
  async function complainWith(makeBox: (dealId: string, key: string) => Promise<string>, beforeComplaint?: () => Promise<void>): Promise<string | undefined> {
    const run = new FairRun(w);
    run.withhold.add(EXCHANGE_TYPES.deliver);
    const real = run.merchantStep.bind(run);
    run.merchantStep = async (event) =>
      real(
        event.type === 'offer-requested'
          ? { ...event, prepared: { key: event.prepared.key, box: await makeBox(run.shopper.dealId, event.prepared.key) } }
          : event,
      );
    await confirmed(run);
    await run.pump((req) => payAtBank(w, w.shopper, req));
    await beforeComplaint?.();
    for (let i = 0; i < 6 && run.shopper.phase === 'exchanging'; i++) {
      await run.shopperTimeout();
      await run.pump();
    }
    expect(failedWith(run)).toBe('ERR_DELIVERY_MISMATCH');
    const affidavit = (run.effects as { kind: string; statement?: Statement }[]).find((e) => e.kind === 'archive' && e.statement?.type === TTP_TYPES.affidavit);
    return (affidavit?.statement?.body as { unsealable?: string } | undefined)?.unsealable;
  }

  it('the right key, sealed by the merchant for another deal (a box moved between deals): it does not open here', async () => {
    const unsealable = await complainWith(async (_dealId, key) => {
      const bytes = decodeBase64url(key);
      const digest = encodeBase64url(await sha256(bytes));
      return seal(sealingJwk(), bytes, sealedAad('another-deal-000001', w.merchant.identity.signer.keyId, { field: 'key', digest }));
    });
    expect(unsealable).toMatch(/does not open/);
  });

  it('a box naming a sealing key this TTP does not hold (it has another now): the affidavit says which key it names', async () => {
    const unsealable = await complainWith(
      async (dealId) => (await prepareFairOffer(dealId, sealingJwk(), w.merchant.identity.signer.keyId)).box,
      async () => {
        const keys = await generateSealingKeyPair();
        w.ttp = { ...w.ttp, sealing: { keyId: (await sealingPublicJwk(keys.publicKey)).keyId, keys } };
      },
    );
    expect(unsealable).toMatch(/^sealed to key /);
  });
});

function sealingJwk(): PublicJwk {
  return (w.merchant.ttp.sealingKey as Statement<{ sealingKey: { jwk: PublicJwk } }>).body.sealingKey.jwk;
}
