// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the checks are quoted source text, template literals included
// Security checks the fair purchase added (goods for money through generatable↔verifiable): the
// sealed-field match, the TTP's opening of a sealed box, the shopper's verification of a fair offer,
// the merchant's checks of the shopper's start, the shopper's confirmation, and the responder that
// gives its item after m1 (own-item, 'awaiting-item'). Each with the tests that must fail without it.
// Run: npx tsx scripts/mutation.ts --manifest fair [--only F-offer-] [--jobs 2].
//
// Not listed, because no attack reaches them (each removal survives, and what covers it is named):
// - fairItems' "a purchase needs two different parties": startOriginator and startResponder refuse
//   an exchange whose two parties are one key (core/exchange/parties.ts, the exchange manifest);
// - verifyFairOffer's assertFairPurchase over every method: fairItems builds a key statement with
//   fixed content signed by the merchant (generatable, core/items/properties.ts) and money of a
//   FairMethod (always verifiable, enforced by the offer's schema), so the negotiation cannot fail;
//   the merchant's onStart and the shopper's confirm run the same assertion on the same items.
import type { SecurityCheck } from './types.js';

const FAIR = ['test/core/commerce/fair-purchase.test.ts', 'test/core/commerce/fair-mutation-kills.test.ts', 'test/protocols/fair-attacks.test.ts'];

const match = 'core/items/match.ts';
const schema = 'core/items/schema.ts';
const ttp = 'core/exchange/ttp.ts';
const sealing = 'core/exchange/sealing.ts';
const parties = 'core/exchange/parties.ts';
const deal = 'core/commerce/exchange-deal.ts';
const fair = 'core/commerce/fair-purchase.ts';
const shopper = 'core/commerce/fair-purchase-shopper.ts';
const merchant = 'core/commerce/fair-purchase-merchant.ts';

