/**
 * Fair purchase: digital goods for money through the generic fair exchange (paper §3.4), with a
 * TTP that steps in only on faults.
 *
 * Money is *externally verifiable* (the bank's signed `semper.payment.proof`: cash deposited for the
 * merchant, or an account transfer) but never generatable; digital goods are verifiable but not
 * generatable either — no fair protocol exists for that pair. So the merchant sells the *key* to
 * goods the shopper already holds encrypted: the key is revealed in a statement the merchant signs
 * (`semper.goods.key`), whose content is fixed in advance but for the key, and the key is sealed to
 * the TTP's sealing key (core/crypto/seal.ts). That statement is generatable: if the merchant
 * withholds it, the TTP opens the seal and issues an affidavit carrying the key. Hence
 * generatable↔verifiable with the merchant as originator:
 *
 *   shopper → merchant   offer request {dealId, nonce, sku}
 *   merchant → shopper   offer (signed: price, methods, bank, payee, the goods' digest, the
 *                        ciphertext's digest, the key's digest and its box sealed to the TTP,
 *                        the TTP and its signed sealing key) + the ciphertext
 *   (trusted window: the shopper confirms and picks the payment method)
 *   shopper → merchant   start (signed by the shopper's key: the offer's digest and the method)
 *   merchant → shopper   m1 (binds the merchant to the key statement and names the money it wants)
 *   shopper pays         cash deposited for the payee / account transfer → the bank's proof
 *   shopper → merchant   m2 (with the money item)
 *   merchant → shopper   m3 (the key statement) — or, if it never comes, the shopper complains
 *                        to the TTP with m1, m2: the TTP checks the payment and reveals the key.
 *
 * The shopper pays only after m1: the merchant is bound before any money moves. What the shopper
 * cannot check in advance is that the box holds the right key: if it does not, the TTP's affidavit
 * says so (`unsealable`), and with the merchant's signed offer and m1 that is evidence of the
 * merchant's fault for an arbiter. A key that opens the box but not the goods is evidence in the
 * same way (the offer commits to the ciphertext's and the goods' digests).
 *
 * Goods encryption: AES-256-GCM under a fresh key per deal (so a zero IV is used once per key),
 * AAD `semper.goods.v1|<dealId>|<sku>`.
 *
 * HTTP (the merchant kit, on the page's own origin):
 *   POST /semper/fair/offer     FairOfferRequest       → { offer, ciphertext }
 *   POST /semper/fair/messages  { message: Statement } → { replies: Statement[] }
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import type { Signer } from '../crypto/keys.js';
import { decodeBase64url, encodeBase64url, sha256, utf8, isoTime } from '../encoding/index.js';
import { Amount, Digest, type Description, type Item } from '../items/schema.js';
import { signStatement, statementDigest, type Statement } from '../statements/index.js';
import type { SignerRef } from '../statements/schema.js';
import { DEFAULT_ATTRIBUTES } from '../transfer/index.js';
import { negotiateExchange } from '../exchange/negotiate.js';
import type { Timeouts } from '../exchange/types.js';
import { verifySealingKey } from '../exchange/sealing.js';
import { DealId, MAX_GOOD_BYTES, MediaType, Nonce, Sku } from '../protocol/commerce.js';
import { certifiedMerchant, parseBody, verifyMerchantStatement } from './common.js';
import { ExchangeTiming, timeoutsFrom, ttpView, verifyProposedTtp, type DescriptorTrust, type VerifiedExchangeView } from './exchange-deal.js';
import type { CertifiedMerchant } from './view.js';

export const FAIR_TYPES = {
  offer: 'semper.fair.offer',
  start: 'semper.fair.start',
  goodsKey: 'semper.goods.key',
} as const;

/**
 * The payment methods a fair purchase can use: those whose transfer the TTP can verify from a proof
 * the payer holds — the bank's (cash, account) or the card adapter's operator's (card).
 */
export const FAIR_METHODS = ['cash', 'account', 'card'] as const;
export const FairMethod = z.enum(FAIR_METHODS);
export type FairMethod = z.infer<typeof FairMethod>;

const b64 = z.string().check(z.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'));
const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));

export const FairOfferRequest = z.strictObject({ dealId: DealId, nonce: Nonce, sku: Sku });
export type FairOfferRequest = z.infer<typeof FairOfferRequest>;

