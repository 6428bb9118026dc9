/** The worker's HTTP (extension/worker/http.ts): JSON to the page's origin only, no cookies or redirects, typed errors. */
import { describe, expect, it } from 'vitest';
import { getBytes, httpTransport, postJson } from '../../../extension/worker/http.js';

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

describe('bounds', () => {
  const counting = () => {
    const calls: string[] = [];
    const fetchImpl = (async (url: URL) => {
      calls.push(String(url));
      return new Response('{}', { status: 200 });
    }) as unknown as typeof fetch;
    return { calls, fetchImpl };
  };

  it("keeps a request on the party's origin: a path naming another origin is refused before anything is sent", async () => {
    const { calls, fetchImpl } = counting();
    for (const path of ['https://evil.example/semper/offer', '//evil.example/semper/offer']) {
      expect(await postJson(ORIGIN, path, {}, { maxResponseBytes: 1_000, fetchImpl })).toEqual({
        kind: 'error',
        error: { code: 'ERR_INTERNAL', message: 'path leaves the origin' },
      });
    }
    expect(calls).toEqual([]);
  });

  it('refuses an answer larger than its bound, whether it says so or streams it', async () => {
    // Says so: the body is small, but its declared length is over the bound (it is not read).
    const declared = (async () => new Response('{"offer":1}', { status: 200, headers: { 'content-length': '5000000' } })) as unknown as typeof fetch;
    expect(await postJson(ORIGIN, '/semper/offer', {}, { maxResponseBytes: 1_000, fetchImpl: declared })).toMatchObject({
      kind: 'error',
      error: { message: expect.stringContaining('response too large') },
    });
    // Streams it, with no declared length.
    const big = new TextEncoder().encode(JSON.stringify({ offer: 'x'.repeat(3_000) }));
    const streamed = (async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < big.length; i += 500) controller.enqueue(big.slice(i, i + 500));
            controller.close();
          },
        }),
        { status: 200 },
      )) as unknown as typeof fetch;
    expect(await postJson(ORIGIN, '/semper/offer', {}, { maxResponseBytes: 1_000, fetchImpl: streamed })).toMatchObject({
      kind: 'error',
      error: { message: expect.stringContaining('response too large') },
    });
    // The same answer within the bound is read.
    expect(await postJson(ORIGIN, '/semper/offer', {}, { maxResponseBytes: 10_000, fetchImpl: streamed })).toMatchObject({ kind: 'response' });
  });

  it("fetches a certificate's CRL only over http(s)", async () => {
    const { calls, fetchImpl } = counting();
    for (const address of ['file:///etc/passwd', 'data:application/pkix-crl;base64,AAAA', 'ftp://ca.example/ca.crl']) {
      await expect(getBytes(address, { maxResponseBytes: 1_000, fetchImpl })).rejects.toThrow(/not an http\(s\) URL/);
    }
    expect(calls).toEqual([]);
    expect(await getBytes('https://ca.example/ca.crl', { maxResponseBytes: 1_000, fetchImpl })).toEqual(new TextEncoder().encode('{}'));
  });
});
