/**
 * The worker's HTTP for exchange deals. To the merchant: only `${origin}/semper/exchange/...` on
 * the page's own origin. To the TTP: only `${url}/ttp/requests` at the URL the user configured
 * for that TTP. The client itself is http.ts.
 */
import type { Statement } from '../core/statements/index.js';
import { postJson, type HttpReply } from './http.js';

export const MAX_EXCHANGE_RESPONSE_BYTES = 8_000_000;
export type ExchangeHttpReply = HttpReply;

const post = (base: string, path: string, body: unknown) => postJson(base, path, body, { maxResponseBytes: MAX_EXCHANGE_RESPONSE_BYTES });

export interface ExchangeTransport {
  descriptor(origin: string, body: unknown): Promise<ExchangeHttpReply>;
  peer(origin: string, message: Statement): Promise<ExchangeHttpReply>;
  ttp(url: string, request: Statement): Promise<ExchangeHttpReply>;
}

export const httpExchangeTransport: ExchangeTransport = {
  descriptor: (origin, body) => post(origin, '/semper/exchange/descriptor', body),
  peer: (origin, message) => post(origin, '/semper/exchange/messages', { message }),
  ttp: (url, request) => post(url, '/ttp/requests', { request }),
};
