/**
 * How every party turns a failure into an HTTP answer: `{ error: { code, message } }` with a
 * status derived from the SemperError code. Unexpected exceptions become a generic 500 whose
 * message says nothing about the inside (no stack, no SQL, no file paths); the detail goes to
 * the server log only.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isSemperError, type SemperErrorCode } from '../../core/errors.js';

export interface ErrorBody {
  error: { code: SemperErrorCode; message: string };
}

const STATUS: Partial<Record<SemperErrorCode, ContentfulStatusCode>> = {
  // The request itself is malformed.
  ERR_SCHEMA: 400,
  ERR_ENCODING: 400,
  ERR_STATEMENT_TYPE: 400,
  ERR_ALG_UNSUPPORTED: 400,
  ERR_KEY: 400,
  ERR_NONCE_MISMATCH: 400,
  // Credentials missing or wrong (the operator token).
  ERR_UNAUTHORIZED: 401,
  // Well-formed but refused: a signature, certificate, offer or order that does not hold up.
  ERR_SIGNATURE_INVALID: 403,
  ERR_OFFER_INVALID: 403,
  ERR_ORDER_INVALID: 403,
  ERR_CERT_CHAIN: 403,
  ERR_CERT_EXPIRED: 403,
  ERR_CERT_UNTRUSTED: 403,
  ERR_CERT_ORIGIN: 403,
  ERR_CERT_REVOKED: 403,
  ERR_WEBAUTHN: 403,
  ERR_HARDWARE_TOKEN_REQUIRED: 403,
  ERR_REGISTRATION_CODE: 403,
  ERR_NOT_FOUND: 404,
  ERR_OFFER_UNKNOWN: 404,
  // Conflicts with what already happened.
  ERR_REPLAY: 409,
  ERR_PROTOCOL_STATE: 409,
  // A fair exchange that cannot be decided now (too early, another TTP, an item that does not match).
  ERR_TTP: 409,
  ERR_EXCHANGE_UNFAIR: 409,
  ERR_ITEM_MISMATCH: 409,
  // Money: a coin spent before (the answer carries the first spend), an account that cannot pay.
  ERR_DOUBLE_SPEND: 409,
  ERR_INSUFFICIENT_FUNDS: 409,
  // A denomination the bank does not (or no longer) issue or redeem; a payment method nobody takes.
  ERR_DENOMINATION: 403,
  ERR_PAYMENT_METHOD: 409,
  // The bank: not the account holder (or an untrusted TTP); a reversal after its window; a transfer
  // reversed before (the answer carries the first reversal); a cheque cleared before (the first
  // clearing) or bounced (the bank's signed bounce with its reason).
  ERR_FORBIDDEN: 403,
  ERR_REVOCATION_CLOSED: 403,
  ERR_REVOKED: 409,
  ERR_CHEQUE_CLEARED: 409,
  ERR_CHEQUE_BOUNCED: 422,
  // A card payment the acquirer declined (the answer carries its decline code).
  ERR_PAYMENT_DECLINED: 402,
  // Evidence for another deal, or not what the complaint committed to (the arbiter).
  ERR_EVIDENCE_FOREIGN: 422,
  // A time-stamp token that fails a check; a TSA that refused (its failInfo is in the details).
  ERR_TIMESTAMP_INVALID: 403,
  ERR_TIMESTAMP_REFUSED: 502,
  // Contract key terms that contradict each other (a merchant's catalogue error: it never signs them).
  ERR_CONTRACT_TERMS: 422,
  ERR_OFFER_EXPIRED: 410,
  ERR_RATE_LIMITED: 429,
  // The verifier has no current revocation information (stale CRL): its problem, try later.
  ERR_REVOCATION_UNKNOWN: 503,
};

export function statusOf(code: SemperErrorCode): ContentfulStatusCode {
  return STATUS[code] ?? 500;
}

export function errorBody(code: SemperErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

export function errorResponse(c: Context, code: SemperErrorCode, message: string, status?: ContentfulStatusCode): Response {
  return c.json(errorBody(code, message), status ?? statusOf(code));
}

/** Hono `onError` handler shared by every party's app. A refusal may carry its own status (`details.httpStatus`, e.g. 413 from http/json.ts). */
export function handleError(err: unknown, c: Context): Response {
  if (isSemperError(err)) {
    const own = err.details?.httpStatus;
    const status = typeof own === 'number' && own >= 400 && own < 500 ? (own as ContentfulStatusCode) : statusOf(err.code);
    if (status >= 500) console.error(`[semper] ${c.req.method} ${c.req.path}: ${err.code}: ${err.message}`);
    return errorResponse(c, err.code, err.message, status);
  }
  console.error(`[semper] ${c.req.method} ${c.req.path}: unexpected error`, err);
  return errorResponse(c, 'ERR_INTERNAL', 'internal error', 500);
}
