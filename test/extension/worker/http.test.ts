/** The worker's HTTP (extension/worker/http.ts): JSON to the page's origin only, no cookies or redirects, typed errors. */
import { describe, expect, it } from 'vitest';
import { httpTransport } from '../../../extension/worker/http.js';

const ORIGIN = 'https://shop.example';

describe('merchant HTTP', () => {
  const outbound = { kind: 'http', to: 'merchant', path: '/semper/offer', body: { dealId: 'abcdefghijklmnop', nonce: 'n', items: [] } } as const;
  const postToMerchant = (origin: string, o: typeof outbound, fetchImpl: typeof fetch) => httpTransport(fetchImpl)(origin, o);
  const respond = (status: number, body: string) =>
    (async () => new Response(body, { status, headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch;

  it('posts JSON to the page origin without cookies or redirects', async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const fake = (async (url: URL, init: RequestInit) => {
      seen = { url: String(url), init };
      return new Response('{"offer":1}', { status: 200 });
    }) as unknown as typeof fetch;
    expect(await postToMerchant(ORIGIN, outbound, fake)).toEqual({ kind: 'response', body: { offer: 1 } });
    expect(seen?.url).toBe(`${ORIGIN}/semper/offer`);
    expect(seen?.init).toMatchObject({ method: 'POST', credentials: 'omit', redirect: 'error' });
  });

  it('turns merchant errors, bad JSON and network failures into typed errors', async () => {
    expect(await postToMerchant(ORIGIN, outbound, respond(409, '{"error":{"code":"ERR_REPLAY","message":"seen"}}'))).toEqual({
      kind: 'error',
      status: 409,
      error: { code: 'ERR_REPLAY', message: 'seen' },
      body: { error: { code: 'ERR_REPLAY', message: 'seen' } },
    });
    expect(await postToMerchant(ORIGIN, outbound, respond(500, 'oops'))).toMatchObject({ kind: 'error', error: { code: 'ERR_SCHEMA' } });
    expect(await postToMerchant(ORIGIN, outbound, respond(502, '{}'))).toMatchObject({ kind: 'error', error: { code: 'ERR_INTERNAL' } });
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect(await postToMerchant(ORIGIN, outbound, down)).toMatchObject({ kind: 'error', error: { code: 'ERR_INTERNAL' } });
  });
});

describe('bank HTTP', () => {
  it("keeps an error answer's body: the bank's double-spend refusal carries its proof there (the code is not lost either)", async () => {
    const refusal = { error: { code: 'ERR_DOUBLE_SPEND', message: 'spent' }, coinId: 'c'.repeat(43), proof: { type: 'semper.cash.spend' } };
    let seen: string | undefined;
    const fake = (async (url: URL) => {
      seen = String(url);
      return new Response(JSON.stringify(refusal), { status: 409 });
    }) as unknown as typeof fetch;
    const reply = await httpTransport(fake)('http://127.0.0.1:8453', { kind: 'http', to: 'bank', path: '/bank/deposit', body: { spends: [] } });
    expect(reply).toEqual({ kind: 'error', status: 409, error: refusal.error, body: refusal });
    // A purse's requests go to its own bank: the record's origin.
    expect(seen).toBe('http://127.0.0.1:8453/bank/deposit');
  });
});

describe('TTP HTTP', () => {
  it("goes to the URL the machine names (the user's setting), never to the page's origin", async () => {
    let seen: string | undefined;
    const fake = (async (url: URL) => {
      seen = String(url);
      return new Response('{"answer":1}', { status: 200 });
    }) as unknown as typeof fetch;
    const reply = await httpTransport(fake)(ORIGIN, { kind: 'http', to: 'ttp', url: 'http://127.0.0.1:8452', path: '/ttp/requests', body: {} });
    expect(reply).toEqual({ kind: 'response', body: { answer: 1 } });
    expect(seen).toBe('http://127.0.0.1:8452/ttp/requests');
  });
});
