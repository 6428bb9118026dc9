/**
 * The worker's HTTP to a merchant's Semper endpoint: `POST ${origin}${path}` with a JSON body,
 * on the page's own origin only. No cookies, no redirects (a redirect could move the request to
 * another origin), bounded time and size. Never throws: failures become a typed error that the
 * runner feeds to the machine as a transport-error.
 */
import { ErrorResponse } from '../core/protocol/commerce.js';
import type { Outbound } from '../core/commerce/shopper.js';
import type { HttpReply } from './deal-runner.js';

export const MAX_RESPONSE_BYTES = 2_000_000;
export const REQUEST_TIMEOUT_MS = 20_000;

/**
 * The body as text, reading at most `limit` bytes: a declared or streamed larger body is cancelled
 * (closing the connection) instead of being buffered whole. The fetch's timeout signal also
 * aborts a body that never ends.
 */
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

export async function postToMerchant(origin: string, outbound: Outbound, fetchImpl: typeof fetch = fetch): Promise<HttpReply> {
  let url: URL;
  try {
    url = new URL(outbound.path, origin);
  } catch {
    return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `bad merchant origin ${origin}` } };
  }
  if (url.origin !== origin) return { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'merchant path leaves the origin' } };
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(outbound.body),
      credentials: 'omit',
      redirect: 'error',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `merchant unreachable: ${e instanceof Error ? e.message : String(e)}` } };
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBounded(response, MAX_RESPONSE_BYTES));
  } catch (e) {
    return { kind: 'error', error: { code: 'ERR_SCHEMA', message: `merchant reply (HTTP ${response.status}) is not JSON: ${e instanceof Error ? e.message : String(e)}` } };
  }
  if (response.ok) return { kind: 'response', body };
  const error = ErrorResponse.safeParse(body);
  if (error.success) return { kind: 'error', error: error.data.error };
  return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `merchant replied HTTP ${response.status}` } };
}
