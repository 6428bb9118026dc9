/**
 * Issue 8, items 11 and 12: the JSON edge of every party (CA, merchant kit, TTP) over real HTTP
 * on loopback.
 *
 * 12. One request must not freeze a party: every POST endpoint checks the Content-Type before it
 *     reads a byte, bounds the body to what its schema can need (413), and bounds nesting before
 *     parsing (400 ERR_SCHEMA naming the nesting), also when the nesting hides inside a field whose
 *     schema is free-form JSON; never 500, never a stack in the reply. While a party refuses a
 *     16 MiB hostile body it keeps answering everyone else.
 * 11. Another site must not use up the shopper's budget: a request counts against a rate limit only
 *     once it passed the content-type, size, nesting and schema checks (a no-cors POST from a web
 *     page never does), and it counts against what it proves — the registration code it names,
 *     the deal it continues — rather than only the socket address it came from.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificationRequest } from '../../core/pki/index.js';
import { generateKeyPair } from '../../core/crypto/index.js';
import type { OfferBody } from '../../core/protocol/commerce.js';
import type { Statement } from '../../core/statements/index.js';
import { CA_REGISTER_BODY_LIMIT, CA_REVOKE_BODY_LIMIT, CaService, createCaApp } from '../../server/ca/index.js';
import { MAX_JSON_DEPTH } from '../../server/http/json.js';
import { listen, type RunningServer } from '../../server/http/listen.js';
import { MemoryMerchantDealStore, catalogFromItems, createMerchantKit } from '../../server/merchant/index.js';
import { PRODUCTS, SHOP_TERMS } from '../../server/shop/catalog.js';
import { shopExchangeCatalog } from '../../server/shop/exchange-uses.js';
import { MAX_REQUEST_BYTES as TTP_MAX_REQUEST_BYTES, createTtpApp } from '../../server/ttp/app.js';
import { TtpService } from '../../server/ttp/service.js';
import { ttpIssuer } from '../helpers/exchange.js';
import { makeTestCa } from '../helpers/pki.js';
import { newDealId, newNonce, signOrder, tempDataDir, testShopper } from './helpers.js';

const tmp = tempDataDir('http-edge');
let caService: CaService;
let ca: RunningServer;
let kit: RunningServer;
let ttpService: TtpService;
let ttp: RunningServer;
/** Fresh budgets for the rate-limit tests (the same CA, another kit). */
let limitedCa: RunningServer;
let limitedKit: RunningServer;
let startKit: () => Promise<RunningServer>;
/** The kit's body bound per route. */
let kitLimits: Readonly<Record<string, number>>;

/** Budgets small enough to reach in a test. */
const REGISTRATIONS_PER_MINUTE = 5;
const SIGNED_PER_MINUTE = 4;

beforeAll(async () => {
  caService = await CaService.open({ dataDir: tmp.dir });
  const caApp = createCaApp(caService, { registrationAttemptsPerMinute: REGISTRATIONS_PER_MINUTE });
  ca = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => caApp.fetch(req, env) });
  const limitedCaApp = createCaApp(caService, { registrationAttemptsPerMinute: REGISTRATIONS_PER_MINUTE });
  limitedCa = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => limitedCaApp.fetch(req, env) });

  const testCa = await makeTestCa('Edge Test CA');
  const merchant = await testCa.issue({ commonName: 'Edge Shop', role: 'merchant', origins: ['http://127.0.0.1:9'] });
  const ttpCert = await testCa.issue({ commonName: 'Edge TTP', role: 'ttp' });
  startKit = () => {
    const merchantKit = createMerchantKit({
      identity: { signer: merchant.signer, chain: merchant.chain, origin: 'http://127.0.0.1:9' },
      deals: new MemoryMerchantDealStore(),
      purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
      exchanges: {
        catalog: shopExchangeCatalog(),
        ttp: { keyId: ttpCert.signer.keyId, url: 'http://127.0.0.1:9', certificateChain: ttpCert.chain },
        trustRoots: [testCa.root],
      },
      signedStatementsPerMinute: SIGNED_PER_MINUTE,
    });
    kitLimits = merchantKit.bodyLimits;
    return listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => merchantKit.app.fetch(req, env) });
  };
  kit = await startKit();
  limitedKit = await startKit();

  ttpService = await TtpService.create({
    ca: ttpIssuer(testCa, { notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) }),
    dbPath: ':memory:',
  });
  const ttpApp = createTtpApp(ttpService);
  ttp = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => ttpApp.fetch(req, env) });
});

afterAll(async () => {
  await ca?.close();
  await kit?.close();
  await limitedCa?.close();
  await limitedKit?.close();
  await ttp?.close();
  caService?.close();
  ttpService?.close();
  tmp.remove();
});

interface Reply {
  status: number;
  text: string;
  code: string | undefined;
  message: string | undefined;
}

