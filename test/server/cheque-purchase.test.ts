/**
 * Purchases paid by cheque in the marketplace `npm start` runs, over HTTP on loopback: the shopper's
 * machine is driven the way the worker drives it (a POST per send), its cheque written on an account
 * at the real bank; the shop's kit answers the order `{ clearing: 'pending' }`, presents the cheque at
 * the bank it is configured with, and answers the same order again with the confirmation (naming the
 * bank's proof) once cleared — or with the refusal (422 ERR_CHEQUE_BOUNCED) once bounced. A cheque
 * presented by someone else than its payee, or an order with a cheque for another amount, moves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chequeRequest, purchaseShopper, type OrderReply, type ShopperState } from '../../core/commerce/index.js';
import { cryptoRandom, type TransportReply } from '../../core/machine.js';
import { chequePayment, presentCheque } from '../../core/payment/cheque/index.js';
import { deviceKeySigner } from '../../core/payment/signing.js';
import type { Statement } from '../../core/statements/index.js';
import { type Marketplace, startMarketplace } from '../../server/marketplace.js';
import { type Customer, poolKeys, signer } from '../core/payment/helpers.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('cheque-purchase');
let m: Marketplace;
const PRODUCT = 'ink-drying-report';
const PRICE = 1_200;

beforeAll(async () => {
  m = await startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort: 0, bank: { keyFactory: poolKeys(0), rotation: { values: [100] } } });
});

afterAll(async () => {
  await m.bank.checkInvariants();
  await m.close();
  tmp.remove();
});

async function post(url: string, body: unknown): Promise<TransportReply> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { code: string; message: string } };
  return res.ok
    ? { kind: 'response', body: json }
    : { kind: 'error', error: json.error ?? { code: 'ERR_INTERNAL', message: `HTTP ${res.status}` }, status: res.status };
}

async function drawer(funding: number): Promise<Customer> {
  const s = await signer();
  const account = await m.bank.openAccount(s.publicJwk);
  if (funding > 0) await m.bank.fund(account, funding);
  return { signer: s, account, keyId: s.keyId };
}

async function writeCheque(who: Customer, p: { payee: string; reference: string; amount: { amount: number; currency: string } }): Promise<Statement> {
  const api = chequePayment({ bankKeyId: m.bankKeyId, sign: deviceKeySigner(who.signer), random: cryptoRandom });
  return (await api.pay({ account: who.account, cheques: {} }, { ...p, now: Date.now() })).payment.body.cheque;
}

const shopperKey = await signer();
const ctx = () => ({ roots: [m.rootCertificate], signer: shopperKey, random: cryptoRandom });

/** Up to the verified offer (the shopper's machine, its offer request POSTed to the shop). */
async function offered(): Promise<ShopperState> {
  const started = await purchaseShopper.start({ origin: m.shopUrl, items: [{ sku: PRODUCT, quantity: 1 }], now: Date.now() }, ctx());
  const send = started.send[0]!;
  const reply = await post(`${m.shopUrl}${send.path}`, send.body);
  const s = await purchaseShopper.step(started.state, { type: 'reply', sent: send, reply, now: Date.now() }, ctx());
  expect(s.state.phase).toBe('awaiting-confirmation');
  return s.state;
}