export const FairOfferBody = z.strictObject({
  offerId: z.string().check(z.regex(/^[A-Za-z0-9_-]{16,64}$/)),
  nonce: Nonce,
  origin: z.string().check(z.url()),
  sku: Sku,
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  price: Amount,
  goods: z.strictObject({
    mediaType: MediaType,
    size: z.number().check(z.int(), z.gte(0), z.lte(MAX_GOOD_BYTES)),
    /** SHA-256 of the goods (plaintext) */
    digest: Digest,
    /** SHA-256 of the ciphertext the shopper receives with the offer */
    ciphertextDigest: Digest,
    /** SHA-256 of the goods key; the key statement reveals it */
    keyDigest: Digest,
    /** the key sealed to the TTP's sealing key (AAD: sealedAad(dealId, merchant key id, {field:'key', digest: keyDigest})) */
    box: z.string().check(z.maxLength(2048)),
  }),
  payment: z.strictObject({
    methods: z.array(FairMethod).check(z.minLength(1), z.maxLength(FAIR_METHODS.length)),
    /** the key id the bank credits for the merchant (a money description's payee) */
    payee: Digest,
    bank: z.strictObject({ keyId: Digest, url: z.string().check(z.url(), z.maxLength(512)) }),
    /** the card adapter (server/payment-adapter) whose operator signs the card proof: required iff `card` is a method */
    card: z.optional(z.strictObject({ keyId: Digest, url: z.string().check(z.url(), z.maxLength(512)) })),
  }),
  merchant: z.strictObject({ keyId: Digest }),
  ttp: z.strictObject({
    keyId: Digest,
    certificateChain: z.array(b64).check(z.minLength(1), z.maxLength(5)),
    /** the TTP's signed announcement of its sealing key (core/exchange/sealing.ts) */
    sealingKey: z.unknown(),
  }),
  timing: ExchangeTiming,
  expiresAt: z.iso.datetime(),
  terms: z.optional(z.string().check(z.maxLength(2000))),
});
export type FairOfferBody = z.infer<typeof FairOfferBody>;

/** The shopper's start: binds its key (the signer) and the method it chose to this offer. */
export const FairStartBody = z.strictObject({ offer: Digest, method: FairMethod });
export type FairStartBody = z.infer<typeof FairStartBody>;

/** The statement whose `key` field reveals the goods key (the merchant's item). */
export const GoodsKeyBody = z.strictObject({ dealId: DealId, sku: Sku, goods: Digest, ciphertext: Digest, key: b64u });

/** What the trusted window shows of a fair purchase: only from a verified offer. */
export interface VerifiedFairOfferView {
  dealId: string;
  sku: string;
  title: string;
  origin: string;
  merchant: CertifiedMerchant & { keyId: string };
  price: z.infer<typeof Amount>;
  goods: { mediaType: string; size: number; digest: string };
  methods: FairMethod[];
  bank: { keyId: string; url: string };
  /** The card adapter the offer names (with method card). */
  card?: { keyId: string; url: string };
  ttp: VerifiedExchangeView['ttp'];
  expiresAt: string;
  terms?: string;
  verifiedAt: string;
}

/** What the shopper's worker needs to run the purchase it agreed to (plain JSON). */
export interface FairAgreement {
  dealId: string;
  sku: string;
  merchantKeyId: string;
  /** How the merchant's statements carry its key (its certificate chain, as on the offer): m1 must name it so. */
  merchantSigner: SignerRef;
  ttp: { keyId: string; url: string };
  timeouts: Timeouts;
  expiresAt: number;
  roots: string[];
  offerDigest: string;
}

// ---------------------------------------------------------------------------------------------
// Goods encryption

const ZERO_IV = new Uint8Array(12);

function goodsAad(dealId: string, sku: string): Uint8Array<ArrayBuffer> {
  return utf8(`semper.goods.v1|${dealId}|${sku}`);
}

async function aesKey(key: Uint8Array<ArrayBuffer>, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  if (key.byteLength !== 32) throw new SemperError('ERR_KEY', 'a goods key is 32 bytes (AES-256-GCM)');
  return crypto.subtle.importKey('raw', key, { name: 'AES-GCM' }, false, [usage]);
}

/** Encrypt goods under a fresh per-deal key (the key is used for this one message, so the IV is zero). */
export async function encryptGoods(
  key: Uint8Array<ArrayBuffer>,
  goods: Uint8Array<ArrayBuffer>,
  dealId: string,
  sku: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: ZERO_IV, additionalData: goodsAad(dealId, sku) }, await aesKey(key, 'encrypt'), goods);
  return new Uint8Array(ct);
}

/** Decrypt goods; ERR_DELIVERY_MISMATCH if the key does not open them to the committed digest. */
export async function decryptGoods(
  key: Uint8Array<ArrayBuffer>,
  ciphertext: Uint8Array<ArrayBuffer>,
  dealId: string,
  sku: string,
  digest: string,
): Promise<Uint8Array<ArrayBuffer>> {
  let plain: Uint8Array<ArrayBuffer>;
  try {
    plain = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ZERO_IV, additionalData: goodsAad(dealId, sku) }, await aesKey(key, 'decrypt'), ciphertext),
    );
  } catch (e) {
    if (e instanceof SemperError) throw e;
    throw new SemperError('ERR_DELIVERY_MISMATCH', 'the revealed key does not decrypt the goods the offer committed to');
  }
  if (encodeBase64url(await sha256(plain)) !== digest)
    throw new SemperError('ERR_DELIVERY_MISMATCH', 'the decrypted goods are not the ones the offer committed to');
  return plain;
}

