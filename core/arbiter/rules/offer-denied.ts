/**
 * offer-denied (the shopper): the merchant denies having made the offer.
 *   upheld     an offer for the deal signed with a merchant certificate that chains to a trusted
 *              root and was valid when the offer was issued (admission checks the chain at issuedAt),
 *              by the respondent if the complaint names one;
 *   dismissed  the offers shown are not certified as a merchant's, or are another merchant's;
 *   undecided  no offer in the evidence.
 */
import { OfferBody, STATEMENT_TYPES } from '../../protocol/commerce.js';
import { FAIR_TYPES, FairOfferBody } from '../../commerce/fair-purchase.js';
import { cite, merchantOffers, ofType } from '../deal.js';
import { names, type Rule } from '../rule.js';

export const offerDenied: Rule = async ({ evidence: ev, complaint }) => {
  const respondent = complaint.body.respondent;
  const offers = merchantOffers(ev);
  const theirs = respondent === undefined ? offers : offers.filter((o) => names(respondent, o.a));
  const o = theirs[0];
  if (o)
    return {
      decision: 'upheld',
      branch: 'certified-offer',
      reasons: [
        `${cite(o.a)} is signed by "${o.merchantName}" (key ${o.merchantKeyId}, certificate ${o.merchantFingerprint}) with a merchant certificate that chains to a trusted root and was valid at ${o.a.statement.issuedAt}`,
      ],
      remedy: 'the merchant is bound by its offer',
    };
  const anyOffer = [...ofType(ev, [STATEMENT_TYPES.offer], OfferBody), ...ofType(ev, [FAIR_TYPES.offer], FairOfferBody)];
  if (anyOffer.length === 0)
    return { decision: 'undecided', branch: 'no-offer', reasons: ['the evidence holds no offer for this deal'], missing: ["the merchant's signed offer"] };
  return {
    decision: 'dismissed',
    branch: 'not-the-merchant',
    reasons: anyOffer.map(({ a }) =>
      a.chain?.leaf.role === 'merchant'
        ? `${cite(a)} is signed by another merchant (key ${a.keyId}) than the respondent ${respondent}`
        : `${cite(a)} is not signed with a merchant certificate (key ${a.keyId})`,
    ),
  };
};
