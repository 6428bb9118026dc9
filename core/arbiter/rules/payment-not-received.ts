/**
 * payment-not-received (the merchant): it claims the buyer never paid.
 *   dismissed  the bank's (or adapter's) proof pays the merchant's payee, for this deal, at least the price;
 *   undecided  otherwise: no bank ever signs that a payment did not happen, so the verdict names the
 *              proof that would decide it (and the proofs shown that do not count, and why).
 */
import { cite, merchantOffers, money, paymentsFor } from '../deal.js';
import type { Rule } from '../rule.js';

export const paymentNotReceived: Rule = async ({ evidence: ev, complaint, trust }) => {
  const offer = merchantOffers(ev).find((o) => o.merchantKeyId === complaint.claimant);
  if (!offer)
    return {
      decision: 'undecided',
      branch: 'no-offer',
      reasons: ['no offer signed by the claimant (a certified merchant) for this deal'],
      missing: ["the claimant's signed offer"],
    };
  const pay = paymentsFor(ev, offer, trust);
  if (pay.total >= offer.price.amount)
    return {
      decision: 'dismissed',
      branch: 'paid',
      reasons: pay.proofs.map(
        (p) => `the ${cite(p.a)} signed by key ${p.a.keyId} proves ${money(p.body.value)} paid to the payee ${p.body.payee} for this deal`,
      ),
    };
  return {
    decision: 'undecided',
    branch: 'no-proof',
    reasons: [
      `the payments proven for this deal (${money({ amount: pay.total, currency: offer.price.currency })}) do not reach the price ${money(offer.price)} of ${cite(offer.a)}; no bank states that a payment did not happen`,
      ...pay.ignored,
    ],
    missing: [
      `the bank's semper.payment.proof of ${money(offer.price)} to payee ${offer.payee} with reference ${ev.dealId}, or the bank's statement of the payee's account`,
    ],
  };
};
