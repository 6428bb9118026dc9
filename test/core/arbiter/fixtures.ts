/**
 * The arbiter's world: the fair-purchase world (test CA, real bank, certified merchant and TTP) plus
 * a certified arbiter, and drivers that run real deals in-process and hand back what each party
 * archived — the evidence an honest or a cheating party files with a complaint.
 */
import type { Signer } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { newMerchantDeal, startPurchase, stepMerchant, stepShopper, type MerchantContext, type OrderReply } from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import { accountMoneyItem } from '../../../core/payment/account/index.js';
import type { OfferBody } from '../../../core/protocol/commerce.js';
import { nowIso, statementDigest, type Statement } from '../../../core/statements/index.js';
import { exchangeIdOf } from '../../../core/exchange/common.js';
import { TTP_TYPES } from '../../../core/exchange/messages.js';
import { judge, makeEvidence, signComplaint, type Attachment, type Claim, type Judgment } from '../../../core/arbiter/index.js';
import { order } from '../payment/orders.js';
import type { Customer } from '../payment/helpers.js';
import { customer } from '../payment/helpers.js';
import { FAIR_ORIGIN, FairRun, type FairWorld, makeFairWorld, payAtBank } from '../commerce/fair-fixtures.js';

export interface ArbiterWorld extends FairWorld {
  arbiter: { signer: Signer; chain: string[] };
  /** The ordinary-purchase merchant: certified, and with an account at the bank for its signing key (its payee). */
  shop: MerchantContext;
  shopSigner: Signer;
}

export const REPORT = { sku: 'lake-report', title: 'Lake Zurich water report', content: 'Secchi depth 6.2 m …', price: 450 };

export async function makeArbiterWorld(): Promise<ArbiterWorld> {
  const w = await makeFairWorld();
  const a = await w.ca.issue({ commonName: 'Semper Arbiter', role: 'arbiter' });
  const m = await w.ca.issue({ commonName: 'Limnologie Zürich GmbH', role: 'merchant', origins: [FAIR_ORIGIN] });
  await w.bank.bank.openAccount(m.signer.publicJwk);
  const shop: MerchantContext = {
    identity: { signer: m.signer, chain: m.chain, origin: FAIR_ORIGIN },
    lookup: (sku) =>
      sku === REPORT.sku
        ? {
            sku,
            title: REPORT.title,
            unitPrice: { amount: REPORT.price, currency: 'CHF' },
            kind: 'digital',
            good: { mediaType: 'text/plain', content: REPORT.content },
          }
        : undefined,
    offerTtlMs: 600_000,
    terms: 'Digital goods.',
    random: cryptoRandom,
  };
  return { ...w, arbiter: { signer: a.signer, chain: a.chain }, shop, shopSigner: m.signer };
}

export interface PurchaseTranscript {
  dealId: string;
  offer: Statement<OfferBody>;
  order: Statement;
  reply?: OrderReply;
}

/** An ordinary purchase run through both real machines: offer → order (→ confirmation + delivery unless `noAnswer`). */
export async function runPurchase(w: ArbiterWorld, shopper: Signer, o: { noAnswer?: boolean } = {}): Promise<PurchaseTranscript> {
  const now = w.clock.now;
  const ctx = { roots: [w.ca.root], signer: shopper, random: cryptoRandom };
  let s = startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: FAIR_ORIGIN, items: [{ sku: REPORT.sku, quantity: 1 }], now });
  const dealId = s.state.dealId;
  const offered = await stepMerchant(newMerchantDeal(dealId), { type: 'offer-requested', request: s.send[0]!.body, now }, w.shop);
  const offer = (offered.send[0]!.body as { offer: Statement<OfferBody> }).offer;
  s = await stepShopper(s.state, { type: 'offer-response', response: { offer }, now }, ctx);
  s = await stepShopper(s.state, { type: 'user-confirmed', now }, ctx);
  const orderStatement = (s.send[0]!.body as { order: Statement }).order;
  if (o.noAnswer) return { dealId, offer, order: orderStatement };
  const answered = await stepMerchant(offered.state, { type: 'order-received', order: orderStatement, now }, w.shop);
  return { dealId, offer, order: orderStatement, reply: answered.send[0]!.body as OrderReply };
}