/** Send the order until the shop's answer is final (pending answers are retried at once here). */
async function orderUntilFinal(body: unknown): Promise<TransportReply> {
  for (let i = 0; i < 50; i++) {
    const reply = await post(`${m.shopUrl}/semper/order`, body);
    if (!(reply.kind === 'response' && (reply.body as { clearing?: unknown }).clearing === 'pending')) return reply;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the shop never finished clearing');
}

describe('the merchant kit clears cheques at its bank before it delivers', () => {
  it('clears: first pending, then the confirmation naming the bank proof; the shop credited once', async () => {
    const who = await drawer(5_000);
    const state = await offered();
    const cheque = await writeCheque(who, chequeRequest(state));
    const s = await purchaseShopper.step(state, { type: 'user-confirmed-cheque', cheque, now: Date.now() }, ctx());
    const send = s.send[0]!;
    const shopBefore = await m.bank.balance(m.merchantAccount);
    const first = await post(`${m.shopUrl}/semper/order`, send.body);
    expect(first).toMatchObject({ kind: 'response', body: { clearing: 'pending' } });
    const final = await orderUntilFinal(send.body);
    expect(final.kind).toBe('response');
    const reply = (final as { body: OrderReply }).body;
    expect(reply.confirmation.body.clearing).toBeDefined();
    const done = await purchaseShopper.step(s.state, { type: 'reply', sent: send, reply: final, now: Date.now() }, ctx());
    expect(done.state.phase).toBe('completed');
    expect((await m.bank.balance(m.merchantAccount)) - shopBefore).toBe(PRICE);
    expect(await m.bank.balance(who.account)).toBe(5_000 - PRICE);
    // The same order once more: the same reply, no second payment.
    const again = await post(`${m.shopUrl}/semper/order`, send.body);
    expect(again).toEqual(final);
    expect((await m.bank.balance(m.merchantAccount)) - shopBefore).toBe(PRICE);
  });

  it('bounces: the repeated order gets 422 ERR_CHEQUE_BOUNCED with the reason; the shopper fails; nothing moved', async () => {
    const who = await drawer(10);
    const state = await offered();
    const cheque = await writeCheque(who, chequeRequest(state));
    const s = await purchaseShopper.step(state, { type: 'user-confirmed-cheque', cheque, now: Date.now() }, ctx());
    const send = s.send[0]!;
    const shopBefore = await m.bank.balance(m.merchantAccount);
    const final = await orderUntilFinal(send.body);
    expect(final).toMatchObject({ kind: 'error', status: 422, error: { code: 'ERR_CHEQUE_BOUNCED', message: expect.stringContaining('insufficient-funds') } });
    const done = await purchaseShopper.step(s.state, { type: 'reply', sent: send, reply: final, now: Date.now() }, ctx());
    expect(done.state.phase === 'failed' && done.state.error.code).toBe('ERR_CHEQUE_BOUNCED');
    expect(await m.bank.balance(m.merchantAccount)).toBe(shopBefore);
    expect(await m.bank.balance(who.account)).toBe(10);
  });

  it('a cheque for another amount with the order: refused (4xx) before the bank sees it', async () => {
    const who = await drawer(5_000);
    const state = await offered();
    const asked = chequeRequest(state);
    const honest = await writeCheque(who, asked);
    const s = await purchaseShopper.step(state, { type: 'user-confirmed-cheque', cheque: honest, now: Date.now() }, ctx());
    const body = s.send[0]!.body as { order: Statement; cheque: Statement };
    const cheaper = await writeCheque(who, { ...asked, amount: { ...asked.amount, amount: 1 } });
    const reply = await post(`${m.shopUrl}/semper/order`, { order: body.order, cheque: cheaper });
    expect(reply).toMatchObject({ kind: 'error', error: { code: 'ERR_ITEM_MISMATCH' } });
    expect(await m.bank.balance(who.account)).toBe(5_000);
  });

  it("the shop's cheque presented by another key at the bank bounces (not-the-payee): only the payee can cash it", async () => {
    const who = await drawer(5_000);
    const state = await offered();
    const cheque = await writeCheque(who, chequeRequest(state));
    const thief = await signer();
    const presentment = await presentCheque(cheque, deviceKeySigner(thief), Date.now());
    const reply = await post(`${m.bankUrl}/bank/cheque/present`, { request: presentment });
    expect(reply).toMatchObject({ kind: 'error', status: 422, error: { code: 'ERR_CHEQUE_BOUNCED' } });
    expect(await m.bank.balance(who.account)).toBe(5_000);
  });
});
