/**
 * The merchant kit's presentment of a cheque (server/merchant/purchases.ts `presentAtBank`): each
 * answer of the bank becomes the deal's next event — cleared (200, or 409 ERR_CHEQUE_CLEARED with
 * the first clearing), refused (422 ERR_CHEQUE_BOUNCED with the bounce, another typed 4xx) — and an
 * answer that says nothing about the cheque (busy, rate limited, a server error) none: the deal stays
 * clearing and the shopper's next order presents again. Always at the configured bank's path.
 */
import { describe, expect, it } from 'vitest';
import { presentAtBank } from '../../server/merchant/purchases.js';

const BANK = 'http://127.0.0.1:8453';
const now = () => 42;

function bank(status: number, body: unknown, seen: string[] = []): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    seen.push(String(input));
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

describe('the kit turns the bank’s answer into the deal’s next event', () => {
  it('200: cleared with the answer, POSTed to the configured bank', async () => {
    const seen: string[] = [];
    expect(await presentAtBank(BANK, { p: 1 }, now, bank(200, { receipt: 'r', proof: 'p' }, seen))).toEqual({
      type: 'cheque-cleared',
      answer: { receipt: 'r', proof: 'p' },
      now: 42,
    });
    expect(seen).toEqual([`${BANK}/bank/cheque/present`]);
  });

  it('409 ERR_CHEQUE_CLEARED (presented before, the answer lost): cleared with the first clearing', async () => {
    const body = { error: { code: 'ERR_CHEQUE_CLEARED', message: 'cleared before' }, receipt: 'r1', proof: 'p1' };
    expect(await presentAtBank(BANK, {}, now, bank(409, body))).toEqual({ type: 'cheque-cleared', answer: { receipt: 'r1', proof: 'p1' }, now: 42 });
  });

  it('422 ERR_CHEQUE_BOUNCED: refused with the bank’s bounce; another typed 4xx: refused with its code', async () => {
    const bounced = { error: { code: 'ERR_CHEQUE_BOUNCED', message: 'the cheque bounced: insufficient-funds' }, reason: 'insufficient-funds', bounce: 'b' };
    expect(await presentAtBank(BANK, {}, now, bank(422, bounced))).toEqual({
      type: 'cheque-refused',
      error: { code: 'ERR_CHEQUE_BOUNCED', message: 'the cheque bounced: insufficient-funds' },
      bounce: 'b',
      now: 42,
    });
    expect(await presentAtBank(BANK, {}, now, bank(403, { error: { code: 'ERR_FORBIDDEN', message: 'not the drawer’s key' } }))).toEqual({
      type: 'cheque-refused',
      error: { code: 'ERR_FORBIDDEN', message: 'not the drawer’s key' },
      now: 42,
    });
  });

  it('429, 408 and 5xx say nothing about the cheque: no event (the deal stays clearing)', async () => {
    for (const status of [429, 408, 500, 503]) {
      expect(await presentAtBank(BANK, {}, now, bank(status, { error: { code: 'ERR_INTERNAL', message: 'busy' } }))).toBeNull();
    }
  });
});