/** The shopper pays the ordinary purchase by account transfer at the real bank: the bank's proof. */
export async function payShop(w: ArbiterWorld, payer: Customer, dealId: string, amount = REPORT.price): Promise<Statement> {
  const answer = await w.bank.bank.transfer(await order(payer, w.shopSigner.keyId, amount, { reference: dealId, now: w.clock.now }));
  return accountMoneyItem(answer).proof as Statement;
}

export async function fundedShopper(w: ArbiterWorld): Promise<Customer> {
  return customer(w.bank.bank, 10_000);
}

/** Every statement a fair-purchase shopper archived, plus what its state holds (m1, m2, m3, the bank's proof). */
export function fairEvidence(run: FairRun): Statement[] {
  const out: Statement[] = [];
  for (const e of run.effects as { kind: string; statement?: Statement }[]) if (e.kind === 'archive' && e.statement) out.push(e.statement);
  const s = run.shopper as {
    offer?: Statement;
    start?: Statement;
    paid?: { kind: string; proof?: Statement };
    responder?: { m1?: Statement; m2?: Statement; peerDelivery?: Statement };
  };
  for (const x of [s.offer, s.start, s.responder?.m1, s.responder?.m2, s.responder?.peerDelivery, s.paid?.proof]) if (x) out.push(x);
  return out;
}

export function ciphertextOf(run: FairRun): Attachment {
  const s = run.shopper as { ciphertext?: string; offer?: Statement<{ goods: { ciphertextDigest: string } }> };
  return { digest: s.offer!.body.goods.ciphertextDigest, mediaType: 'application/octet-stream', data: s.ciphertext! };
}

export async function confirmedFair(run: FairRun, method: 'cash' | 'account' = 'cash'): Promise<void> {
  await run.start();
  await run.pump();
  await run.shopperStep({ type: 'user-confirmed', method, now: run.w.clock.now });
  await run.pump();
}

export { FairRun, payAtBank };

/** What the arbiter trusts in these tests: the test CA, the world's clock, and the marketplace's bank as payment issuer. */
export function arbiterTrust(w: ArbiterWorld, paymentIssuers = [w.bank.bank.keyId]) {
  return { roots: [w.ca.root], now: w.clock.now, paymentIssuers };
}

/**
 * The TTP's affidavit (unsigned) that the goods the merchant sealed in `m1` do not open, on the
 * merchant's behalf: sign it with the TTP's key for the real one, another key or other fields for fakes.
 */
export async function affidavitOf(w: ArbiterWorld, run: FairRun, m1: Statement, unsealable: string) {
  return {
    type: TTP_TYPES.affidavit,
    version: 1 as const,
    dealId: run.shopper.dealId,
    issuedAt: nowIso(w.clock.now),
    body: {
      exchangeId: await exchangeIdOf(m1),
      onBehalfOf: w.merchant.identity.signer.keyId,
      description: (m1.body as { originatorGives: unknown }).originatorGives,
      commitment: await statementDigest(m1),
      unsealable,
    },
  };
}

/** File a complaint (signed by `claimant`) with this evidence and judge it at the world's time. */
export async function file(
  w: ArbiterWorld,
  claimant: Signer,
  p: { claim: Claim; dealId: string; statements: unknown[]; attachments?: Attachment[]; respondent?: string; chain?: string[] },
  trust: { paymentIssuers?: string[] } = {},
): Promise<Judgment & { complaintStatement: Statement }> {
  const evidence = await makeEvidence({ dealId: p.dealId, statements: p.statements, attachments: p.attachments ?? [] });
  const complaintStatement = (await signComplaint(
    { claim: p.claim, dealId: p.dealId, evidence: evidence.digest, ...(p.respondent ? { respondent: p.respondent } : {}) },
    claimant,
    w.clock.now,
    p.chain ? { chain: p.chain } : {},
  )) as Statement;
  // The arbiter trusts the marketplace's bank (a setting, as for the server's arbiter).
  const j = await judge(complaintStatement, evidence, arbiterTrust(w, trust.paymentIssuers));
  return { ...j, complaintStatement };
}

export { statementDigest };
