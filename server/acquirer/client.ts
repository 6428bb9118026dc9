/**
 * The acquirer's client library (what a merchant's software — here the Semper adapter — uses, as
 * it would a vendor SDK): signs each request, sends the idempotency key, returns status and JSON.
 * It does not interpret answers; the adapter does (core/payment/card).
 */
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signRequest } from './signature.js';

export interface AcquirerCredentials {
  apiKey: string;
  signingSecret: string;
}

export interface AcquirerReply {
  status: number;
  body: unknown;
}

export class AcquirerClient {
  constructor(
    readonly baseUrl: string,
    private readonly credentials: AcquirerCredentials,
    private readonly options: { now?: () => number; fetch?: typeof fetch } = {},
  ) {}

  async request(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<AcquirerReply> {
    const text = method === 'GET' ? '' : JSON.stringify(body ?? {});
    const t = Math.floor((this.options.now ?? Date.now)() / 1000);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.credentials.apiKey}`,
      [SIGNATURE_HEADER]: signRequest(this.credentials.signingSecret, t, method, path, idempotencyKey, text),
    };
    if (method === 'POST') headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers[IDEMPOTENCY_HEADER] = idempotencyKey;
    const res = await (this.options.fetch ?? fetch)(new URL(path, this.baseUrl), { method, headers, ...(method === 'POST' ? { body: text } : {}) });
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed };
  }
}
