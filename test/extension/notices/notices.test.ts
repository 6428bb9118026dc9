/** Notices (extension/notices): failures before any trusted window, with the advice each gets. */
import { describe, expect, it } from 'vitest';
import type { DealRecord } from '../../../extension/deals/records.js';
import { adviceFor, noticeOf, noticesOf } from '../../../extension/notices/notices.js';

function record(over: {
  dealId: string;
  kind?: DealRecord['kind'];
  updatedAt?: number;
  failed?: { code: string; message: string };
  view?: boolean;
  rejected?: boolean;
}): DealRecord {
  return {
    kind: over.kind ?? 'purchase',
    dealId: over.dealId,
    origin: 'http://127.0.0.1:9',
    createdAt: 1,
    updatedAt: over.updatedAt ?? 2,
    state: {},
    status: over.failed ? 'failed' : 'completed',
    terminal: true,
    ...(over.view ? { view: {} } : {}),
    ...(over.failed ? { result: { kind: 'failed', error: over.failed } } : over.rejected ? { result: { kind: 'rejected' } } : {}),
  } as unknown as DealRecord;
}

describe('notices', () => {
  it('a deal that failed without a verified view is a notice; one the shopper saw, a rejected one or a purse is not', () => {
    const failed = { code: 'ERR_CERT_UNTRUSTED', message: 'no trusted root issued "Shop" (issuer CN=Other)' };
    expect(noticeOf(record({ dealId: 'd1', failed }))).toMatchObject({
      dealId: 'd1',
      kind: 'purchase',
      code: 'ERR_CERT_UNTRUSTED',
      advice: 'untrusted-ca',
      at: 2,
    });
    expect(noticeOf(record({ dealId: 'd2', failed, view: true }))).toBeUndefined();
    expect(noticeOf(record({ dealId: 'd3', rejected: true }))).toBeUndefined();
    expect(noticeOf(record({ dealId: 'd4' }))).toBeUndefined();
    expect(noticeOf(record({ dealId: 'd5', kind: 'wallet', failed }))).toBeUndefined();
    expect(noticeOf(record({ dealId: 'd6', kind: 'fair-purchase', failed }))).toMatchObject({ kind: 'fair-purchase' });
  });

  it('advice follows the code, and the message where one code covers several causes', () => {
    expect(adviceFor('ERR_CERT_UNTRUSTED', 'no trusted root issued "X" (issuer Y)')).toBe('untrusted-ca');
    // A certificate of the wrong role is not fixed by trusting a CA.
    expect(adviceFor('ERR_CERT_UNTRUSTED', 'offer signed by a ttp certificate')).toBe('not-verified');
    expect(adviceFor('ERR_CERT_ORIGIN', 'x')).toBe('origin-mismatch');
    expect(adviceFor('ERR_TTP', 'the merchant proposes the TTP "T", which is not among the TTPs you trust')).toBe('untrusted-ttp');
    expect(adviceFor('ERR_TTP', "the proposed TTP's key id is not the certified key")).toBe('not-verified');
    expect(adviceFor('ERR_TTP', 'guarantee policy: 2 of the TTPs you chose must agree, but the merchant accepts only 1 of them (it offers 1 TTP)')).toBe(
      'ttp-policy',
    );
    expect(adviceFor('ERR_CERT_REVOKED', 'x')).toBe('revoked');
    expect(adviceFor('ERR_OFFER_EXPIRED', 'x')).toBe('expired');
    expect(adviceFor('ERR_CERT_EXPIRED', 'x')).toBe('expired');
    expect(adviceFor('ERR_SIGNATURE_INVALID', 'x')).toBe('not-verified');
    expect(adviceFor('ERR_INTERNAL', 'fetch failed')).toBe('other');
  });

  it('newest first, at most the limit, and how many came after the last read', () => {
    const failed = { code: 'ERR_CERT_ORIGIN', message: 'x' };
    const records = [1, 5, 3, 9].map((t) => record({ dealId: `d${t}`, updatedAt: t, failed }));
    const { notices, unseen } = noticesOf(records, 4, 3);
    expect(notices.map((n) => n.dealId)).toEqual(['d9', 'd5', 'd3']);
    expect(unseen).toBe(2);
    expect(noticesOf(records, 9).unseen).toBe(0);
  });
});
