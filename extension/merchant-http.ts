/** The purchase runner's HTTP: `POST ${origin}${path}` on the page's own origin (see http.ts). */
import type { Outbound } from '../core/commerce/shopper.js';
import { postJson, type HttpReply } from './http.js';

export { REQUEST_TIMEOUT_MS } from './http.js';
export const MAX_RESPONSE_BYTES = 2_000_000;

export function postToMerchant(origin: string, outbound: Outbound, fetchImpl: typeof fetch = fetch): Promise<HttpReply> {
  return postJson(origin, outbound.path, outbound.body, { maxResponseBytes: MAX_RESPONSE_BYTES, fetchImpl });
}
