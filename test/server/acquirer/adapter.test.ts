/**
 * The card adapter against the real acquirer, both over HTTP on 127.0.0.1: the generic payment API
 * (core/payment/card cardPayment) drives the adapter (server/payment-adapter), which drives the
 * acquirer (server/acquirer). A success gives an operator-signed proof matchItem accepts; a decline
 * a typed ERR_PAYMENT_DECLINED and no proof; a refund goes through the acquirer and the payment's
 * status becomes refunded; an acquirer answer tampered in transit gets no proof.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, type Signer, signerFromKeyPair } from '../../../core/crypto/index.js';
import { matchItem } from '../../../core/items/match.js';
import type { MoneyDescription } from '../../../core/items/schema.js';
import { cryptoRandom } from '../../../core/machine.js';
import { type CardAnswer, type CardState, cardMoneyItem, cardPayment, settleCardPayment, settleCardRefund } from '../../../core/payment/card/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { AcquirerClient } from '../../../server/acquirer/client.js';
import { startAcquirerServer } from '../../../server/acquirer/server.js';
import { AcquirerService } from '../../../server/acquirer/service.js';
import { listen, type RunningServer } from '../../../server/http/listen.js';
import { CardAdapterService } from '../../../server/payment-adapter/service.js';
import { startCardAdapterServer } from '../../../server/payment-adapter/server.js';

const signer = async (): Promise<Signer> => signerFromKeyPair('ES256', await generateKeyPair('ES256'));
const chf = (amount: number) => ({ amount, currency: 'CHF' });
const DAY = 86_400_000;

let acquirer: AcquirerService;
let acquirerServer: RunningServer;
let operator: Signer;
let payee: Signer;
let adapter: CardAdapterService;
let adapterServer: RunningServer;
let proxy: RunningServer | undefined;
let clock: number;
let merchantId: string;

async function setup(acquirerUrl?: (real: string) => Promise<string>) {
  const creds = acquirer.createMerchant('shop');
  merchantId = creds.merchantId;
  const url = acquirerUrl ? await acquirerUrl(acquirerServer.url) : acquirerServer.url;
  adapter = new CardAdapterService({
    operator,
    acquirerName: 'test-acquirer',
    merchants: new Map([[payee.keyId, new AcquirerClient(url, creds)]]),
    refundWindowMs: 7 * DAY,
    now: () => clock,
  });
  adapterServer = await startCardAdapterServer(adapter);
}

beforeEach(async () => {
  clock = Date.now();
  acquirer = new AcquirerService();
  acquirerServer = await startAcquirerServer(acquirer);
  operator = await signer();
  payee = await signer();
});
afterEach(async () => {
  await adapterServer?.close();
  await proxy?.close();
  proxy = undefined;
  await acquirerServer.close();
  adapter?.close();
  acquirer.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, adapterServer.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const errorOf = (b: Record<string, unknown>) => b.error as { code: string; message: string };

function driver() {
  return cardPayment({ operatorKeyId: operator.keyId, sign: deviceKeySigner(payee), random: cryptoRandom });
}

/** The payer pays `amount` for `reference` with a card token; returns the driver's state after the adapter's answer. */
async function pay(cardToken: string, amount = 1250, reference = 'deal-card-0001') {
  const api = driver();
  const start: CardState = { cardToken, payments: {} };
  const { wallet, payment } = await api.pay(start, { amount: chf(amount), payee: payee.keyId, reference, now: clock });
  const reply = await post(payment.path, payment.body);
  const state = await settleCardPayment(
    wallet,
    reference,
    reply.status === 200 ? { answer: reply.body } : { error: { ...errorOf(reply.body), declineCode: reply.body.declineCode as string } },
    operator.keyId,
  );
  return { api, state, reply, request: payment.body };
}

