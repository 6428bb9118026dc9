/**
 * Arbiter checks that no other test fails without (test/mutation/evidence.ts), on real purchases:
 * each a party (or a trusted adapter) filing what it can sign or hold — a statement dated in the
 * future, a complaint whose envelope names another deal, a second offer under the same offer id,
 * its own order, a proof from a certified non-bank or for another reference or currency, another
 * shopper's order or delivery, a claim only the other side can make — and the verdict it must not get.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { signStatement, type Statement } from '../../../core/statements/index.js';
import { ARBITER_TYPES, judge, makeEvidence, signComplaint } from '../../../core/arbiter/index.js';
import { buildBundle } from '../../../core/evidence/bundle.js';
import { evidenceFromBundle } from '../../../core/arbiter/index.js';
import type { OfferBody } from '../../../core/protocol/commerce.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { arbiterTrust, type ArbiterWorld, file, fundedShopper, makeArbiterWorld, payShop, type PurchaseTranscript, runPurchase } from './fixtures.js';

let w: ArbiterWorld;
let t: PurchaseTranscript;
let shopper: Awaited<ReturnType<typeof fundedShopper>>;
beforeEach(async () => {
  w = await makeArbiterWorld();
  shopper = await fundedShopper(w);
  t = await runPurchase(w, shopper.signer);
});
afterEach(() => closeCheckingInvariants(w.bank));

const trust = () => arbiterTrust(w);
const merchantSigned = (like: Statement, change: Partial<Statement>) =>
  signStatement({ ...like, ...change }, w.shopSigner, { signerRef: { kind: 'x509', chain: w.shop.identity.chain } }) as Promise<Statement>;

describe('admission', () => {
  it('a statement dated an hour ahead is refused (its certificate would be checked at a time that has not come)', async () => {
    const ahead = await merchantSigned(t.reply!.delivery as Statement, { issuedAt: new Date(w.clock.now + 3_600_000).toISOString() });
    const evidence = await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, ahead] });
    const complaint = await signComplaint({ claim: 'goods-mismatch', dealId: t.dealId, evidence: evidence.digest }, shopper.signer, w.clock.now);
    await expect(judge(complaint, evidence, trust())).rejects.toMatchObject({ refusal: 'tampered', message: expect.stringMatching(/issued in the future/) });
  });

  it('a complaint whose signed envelope names another deal than its body is malformed', async () => {
    const evidence = await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] });
    const body = { claim: 'goods-mismatch' as const, dealId: t.dealId, evidence: evidence.digest };
    const complaint = await signStatement(
      { type: ARBITER_TYPES.complaint, version: 1, dealId: 'another-deal-000001', issuedAt: new Date(w.clock.now).toISOString(), body },
      shopper.signer,
    );
    await expect(judge(complaint, evidence, trust())).rejects.toMatchObject({
      refusal: 'malformed',
      message: expect.stringMatching(/envelope names another deal/),
    });
  });

  it('a complaint dated an hour ahead is malformed', async () => {
    const evidence = await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] });
    const complaint = await signComplaint({ claim: 'goods-mismatch', dealId: t.dealId, evidence: evidence.digest }, shopper.signer, w.clock.now + 3_600_000);
    await expect(judge(complaint, evidence, trust())).rejects.toMatchObject({ refusal: 'malformed', message: expect.stringMatching(/issued in the future/) });
  });

  it('a bundle with a statement of another deal is refused as foreign, not as tampered', async () => {
    const t2 = await runPurchase(w, shopper.signer);
    const bundle = await buildBundle({
      deal: { id: t.dealId, kind: 'purchase', exporter: 'shopper' },
      statements: [t.offer, t.order, t2.reply!.delivery],
      now: w.clock.now,
    });
    await expect(evidenceFromBundle(bundle, { roots: [w.ca.root], now: w.clock.now })).rejects.toMatchObject({
      refusal: 'foreign',
      code: 'ERR_EVIDENCE_FOREIGN',
    });
  });
});

describe('whose statement is what', () => {
  it("an offer signed with a certificate of another role (the arbiter's own) is no merchant's offer", async () => {
    const asArbiter = (await signStatement({ ...t.offer }, w.arbiter.signer, { signerRef: { kind: 'x509', chain: w.arbiter.chain } })) as Statement;
    const j = await file(w, shopper.signer, {
      claim: 'offer-denied',
      dealId: t.dealId,
      statements: [t.offer, t.order, asArbiter],
      respondent: w.arbiter.signer.keyId,
    });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'offer-denied/not-the-merchant' });
  });

  it("the merchant's second offer under the same offer id, at another price, is not what the buyer's order accepted", async () => {
    const dearer = await merchantSigned(t.offer, { body: { ...t.offer.body, total: { amount: 99_900, currency: 'CHF' } } as OfferBody });
    const j = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, statements: [dearer, t.offer, t.order], respondent: shopper.keyId });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'order-denied/no-order' });
  });

  it('a payment proof signed with a certificate of another role than bank does not count', async () => {
    const u = await runPurchase(w, shopper.signer, { noAnswer: true });
    const proof = await payShop(w, shopper, u.dealId);
    const byArbiter = (await signStatement({ ...proof }, w.arbiter.signer, { signerRef: { kind: 'x509', chain: w.arbiter.chain } })) as Statement;
    const j = await file(
      w,
      shopper.signer,
      { claim: 'goods-not-delivered', dealId: u.dealId, statements: [u.offer, u.order, byArbiter] },
      { paymentIssuers: [] },
    );
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/unpaid' });
  });

  it('a trusted adapter’s proof for another reference, or in another currency, does not count', async () => {
    const u = await runPurchase(w, shopper.signer, { noAnswer: true });
    const proof = await payShop(w, shopper, u.dealId);
    const adapter = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const sign = (body: Record<string, unknown>) =>
      signStatement({ ...proof, body: { ...(proof.body as Record<string, unknown>), ...body } }, adapter) as Promise<Statement>;
    const otherReference = await sign({ reference: 'another-deal-000001' });
    const euros = await sign({ value: { amount: 450, currency: 'EUR' } });
    for (const [forged, why] of [
      [otherReference, /references another-deal-000001, not this deal/],
      [euros, /is in EUR, the offer in CHF/],
    ] as const) {
      const j = await file(
        w,
        shopper.signer,
        { claim: 'goods-not-delivered', dealId: u.dealId, statements: [u.offer, u.order, forged] },
        { paymentIssuers: [adapter.keyId] },
      );
      expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/unpaid' });
      expect(j.verdict.reasons.join('\n')).toMatch(why);
    }
    // The adapter's proof as it is decides it (the baseline).
    const as = await sign({});
    const ok = await file(
      w,
      shopper.signer,
      { claim: 'goods-not-delivered', dealId: u.dealId, statements: [u.offer, u.order, as] },
      { paymentIssuers: [adapter.keyId] },
    );
    expect(ok.verdict.decision).toBe('upheld');
  });
});

describe('claims only one side can make', () => {
  it('order-denied filed by the shopper: no offer of the claimant', async () => {
    const j = await file(w, shopper.signer, { claim: 'order-denied', dealId: t.dealId, statements: [t.offer, t.order] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'order-denied/no-offer' });
  });

  it('order-denied: an order the merchant signed with its own key binds no buyer', async () => {
    const own = await merchantSigned(t.order, {});
    const j = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, statements: [t.offer, own] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'order-denied/no-order' });
  });

  it('offer-denied against a respondent who signed no offer is dismissed', async () => {
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const j = await file(w, shopper.signer, { claim: 'offer-denied', dealId: t.dealId, statements: [t.offer, t.order], respondent: stranger.keyId });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'offer-denied/not-the-merchant' });
  });

  it('payment-not-received filed by the shopper: no offer of the claimant', async () => {
    const j = await file(w, shopper.signer, { claim: 'payment-not-received', dealId: t.dealId, statements: [t.offer, t.order] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'payment-not-received/no-offer' });
  });

  it('goods-not-delivered and goods-mismatch filed by the merchant: the claimant ordered nothing', async () => {
    const u = await runPurchase(w, shopper.signer, { noAnswer: true });
    const proof = await payShop(w, shopper, u.dealId);
    const gnd = await file(w, w.shopSigner, { claim: 'goods-not-delivered', dealId: u.dealId, statements: [u.offer, u.order, proof] });
    expect(gnd.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/no-order' });
    const gm = await file(w, w.shopSigner, { claim: 'goods-mismatch', dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] });
    expect(gm.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-mismatch/no-order' });
  });

  it("goods-mismatch by a second buyer of the offer is judged on its own delivery, not on the first buyer's", async () => {
    const second = await fundedShopper(w);
    const secondOrder = (await signStatement({ ...t.order }, second.signer)) as Statement;
    const j = await file(w, second.signer, { claim: 'goods-mismatch', dealId: t.dealId, statements: [t.offer, t.order, secondOrder, t.reply!.delivery] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-mismatch/no-delivery' });
  });
});

describe('statements of another deal nested in this deal’s', () => {
  it("another merchant's offer of another deal, carried in a note of this deal, does not bind that merchant here", async () => {
    const other = await w.ca.issue({ commonName: 'Other Shop AG', role: 'merchant', origins: ['http://127.0.0.1:8451'] });
    const foreignOffer = (await signStatement({ ...t.offer, dealId: 'another-deal-000001' }, other.signer, {
      signerRef: { kind: 'x509', chain: other.chain },
    })) as Statement;
    const carrier = (await signStatement({ ...t.order, type: 'semper.note', body: { carried: foreignOffer } }, shopper.signer)) as Statement;
    const j = await file(w, shopper.signer, {
      claim: 'offer-denied',
      dealId: t.dealId,
      statements: [t.offer, t.order, carrier],
      respondent: other.signer.keyId,
    });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'offer-denied/not-the-merchant' });
  });
});
