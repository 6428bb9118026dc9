/**
 * What the admitted evidence says about one deal, read the same way by every rule: the merchant's
 * offer (ordinary or fair), the shopper's order or start naming it, deliveries, the exchange
 * messages and the TTP's answers, and the bank's payment proofs. Nothing here decides anything; a
 * piece that does not parse or is signed by someone else than it must be is simply not a fact.
 */
import type { z } from '../zod.js';
import { PAYMENT_PROOF_TYPE, PaymentProofBody, type Amount } from '../items/schema.js';
import { DeliveryBody, OfferBody, OrderBody, STATEMENT_TYPES } from '../protocol/commerce.js';
import { FAIR_TYPES, FairOfferBody, FairStartBody, GoodsKeyBody } from '../commerce/fair-purchase.js';
import {
  AbortTokenBody,
  AffidavitBody,
  DeliverBody,
  EXCHANGE_TYPES,
  ProposeBody,
  ResolutionBody,
  RevocationOrderBody,
  TTP_TYPES,
} from '../exchange/messages.js';
import type { Admitted, AdmittedEvidence } from './evidence.js';
import type { ArbiterTrust } from './rule.js';

export function parsed<S extends z.ZodMiniType>(schema: S, a: Admitted): z.infer<S> | null {
  const r = schema.safeParse(a.statement.body);
  return r.success ? r.data : null;
}

/** Statements of `types` for this deal whose body fits `schema`. */
export function ofType<S extends z.ZodMiniType>(ev: AdmittedEvidence, types: readonly string[], schema: S): { a: Admitted; body: z.infer<S> }[] {
  const out: { a: Admitted; body: z.infer<S> }[] = [];
  for (const a of ev.statements) {
    if (!types.includes(a.statement.type) || a.statement.dealId !== ev.dealId) continue;
    const body = parsed(schema, a);
    if (body !== null) out.push({ a, body });
  }
  return out;
}

/** How a reason names a statement. */
export function cite(a: Admitted): string {
  return `${a.statement.type} ${a.digest}`;
}

export function money(v: Amount): string {
  return `${(v.amount / 100).toFixed(2)} ${v.currency}`;
}

export interface MerchantOffer {
  a: Admitted;
  kind: 'purchase' | 'fair';
  /** The key that signed the offer: the merchant. */
  merchantKeyId: string;
  merchantName: string;
  merchantFingerprint: string;
  price: Amount;
  /** Whom the bank must credit: the fair offer's payee, else the merchant's key. */
  payee: string;
  /** The bank the merchant itself named (fair offers). */
  bankKeyId?: string;
  ttpKeyId?: string;
  purchase?: z.infer<typeof OfferBody>;
  fair?: z.infer<typeof FairOfferBody>;
}

/** Offers for the deal signed by a certified merchant (a certificate of role merchant chaining to a trusted root). */
export function merchantOffers(ev: AdmittedEvidence): MerchantOffer[] {
  const out: MerchantOffer[] = [];
  for (const { a, body } of ofType(ev, [STATEMENT_TYPES.offer], OfferBody)) {
    if (a.chain?.leaf.role !== 'merchant') continue;
    out.push({
      a,
      kind: 'purchase',
      merchantKeyId: a.keyId,
      merchantName: a.chain.leaf.commonName,
      merchantFingerprint: a.chain.leaf.fingerprint,
      price: body.total,
      payee: a.keyId,
      purchase: body,
    });
  }
  for (const { a, body } of ofType(ev, [FAIR_TYPES.offer], FairOfferBody)) {
    if (a.chain?.leaf.role !== 'merchant' || body.merchant.keyId !== a.keyId) continue;
    out.push({
      a,
      kind: 'fair',
      merchantKeyId: a.keyId,
      merchantName: a.chain.leaf.commonName,
      merchantFingerprint: a.chain.leaf.fingerprint,
      price: body.price,
      payee: body.payment.payee,
      bankKeyId: body.payment.bank.keyId,
      ttpKeyId: body.ttp.keyId,
      fair: body,
    });
  }
  return out;
}

export interface Acceptance {
  a: Admitted;
  /** The shopper's key: the signer of the order or start. */
  shopperKeyId: string;
  kind: 'order' | 'fair-start';
}