// ---------------------------------------------------------------------------------------------
// Items

export interface FairItems {
  merchantGives: Description;
  shopperGives: Description;
}

/**
 * What each side gives, from the offer, the deal, the shopper's key and the chosen method. Both
 * sides derive it: the merchant when the start arrives (m1 carries these), the shopper's responder
 * checks m1 carries exactly these.
 */
export function fairItems(body: FairOfferBody, p: { dealId: string; shopperKeyId: string; method: FairMethod; sealingKeyId: string }): FairItems {
  if (p.shopperKeyId === body.merchant.keyId) throw new SemperError('ERR_PROTOCOL_STATE', 'a purchase needs two different parties');
  if (!body.payment.methods.includes(p.method)) throw new SemperError('ERR_PAYMENT_METHOD', `the offer does not take ${p.method}`);
  // A card proof is signed by the card adapter's operator, any other by the bank.
  const issuer = p.method === 'card' ? body.payment.card?.keyId : body.payment.bank.keyId;
  if (issuer === undefined) throw new SemperError('ERR_OFFER_INVALID', 'the offer takes card payments but names no card adapter');
  return {
    merchantGives: {
      kind: 'statement',
      type: FAIR_TYPES.goodsKey,
      signer: { keyId: body.merchant.keyId },
      dealId: p.dealId,
      content: { body: { dealId: p.dealId, sku: body.sku, goods: body.goods.digest, ciphertext: body.goods.ciphertextDigest } },
      sealed: { field: 'key', digest: body.goods.keyDigest, to: p.sealingKeyId, box: body.goods.box },
    },
    shopperGives: {
      kind: 'money',
      method: p.method,
      value: body.price,
      payee: body.payment.payee,
      reference: p.dealId,
      issuer: { keyId: issuer },
    },
  };
}

/** The protocol the items call for; a fair purchase always runs generatable↔verifiable with the merchant as originator. */
export function assertFairPurchase(items: FairItems, merchantKeyId: string, shopperKeyId: string): void {
  const n = negotiateExchange({
    a: { giver: merchantKeyId, gives: items.merchantGives, attributes: DEFAULT_ATTRIBUTES },
    b: { giver: shopperKeyId, gives: items.shopperGives, attributes: DEFAULT_ATTRIBUTES },
    allowed: ['generatable-verifiable'],
  });
  if (n.originator !== 'a')
    throw new SemperError('ERR_EXCHANGE_UNFAIR', 'a fair purchase runs with the merchant (who gives the generatable key statement) as originator');
}

/** The merchant's item: its signed key statement. */
export async function signGoodsKey(
  body: FairOfferBody,
  dealId: string,
  key: Uint8Array<ArrayBuffer>,
  signer: Signer,
  chain: readonly string[],
  now: number,
): Promise<Item> {
  const statement = await signStatement(
    {
      type: FAIR_TYPES.goodsKey,
      version: 1,
      dealId,
      issuedAt: isoTime(now),
      body: { dealId, sku: body.sku, goods: body.goods.digest, ciphertext: body.goods.ciphertextDigest, key: encodeBase64url(key) },
    },
    signer,
    chain.length ? { signerRef: { kind: 'x509', chain: [...chain] } } : {},
  );
  return { kind: 'statement', statement: statement as Statement };
}

