/**
 * The worker's one HTTP client for talking to other parties (merchants, the TTP): `POST` JSON to
 * a fixed path on a fixed origin. No cookies, no redirects (a redirect could move the request to
 * another origin), bounded time and size. Never throws: every failure is a typed error that the
 * host feeds to its machines.
 */
import { z } from '../../core/zod.js';
import { ErrorResponse } from '../../core/protocol/commerce.js';
import type { TransportReply } from '../../core/machine.js';
import type { HostOutbound, UnblindOutbound } from './host.js';
import type { PaymentRequest } from '../../core/commerce/fair-purchase-shopper.js';

/**
 * A transport reply; an error answer keeps its parsed body (`body`): the bank's double-spend
 * refusal carries its proof there (core/payment/cash/wallet.ts WalletReply).
 */
export type HttpReply = TransportReply | { kind: 'error'; error: { code: string; message: string }; status: number; body: unknown };

/** `{ error: { code, message } }`, with whatever else the party put beside it (coinId, proof, receipt, ...). */
const ErrorEnvelope = z.looseObject({ error: ErrorResponse.shape.error });

export const REQUEST_TIMEOUT_MS = 20_000;

/**
 * The body as text, reading at most `limit` bytes: a declared or streamed larger body is cancelled
 * (closing the connection) instead of being buffered whole. The fetch's timeout signal also
 * aborts a body that never ends.
 */
async function readBounded(response: Response, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error('response too large');
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new Error('response too large');
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export interface PostOptions {
  maxResponseBytes: number;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export async function postJson(base: string, path: string, body: unknown, options: PostOptions): Promise<HttpReply> {
  let url: URL;
  try {
    url = new URL(path, base);
  } catch {
    return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `bad address ${base}` } };
  }
  if (url.origin !== new URL(base).origin) return { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'path leaves the origin' } };
  let response: Response;
  try {
    response = await (options.fetchImpl ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      redirect: 'error',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `${url.origin} unreachable: ${e instanceof Error ? e.message : String(e)}` } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await readBounded(response, options.maxResponseBytes)));
  } catch (e) {
    return {
      kind: 'error',
      status: response.status,
      error: { code: 'ERR_SCHEMA', message: `reply (HTTP ${response.status}) is not JSON: ${e instanceof Error ? e.message : String(e)}` },
    };
  }
  if (response.ok) return { kind: 'response', body: parsed };
  const error = ErrorEnvelope.safeParse(parsed);
  if (error.success) return { kind: 'error', status: response.status, error: error.data.error, body: parsed };
  return { kind: 'error', status: response.status, error: { code: 'ERR_INTERNAL', message: `HTTP ${response.status}` } };
}

/**
 * GET a published binary document (a CRL named in a certificate): http(s) only, same rules as
 * above. Throws an Error saying what went wrong; the caller turns it into its typed error.
 */
export async function getBytes(address: string, options: PostOptions): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(address);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`not an http(s) URL: ${address}`);
  const response = await (options.fetchImpl ?? fetch)(url, {
    method: 'GET',
    credentials: 'omit',
    redirect: 'error',
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
    signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`${url.origin} answered HTTP ${response.status}`);
  }
  return readBounded(response, options.maxResponseBytes);
}

/** GET a party's JSON document (a bank's key, its denomination list): the same rules, at most 1 MB. */
export async function getJson(address: string, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  const bytes = await getBytes(address, { maxResponseBytes: 1_000_000, fetchImpl });
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Bounds on what a merchant's or TTP's answer may be: purchases are small; exchanges carry documents. */
export const MAX_RESPONSE_BYTES = 2_000_000;
export const MAX_EXCHANGE_RESPONSE_BYTES = 8_000_000;

/**
 * The host's transport (worker/host.ts): a machine's `to: 'merchant'` goes only to the page's own
 * origin, `to: 'ttp'` only to the URL in the machine's state, which came from the user's setting,
 * `to: 'bank'` only to a purse's own bank (its record's origin, the URL the user opened it at).
 */
export function httpTransport(
  fetchImpl: typeof fetch = fetch,
  payments?: (request: PaymentRequest) => Promise<HttpReply>,
  unblind?: (outbound: UnblindOutbound) => Promise<HttpReply>,
): (origin: string, outbound: HostOutbound) => Promise<HttpReply> {
  return async (origin, outbound) => {
    // A purse's unblinding is the worker's own work (an offscreen task), not a request to anyone.
    if (outbound.kind === 'unblind') {
      if (!unblind) return { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'this browser cannot unblind coins' } };
      return unblind(outbound);
    }
    if (outbound.kind === 'pay') {
      if (!payments) return { kind: 'error', error: { code: 'ERR_PAYMENT_METHOD', message: 'this browser has no payment service' }, status: 409 };
      return payments(outbound.request);
    }
    const base = outbound.to === 'ttp' ? outbound.url : origin;
    const maxResponseBytes = outbound.to === 'merchant' && !outbound.path.startsWith('/semper/exchange/') ? MAX_RESPONSE_BYTES : MAX_EXCHANGE_RESPONSE_BYTES;
    return postJson(base, outbound.path, outbound.body, { maxResponseBytes, fetchImpl });
  };
}