/** The shopper's orders (purchase) or starts (fair purchase) that name this offer by digest. */
export function acceptancesOf(ev: AdmittedEvidence, offer: MerchantOffer): Acceptance[] {
  const out: Acceptance[] = [];
  if (offer.kind === 'purchase') {
    for (const { a, body } of ofType(ev, [STATEMENT_TYPES.order], OrderBody)) {
      if (body.offerDigest === offer.a.digest && body.offerId === offer.purchase?.offerId) out.push({ a, shopperKeyId: a.keyId, kind: 'order' });
    }
  } else {
    for (const { a, body } of ofType(ev, [FAIR_TYPES.start], FairStartBody)) {
      if (body.offer === offer.a.digest) out.push({ a, shopperKeyId: a.keyId, kind: 'fair-start' });
    }
  }
  return out;
}

/** Who takes part in the deal: merchants, shoppers, exchange parties (key ids and certificate fingerprints). */
export function partiesOf(ev: AdmittedEvidence): Set<string> {
  const parties = new Set<string>();
  for (const offer of merchantOffers(ev)) {
    parties.add(offer.merchantKeyId).add(offer.merchantFingerprint);
    for (const acc of acceptancesOf(ev, offer)) {
      parties.add(acc.shopperKeyId);
      if (acc.a.chain) parties.add(acc.a.chain.leaf.fingerprint);
    }
  }
  for (const { a, body } of ofType(ev, [EXCHANGE_TYPES.propose], ProposeBody)) {
    if (a.keyId !== body.originator.keyId) continue;
    parties.add(body.originator.keyId).add(body.responder.keyId);
  }
  return parties;
}

/** The TTP key ids the deal's own statements name (m1, a fair offer). */
export function namedTtps(ev: AdmittedEvidence): Set<string> {
  const ttps = new Set<string>();
  for (const { a, body } of ofType(ev, [EXCHANGE_TYPES.propose], ProposeBody))
    if (a.keyId === body.originator.keyId) for (const t of body.quorum?.ttps ?? [body.ttp]) ttps.add(t.keyId); // k-of-n: every TTP of the set
  for (const o of merchantOffers(ev)) if (o.ttpKeyId) ttps.add(o.ttpKeyId);
  return ttps;
}

export interface Payment {
  a: Admitted;
  body: PaymentProofBody;
}

function acceptedIssuer(a: Admitted, offer: MerchantOffer, trust: ArbiterTrust): boolean {
  if (offer.bankKeyId === a.keyId) return true; // the merchant named this bank in its signed offer
  if (trust.paymentIssuers?.includes(a.keyId)) return true; // a bank or adapter the arbiter trusts
  return a.chain?.leaf.role === 'bank';
}

/** Payment proofs for this deal's merchant: from an accepted issuer, to the payee, referencing the deal, in the offer's currency. */
export function paymentsFor(ev: AdmittedEvidence, offer: MerchantOffer, trust: ArbiterTrust): { proofs: Payment[]; total: number; ignored: string[] } {
  const proofs: Payment[] = [];
  const ignored: string[] = [];
  for (const { a, body } of ofType(ev, [PAYMENT_PROOF_TYPE], PaymentProofBody)) {
    if (!acceptedIssuer(a, offer, trust)) ignored.push(`${cite(a)} is signed by key ${a.keyId}, not a bank the offer names or the arbiter trusts`);
    else if (body.payee !== offer.payee) ignored.push(`${cite(a)} pays ${body.payee}, not the merchant's payee ${offer.payee}`);
    else if (body.reference !== ev.dealId) ignored.push(`${cite(a)} references ${body.reference}, not this deal`);
    else if (body.value.currency !== offer.price.currency) ignored.push(`${cite(a)} is in ${body.value.currency}, the offer in ${offer.price.currency}`);
    else proofs.push({ a, body });
  }
  return { proofs, total: proofs.reduce((n, p) => n + p.body.value.amount, 0), ignored };
}

