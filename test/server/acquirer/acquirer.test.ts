/**
 * The card acquirer on its own, over HTTP on 127.0.0.1: authentication (API key, HMAC of the
 * request), idempotency (one intent per key, the same key with another body refused), declines
 * with their codes, capture once under 100 concurrent confirms, refunds bounded by the capture,
 * and that it knows nothing about Semper (imports nothing from core/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcquirerClient } from '../../../server/acquirer/client.js';
import { AcquirerService } from '../../../server/acquirer/service.js';
import { startAcquirerServer } from '../../../server/acquirer/server.js';
import { signRequest } from '../../../server/acquirer/signature.js';
import type { RunningServer } from '../../../server/http/listen.js';

let acquirer: AcquirerService;
let server: RunningServer;
let creds: { merchantId: string; apiKey: string; signingSecret: string };
let client: AcquirerClient;

beforeEach(async () => {
  acquirer = new AcquirerService();
  server = await startAcquirerServer(acquirer);
  creds = acquirer.createMerchant('shop');
  client = new AcquirerClient(server.url, creds);
});
afterEach(async () => {
  await server.close();
  acquirer.close();
});

const intentBody = (over: Record<string, unknown> = {}) => ({ amount: 1250, currency: 'chf', merchant_reference: 'order-0001', card: 'tok_visa', ...over });
const err = (b: unknown) => (b as { error: { type: string; code: string; decline_code?: string } }).error;
const intent = (b: unknown) =>
  b as { id: string; status: string; amount: number; currency: string; amount_captured: number; amount_refunded: number; decline_code: string | null };

async function raw(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(new URL(path, server.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: await res.json() };
}

describe('authentication', () => {
  it('refuses a wrong API key with 401 invalid_api_key, even with a valid signature', async () => {
    const other = new AcquirerClient(server.url, { apiKey: `sk_test_${'0'.repeat(48)}`, signingSecret: creds.signingSecret });
    const r = await other.request('POST', '/v1/payment_intents', intentBody(), 'k1');
    expect(r.status).toBe(401);
    expect(err(r.body)).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    expect(acquirer.intentCount(creds.merchantId)).toBe(0);
  });

  it('refuses a missing or non-Bearer Authorization with 401', async () => {
    const body = JSON.stringify(intentBody());
    const t = Math.floor(Date.now() / 1000);
    const sig = signRequest(creds.signingSecret, t, 'POST', '/v1/payment_intents', undefined, body);
    const r = await raw('/v1/payment_intents', body, { 'acquirer-signature': sig, authorization: `Basic ${creds.apiKey}` });
    expect(r.status).toBe(401);
    expect(err(r.body).code).toBe('invalid_api_key');
  });

  it('refuses a bad HMAC with 401 invalid_signature: another secret, a body changed after signing, another path, a stale timestamp', async () => {
    const body = JSON.stringify(intentBody());
    const t = Math.floor(Date.now() / 1000);
    const auth = { authorization: `Bearer ${creds.apiKey}` };
    const cases = [
      signRequest(`whsec_${'1'.repeat(64)}`, t, 'POST', '/v1/payment_intents', undefined, body),
      signRequest(creds.signingSecret, t, 'POST', '/v1/payment_intents', undefined, body.replace('1250', '1')),
      signRequest(creds.signingSecret, t, 'POST', '/v1/refunds', undefined, body),
      signRequest(creds.signingSecret, t - 3600, 'POST', '/v1/payment_intents', undefined, body),
    ];
    for (const sig of cases) {
      const r = await raw('/v1/payment_intents', body, { ...auth, 'acquirer-signature': sig });
      expect(r.status).toBe(401);
      expect(err(r.body)).toMatchObject({ type: 'authentication_error', code: 'invalid_signature' });
    }
    const missing = await raw('/v1/payment_intents', body, auth);
    expect(missing.status).toBe(401);
    expect(err(missing.body).code).toBe('invalid_signature');
    // The signature covers the idempotency key: a signed request replayed under another key is refused.
    const signedK1 = signRequest(creds.signingSecret, t, 'POST', '/v1/payment_intents', 'k1', body);
    const replayed = await raw('/v1/payment_intents', body, { ...auth, 'acquirer-signature': signedK1, 'idempotency-key': 'k2' });
    expect(replayed.status).toBe(401);
    expect(acquirer.intentCount(creds.merchantId)).toBe(0);
    // and the correct one passes
    const ok = await raw('/v1/payment_intents', body, { ...auth, 'acquirer-signature': signedK1, 'idempotency-key': 'k1' });
    expect(ok.status).toBe(200);
    expect(intent(ok.body).status).toBe('requires_confirmation');
  });

  it("does not show one merchant another's intents", async () => {
    const created = await client.request('POST', '/v1/payment_intents', intentBody(), 'k1');
    const other = new AcquirerClient(server.url, acquirer.createMerchant('other'));
    const r = await other.request('GET', `/v1/payment_intents/${intent(created.body).id}`);
    expect(r.status).toBe(404);
    expect(err(r.body).code).toBe('resource_missing');
  });
});

describe('payment intents', () => {
  it('creates with integer minor units, confirms to succeeded and captures the whole amount', async () => {
    const created = await client.request('POST', '/v1/payment_intents', intentBody({ currency: 'CHF' }), 'k1');
    expect(created.status).toBe(200);
    expect(intent(created.body)).toMatchObject({ status: 'requires_confirmation', amount: 1250, currency: 'chf', amount_captured: 0 });
    const confirmed = await client.request('POST', `/v1/payment_intents/${intent(created.body).id}/confirm`, {}, 'k2');
    expect(confirmed.status).toBe(200);
    expect(intent(confirmed.body)).toMatchObject({ status: 'succeeded', amount_captured: 1250 });
    expect(acquirer.captures(intent(created.body).id)).toEqual({ count: 1, amount: 1250 });
  });

  it('refuses non-integer, zero and negative amounts and bad currencies', async () => {
    for (const over of [{ amount: 12.5 }, { amount: 0 }, { amount: -5 }, { amount: '1250' }, { currency: 'francs' }]) {
      const r = await client.request('POST', '/v1/payment_intents', intentBody(over));
      expect(r.status).toBe(400);
      expect(err(r.body).code).toBe('parameter_invalid');
    }
    expect(acquirer.intentCount(creds.merchantId)).toBe(0);
  });

  it.each([
    ['tok_declined', 'do_not_honor'],
    ['tok_expired', 'card_expired'],
    ['tok_insufficient', 'insufficient_funds'],
  ])('declines %s with 402 card_declined / %s and captures nothing', async (card, code) => {
    const created = await client.request('POST', '/v1/payment_intents', intentBody({ card }));
    const id = intent(created.body).id;
    const r = await client.request('POST', `/v1/payment_intents/${id}/confirm`, {});
    expect(r.status).toBe(402);
    expect(err(r.body)).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: code });
    expect(intent((r.body as { error: { payment_intent: unknown } }).error.payment_intent)).toMatchObject({ status: 'declined', decline_code: code });
    expect(acquirer.captures(id).count).toBe(0);
    const again = await client.request('POST', `/v1/payment_intents/${id}/confirm`, {});
    expect(again.status).toBe(400);
    expect(err(again.body).code).toBe('payment_intent_unexpected_state');
  });

  it('refuses an unknown card token', async () => {
    const r = await client.request('POST', '/v1/payment_intents', intentBody({ card: 'tok_nope' }));
    expect(r.status).toBe(400);
    expect(err(r.body).code).toBe('token_unknown');
  });

  it('manual capture: confirm → requires_capture, capture → succeeded, a second capture refused', async () => {
    const id = intent((await client.request('POST', '/v1/payment_intents', intentBody({ capture_method: 'manual' }))).body).id;
    const confirmed = await client.request('POST', `/v1/payment_intents/${id}/confirm`, {});
    expect(intent(confirmed.body).status).toBe('requires_capture');
    expect(acquirer.captures(id).count).toBe(0);
    const captured = await client.request('POST', `/v1/payment_intents/${id}/capture`, {});
    expect(captured.status).toBe(200);
    expect(intent(captured.body)).toMatchObject({ status: 'succeeded', amount_captured: 1250 });
    const twice = await client.request('POST', `/v1/payment_intents/${id}/capture`, {});
    expect(twice.status).toBe(400);
    expect(err(twice.body).code).toBe('payment_intent_unexpected_state');
    expect(acquirer.captures(id)).toEqual({ count: 1, amount: 1250 });
  });
});

describe('idempotency', () => {
  it('the same key and body answers the same intent; the same key with another body is refused', async () => {
    const a = await client.request('POST', '/v1/payment_intents', intentBody(), 'order-0001-create');
    const b = await client.request('POST', '/v1/payment_intents', intentBody(), 'order-0001-create');
    expect(b).toEqual(a);
    const c = await client.request('POST', '/v1/payment_intents', intentBody({ amount: 9999 }), 'order-0001-create');
    expect(c.status).toBe(400);
    expect(err(c.body)).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused' });
    // the key on another endpoint is another request too
    const d = await client.request('POST', '/v1/refunds', { payment_intent: intent(a.body).id }, 'order-0001-create');
    expect(err(d.body).code).toBe('idempotency_key_reused');
    expect(acquirer.intentCount(creds.merchantId)).toBe(1);
  });

  it('100 concurrent retries under one key create one intent', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, () => client.request('POST', '/v1/payment_intents', intentBody(), 'same-key')));
    expect(new Set(answers.map((r) => intent(r.body).id)).size).toBe(1);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(acquirer.intentCount(creds.merchantId)).toBe(1);
  });

  it('100 concurrent confirms (each its own key) → one capture, one success, 99 unexpected_state', async () => {
    const id = intent((await client.request('POST', '/v1/payment_intents', intentBody())).body).id;
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => client.request('POST', `/v1/payment_intents/${id}/confirm`, {}, `confirm-${i}`)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    const refused = answers.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(99);
    expect(refused.every((r) => r.status === 400 && err(r.body).code === 'payment_intent_unexpected_state')).toBe(true);
    expect(acquirer.captures(id)).toEqual({ count: 1, amount: 1250 });
  });

  it('100 concurrent confirms under one key → one capture, all the same success', async () => {
    const id = intent((await client.request('POST', '/v1/payment_intents', intentBody())).body).id;
    const answers = await Promise.all(Array.from({ length: 100 }, () => client.request('POST', `/v1/payment_intents/${id}/confirm`, {}, 'confirm-once')));
    expect(answers.every((r) => r.status === 200 && intent(r.body).status === 'succeeded')).toBe(true);
    expect(acquirer.captures(id)).toEqual({ count: 1, amount: 1250 });
  });
});

describe('refunds', () => {
  it('refunds up to the captured amount, not beyond, and not an uncaptured intent', async () => {
    const id = intent((await client.request('POST', '/v1/payment_intents', intentBody())).body).id;
    const early = await client.request('POST', '/v1/refunds', { payment_intent: id });
    expect(err(early.body).code).toBe('payment_intent_unexpected_state');
    await client.request('POST', `/v1/payment_intents/${id}/confirm`, {});
    const part = await client.request('POST', '/v1/refunds', { payment_intent: id, amount: 250 }, 'r1');
    expect(part.status).toBe(200);
    expect(part.body).toMatchObject({ object: 'refund', payment_intent: id, amount: 250, currency: 'chf', status: 'succeeded' });
    const retried = await client.request('POST', '/v1/refunds', { payment_intent: id, amount: 250 }, 'r1');
    expect(retried.body).toEqual(part.body);
    const tooMuch = await client.request('POST', '/v1/refunds', { payment_intent: id, amount: 1001 });
    expect(err(tooMuch.body).code).toBe('amount_too_large');
    const rest = await client.request('POST', '/v1/refunds', { payment_intent: id });
    expect(rest.body).toMatchObject({ amount: 1000 });
    const none = await client.request('POST', '/v1/refunds', { payment_intent: id });
    expect(err(none.body).code).toBe('charge_already_refunded');
    expect(intent((await client.request('GET', `/v1/payment_intents/${id}`)).body).amount_refunded).toBe(1250);
  });
});

describe('the acquirer knows nothing about Semper', () => {
  it('imports nothing from core/ and names no Semper statement', () => {
    const dir = join(import.meta.dirname, '../../../server/acquirer');
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/from '\.\.\/\.\.\/core\//);
      expect(text, f).not.toMatch(/semper\./);
    }
  });
});
