/**
 * HTTP host of the TSA (Hono), the time-stamp protocol over HTTP of RFC 3161 §3.4:
 *
 *   POST /tsa              Content-Type application/timestamp-query, a DER TimeStampReq
 *                          → 200 application/timestamp-reply, a DER TimeStampResp: granted with
 *                            the token, or rejection with failInfo (badAlg: not SHA-256;
 *                            badDataFormat: imprint not 32 bytes; badRequest: not a v1 DER
 *                            TimeStampReq; unacceptedPolicy; unacceptedExtension)
 *                          → 415 (another Content-Type), 413 (over MAX_TSA_REQUEST_BYTES), 429 (too
 *                            many requests from one address, Retry-After): each still a
 *                            TimeStampResp with status rejection, so any RFC 3161 client can read why
 *   GET  /tsa/certificate  → the TSA's certificate chain as PEM (TSA first, then its CA);
 *                            `?format=der` → the TSA certificate alone, application/pkix-cert
 *   GET  /tsa              → { policy, accuracy, certificateChain } (JSON, DER base64)
 *
 * The Content-Type check comes first: a web page can send application/timestamp-query only with a
 * CORS preflight this app never answers, so no other site can make the TSA sign for it.
 */
import { Hono, type Context } from 'hono';
import { rejectionResponse, TIMESTAMP_QUERY_TYPE, TIMESTAMP_REPLY_TYPE, type TimeStampFailure } from '../../core/timestamp/index.js';
import { errorResponse, handleError } from '../http/errors.js';
import { peerAddress, RateLimiter } from '../http/rate-limit.js';
import type { TsaService } from './service.js';

/** A TimeStampReq with a SHA-256 imprint, a nonce and a policy is about 100 bytes; 4 KiB leaves room and no more. */
export const MAX_TSA_REQUEST_BYTES = 4 * 1024;
/** Tokens per client address per minute by default (each costs a signature and a row). */
export const DEFAULT_TSA_REQUESTS_PER_MINUTE = 600;

export interface TsaAppOptions {
  requestsPerMinute?: number;
  now?: () => number;
}

function reply(body: Uint8Array<ArrayBuffer>, status: 200 | 413 | 415 | 429 = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'content-type': TIMESTAMP_REPLY_TYPE, 'cache-control': 'no-store', ...headers } });
}

function refuse(failure: TimeStampFailure, text: string, status: 413 | 415 | 429, headers: Record<string, string> = {}): Response {
  return reply(rejectionResponse(failure, text), status, headers);
}

/** Read at most `max` bytes of the body; undefined when it is longer. */
async function readBounded(c: Context, max: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > max) return undefined;
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

export function createTsaApp(service: TsaService, options: TsaAppOptions = {}): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', 'no such endpoint'));
  const limiter = new RateLimiter({
    limit: options.requestsPerMinute ?? DEFAULT_TSA_REQUESTS_PER_MINUTE,
    windowMs: 60_000,
    ...(options.now ? { now: options.now } : {}),
  });

  app.get('/tsa', (c) => c.json({ policy: service.policy, accuracy: service.accuracy, certificateChain: service.certificateChain }));

  app.get('/tsa/certificate', (c) => {
    if (c.req.query('format') === 'der') {
      const der = Buffer.from(service.certificate, 'base64');
      return new Response(new Uint8Array(der), { headers: { 'content-type': 'application/pkix-cert' } });
    }
    return c.body(service.chainPem(), 200, { 'content-type': 'application/x-pem-file' });
  });

  app.post('/tsa', async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== TIMESTAMP_QUERY_TYPE) return refuse('badRequest', `RFC 3161 §3.4: the request must be ${TIMESTAMP_QUERY_TYPE}`, 415);
    const body = await readBounded(c, MAX_TSA_REQUEST_BYTES);
    if (!body) return refuse('badRequest', `a TimeStampReq is at most ${MAX_TSA_REQUEST_BYTES} bytes here`, 413);
    const waitMs = limiter.attempt(peerAddress(c));
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      return refuse('timeNotAvailable', `too many requests from this address; try again in ${seconds} s`, 429, { 'retry-after': String(seconds) });
    }
    return reply(await service.respond(body));
  });

  return app;
}