async function post(url: string, body: BodyInit, contentType: string | null = 'application/json'): Promise<Reply> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, ...(contentType ? { headers: { 'content-type': contentType } } : {}) });
  } catch (e) {
    // The party stopped reading a body over its bound and closed the connection (status 0).
    if (!['UND_ERR_SOCKET', 'EPIPE', 'ECONNRESET'].includes((e as { cause?: { code?: string } }).cause?.code ?? '')) throw e;
    return { status: 0, text: '', code: undefined, message: undefined };
  }
  const text = await res.text();
  let json: { error?: { code?: string; message?: string } } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, code: json?.error?.code, message: json?.error?.message };
}

function expectRefused(reply: Reply, status: number, message?: RegExp): void {
  expect({ status: reply.status, code: reply.code }).toEqual({ status, code: 'ERR_SCHEMA' });
  if (message) expect(reply.message).toMatch(message);
  // No stack, no source path, no dependency in what a client reads.
  expect(reply.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|"stack"|RangeError|Maximum call stack/);
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const SIG = `{"alg":"ES256","signer":{"kind":"jwk","jwk":{"kty":"EC","crv":"P-256","x":"${'A'.repeat(43)}","y":"${'A'.repeat(43)}"}},"value":"${'A'.repeat(86)}"}`;
/** A statement-shaped value whose free-form body (z.json in the schema) hides `inner`. */
const statementWith = (type: string, inner: string) =>
  `{"type":"${type}","version":1,"dealId":"dealdealdealdeal","issuedAt":"2026-01-01T00:00:00.000Z","body":{"x":${inner}},"signature":${SIG}}`;

/** Every POST endpoint: its URL, its body bound, and a body shape whose free-form part holds `inner`. */
function endpoints(): { name: string; url: string; limit: number; wrap(inner: string): string }[] {
  return [
    { name: 'CA register', url: `${ca.url}/ca/register`, limit: CA_REGISTER_BODY_LIMIT, wrap: (inner) => `{"registrationCode":${inner},"csr":"AAAA"}` },
    {
      name: 'CA revoke',
      url: `${ca.url}/ca/revoke`,
      limit: CA_REVOKE_BODY_LIMIT,
      wrap: (inner) => `{"request":${statementWith('semper.ca.revocation-request', inner)}}`,
    },
    {
      name: 'merchant offer',
      url: `${kit.url}/semper/offer`,
      limit: kitLimits['/semper/offer']!,
      wrap: (inner) => `{"dealId":"${newDealId()}","nonce":"${newNonce()}","items":${inner}}`,
    },
    {
      name: 'merchant order',
      url: `${kit.url}/semper/order`,
      limit: kitLimits['/semper/order']!,
      wrap: (inner) => `{"order":${statementWith('semper.order', inner)}}`,
    },
    {
      name: 'merchant exchange descriptor',
      url: `${kit.url}/semper/exchange/descriptor`,
      limit: kitLimits['/semper/exchange/descriptor']!,
      wrap: (inner) => `{"dealId":"${newDealId()}","nonce":"${newNonce()}","use":"certified-mail","documentId":${inner}}`,
    },
    {
      name: 'merchant exchange message',
      url: `${kit.url}/semper/exchange/messages`,
      limit: kitLimits['/semper/exchange/messages']!,
      wrap: (inner) => `{"message":${statementWith('semper.exchange.propose', inner)}}`,
    },
    {
      name: 'TTP request',
      url: `${ttp.url}/ttp/requests`,
      limit: TTP_MAX_REQUEST_BYTES,
      wrap: (inner) =>
        `{"request":${statementWith('semper.exchange.abort-request', '0').replace('"body":{"x":0}', `"body":{"exchangeId":"${'A'.repeat(43)}","m1":${statementWith('semper.exchange.propose', inner)}}`)}}`,
    },
  ];
}

describe('12. every POST endpoint checks type, size and nesting before it parses', () => {
  it('bounds each body to what its schema can need: far below the 16 MiB a page could send', () => {
    expect(CA_REGISTER_BODY_LIMIT).toBeLessThanOrEqual(16 * 1024);
    expect(kitLimits['/semper/offer']).toBeLessThanOrEqual(16 * 1024);
    expect(kitLimits['/semper/exchange/descriptor']).toBeLessThanOrEqual(16 * 1024);
    // The TTP must take m2 with one information item (8 Mi base64url characters) and no more.
    expect(TTP_MAX_REQUEST_BYTES).toBeLessThan(10 * 1024 * 1024);
  });

  it('refuses another Content-Type before reading the body: 400 ERR_SCHEMA', async () => {
    for (const e of endpoints()) {
      for (const type of [
        'text/plain',
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        null,
      ]) {
        const reply = await post(e.url, e.wrap('"x"'), type);
        expect({ endpoint: e.name, type, status: reply.status, code: reply.code }).toEqual({ endpoint: e.name, type, status: 400, code: 'ERR_SCHEMA' });
        expectRefused(reply, 400, /Content-Type/);
      }
    }
  });

  it('refuses a body over its bound with 413, declared or streamed', async () => {
    for (const e of endpoints()) {
      const pad = (n: number) => `{"pad":"${'a'.repeat(n)}"}`;
      expectRefused(await post(e.url, pad(e.limit)), 413, /exceeds/);
      // Streamed (no Content-Length): the party stops reading at the bound.
      const bytes = new TextEncoder().encode(pad(e.limit));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          controller.close();
        },
      });
      const res = await fetch(e.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
      const text = await res.text();
      expect({ endpoint: e.name, status: res.status }).toEqual({ endpoint: e.name, status: 413 });
      expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('ERR_SCHEMA');
    }
    // What the schema needs still fits: a body just under the offer bound is read (and then refused by the schema, not the size).
    const offerLimit = kitLimits['/semper/offer']!;
    const reply = await post(`${kit.url}/semper/offer`, `{"pad":"${'a'.repeat(offerLimit - 20)}"}`);
    expect(reply.status).toBe(400);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH}, at the top or inside a free-form field: 400 ERR_SCHEMA, never 500`, async () => {
    for (const e of endpoints()) {
      // As deep as the endpoint's size bound allows (up to 100 000), then 3 000 (zod overflows its stack there), then one too many.
      const deepest = Math.min(100_000, Math.floor((e.limit - 1_000) / 2));
      for (const body of [deep(deepest), e.wrap(deep(deepest)), e.wrap(deep(3_000)), e.wrap(deep(MAX_JSON_DEPTH + 1))]) {
        const reply = await post(e.url, body);
        expect({ endpoint: e.name, status: reply.status, code: reply.code }).toEqual({ endpoint: e.name, status: 400, code: 'ERR_SCHEMA' });
        // Refused by the nesting bound, before anything parses the body (the message names it).
        expectRefused(reply, 400, /nest/);
      }
      // Nesting within the bound is read and judged by the schema (any refusal but a nesting one, never 500).
      const within = await post(e.url, e.wrap(deep(8)));
      expect(within.status, e.name).toBeLessThan(500);
      expect(within.message ?? '', e.name).not.toMatch(/nest/);
    }
  });

  it('the TTP keeps answering others while it refuses 16 MiB hostile bodies', async () => {
    // The TTP in its own process: its event loop is what must not stall (this process makes the bodies).
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/server/ttp-process.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const { url: base } = await new Promise<{ url: string }>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        lines.once('line', (line) => resolve(JSON.parse(line) as { url: string }));
        child.once('exit', (code) => reject(new Error(`the TTP process exited (${code})`)));
      });
      const url = `${base}/ttp/requests`;
      const loopDelay = async () => ((await (await fetch(`${base}/__loop`)).json()) as { maxMs: number }).maxMs;
      const sixteen = 16 * 1024 * 1024;
      const encode = (text: string) => new TextEncoder().encode(text);
      const nested = encode(`{"request":${deep(sixteen / 2 - 8)}}`);
      const flat = encode(`{"request":[${'0,'.repeat(4 * 1024 * 1024)}0]}`);
      const deepStatement = encode(`{"request":${statementWith('semper.exchange.abort-request', deep(1_000_000))}}`);
      // Warm up (compilation, first allocations), then start measuring.
      for (let i = 0; i < 20; i++) {
        await (await fetch(`${base}/ttp`)).arrayBuffer();
        await post(url, `{"request":${deep(100)}}`);
      }
      await loopDelay();
      let stop = false;
      const answered: number[] = [];
      const probe = (async () => {
        while (!stop) {
          const res = await fetch(`${base}/ttp`);
          answered.push(res.status);
          await res.arrayBuffer();
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const replies = [await post(url, nested, 'text/plain;charset=UTF-8'), await post(url, nested), await post(url, flat), await post(url, deepStatement)];
      await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await probe;
      const stalledMs = await loopDelay();
      // Refused: a body over the bound may be cut off (the connection closed, 0) instead of answered.
      expect([400, 0]).toContain(replies[0]!.status);
      expect([413, 0]).toContain(replies[1]!.status);
      expect(replies.slice(2).map((r) => [r.status, r.code, r.message])).toEqual([
        [400, 'ERR_SCHEMA', expect.stringMatching(/values/)],
        [400, 'ERR_SCHEMA', expect.stringMatching(/nest/)],
      ]);
      // Everyone else was answered meanwhile. (How many probes fit depends on how fast the refusals
      // are, and on the machine's load: a few.) No timed assertion: the refusals' messages above show
      // each bound acted before a parser saw the body; before the bounds, parsing the 8 MiB-deep array
      // alone held this loop for about 6 s. The longest stall is printed for whoever reads the log.
      expect(answered.length).toBeGreaterThanOrEqual(3);
      expect(answered.every((s) => s === 200)).toBe(true);
      console.log(`TTP event loop: longest stall ${stalledMs} ms while refusing ${replies.length} hostile bodies`);
    } finally {
      child.kill('SIGTERM');
    }
  }, 90_000);
});

describe('11. rate limits count only requests that pass the checks, keyed on what they prove', () => {
  it('a no-cors flood (text/plain, forms, malformed JSON) at the merchant costs the shopper nothing', async () => {
    const url = `${limitedKit.url}/semper/offer`;
    for (let i = 0; i < 3 * SIGNED_PER_MINUTE; i++) {
      expect(
        (
          await post(
            url,
            `{"dealId":"${newDealId()}","nonce":"${newNonce()}","items":[{"sku":"fm-screening-abstract","quantity":1}]}`,
            'text/plain;charset=UTF-8',
          )
        ).status,
      ).toBe(400);
      expect((await post(url, 'dealId=x&nonce=y', 'application/x-www-form-urlencoded')).status).toBe(400);
      expect((await post(url, '{"dealId": "abc"')).status).toBe(400);
      expect((await post(url, '{"dealId":"abc","nonce":"short","items":[]}')).status).toBe(400);
    }
    // The shopper's own purchase: an offer, then the order for it, both answered.
    const dealId = newDealId();
    const offered = await post(url, JSON.stringify({ dealId, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] }));
    expect(offered.status).toBe(200);
    const { offer } = JSON.parse(offered.text) as { offer: Statement<OfferBody> };
    const ordered = await post(`${limitedKit.url}/semper/order`, JSON.stringify({ order: await signOrder(offer, await testShopper()) }));
    expect(ordered.status).toBe(200);
  });

  it("requests that continue a deal count against that deal, not the address: a client's spent budget does not stop another's order", async () => {
    const url = `${limitedKit.url}/semper/offer`;
    const body = () => JSON.stringify({ dealId: newDealId(), nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] });
    // The shopper gets an offer; then someone at the same address spends the address's budget on new deals.
    const first = await post(url, body());
    expect(first.status).toBe(200);
    const { offer } = JSON.parse(first.text) as { offer: Statement<OfferBody> };
    let refused: Reply | undefined;
    for (let i = 0; i < SIGNED_PER_MINUTE + 1 && !refused; i++) {
      const reply = await post(url, body());
      if (reply.status === 429) refused = reply;
      else expect(reply.status).toBe(200);
    }
    expect(refused?.code).toBe('ERR_RATE_LIMITED');
    // The shopper's order names its deal (and the offer it was given): it goes through.
    const ordered = await post(`${limitedKit.url}/semper/order`, JSON.stringify({ order: await signOrder(offer, await testShopper()) }));
    expect(ordered.status).toBe(200);
    // Repeats of one deal are bounded too.
    const repeats: number[] = [];
    for (let i = 0; i < 40; i++)
      repeats.push((await post(`${limitedKit.url}/semper/order`, JSON.stringify({ order: await signOrder(offer, await testShopper()) }))).status);
    expect(repeats).toContain(429);
  });

  it('a no-cors flood at the CA does not stop a registration; guesses are limited per address, a real code is not', async () => {
    const url = `${limitedCa.url}/ca/register`;
    const code = await caService.createRegistrationCode({ name: 'Flooded Fiona', validForMs: 600_000 });
    for (let i = 0; i < 4 * REGISTRATIONS_PER_MINUTE; i++) {
      expect((await post(url, `{"registrationCode":"${code}","csr":"AAAA"}`, 'text/plain;charset=UTF-8')).status).toBe(400);
      expect((await post(url, 'registrationCode=x', 'application/x-www-form-urlencoded')).status).toBe(400);
      expect((await post(url, '{"registrationCode":')).status).toBe(400);
    }
    // Guessing codes: the address's budget runs out …
    const csr = async () => createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'device' });
    const guesses: number[] = [];
    for (let i = 0; i < REGISTRATIONS_PER_MINUTE + 2; i++) {
      guesses.push((await post(url, JSON.stringify({ registrationCode: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', csr: await csr() }))).status);
    }
    expect(guesses.slice(0, REGISTRATIONS_PER_MINUTE)).toEqual(Array(REGISTRATIONS_PER_MINUTE).fill(403));
    expect(guesses.at(-1)).toBe(429);
    // … but a request naming a code the CA issued counts against that code: the shopper registers.
    const registered = await post(url, JSON.stringify({ registrationCode: code, csr: await csr() }));
    expect(registered.status).toBe(200);
    expect((JSON.parse(registered.text) as { name: string }).name).toBe('Flooded Fiona');
  });
});