export const checks: SecurityCheck[] = [
  // ---------------------------------------------------------------- core/items: a statement with a sealed field
  {
    id: 'F-match-sealed-form',
    check: 'a statement with a sealed field reveals the secret in that field, as a base64url string',
    file: match,
    find: "if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]+$/.test(secret)) return fail(",
    replace: 'if (false) return fail(',
    tests: FAIR,
  },
  {
    id: 'F-match-sealed-digest',
    check: "the revealed secret is the one committed to: its SHA-256 is the sealed field's digest (a wrong goods key in m3 is refused)",
    file: match,
    find: 'if (encodeBase64url(await sha256(decodeBase64url(secret))) !== digest)',
    replace: 'if (false)',
    tests: FAIR,
  },
  {
    id: 'F-match-sealed-content',
    check: 'the rest of a statement with a sealed field is exactly the agreed content (deal, sku, goods and ciphertext digests)',
    file: match,
    find: 'if (description.content && !sameJson(rest, description.content.body))',
    replace: 'if (false)',
    tests: FAIR,
  },
  // ---------------------------------------------------------------- the TTP opens a sealed box
  {
    id: 'F-seal-aad-giver',
    check:
      "a sealed box is bound to the giver's key (AAD): the TTP opens it only in an exchange whose m1 the giver signed — no decryption oracle for a staged exchange",
    file: schema,
    find: '${dealId}|${giverKeyId}|${sealed.field}',
    replace: '${dealId}|${sealed.field}',
    tests: FAIR,
  },
  {
    id: 'F-seal-aad-deal',
    check: 'a sealed box is bound to its deal (AAD): a box sealed for another deal does not open here, even with the right key',
    file: schema,
    find: '`semper.sealed-field.v2|${dealId}|',
    replace: '`semper.sealed-field.v2|',
    tests: FAIR,
  },
  {
    id: 'F-ttp-seal-key-id',
    check: 'the TTP opens only boxes sealed to its own sealing key, and says so in the affidavit when a box names another',
    file: ttp,
    find: 'if (!ctx.sealing || sealed.to !== ctx.sealing.keyId) return',
    replace: 'if (!ctx.sealing) return',
    tests: FAIR,
  },
  {
    id: 'F-ttp-seal-digest',
    check:
      'the TTP reveals a secret only if it is the committed one (SHA-256 = the digest); else the affidavit says unsealable (evidence against the merchant)',
    file: ttp,
    find: 'if (encodeBase64url(await sha256(secret)) !== sealed.digest) return { unsealable',
    replace: 'if (false) return { unsealable',
    tests: FAIR,
  },
  // ---------------------------------------------------------------- the shopper verifies a fair offer
  {
    id: 'F-offer-sku',
    check: 'a fair offer is for the sku the page asked for',
    file: fair,
    find: 'if (body.sku !== expected.sku) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-merchant-key',
    check: 'a fair offer names as merchant key the key that signed it (m1 and the key statement are checked against it)',
    file: fair,
    find: 'if (body.merchant.keyId !== merchantKeyId) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-price-positive',
    check: 'a fair purchase has a positive price',
    file: fair,
    find: 'if (body.price.amount <= 0) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-methods-unique',
    check: 'a fair offer lists each payment method once',
    file: fair,
    find: 'if (new Set(body.payment.methods).size !== body.payment.methods.length) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-ttp-trusted',
    check: "a fair offer's TTP is one the user trusts",
    file: deal,
    find: 'if (!c.entry) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-ttp-role',
    check: "a fair offer's TTP is certified for the TTP role",
    file: deal,
    find: "if (ttpLeaf.role !== 'ttp') throw",
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-ttp-key',
    check: "a fair offer's TTP key id is the certified key",
    file: deal,
    find: 'if (ttpKeyId !== ttp.keyId) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-sealing-signer',
    check: "the sealing key in a fair offer is announced (signed) by the offer's TTP, not by another certified key",
    file: sealing,
    find: 'if ((await jwkThumbprint(v.signerJwk)) !== ttpKeyId) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-offer-sealing-thumbprint',
    check: "the announced sealing key's id is its RFC 7638 thumbprint (the box names the key the TTP holds)",
    file: sealing,
    find: 'if ((await jwkThumbprint(body.data.sealingKey.jwk)) !== body.data.sealingKey.keyId)',
    replace: 'if (false)',
    tests: FAIR,
  },
  {
    id: 'F-offer-sealing-type',
    check: 'the sealing key is a statement of the sealing-key type (not another statement the TTP signed)',
    file: sealing,
    find: '    types: [SEALING_KEY_TYPE],',
    replace: '',
    tests: FAIR,
  },
  {
    id: 'F-offer-ciphertext-digest',
    check: 'the ciphertext that comes with a fair offer is the one the offer commits to (SHA-256)',
    file: fair,
    find: 'if (encodeBase64url(await sha256(ctBytes)) !== body.goods.ciphertextDigest)',
    replace: 'if (false)',
    tests: FAIR,
  },
  {
    id: 'F-offer-ciphertext-size',
    check: 'the ciphertext is the size of the goods the offer names (+ the GCM tag)',
    file: fair,
    find: 'if (ctBytes.byteLength !== body.goods.size + 16) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-items-method-offered',
    check: 'the method of a start (or a confirmation) is one the offer takes',
    file: fair,
    find: 'if (!body.payment.methods.includes(p.method)) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-goods-digest',
    check: 'the decrypted goods are the ones the offer committed to (SHA-256 of the plaintext)',
    file: fair,
    find: 'if (encodeBase64url(await sha256(plain)) !== digest)',
    replace: 'if (false)',
    tests: FAIR,
  },
  // ---------------------------------------------------------------- the merchant checks the shopper's start
  {
    id: 'F-merchant-start-expiry',
    check: 'a start after the offer expired (and its grace) is refused: the merchant is not bound by a stale offer',
    file: merchant,
    find: 'if (now > Date.parse(body.expiresAt) + startGrace(ctx.timing)) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-merchant-start-deal',
    check: 'a start is for this deal',
    file: merchant,
    find: "if (v.statement.dealId !== state.dealId) throw new SemperError('ERR_REPLAY', 'the start is for another deal');",
    replace: '',
    tests: FAIR,
  },
  {
    id: 'F-merchant-start-offer',
    check: "a start names the digest of this deal's offer",
    file: merchant,
    find: 'if (start.offer !== state.offerDigest) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-merchant-start-replay',
    check: 'once selling, only the very same start gets m1 again; another start (another key, another method) is a replay',
    file: merchant,
    find: 'if (canonicalJson(event.message) !== canonicalJson(state.start)) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-merchant-offer-deal',
    check: 'an offer request is for the deal it is filed under',
    file: merchant,
    find: "if (req.dealId !== dealId) throw new SemperError('ERR_PROTOCOL_STATE', 'offer request is for another deal');",
    replace: '',
    tests: FAIR,
  },
  {
    id: 'F-merchant-repeat-offer-nonce',
    check: 'the offer is repeated only for the same request (nonce and sku): another request for the deal gets no offer',
    file: merchant,
    find: 'req.nonce !== b.nonce || req.sku !== b.sku ||',
    replace: '',
    tests: FAIR,
  },
  // ---------------------------------------------------------------- the shopper confirms and pays
  {
    id: 'F-shopper-confirm-expiry',
    check: 'the user cannot confirm an expired offer',
    file: shopper,
    find: 'if (now >= a.expiresAt) throw',
    replace: 'if (false) throw',
    tests: FAIR,
  },
  {
    id: 'F-shopper-confirm-ttp',
    check: "at confirmation the offer's TTP is still among the TTPs the user trusts (removed while the window was open: refused)",
    file: shopper,
    find: 'if (!ttpStillTrusted(state.view, ctx.ttps))',
    replace: 'if (false)',
    tests: FAIR,
  },
  {
    id: 'F-shopper-latest-deadline',
    check: 'm1 may not name a deadline later than the agreed timing allows (the shopper would wait longer for its key)',
    file: shopper,
    find: '        latestDeadline: now + 4 * t.peer + 3 * t.ttpMargin,',
    replace: '',
    tests: FAIR,
  },
  {
    id: 'F-shopper-pays-after-m1',
    check: 'the payment is asked for only once m1 is accepted (the merchant bound): never on a start or an m1 that was refused',
    file: shopper,
    find: "if (res.state.phase === 'awaiting-item' && state.phase === 'starting') {",
    replace: "if (state.phase === 'starting') {",
    tests: FAIR,
  },
  {
    id: 'F-shopper-start-refused',
    check: 'a merchant that refuses the start ends the deal before any money moved',
    file: shopper,
    find: "if (state.phase === 'starting' && reply.status !== undefined && reply.status < 500)",
    replace: 'if (false)',
    tests: FAIR,
  },
  // ---------------------------------------------------------------- the responder's item after m1
  {
    id: 'F-own-item-phase',
    check: "an own item is handed in only in 'awaiting-item' (a second payment is not a second m2)",
    file: parties,
    find: "  if (state.phase !== 'awaiting-item')\n    throw new SemperError('ERR_PROTOCOL_STATE', `an own item",
    replace: "  if (false)\n    throw new SemperError('ERR_PROTOCOL_STATE', `an own item",
    tests: FAIR,
  },
  {
    id: 'F-own-item-fits',
    check: 'an own item handed in after m1 fits its description (a payment for another deal, payee or amount leaves no m2)',
    file: parties,
    find: '  await assertOwnItem(item, state.ownGives, ctx, now);\n  return accept(state, item, now, ctx, []);',
    replace: '  return accept(state, item, now, ctx, []);',
    tests: FAIR,
  },
  {
    id: 'F-awaiting-item-timeout',
    check: 'a responder whose item never came ends at deadline+margin with nothing given (a shopper that never paid)',
    file: parties,
    find: "      return failed(state, 'our item was not ready before the exchange became final; nothing was given');",
    replace: '      return result(state);',
    tests: FAIR,
  },
  {
    id: 'F-awaiting-item-wake',
    check: "a responder awaiting its item wakes at deadline+margin, when the TTP's answer is final",
    file: parties,
    find: "phase: 'awaiting-item', wakeAt: body.deadline + t.ttpMargin,",
    replace: "phase: 'awaiting-item', wakeAt: null,",
    tests: FAIR,
  },
  {
    id: 'F-shopper-pay-pending',
    check: 'a pay send with no answer yet keeps the deal paying (money may still move): never failed before the payment service has answered',
    file: shopper,
    find: "if (reply.kind === 'error' && reply.status === undefined) return unchanged(state);",
    replace: '',
    tests: FAIR,
  },
];