/** The goods key a received item or a TTP affidavit reveals (both already checked against the description). */
export function revealedKey(
  item: Item | undefined,
  affidavitBody: { revealed?: { field: string; value: string }; unsealable?: string } | undefined,
): Uint8Array<ArrayBuffer> {
  if (item?.kind === 'statement') {
    const body = GoodsKeyBody.safeParse(item.statement.body);
    if (body.success) return decodeBase64url(body.data.key);
  }
  if (affidavitBody?.revealed?.field === 'key') return decodeBase64url(affidavitBody.revealed.value);
  throw new SemperError(
    'ERR_DELIVERY_MISMATCH',
    `the TTP could not release the goods key${affidavitBody?.unsealable ? `: ${affidavitBody.unsealable}` : ''} — the merchant's sealed key was void (the offer, m1 and the affidavit are the evidence)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Shopper: verify an offer

const STAND_IN_KEY_ID = 'A'.repeat(43);

export interface FairOfferExpectation {
  dealId: string;
  nonce: string;
  origin: string;
  sku: string;
}

/**
 * Verify a merchant's fair offer and its ciphertext against everything the shopper knows: the
 * merchant statement rules (chain to a trusted root, merchant role, origin, nonce, deal, expiry),
 * the sku asked for, the TTP (certified, trusted by the user), its sealing key (signed by that TTP)
 * and the box sealed to it, the ciphertext's digest, and that the items make a fair exchange.
 */
export async function verifyFairOffer(
  response: unknown,
  expected: FairOfferExpectation,
  now: number,
  trust: DescriptorTrust,
): Promise<{ offer: Statement<FairOfferBody>; ciphertext: string; view: VerifiedFairOfferView; agreement: FairAgreement; sealingKeyId: string }> {
  const verified = await verifyMerchantStatement(response, 'offer', FAIR_TYPES.offer, FairOfferBody, expected, now, trust);
  const offer = verified.statement;
  const body = offer.body;
  if (body.sku !== expected.sku) throw new SemperError('ERR_OFFER_INVALID', `the offer is for ${body.sku}, the page asked for ${expected.sku}`);
  const merchantKeyId = await jwkThumbprint(verified.signerJwk);
  if (body.merchant.keyId !== merchantKeyId) throw new SemperError('ERR_SIGNATURE_INVALID', 'the offer names another merchant key than the one that signed it');
  if (body.price.amount <= 0) throw new SemperError('ERR_OFFER_INVALID', 'a fair purchase has a positive price');
  if (new Set(body.payment.methods).size !== body.payment.methods.length) throw new SemperError('ERR_OFFER_INVALID', 'a payment method is listed twice');
  if ((body.payment.card !== undefined) !== body.payment.methods.includes('card'))
    throw new SemperError('ERR_OFFER_INVALID', 'an offer names a card adapter exactly when it takes card payments');
  const ttp = await verifyProposedTtp(body.ttp, trust, now);
  const sealing = await verifySealingKey(body.ttp.sealingKey, ttp.ttpKeyId, {
    roots: trust.roots,
    now,
    ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}),
  });
  const ciphertext = parseBody(
    z.strictObject({ ciphertext: b64u.check(z.maxLength(Math.ceil(((MAX_GOOD_BYTES + 16) * 4) / 3) + 4)) }),
    { ciphertext: (response as { ciphertext?: unknown }).ciphertext },
    'offer ciphertext',
  ).ciphertext;
  const ctBytes = decodeBase64url(ciphertext);
  if (encodeBase64url(await sha256(ctBytes)) !== body.goods.ciphertextDigest)
    throw new SemperError('ERR_OFFER_INVALID', 'the ciphertext is not the one the offer commits to');
  if (ctBytes.byteLength !== body.goods.size + 16) throw new SemperError('ERR_OFFER_INVALID', 'the ciphertext is not the size of the goods the offer names');
  // The items must make a fair exchange whatever method is picked (the shopper's key is bound later: a stand-in here).
  const standIn = merchantKeyId === STAND_IN_KEY_ID ? ttp.ttpKeyId : STAND_IN_KEY_ID;
  for (const method of body.payment.methods) {
    assertFairPurchase(fairItems(body, { dealId: offer.dealId, shopperKeyId: standIn, method, sealingKeyId: sealing.keyId }), merchantKeyId, standIn);
  }
  const view: VerifiedFairOfferView = {
    dealId: offer.dealId,
    sku: body.sku,
    title: body.title,
    origin: expected.origin,
    merchant: { ...certifiedMerchant(verified.chain), keyId: merchantKeyId },
    price: body.price,
    goods: { mediaType: body.goods.mediaType, size: body.goods.size, digest: body.goods.digest },
    methods: body.payment.methods,
    bank: body.payment.bank,
    ...(body.payment.card ? { card: body.payment.card } : {}),
    ttp: ttpView(ttp),
    expiresAt: body.expiresAt,
    ...(body.terms ? { terms: body.terms } : {}),
    verifiedAt: isoTime(now),
  };
  const agreement: FairAgreement = {
    dealId: offer.dealId,
    sku: body.sku,
    merchantKeyId,
    merchantSigner: offer.signature.signer,
    ttp: { keyId: ttp.ttpKeyId, url: ttp.entry.url },
    timeouts: timeoutsFrom(body.timing),
    expiresAt: Date.parse(body.expiresAt),
    roots: [...new Set([verified.chain.root.der, ttp.ttpChain.root.der])],
    offerDigest: await statementDigest(verified.signed),
  };
  return { offer, ciphertext, view, agreement, sealingKeyId: sealing.keyId };
}

/** The shopper's signed start for an agreed offer and a chosen method. */
export async function signFairStart(agreement: FairAgreement, method: FairMethod, signer: Signer, now: number): Promise<Statement<FairStartBody>> {
  return signStatement<FairStartBody>(
    { type: FAIR_TYPES.start, version: 1, dealId: agreement.dealId, issuedAt: isoTime(now), body: { offer: agreement.offerDigest, method } },
    signer,
  );
}
