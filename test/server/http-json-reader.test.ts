/**
 * The JSON edge (server/http/json.ts) reads a body from Node's IncomingMessage when the adaptor
 * hands it over (a party served by http/listen.ts), and from the Request's web stream otherwise
 * (app.request, HTTP/2, a body someone started reading). Both must give the same answer to the
 * same bytes: the same value, or the same refusal (status, code, message). The same app answers
 * each body once over real HTTP (IncomingMessage) and once through app.request (web stream); the
 * route reports which way its body was read, so a fast path that quietly stopped being taken fails
 * here too.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handleError } from '../../server/http/errors.js';
import { jsonBody, readJson } from '../../server/http/json.js';
import { listen, type RunningServer } from '../../server/http/listen.js';

const MAX_BYTES = 4096;
const MAX_DEPTH = 6;
const MAX_VALUES = 50;

function app(): Hono {
  const a = new Hono();
  a.onError(handleError);
  // The whole body already buffered when the edge starts reading (its first read answers at once):
  // wait until the server has parsed the entire message.
  a.post('/late', async (c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    while (incoming && !incoming.complete) await new Promise((r) => setImmediate(r));
    await next();
  });
  a.post('/late', jsonBody({ maxBytes: MAX_BYTES, maxDepth: MAX_DEPTH, maxValues: MAX_VALUES }, 'echo'), async (c) => {
    const value = await readJson(c, z.unknown(), 'echo');
    return c.json({ value, viaWebStream: c.req.raw.bodyUsed });
  });
  a.post('/echo', jsonBody({ maxBytes: MAX_BYTES, maxDepth: MAX_DEPTH, maxValues: MAX_VALUES }, 'echo'), async (c) => {
    const value = await readJson(c, z.unknown(), 'echo');
    // Read through the web stream, the Request's body is used; read from the IncomingMessage, the
    // adaptor never built that stream.
    return c.json({ value, viaWebStream: c.req.raw.bodyUsed });
  });
  return a;
}

interface Answer {
  status: number;
  json: unknown;
}

/** Over loopback HTTP/1.1, the body written in `chunks` pieces (no Content-Length when `chunked`). */
function overHttp(url: string, body: Uint8Array, contentType: string | null, chunks: number, chunked: boolean, path = '/echo'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (contentType) headers['content-type'] = contentType;
    if (!chunked) headers['content-length'] = body.byteLength;
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const step = Math.max(1, Math.ceil(body.byteLength / chunks));
    let at = 0;
    const writeNext = () => {
      if (at >= body.byteLength) {
        req.end();
        return;
      }
      const piece = body.subarray(at, at + step);
      at += step;
      // One piece per turn, so the server sees them as separate chunks.
      req.write(piece, () => setImmediate(writeNext));
    };
    writeNext();
  });
}

async function viaRequest(a: Hono, body: Uint8Array, contentType: string | null, chunks: number, path = '/echo'): Promise<Answer> {
  const step = Math.max(1, Math.ceil(body.byteLength / chunks));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < body.byteLength; at += step) controller.enqueue(body.slice(at, at + step));
      controller.close();
    },
  });
  const res = await a.request(path, {
    method: 'POST',
    headers: contentType ? { 'content-type': contentType } : {},
    body: stream,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, json: await res.json() };
}

const enc = (s: string) => new TextEncoder().encode(s);
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** Bodies the edge takes and bodies it refuses for each of its reasons. */
const CASES: { name: string; body: Uint8Array; contentType?: string | null }[] = [
  { name: 'an object', body: enc('{"a":1,"b":[true,null,"x"],"c":{"d":"e"}}') },
  { name: 'multibyte UTF-8 split across chunks', body: enc(`{"text":"${'äöü€𝄞'.repeat(40)}"}`) },
  { name: 'the most values allowed', body: enc(`[${Array.from({ length: MAX_VALUES - 1 }, () => '0').join(',')}]`) },
  { name: 'one value too many', body: enc(`[${Array.from({ length: MAX_VALUES + 2 }, () => '0').join(',')}]`) },
  { name: 'the deepest nesting allowed', body: enc(deep(MAX_DEPTH)) },
  { name: 'one level too deep', body: enc(deep(MAX_DEPTH + 1)) },
  { name: 'too deep early in a long body', body: enc(`${deep(MAX_DEPTH + 1).slice(0, MAX_DEPTH + 1)}${' '.repeat(3000)}${']'.repeat(MAX_DEPTH + 1)}`) },
  { name: 'not JSON', body: enc('{"a":') },
  { name: 'empty', body: new Uint8Array(0) },
  { name: 'not UTF-8', body: Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
  { name: 'over the size bound', body: enc(`{"pad":"${'a'.repeat(MAX_BYTES)}"}`) },
  { name: 'another Content-Type', body: enc('{"a":1}'), contentType: 'text/plain;charset=UTF-8' },
  { name: 'no Content-Type', body: enc('{"a":1}'), contentType: null },
];

let server: RunningServer;
const served = app();
const direct = app();

beforeAll(async () => {
  server = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => served.fetch(req, env) });
});
afterAll(async () => {
  await server?.close();
});

describe('the JSON edge reads the IncomingMessage as it reads the web stream', () => {
  for (const c of CASES) {
    for (const [chunks, chunked, path] of [
      [1, false, '/echo'],
      [7, false, '/echo'],
      [1, true, '/echo'],
      [7, true, '/echo'],
      [7, true, '/late'],
    ] as const) {
      it(`${c.name}: ${chunks} chunk(s), ${chunked ? 'chunked' : 'Content-Length'}${path === '/late' ? ', all buffered before reading' : ''}`, async () => {
        const contentType = c.contentType === undefined ? 'application/json' : c.contentType;
        const fromNode = await overHttp(server.url, c.body, contentType, chunks, chunked, path);
        const fromStream = await viaRequest(direct, c.body, contentType, chunks, path);
        if (fromNode.status === 200) {
          // The way each was read: the IncomingMessage over HTTP, the web stream through app.request.
          expect(fromNode.json).toMatchObject({ viaWebStream: false });
          expect(fromStream.json).toMatchObject({ viaWebStream: true });
          expect((fromNode.json as { value: unknown }).value).toEqual((fromStream.json as { value: unknown }).value);
          expect(fromNode.status).toBe(fromStream.status);
        } else {
          // A declared size over the bound is refused before reading, and a streamed one at the bound: the same answer.
          expect(fromNode).toEqual(fromStream);
        }
      });
    }
  }
});

describe('the JSON edge refuses what is not UTF-8', () => {
  it('as 400 ERR_SCHEMA, both ways, instead of reading replacement characters into a value', async () => {
    const body = CASES.find((c) => c.name === 'not UTF-8')!.body;
    const answer = await viaRequest(direct, body, 'application/json', 1);
    expect(answer).toMatchObject({ status: 400, json: { error: { code: 'ERR_SCHEMA', message: expect.stringContaining('not UTF-8') } } });
    expect(await overHttp(server.url, body, 'application/json', 3, true)).toEqual(answer);
  });
});
