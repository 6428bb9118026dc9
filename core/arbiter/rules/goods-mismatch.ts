/**
 * goods-mismatch (the shopper): what the merchant delivered is not what its signed offer committed to.
 *   ordinary purchase  the merchant's signed delivery for the shopper's order, held to the offer's
 *                      commitments (core/commerce `deliveryMismatches`: each digital item once, title,
 *                      media type, content digest and size) → any mismatch: upheld; none: dismissed;
 *   fair purchase      the goods key (the merchant's key statement, or the TTP's affidavit revealing
 *                      it) must hash to the offer's key digest and decrypt the ciphertext the offer
 *                      commits to (an attachment) to bytes with the offer's goods digest → otherwise
 *                      upheld; if they do: dismissed.
 *   undecided          no delivery / key, or no ciphertext to try the key on.
 */
import { SemperError } from '../../errors.js';
import { decodeBase64url, encodeBase64url, sha256 } from '../../encoding/index.js';
import { decryptGoods } from '../../commerce/fair-purchase.js';
import { deliveryMismatches } from '../../commerce/shopper.js';
import { acceptancesOf, cite, deliveriesFor, goodsKeys, merchantOffers, money } from '../deal.js';
import type { Rule } from '../rule.js';

export const goodsMismatch: Rule = async ({ evidence: ev, complaint }) => {
  const offer = merchantOffers(ev)[0];
  if (!offer)
    return {
      decision: 'undecided',
      branch: 'no-offer',
      reasons: ['no offer signed by a certified merchant for this deal'],
      missing: ["the merchant's signed offer"],
    };
  if (!acceptancesOf(ev, offer).some((x) => x.shopperKeyId === complaint.claimant))
    return {
      decision: 'undecided',
      branch: 'no-order',
      reasons: [`no order or start signed by the claimant names ${cite(offer.a)}`],
      missing: ["the claimant's signed order"],
    };

  if (offer.kind === 'purchase' && offer.purchase) {
    const delivery = deliveriesFor(ev, offer).find((d) => d.order.shopperKeyId === complaint.claimant);
    if (!delivery)
      return {
        decision: 'undecided',
        branch: 'no-delivery',
        reasons: [`no delivery signed by the merchant of ${cite(offer.a)} for the claimant's order`],
        missing: ["the merchant's signed delivery"],
      };
    const mismatches = await deliveryMismatches(offer.purchase, delivery.body.goods);
    if (mismatches.length === 0)
      return { decision: 'dismissed', branch: 'matches', reasons: [`every good in the merchant's ${cite(delivery.a)} is what ${cite(offer.a)} committed to`] };
    return {
      decision: 'upheld',
      branch: 'delivery-differs',
      reasons: [
        `the merchant signed ${cite(delivery.a)} for the claimant's ${cite(delivery.order.a)}, and it differs from what its ${cite(offer.a)} committed to: ${mismatches.map((m) => `${m.sku}: ${m.what}`).join(', ')}`,
      ],
      remedy: `the merchant delivers what ${cite(offer.a)} commits to, or refunds ${money(offer.price)}`,
    };
  }

  const fair = offer.fair!;
  const keys = goodsKeys(ev, offer);
  if (keys.length === 0)
    return {
      decision: 'undecided',
      branch: 'no-key',
      reasons: ["the evidence holds no goods key: neither the merchant's key statement nor a TTP affidavit revealing it"],
      missing: ["the merchant's m3 (its semper.goods.key statement) or the TTP's affidavit revealing the key"],
    };
  const ciphertext = ev.attachments.get(fair.goods.ciphertextDigest);
  for (const k of keys) {
    const keyBytes = decodeBase64url(k.key);
    if (encodeBase64url(await sha256(keyBytes)) !== fair.goods.keyDigest) {
      if (k.by === 'merchant')
        return {
          decision: 'upheld',
          branch: 'wrong-key',
          reasons: [`the merchant's ${cite(k.a)} reveals a key whose SHA-256 is not the key digest its ${cite(offer.a)} committed to`],
          remedy: `the merchant delivers the key ${cite(offer.a)} commits to, or refunds ${money(offer.price)}`,
        };
      continue;
    }
    if (!ciphertext) continue;
    try {
      await decryptGoods(keyBytes, ciphertext.bytes, ev.dealId, fair.sku, fair.goods.digest);
      return {
        decision: 'dismissed',
        branch: 'matches',
        reasons: [
          `the key in ${cite(k.a)} decrypts the ciphertext ${fair.goods.ciphertextDigest} to the goods ${fair.goods.digest} that ${cite(offer.a)} committed to`,
        ],
      };
    } catch (e) {
      if (!(e instanceof SemperError)) throw e;
      return {
        decision: 'upheld',
        branch: 'goods-differ',
        reasons: [
          `the key in ${cite(k.a)} is the one ${cite(offer.a)} committed to, but it does not decrypt the committed ciphertext ${fair.goods.ciphertextDigest} to the committed goods ${fair.goods.digest} (${e.message})`,
        ],
        remedy: `the merchant delivers the goods ${cite(offer.a)} commits to, or refunds ${money(offer.price)}`,
      };
    }
  }
  return {
    decision: 'undecided',
    branch: 'no-ciphertext',
    reasons: [`no attachment holds the ciphertext ${fair.goods.ciphertextDigest} that ${cite(offer.a)} commits to`],
    missing: [`the ciphertext received with the offer (attachment with SHA-256 ${fair.goods.ciphertextDigest})`],
  };
};
