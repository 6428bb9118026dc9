/**
 * The worker's HTTP for exchange deals. To the merchant: only `${origin}/semper/exchange/...` on
 * the page's own origin. To the TTP: only `${url}/ttp/requests` at the URL the user configured
 * for that TTP. No cookies, no redirects, bounded time and size; never throws.
 */
import { ErrorResponse } from '../core/protocol/commerce.js';
import type { Statement } from '../core/statements/index.js';

export const MAX_EXCHANGE_RESPONSE_BYTES = 8_000_000;
export const EXCHANGE_REQUEST_TIMEOUT_MS = 20_000;

export type ExchangeHttpReply =
  | { kind: 'response'; body: unknown }
  /** `status` is absent when nothing came back (network, timeout). */
  | { kind: 'error'; error: { code: string; message: string }; status?: number };

async function readBounded(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error('response too large');
  }
  if (!response.body) return '';
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
  return new TextDecoder().decode(bytes);
}

export async function postJson(base: string, path: string, body: unknown, fetchImpl: typeof fetch = fetch): Promise<ExchangeHttpReply> {
  let url: URL;
  try {
    url = new URL(path, base);
  } catch {
    return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `bad address ${base}` } };
  }
  if (url.origin !== new URL(base).origin) return { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'path leaves the origin' } };
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      redirect: 'error',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      signal: AbortSignal.timeout(EXCHANGE_REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `${url.origin} unreachable: ${e instanceof Error ? e.message : String(e)}` } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readBounded(response, MAX_EXCHANGE_RESPONSE_BYTES));
  } catch (e) {
    return { kind: 'error', status: response.status, error: { code: 'ERR_SCHEMA', message: `reply (HTTP ${response.status}) is not JSON: ${e instanceof Error ? e.message : String(e)}` } };
  }
  if (response.ok) return { kind: 'response', body: parsed };
  const error = ErrorResponse.safeParse(parsed);
  if (error.success) return { kind: 'error', status: response.status, error: error.data.error };
  return { kind: 'error', status: response.status, error: { code: 'ERR_INTERNAL', message: `HTTP ${response.status}` } };
}

export interface ExchangeTransport {
  descriptor(origin: string, body: unknown): Promise<ExchangeHttpReply>;
  peer(origin: string, message: Statement): Promise<ExchangeHttpReply>;
  ttp(url: string, request: Statement): Promise<ExchangeHttpReply>;
}

export const httpExchangeTransport: ExchangeTransport = {
  descriptor: (origin, body) => postJson(origin, '/semper/exchange/descriptor', body),
  peer: (origin, message) => postJson(origin, '/semper/exchange/messages', { message }),
  ttp: (url, request) => postJson(url, '/ttp/requests', { request }),
};