const describeMoney = (over: Partial<MoneyDescription> = {}): MoneyDescription => ({
  kind: 'money',
  method: 'card',
  value: chf(1250),
  payee: payee.keyId,
  reference: 'deal-card-0001',
  issuer: { keyId: operator.keyId },
  ...over,
});

describe('the adapter against the real acquirer', () => {
  beforeEach(async () => setup());

  it('a success gives an operator-signed proof matchItem accepts, and a receipt naming the captured intent', async () => {
    const { api, state, reply } = await pay('tok_visa');
    expect(reply.status).toBe(200);
    const status = api.status(state, 'deal-card-0001');
    expect(status.phase).toBe('settled');
    const answer = reply.body as unknown as CardAnswer;
    const item = cardMoneyItem(answer);
    expect(await matchItem(item, describeMoney(), { roots: [], now: clock })).toEqual({ ok: true });
    const received = await api.receive(answer, { amount: chf(1250), payee: payee.keyId, reference: 'deal-card-0001', now: clock });
    expect(received.receipt.acquirer).toBe('test-acquirer');
    expect(received.receipt.refundableUntil).toBe(clock + 7 * DAY);
    const intent = acquirer.db
      .prepare<[string], { status: string; amount: number; currency: string }>('SELECT status, amount, currency FROM payment_intents WHERE id = ?')
      .get(received.receipt.intentId);
    expect(intent).toEqual({ status: 'succeeded', amount: 1250, currency: 'chf' });
    expect(acquirer.captures(received.receipt.intentId)).toEqual({ count: 1, amount: 1250 });
  });

  it('a proof for another reference, payee, amount or method is refused by matchItem; so is one by another signer', async () => {
    const { reply } = await pay('tok_visa');
    const item = cardMoneyItem(reply.body as unknown as CardAnswer);
    const ctx = { roots: [], now: clock };
    const ref = await matchItem(item, describeMoney({ reference: 'deal-card-0002' }), ctx);
    expect(ref).toEqual({ ok: false, reason: '$: payment proof references deal-card-0001, expected deal-card-0002' });
    const other = await signer();
    expect(await matchItem(item, describeMoney({ payee: other.keyId }), ctx)).toEqual({ ok: false, reason: '$: payment proof names another payee' });
    expect((await matchItem({ ...item, value: chf(1300) }, describeMoney({ value: chf(1300) }), ctx)).ok).toBe(false);
    expect((await matchItem({ ...item, method: 'account' }, describeMoney({ method: 'account' }), ctx)).ok).toBe(false);
    const wrongIssuer = await matchItem(item, describeMoney({ issuer: { keyId: other.keyId } }), ctx);
    expect(wrongIssuer.ok).toBe(false);
    // and the payee's own check refuses the answer for another deal
    await expect(driver().receive(reply.body, { amount: chf(1250), payee: payee.keyId, reference: 'deal-card-0002', now: clock })).rejects.toMatchObject({
      code: 'ERR_ITEM_MISMATCH',
    });
  });

  it.each([
    ['tok_insufficient', 'insufficient_funds'],
    ['tok_expired', 'card_expired'],
    ['tok_declined', 'do_not_honor'],
  ])('%s: 402 ERR_PAYMENT_DECLINED (%s), status refused, no proof; a retry gets the same and charges nothing', async (token, code) => {
    const { api, state, reply, request } = await pay(token);
    expect(reply.status).toBe(402);
    expect(errorOf(reply.body).code).toBe('ERR_PAYMENT_DECLINED');
    expect(reply.body.declineCode).toBe(code);
    expect(reply.body.proof).toBeUndefined();
    expect(api.status(state, 'deal-card-0001')).toMatchObject({ phase: 'refused', code: 'ERR_PAYMENT_DECLINED' });
    const again = await post('/card/pay', request);
    expect(again.status).toBe(402);
    expect(again.body.declineCode).toBe(code);
    expect(acquirer.intentCount(merchantId)).toBe(1);
    expect(acquirer.db.prepare('SELECT COUNT(*) AS n FROM captures').get()).toEqual({ n: 0 });
  });

  it('a retried payment request gets the same answer and one charge; another payment under the same request id is ERR_REPLAY', async () => {
    const { reply, request } = await pay('tok_visa');
    const again = await post('/card/pay', request);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(reply.body);
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => post('/card/pay', request)));
    expect(concurrent.every((r) => r.status === 200)).toBe(true);
    expect(acquirer.intentCount(merchantId)).toBe(1);
    const other = await post('/card/pay', { ...request, amount: chf(1) });
    expect(other.status).toBe(409);
    expect(errorOf(other.body).code).toBe('ERR_REPLAY');
  });

  it('concurrent first requests under one request id still charge once', async () => {
    const api = driver();
    const { payment } = await api.pay(
      { cardToken: 'tok_visa', payments: {} },
      { amount: chf(500), payee: payee.keyId, reference: 'deal-card-0009', now: clock },
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(payment.path, payment.body)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(new Set(answers.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(acquirer.intentCount(merchantId)).toBe(1);
    expect(acquirer.db.prepare<[], { n: number; s: number }>('SELECT COUNT(*) AS n, SUM(amount) AS s FROM captures').get()).toEqual({ n: 1, s: 500 });
  });

  it('a payee the adapter has no acquirer account for is ERR_NOT_FOUND, and nothing reaches the acquirer', async () => {
    const { request } = await pay('tok_visa');
    const stranger = await signer();
    const r = await post('/card/pay', { ...request, requestId: cryptoRandom.id(16), payee: stranger.keyId });
    expect(r.status).toBe(404);
    expect(errorOf(r.body).code).toBe('ERR_NOT_FOUND');
    expect(acquirer.intentCount(merchantId)).toBe(1);
  });

  it('refund: the payee signs, the acquirer refunds the whole amount, the status becomes refunded; once only', async () => {
    const { api, state, request } = await pay('tok_visa');
    const order = await api.refund({ requestId: request.requestId, reference: 'deal-card-0001', amount: chf(1250), now: clock });
    const r = await post('/card/refund', { request: order });
    expect(r.status).toBe(200);
    const refunded = await settleCardRefund(state, 'deal-card-0001', r.body, operator.keyId);
    expect(api.status(refunded, 'deal-card-0001').phase).toBe('refunded');
    const intentId = (state.payments['deal-card-0001']!.answer!.receipt.body as { intentId: string }).intentId;
    expect(acquirer.db.prepare<[string], { amount_refunded: number }>('SELECT amount_refunded FROM payment_intents WHERE id = ?').get(intentId)).toEqual({
      amount_refunded: 1250,
    });
    const twice = await post('/card/refund', { request: order });
    expect(twice.status).toBe(409);
    expect(errorOf(twice.body).code).toBe('ERR_REVOKED');
    expect(twice.body.proof).toEqual((r.body as { receipt: unknown }).receipt);
    expect(acquirer.db.prepare('SELECT COUNT(*) AS n FROM refunds').get()).toEqual({ n: 1 });
  });

  it('10 concurrent refunds of one payment: one refund at the acquirer, one receipt, the others ERR_REVOKED with it', async () => {
    const { api, request } = await pay('tok_visa');
    const order = await api.refund({ requestId: request.requestId, reference: 'deal-card-0001', amount: chf(1250), now: clock });
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('/card/refund', { request: order })));
    const ok = answers.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const rest = answers.filter((r) => r.status !== 200);
    expect(rest.every((r) => r.status === 409 && errorOf(r.body).code === 'ERR_REVOKED')).toBe(true);
    expect(rest.every((r) => JSON.stringify(r.body.proof) === JSON.stringify(ok[0]!.body.receipt))).toBe(true);
    expect(acquirer.db.prepare<[], { n: number; s: number }>('SELECT COUNT(*) AS n, SUM(amount) AS s FROM refunds').get()).toEqual({ n: 1, s: 1250 });
  });

  it('a refund signed by anyone but the payee is ERR_FORBIDDEN; a partial one ERR_ITEM_MISMATCH; after the window ERR_REVOCATION_CLOSED', async () => {
    const { request } = await pay('tok_visa');
    const stranger = await signer();
    const byStranger = await cardPayment({ operatorKeyId: operator.keyId, sign: deviceKeySigner(stranger), random: cryptoRandom }).refund({
      requestId: request.requestId,
      reference: 'deal-card-0001',
      amount: chf(1250),
      now: clock,
    });
    const r1 = await post('/card/refund', { request: byStranger });
    expect(r1.status).toBe(403);
    expect(errorOf(r1.body).code).toBe('ERR_FORBIDDEN');
    const partial = await driver().refund({ requestId: request.requestId, reference: 'deal-card-0001', amount: chf(100), now: clock });
    expect(errorOf((await post('/card/refund', { request: partial })).body).code).toBe('ERR_ITEM_MISMATCH');
    clock += 7 * DAY + 1;
    const late = await driver().refund({ requestId: request.requestId, reference: 'deal-card-0001', amount: chf(1250), now: clock });
    const r3 = await post('/card/refund', { request: late });
    expect(r3.status).toBe(403);
    expect(errorOf(r3.body).code).toBe('ERR_REVOCATION_CLOSED');
    expect(acquirer.db.prepare('SELECT COUNT(*) AS n FROM refunds').get()).toEqual({ n: 0 });
  });
});

