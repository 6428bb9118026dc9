/** Shared helpers for the server tests: temp data dirs, a test shopper, HTTP calls, signed orders. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { randomId } from '../../core/encoding/index.js';
import type { OfferBody, OrderBody } from '../../core/protocol/commerce.js';
import { signStatement, statementDigest, type Statement } from '../../core/statements/index.js';

export function tempDataDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `semper-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function testShopper(): Promise<Signer> {
  return signerFromKeyPair('ES256', await generateKeyPair('ES256'));
}

export const newDealId = (): string => randomId(16);
export const newNonce = (): string => randomId(32);

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

async function toResult<T>(res: Response): Promise<HttpResult<T>> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as T };
}

export async function getJson<T = unknown>(url: string): Promise<HttpResult<T>> {
  return toResult<T>(await fetch(url));
}

/** POST a body as application/json; a string body is sent as is (for malformed-JSON tests). */
export async function postJson<T = unknown>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return toResult<T>(res);
}

export interface ErrorJson {
  error: { code: string; message: string };
}

export async function requestOffer(shopUrl: string, items = [{ sku: 'ink-drying-report', quantity: 2 }]) {
  const dealId = newDealId();
  const nonce = newNonce();
  const res = await postJson<{ offer: Statement<OfferBody> }>(`${shopUrl}/semper/offer`, { dealId, nonce, items });
  return { dealId, nonce, res, offer: res.json?.offer };
}

/** What the shopper's machine does when the user confirms: sign an order naming the offer by digest. */
export async function signOrder(
  offer: Statement<OfferBody>,
  shopper: Signer,
  overrides: Partial<OrderBody> & { dealId?: string } = {},
): Promise<Statement<OrderBody>> {
  const { dealId, ...bodyOverrides } = overrides;
  const body: OrderBody = { offerId: offer.body.offerId, offerDigest: await statementDigest(offer), paymentMethod: 'invoice', ...bodyOverrides };
  return signStatement<OrderBody>({ type: 'semper.order', version: 1, dealId: dealId ?? offer.dealId, issuedAt: new Date().toISOString(), body }, shopper);
}