/** The merchant's deliveries for one of the shopper's orders of this offer (ordinary purchase). */
export function deliveriesFor(ev: AdmittedEvidence, offer: MerchantOffer): { a: Admitted; body: z.infer<typeof DeliveryBody>; order: Acceptance }[] {
  const orders = acceptancesOf(ev, offer).filter((o) => o.kind === 'order');
  const out: { a: Admitted; body: z.infer<typeof DeliveryBody>; order: Acceptance }[] = [];
  for (const { a, body } of ofType(ev, [STATEMENT_TYPES.delivery], DeliveryBody)) {
    if (a.keyId !== offer.merchantKeyId) continue;
    const order = orders.find((o) => o.a.digest === body.orderDigest || o.a.canonicalDigest === body.orderDigest);
    if (order) out.push({ a, body, order });
  }
  return out;
}

/** The fair-purchase exchange of this offer: its m1 (merchant as originator) and exchange id. */
export function fairExchanges(ev: AdmittedEvidence, offer: MerchantOffer): { a: Admitted; body: z.infer<typeof ProposeBody>; exchangeId: string }[] {
  return ofType(ev, [EXCHANGE_TYPES.propose], ProposeBody)
    .filter(({ a, body }) => a.keyId === offer.merchantKeyId && body.originator.keyId === offer.merchantKeyId && body.ttp.keyId === offer.ttpKeyId)
    .map(({ a, body }) => ({ a, body, exchangeId: a.canonicalDigest }));
}

export interface RevealedKey {
  a: Admitted;
  key: string;
  by: 'merchant' | 'ttp';
}

/** Goods keys for a fair offer: the merchant's signed key statement, or a TTP affidavit revealing it. */
export function goodsKeys(ev: AdmittedEvidence, offer: MerchantOffer): RevealedKey[] {
  const fair = offer.fair;
  if (!fair) return [];
  const out: RevealedKey[] = [];
  for (const { a, body } of ofType(ev, [FAIR_TYPES.goodsKey], GoodsKeyBody)) {
    if (a.keyId !== offer.merchantKeyId || body.dealId !== ev.dealId) continue;
    if (body.sku !== fair.sku || body.goods !== fair.goods.digest || body.ciphertext !== fair.goods.ciphertextDigest) continue;
    out.push({ a, key: body.key, by: 'merchant' });
  }
  for (const { a, body } of ttpAffidavits(ev, offer)) {
    if (body.revealed?.field === 'key') out.push({ a, key: body.revealed.value, by: 'ttp' });
  }
  return out;
}

/** The TTP's affidavits for this fair offer's exchanges, on behalf of the merchant. */
export function ttpAffidavits(ev: AdmittedEvidence, offer: MerchantOffer): { a: Admitted; body: z.infer<typeof AffidavitBody> }[] {
  const ids = new Set(fairExchanges(ev, offer).map((x) => x.exchangeId));
  return ofType(ev, [TTP_TYPES.affidavit], AffidavitBody).filter(
    ({ a, body }) => a.keyId === offer.ttpKeyId && ids.has(body.exchangeId) && body.onBehalfOf === offer.merchantKeyId,
  );
}

export function ttpAbortTokens(ev: AdmittedEvidence, offer: MerchantOffer): { a: Admitted; body: z.infer<typeof AbortTokenBody> }[] {
  const ids = new Set(fairExchanges(ev, offer).map((x) => x.exchangeId));
  return ofType(ev, [TTP_TYPES.abortToken], AbortTokenBody).filter(({ a, body }) => a.keyId === offer.ttpKeyId && ids.has(body.exchangeId));
}

/** The merchant's m3 in a fair purchase (its key statement delivered directly). */
export function merchantDeliveries(ev: AdmittedEvidence, offer: MerchantOffer): { a: Admitted; body: z.infer<typeof DeliverBody> }[] {
  const ids = new Set(fairExchanges(ev, offer).map((x) => x.exchangeId));
  return ofType(ev, [EXCHANGE_TYPES.deliver], DeliverBody).filter(
    ({ a, body }) => a.keyId === offer.merchantKeyId && body.role === 'originator' && ids.has(body.exchangeId),
  );
}

export { AbortTokenBody, AffidavitBody, ResolutionBody, RevocationOrderBody };