describe('an acquirer answer tampered in transit', () => {
  /** A proxy on 127.0.0.1 between adapter and acquirer that rewrites the confirm answer. */
  async function tampering(patch: Record<string, unknown>): Promise<void> {
    await setup(async (real) => {
      proxy = await listen({
        host: '127.0.0.1',
        port: 0,
        fetch: async (req) => {
          const url = new URL(req.url);
          const body = req.method === 'POST' ? await req.text() : undefined;
          // Every header but the hop-by-hop ones, as a plain object: handing on the server's own Headers
          // object breaks once another file's server has replaced the global Request (shared workers).
          const headers: Record<string, string> = {};
          for (const [name, value] of req.headers) if (!['host', 'content-length', 'connection', 'transfer-encoding'].includes(name)) headers[name] = value;
          const res = await fetch(new URL(url.pathname, real), { method: req.method, headers, ...(body !== undefined ? { body } : {}) });
          const json = (await res.json()) as Record<string, unknown>;
          return Response.json(url.pathname.endsWith('/confirm') ? { ...json, ...patch } : json, { status: res.status });
        },
      });
      return proxy.url;
    });
  }

  it.each([
    ['a smaller amount', { amount: 1 }],
    ['another currency', { currency: 'eur' }],
    ['another reference', { merchant_reference: 'deal-card-9999' }],
    ['a partial capture', { amount_captured: 1 }],
  ])('echoing %s: the adapter signs no proof (ERR_ITEM_MISMATCH) and keeps no answer', async (_what, patch) => {
    await tampering(patch);
    const { api, state, reply } = await pay('tok_visa');
    expect(reply.status).toBe(409);
    expect(errorOf(reply.body).code).toBe('ERR_ITEM_MISMATCH');
    expect(reply.body.proof).toBeUndefined();
    expect(api.status(state, 'deal-card-0001')).toMatchObject({ phase: 'refused', code: 'ERR_ITEM_MISMATCH' });
    expect(adapter.db.prepare('SELECT COUNT(*) AS n FROM card_payments').get()).toEqual({ n: 0 });
  });

  it('an untampered answer through the same proxy is signed (the proxy itself changes nothing)', async () => {
    await tampering({});
    const { reply } = await pay('tok_visa');
    expect(reply.status).toBe(200);
  });
});
