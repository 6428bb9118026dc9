/**
 * goods-not-delivered (the shopper): it paid and got nothing.
 *   upheld     the bank proves payment (payee, reference = deal, value ≥ price) and there is no
 *              delivery for it (ordinary purchase); or, in a fair purchase, the TTP's affidavit says
 *              the merchant's sealed key was `unsealable` (a void commitment), or the TTP aborted
 *              the exchange after the payment;
 *   dismissed  a delivery signed by the merchant for the shopper's order; or the shopper holds the
 *              goods key (the merchant's m3 / key statement, or the TTP's affidavit revealing it);
 *   undecided  no proof of payment, no order, or (fair purchase) no answer of the TTP yet.
 */
import { acceptancesOf, cite, deliveriesFor, goodsKeys, merchantOffers, money, paymentsFor, ttpAbortTokens, ttpAffidavits } from '../deal.js';
import type { Rule, Ruling } from '../rule.js';

export const goodsNotDelivered: Rule = async ({ evidence: ev, complaint, trust }) => {
  const offer = merchantOffers(ev)[0];
  if (!offer)
    return {
      decision: 'undecided',
      branch: 'no-offer',
      reasons: ['no offer signed by a certified merchant for this deal'],
      missing: ["the merchant's signed offer"],
    };
  const acceptances = acceptancesOf(ev, offer).filter((x) => x.shopperKeyId === complaint.claimant);
  const pay = paymentsFor(ev, offer, trust);
  const paid = pay.total >= offer.price.amount;
  const payReasons = paid
    ? pay.proofs.map((p) => `the bank's ${cite(p.a)} proves ${money(p.body.value)} paid to the merchant's payee for this deal`)
    : [
        `the payments proven (${money({ amount: pay.total, currency: offer.price.currency })}) do not reach the price ${money(offer.price)} of ${cite(offer.a)}`,
        ...pay.ignored,
      ];
  const missingPayment = `the bank's semper.payment.proof of ${money(offer.price)} to payee ${offer.payee} with reference ${ev.dealId}`;
  if (acceptances.length === 0)
    return {
      decision: 'undecided',
      branch: 'no-order',
      reasons: [`no order or start signed by the claimant names ${cite(offer.a)}`],
      missing: ["the claimant's signed order"],
    };

  if (offer.kind === 'purchase') {
    const delivered = deliveriesFor(ev, offer).filter((d) => d.body.goods.length > 0);
    if (delivered[0])
      return {
        decision: 'dismissed',
        branch: 'delivered',
        reasons: [
          `the merchant's ${cite(delivered[0].a)} delivers ${delivered[0].body.goods.length} good(s) for ${cite(delivered[0].order.a)}; whether they are what was offered is a goods-mismatch claim`,
        ],
      };
    if (!paid) return { decision: 'undecided', branch: 'unpaid', reasons: payReasons, missing: [missingPayment] };
    return {
      decision: 'upheld',
      branch: 'paid-undelivered',
      reasons: [...payReasons, `no delivery signed by the merchant for ${cite(acceptances[0]!.a)} is in the evidence`],
      remedy: `the merchant delivers what ${cite(offer.a)} commits to, or refunds ${money(offer.price)}`,
    };
  }

  // Fair purchase: the goods are the key.
  const keys = goodsKeys(ev, offer);
  if (keys[0])
    return {
      decision: 'dismissed',
      branch: 'key-held',
      reasons: [
        keys[0].by === 'merchant'
          ? `the shopper holds the merchant's goods key statement ${cite(keys[0].a)}`
          : `the TTP's ${cite(keys[0].a)} reveals the goods key to the shopper`,
      ],
    };
  const unsealable = ttpAffidavits(ev, offer).find((x) => x.body.unsealable !== undefined && x.body.revealed === undefined);
  const aborted = ttpAbortTokens(ev, offer)[0];
  if (!paid) return { decision: 'undecided', branch: 'unpaid', reasons: payReasons, missing: [missingPayment] };
  if (unsealable)
    return {
      decision: 'upheld',
      branch: 'void-seal',
      reasons: [
        ...payReasons,
        `the TTP's ${cite(unsealable.a)} says the key the merchant sealed in ${cite(offer.a)} cannot be released (${unsealable.body.unsealable}): the merchant's commitment was void`,
      ],
      remedy: `the merchant refunds ${money(offer.price)} (or delivers the goods the offer commits to)`,
    };
  if (aborted)
    return {
      decision: 'upheld',
      branch: 'paid-aborted',
      reasons: [...payReasons, `the TTP's ${cite(aborted.a)} ended the exchange without the key: the shopper paid and can never get the goods`],
      remedy: `the merchant refunds ${money(offer.price)}`,
    };
  const ruling: Ruling = {
    decision: 'undecided',
    branch: 'awaiting-ttp',
    reasons: [...payReasons, 'in a fair purchase the TTP releases the key when the merchant withholds it; the evidence holds no answer of the TTP'],
    missing: ["the TTP's answer (semper.ttp.resolution with its affidavit, or an abort token) to the shopper's complaint with m1 and m2"],
  };
  return ruling;
};
