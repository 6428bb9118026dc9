/**
 * order-denied (the merchant): the buyer denies having ordered.
 *   upheld     an order (or fair-purchase start) signed by the respondent's key names the merchant's
 *              signed offer by digest, and meets the signature the offer demanded (hardware token, UV);
 *   dismissed  the orders shown are signed by other keys, or do not meet the offer's demand;
 *   undecided  no order for the offer at all.
 */
import { checkSignatureDemand } from '../../commerce/common.js';
import { isSemperError } from '../../errors.js';
import { acceptancesOf, cite, merchantOffers } from '../deal.js';
import { names, type Rule } from '../rule.js';

export const orderDenied: Rule = async ({ evidence: ev, complaint }) => {
  const offer = merchantOffers(ev).find((o) => o.merchantKeyId === complaint.claimant);
  if (!offer)
    return {
      decision: 'undecided',
      branch: 'no-offer',
      reasons: ['no offer signed by the claimant (a certified merchant) for this deal'],
      missing: ["the claimant's signed offer"],
    };
  const all = acceptancesOf(ev, offer).filter((x) => x.shopperKeyId !== offer.merchantKeyId);
  if (all.length === 0)
    return {
      decision: 'undecided',
      branch: 'no-order',
      reasons: [`no order names ${cite(offer.a)}`],
      missing: [`an order signed by the buyer naming ${cite(offer.a)}`],
    };
  const byRespondent = complaint.body.respondent === undefined ? all : all.filter((x) => names(complaint.body.respondent, x.a));
  if (byRespondent.length === 0)
    return {
      decision: 'dismissed',
      branch: 'other-signer',
      reasons: all.map((x) => `${cite(x.a)} is signed by key ${x.a.keyId}, not by the respondent ${complaint.body.respondent}`),
    };
  const reasons: string[] = [];
  for (const x of byRespondent) {
    try {
      checkSignatureDemand(offer.purchase?.orderSignature, x.a.statement.signature.alg, x.a.userVerified);
    } catch (e) {
      if (!isSemperError(e)) throw e;
      reasons.push(`${cite(x.a)} does not bind the buyer on the offer's own terms: ${e.message}`);
      continue;
    }
    return {
      decision: 'upheld',
      branch: 'signed-order',
      reasons: [`${cite(x.a)}, signed by the buyer's key ${x.a.keyId}, accepts the merchant's ${cite(offer.a)} (it names its digest)`],
      remedy: 'the buyer is bound by its order',
    };
  }
  return { decision: 'dismissed', branch: 'demand-unmet', reasons };
};
