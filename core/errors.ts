/**
 * Typed errors. Every error names the rule that was broken (as jose does), so a caller can
 * branch on `code` and a human can read `message`. Nothing in core throws a bare Error for a
 * validation failure.
 */
export type SemperErrorCode =
  | 'ERR_ENCODING'
  | 'ERR_SCHEMA'
  | 'ERR_ALG_UNSUPPORTED'
  | 'ERR_KEY'
  | 'ERR_SIGNATURE_INVALID'
  | 'ERR_STATEMENT_TYPE'
  | 'ERR_CERT_CHAIN'
  | 'ERR_CERT_EXPIRED'
  | 'ERR_CERT_UNTRUSTED'
  | 'ERR_CERT_ORIGIN'
  | 'ERR_CERT_REVOKED'
  /** No trustworthy, current revocation information (stale or unverifiable CRL): fail closed. */
  | 'ERR_REVOCATION_UNKNOWN'
  /** A one-time registration code that is unknown, expired or already used. */
  | 'ERR_REGISTRATION_CODE'
  /** Too many attempts from one client in a period. */
  | 'ERR_RATE_LIMITED'
  | 'ERR_NONCE_MISMATCH'
  | 'ERR_OFFER_EXPIRED'
  | 'ERR_OFFER_UNKNOWN'
  /** A signed offer or descriptor whose content contradicts itself or the request (totals, items, dates). */
  | 'ERR_OFFER_INVALID'
  | 'ERR_ORDER_INVALID'
  /** A delivery, authentic and for this order, that is not what the signed offer committed to (content, media type, title, size). */
  | 'ERR_DELIVERY_MISMATCH'
  /** An order left, and the merchant gave no answer to it (only failed connections) until the deal's answer deadline. */
  | 'ERR_ORDER_UNANSWERED'
  | 'ERR_REPLAY'
  | 'ERR_PROTOCOL_STATE'
  | 'ERR_EXCHANGE_UNFAIR'
  | 'ERR_ITEM_MISMATCH'
  | 'ERR_TTP'
  | 'ERR_WEBAUTHN'
  | 'ERR_HARDWARE_TOKEN_REQUIRED'
  | 'ERR_NOT_FOUND'
  | 'ERR_USER_REJECTED'
  | 'ERR_FORBIDDEN'
  /** A request that needs credentials it did not present (e.g. the operator token). */
  | 'ERR_UNAUTHORIZED'
  | 'ERR_INTERNAL'
  /** A coin deposited (or refreshed) a second time: the refusal carries the first deposit's spend as proof. */
  | 'ERR_DOUBLE_SPEND'
  /** An account whose derived balance does not cover the debit. */
  | 'ERR_INSUFFICIENT_FUNDS'
  /** A coin denomination that is unknown, not (or no longer) valid for this operation, or does not match the amount. */
  | 'ERR_DENOMINATION'
  /** No payment method both the merchant takes and the shopper's settings and funds allow. */
  | 'ERR_PAYMENT_METHOD'
  /** An account transfer already reversed: the refusal carries the first reversal as proof. */
  | 'ERR_REVOKED'
  /** A revocation of a transfer that is not revocable, or after its revocableUntil. */
  | 'ERR_REVOCATION_CLOSED'
  /** A cheque already cleared (or stopped after clearing was asked): the refusal carries the first clearing receipt. */
  | 'ERR_CHEQUE_CLEARED'
  /** A cheque the bank will not pay: carries the bank's signed bounce and its reason code; no money moved. */
  | 'ERR_CHEQUE_BOUNCED'
  /** A payment the payment system behind an adapter declined (a card: insufficient_funds, card_expired, do_not_honor); nothing was taken. */
  | 'ERR_PAYMENT_DECLINED'
  /** Evidence the arbiter refuses as foreign: for another deal, or not the evidence the complaint committed to. */
  | 'ERR_EVIDENCE_FOREIGN'
  /** An RFC 3161 time-stamp token (or reply) that fails a check: structure, signature, signer certificate, imprint, nonce. */
  | 'ERR_TIMESTAMP_INVALID'
  /** A time-stamping authority that answered with a rejection (PKIStatus rejection/waiting/...; the failInfo is in details). */
  | 'ERR_TIMESTAMP_REFUSED'
  /** A contract's key terms that contradict each other (core/commerce/contract-terms.ts: checkKeyTerms names the rule). */
  | 'ERR_CONTRACT_TERMS';

export class SemperError extends Error {
  override readonly name: string = 'SemperError';
  constructor(
    readonly code: SemperErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON(): { code: SemperErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isSemperError(e: unknown): e is SemperError {
  return e instanceof SemperError;
}

/** Errors crossing a JSON boundary (HTTP, runtime port) travel as {code, message}. */
export function errorToJson(e: unknown): { code: SemperErrorCode; message: string } {
  if (isSemperError(e)) return e.toJSON();
  return { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
