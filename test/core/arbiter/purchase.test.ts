/**
 * The arbiter's rules on ordinary purchases, each with an honest and a cheating party, on evidence
 * from real deals (both machines in-process, the real bank): goods not delivered, goods that differ
 * from the offer, a buyer denying its order, a merchant denying its offer, payment claimed but not
 * received. Every verdict is signed and verifies against the CA root as an arbiter's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { signStatement, statementDigest, verifyStatement, type Statement } from '../../../core/statements/index.js';
import { signVerdict, verifyVerdict } from '../../../core/arbiter/index.js';
import type { DeliveryBody } from '../../../core/protocol/commerce.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { type ArbiterWorld, file, fundedShopper, makeArbiterWorld, payShop, REPORT, runPurchase } from './fixtures.js';

let w: ArbiterWorld;
beforeEach(async () => {
  w = await makeArbiterWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

const merchantSigned = (body: Record<string, unknown>, like: Statement) =>
  signStatement({ ...like, body }, w.shopSigner, { signerRef: { kind: 'x509', chain: w.shop.identity.chain } }) as Promise<Statement>;

describe('goods-not-delivered (ordinary purchase)', () => {
  it('upheld: the bank proves the shopper paid and the merchant delivered nothing; the verdict is signed and verifies as the arbiter’s', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer, { noAnswer: true });
    const proof = await payShop(w, shopper, t.dealId);
    const j = await file(w, shopper.signer, { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order, proof] });
    expect(j.verdict).toMatchObject({
      decision: 'upheld',
      rule: 'goods-not-delivered/paid-undelivered',
      claim: 'goods-not-delivered',
      complaint: j.complaint.digest,
    });
    expect(j.verdict.reasons.join(' ')).toContain(`semper.payment.proof`);
    expect(j.verdict.remedy).toMatch(/refunds 4.50 CHF/);
    const signed = await signVerdict(j.verdict, t.dealId, w.arbiter.signer, w.arbiter.chain, w.clock.now);
    const v = await verifyStatement(signed, {
      types: ['semper.arbiter.verdict'],
      requireCertificate: true,
      trust: { roots: [w.ca.root], now: new Date(w.clock.now) },
    });
    expect(v.chain?.leaf.role).toBe('arbiter');
    expect((await verifyVerdict(signed, { roots: [w.ca.root], now: w.clock.now })).body).toEqual(j.verdict);
  });

  it('dismissed: the cheating shopper got the delivery (the merchant shows it) and claims it did not', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const proof = await payShop(w, shopper, t.dealId);
    const j = await file(w, shopper.signer, { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order, proof, t.reply!.delivery] });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'goods-not-delivered/delivered' });
    expect(j.verdict.remedy).toBeUndefined();
  });

  it('undecided: an order and no payment; the verdict names the bank proof that is missing', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer, { noAnswer: true });
    const j = await file(w, shopper.signer, { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/unpaid' });
    expect(j.verdict.missing?.[0]).toMatch(/semper\.payment\.proof of 4\.50 CHF/);
  });

  it('a payment to someone else, too little, or proven by a stranger’s key does not count', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer, { noAnswer: true });
    const short = await payShop(w, shopper, t.dealId, 100);
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const forged = (await signStatement({ ...short, body: { ...short.body, value: { amount: 450, currency: 'CHF' } } }, stranger)) as Statement;
    const j = await file(w, shopper.signer, { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order, short, forged] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/unpaid' });
    expect(j.verdict.reasons.join('\n')).toMatch(/not a bank the offer names or the arbiter trusts/);
    // The same proof from a bank the arbiter trusts decides it.
    const trusted = await file(
      w,
      shopper.signer,
      { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order, forged] },
      { paymentIssuers: [w.bank.bank.keyId, stranger.keyId] },
    );
    expect(trusted.verdict.decision).toBe('upheld');
  });
  it('a payment to another payee for this deal does not count, however much it is', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer, { noAnswer: true });
    const other = await fundedShopper(w);
    const { order } = await import('../payment/orders.js');
    const { accountMoneyItem } = await import('../../../core/payment/account/index.js');
    const toOther = accountMoneyItem(await w.bank.bank.transfer(await order(shopper, other.keyId, 1000, { reference: t.dealId, now: w.clock.now })))
      .proof as Statement;
    const j = await file(w, shopper.signer, { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order, toOther] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/unpaid' });
    expect(j.verdict.reasons.join('\n')).toMatch(/not the merchant's payee/);
  });

  it('a delivery for another order (not the claimant’s order of this offer) is no delivery', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const proof = await payShop(w, shopper, t.dealId);
    const body = t.reply!.delivery.body as DeliveryBody;
    const elsewhere = await merchantSigned({ ...body, orderDigest: 'Z'.repeat(43) }, t.reply!.delivery);
    const j = await file(w, shopper.signer, { claim: 'goods-not-delivered', dealId: t.dealId, statements: [t.offer, t.order, proof, elsewhere] });
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'goods-not-delivered/paid-undelivered' });
  });
});

describe('goods-mismatch (ordinary purchase)', () => {
  it('dismissed: the honest merchant delivered exactly what its offer committed to', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const j = await file(w, shopper.signer, { claim: 'goods-mismatch', dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'goods-mismatch/matches' });
  });

  it('upheld: the cheating merchant signed a delivery of other bytes than the offer committed to', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const body = t.reply!.delivery.body as DeliveryBody;
    const { digestDelivered } = await import('../../../core/commerce/common.js');
    const good = { ...body.goods[0]!, content: 'Secchi depth: unknown' };
    const wrong = await merchantSigned({ ...body, goods: [{ ...good, digest: await digestDelivered(good) }] }, t.reply!.delivery);
    const j = await file(w, shopper.signer, { claim: 'goods-mismatch', dealId: t.dealId, statements: [t.offer, t.order, wrong] });
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'goods-mismatch/delivery-differs' });
    expect(j.verdict.reasons[0]).toContain(`${REPORT.sku}: content`);
  });

  it('a delivery signed by someone else than the merchant is not the merchant’s: undecided', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const other = await w.ca.issue({ commonName: 'Impostor AG', role: 'merchant', origins: ['http://127.0.0.1:8451'] });
    const body = t.reply!.delivery.body as DeliveryBody;
    const wrong = (await signStatement({ ...t.reply!.delivery, body: { ...body, goods: [{ ...body.goods[0]!, title: 'x' }] } }, other.signer, {
      signerRef: { kind: 'x509', chain: other.chain },
    })) as Statement;
    const j = await file(w, shopper.signer, { claim: 'goods-mismatch', dealId: t.dealId, statements: [t.offer, t.order, wrong] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-mismatch/no-delivery' });
  });
});

describe('order-denied', () => {
  it('upheld: the merchant shows the order the (cheating) buyer signed for its offer', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const j = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, respondent: shopper.keyId, statements: [t.offer, t.order] }, {});
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'order-denied/signed-order' });
    expect(j.verdict.reasons[0]).toContain(shopper.keyId);
  });

  it('dismissed: the cheating merchant shows an order it signed itself with another key, against an honest buyer', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const puppet = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const forged = (await signStatement({ ...t.order }, puppet)) as Statement;
    const j = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, respondent: shopper.keyId, statements: [t.offer, forged] });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'order-denied/other-signer' });
    expect(j.verdict.reasons[0]).toContain(puppet.keyId);
    // With the buyer's own order beside it, the claim holds.
    const k = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, respondent: shopper.keyId, statements: [t.offer, forged, t.order] });
    expect(k.verdict.decision).toBe('upheld');
  });

  it('undecided: no order for the offer at all', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    // The merchant is a party by its offer; nothing else is shown.
    const j = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, respondent: shopper.keyId, statements: [t.offer] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'order-denied/no-order' });
  });

  it('dismissed: an order that does not meet the hardware-token demand the offer signed does not bind the buyer', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const body = { ...(t.offer.body as Record<string, unknown>), orderSignature: { hardwareToken: true, userVerification: true } };
    const offer = (await signStatement({ ...t.offer, body }, w.shopSigner, { signerRef: { kind: 'x509', chain: w.shop.identity.chain } })) as Statement;
    const order = (await signStatement(
      { ...t.order, body: { ...(t.order.body as Record<string, unknown>), offerDigest: await statementDigest(offer) } },
      shopper.signer,
    )) as Statement;
    const j = await file(w, w.shopSigner, { claim: 'order-denied', dealId: t.dealId, respondent: shopper.keyId, statements: [offer, order] });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'order-denied/demand-unmet' });
    expect(j.verdict.reasons[0]).toMatch(/hardware security key/);
  });
});

describe('offer-denied', () => {
  it('upheld: the shopper shows the offer the (cheating) merchant signed with its certificate', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const j = await file(w, shopper.signer, { claim: 'offer-denied', dealId: t.dealId, respondent: w.shopSigner.keyId, statements: [t.offer, t.order] });
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'offer-denied/certified-offer' });
    expect(j.verdict.reasons[0]).toContain('Limnologie Zürich GmbH');
  });

  it('dismissed: the cheating shopper shows an "offer" signed by a bare key, not by the merchant', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const fake = (await signStatement({ ...t.offer }, shopper.signer)) as Statement;
    const order = (await signStatement({ ...t.order, body: { ...t.order.body } }, shopper.signer)) as Statement;
    const j = await file(w, shopper.signer, { claim: 'offer-denied', dealId: t.dealId, statements: [fake, t.offer, order] });
    expect(j.verdict.decision).toBe('upheld'); // the real offer is there too
    const other = await w.ca.issue({ commonName: 'Other Shop AG', role: 'merchant', origins: ['http://127.0.0.1:8451'] });
    const j2 = await file(w, shopper.signer, { claim: 'offer-denied', dealId: t.dealId, respondent: other.signer.keyId, statements: [t.offer, t.order] });
    expect(j2.verdict).toMatchObject({ decision: 'dismissed', rule: 'offer-denied/not-the-merchant' });
    // Only the bare-key "offer" (and the shopper's order naming it): not the merchant's.
    const order2 = (await signStatement(
      { ...t.order, body: { ...(t.order.body as Record<string, unknown>), offerDigest: await statementDigest(fake) } },
      shopper.signer,
    )) as Statement;
    const j3 = await file(w, shopper.signer, { claim: 'offer-denied', dealId: t.dealId, statements: [fake, order2] }).catch((e) => e);
    // No certified offer: the claimant is not shown as a party by a merchant's offer either — refused, not judged.
    expect(j3).toMatchObject({ refusal: 'not-a-party' });
  });
});

describe('payment-not-received', () => {
  it('dismissed: the cheating merchant was paid (the shopper’s evidence holds the bank’s proof)', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const proof = await payShop(w, shopper, t.dealId);
    const j = await file(w, w.shopSigner, { claim: 'payment-not-received', dealId: t.dealId, statements: [t.offer, t.order, proof] });
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'payment-not-received/paid' });
  });

  it('undecided: paid too little — the proof shown does not reach the price', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const short = await payShop(w, shopper, t.dealId, 100);
    const j = await file(w, w.shopSigner, { claim: 'payment-not-received', dealId: t.dealId, statements: [t.offer, t.order, short] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'payment-not-received/no-proof' });
    expect(j.verdict.reasons[0]).toMatch(/1\.00 CHF\) do not reach the price 4\.50 CHF/);
  });

  it('undecided: the honest merchant was not paid; the verdict says the bank’s proof is missing', async () => {
    const shopper = await fundedShopper(w);
    const t = await runPurchase(w, shopper.signer);
    const j = await file(w, w.shopSigner, { claim: 'payment-not-received', dealId: t.dealId, statements: [t.offer, t.order] });
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'payment-not-received/no-proof' });
    expect(j.verdict.missing?.[0]).toMatch(/bank's semper\.payment\.proof/);
  });
});
