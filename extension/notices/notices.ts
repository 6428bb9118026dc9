/**
 * Notices: what the shopper is told, in Semper's own UI, when a page's request failed before any
 * trusted window could show a verified offer (an untrusted CA, a certificate for another address,
 * an untrusted TTP, a revoked merchant, a shop that does not answer). The page still gets its typed
 * error; but the page is the merchant's, and a developer code on it helps no shopper. So the popup
 * lists these with what happened and what to do, and the toolbar badge shows "!" until they are
 * read — one badge, never a window per failure (a page could otherwise flood the screen).
 *
 * Pure: derived from the deal records the host keeps anyway; nothing new is stored but the time
 * the shopper last read them.
 */
import type { DealRecord } from '../deals/records.js';

/** What the shopper can do about a failure: each has its own words in _locales (ntAdvice…). */
export type NoticeAdvice = 'untrusted-ca' | 'origin-mismatch' | 'untrusted-ttp' | 'ttp-policy' | 'revoked' | 'expired' | 'not-verified' | 'other';

export interface Notice {
  dealId: string;
  kind: 'purchase' | 'exchange' | 'fair-purchase';
  /** The page that asked, as the browser reported it. */
  origin: string;
  /** When the request failed (epoch ms). */
  at: number;
  code: string;
  message: string;
  advice: NoticeAdvice;
}

/** The advice for a refusal's code (and, where one code covers several causes, its message). */
export function adviceFor(code: string, message: string): NoticeAdvice {
  switch (code) {
    case 'ERR_CERT_UNTRUSTED':
      // Also a certificate of the wrong role (e.g. a TTP's key signing an offer): not a CA to add.
      return /no trusted root/.test(message) ? 'untrusted-ca' : 'not-verified';
    case 'ERR_CERT_ORIGIN':
      return 'origin-mismatch';
    case 'ERR_TTP':
      if (/^guarantee policy:/.test(message)) return 'ttp-policy';
      return /not among the TTPs you trust/.test(message) ? 'untrusted-ttp' : 'not-verified';
    case 'ERR_CERT_REVOKED':
      return 'revoked';
    case 'ERR_CERT_EXPIRED':
    case 'ERR_OFFER_EXPIRED':
      return 'expired';
    case 'ERR_SIGNATURE_INVALID':
    case 'ERR_CERT_CHAIN':
    case 'ERR_NONCE_MISMATCH':
    case 'ERR_OFFER_INVALID':
    case 'ERR_SCHEMA':
    case 'ERR_ITEM_MISMATCH':
    case 'ERR_CONTRACT_TERMS':
      return 'not-verified';
    default:
      return 'other';
  }
}

/**
 * A deal that failed without ever reaching the trusted window (no verified view): the shopper has
 * seen nothing of it. A deal the shopper saw and that failed later is in the deal history instead.
 */
export function noticeOf(record: DealRecord): Notice | undefined {
  if (record.kind === 'wallet' || record.view !== undefined) return undefined;
  if (record.result?.kind !== 'failed') return undefined;
  const { code, message } = record.result.error;
  return { dealId: record.dealId, kind: record.kind, origin: record.origin, at: record.updatedAt, code, message, advice: adviceFor(code, message) };
}

/** The newest `limit` notices, newest first, and how many came after `seenAt`. */
export function noticesOf(records: readonly DealRecord[], seenAt: number, limit = 20): { notices: Notice[]; unseen: number } {
  const all = records.flatMap((r) => noticeOf(r) ?? []).sort((a, b) => b.at - a.at);
  return { notices: all.slice(0, limit), unseen: all.filter((n) => n.at > seenAt).length };
}
