/**
 * A purchase paid by cheque (core/commerce/shopper.ts, merchant.ts with core/payment/cheque): the
 * shopper's worker writes the cheque with the account key at Confirm, the order names its digest;
 * the merchant presents it at the bank and delivers only once it cleared, its confirmation naming
 * the bank's proof; a bounced cheque refuses the order with the reason, nothing delivered. A real
 * bank in-process; money is conserved after every test. Attacks by a shopper with valid keys: a
 * cheque for another amount, payee or deal, a cheque the order does not name, a replayed cheque.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId } from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';
import {
  chequeRequest,
  type MerchantContext,
  type MerchantDealState,
  type MerchantEvent,
  type OrderReply,
  type ShopperContext,
  type ShopperState,
  startPurchase,
  stepMerchant,
  stepShopper,
  newMerchantDeal,
} from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import { chequePayment } from '../../../core/payment/cheque/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import type { Statement } from '../../../core/statements/index.js';
import type { Amount } from '../../../core/items/schema.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';
import { closeCheckingInvariants, type Customer, customer, openTestBank, type TestBank } from '../payment/helpers.js';
import { ORIGIN } from './fixtures.js';

const PRICE = 1250;
const BANK_URL = 'http://127.0.0.1:8453';

let ca: TestCa;
let bank: TestBank;
let merchant: MerchantContext;
let merchantAccount: string;
let shopperKey: Awaited<ReturnType<typeof import('../payment/helpers.js').signer>>;

beforeEach(async () => {
  ca = await makeTestCa();
  bank = await openTestBank();
  bank.clock.now = Date.now();
  const m = await ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: [ORIGIN] });
  merchant = {
    identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
    lookup: (sku) =>
      sku === 'colour-report'
        ? {
            sku,
            title: 'Colour management report',
            unitPrice: { amount: PRICE, currency: 'CHF' },
            kind: 'digital',
            good: { mediaType: 'text/plain', content: 'ISO 12647' },
          }
        : undefined,
    offerTtlMs: 600_000,
    terms: 'Digital goods, no returns.',
    random: cryptoRandom,
    cheque: { bank: { keyId: bank.bank.keyId, url: BANK_URL } },
  };
  merchantAccount = await bank.bank.openAccount(m.signer.publicJwk);
  shopperKey = await (await import('../payment/helpers.js')).signer();
});
afterEach(() => closeCheckingInvariants(bank));

const shopperCtx = (): ShopperContext => ({ roots: [ca.root], signer: shopperKey, random: cryptoRandom });
const chf = (amount: number): Amount => ({ amount, currency: 'CHF' });

/** The drawer's cheque, as the worker's wallet writes it (the account key signs). */
async function writeCheque(drawer: Customer, p: { payee: string; reference: string; amount: Amount }): Promise<Statement> {
  const api = chequePayment({ bankKeyId: bank.bank.keyId, sign: deviceKeySigner(drawer.signer), random: cryptoRandom });
  const { payment } = await api.pay({ account: drawer.account, cheques: {} }, { ...p, now: Date.now() });
  return payment.body.cheque;
}

/** The kit's presentment at the bank, as an event (server/merchant/purchases.ts does the same over HTTP). */
async function atBank(presentment: Statement): Promise<MerchantEvent> {
  try {
    return { type: 'cheque-cleared', answer: await bank.bank.presentCheque(presentment), now: Date.now() };
  } catch (e) {
    if (!(e instanceof SemperError)) throw e;
    if (e.code === 'ERR_CHEQUE_CLEARED') return { type: 'cheque-cleared', answer: { receipt: e.details?.receipt, proof: e.details?.proof }, now: Date.now() };
    return { type: 'cheque-refused', error: { code: e.code, message: e.message }, bounce: e.details?.bounce, now: Date.now() };
  }
}

/** A deal up to the verified offer in the shopper's window. */
async function offered(): Promise<{ shopper: ShopperState; m: MerchantDealState }> {
  const started = startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: ORIGIN, items: [{ sku: 'colour-report', quantity: 1 }], now: Date.now() });
  const request = started.send[0]!.body;
  const offer = await stepMerchant(newMerchantDeal(started.state.dealId), { type: 'offer-requested', request, now: Date.now() }, merchant);
  const s = await stepShopper(started.state, { type: 'offer-response', response: offer.send[0]!.body, now: Date.now() }, shopperCtx());
  expect(s.state.phase).toBe('awaiting-confirmation');
  return { shopper: s.state, m: offer.state };
}

/** Confirm with a cheque from `drawer`; returns the shopper's state and the order request it sends. */
async function confirmWithCheque(shopper: ShopperState, drawer: Customer, tamper: Partial<{ payee: string; reference: string; amount: Amount }> = {}) {
  const asked = chequeRequest(shopper);
  const cheque = await writeCheque(drawer, { payee: asked.payee, reference: asked.reference, amount: asked.amount, ...tamper });
  const s = await stepShopper(shopper, { type: 'user-confirmed-cheque', cheque, now: Date.now() }, shopperCtx());
  return { state: s.state, body: s.send[0]!.body as { order: Statement; cheque?: Statement }, cheque };
}

describe('purchase paid by cheque', () => {
  it('the offer lists cheque with the payee (the merchant key) and the bank; the shopper asks its wallet for exactly that cheque', async () => {
    const { shopper } = await offered();
    if (shopper.phase !== 'awaiting-confirmation') throw new Error(shopper.phase);
    expect(shopper.view.paymentMethods).toEqual(['invoice', 'cheque']);
    expect(chequeRequest(shopper)).toEqual({
      method: 'cheque',
      amount: chf(PRICE),
      payee: merchant.identity.signer.keyId,
      reference: shopper.dealId,
      bank: { keyId: bank.bank.keyId, url: BANK_URL },
    });
  });

  it('clears: the merchant presents first and delivers after, its confirmation naming the bank proof; money moved once', async () => {
    const drawer = await customer(bank.bank, 5_000);
    const { shopper, m } = await offered();
    const { state, body } = await confirmWithCheque(shopper, drawer);
    expect(state.phase).toBe('ordering');
    expect(body.cheque).toBeDefined();
    // The order: pending while the bank has not answered; nothing delivered.
    const first = await stepMerchant(m, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    expect(first.state.phase).toBe('clearing');
    expect(first.send.map((o) => o.to)).toEqual(['bank', 'shopper']);
    expect(first.send[1]!.body).toEqual({ clearing: 'pending' });
    const waiting = await stepShopper(state, { type: 'order-response', response: first.send[1]!.body, now: Date.now() }, shopperCtx());
    expect(waiting.state.phase).toBe('retrying-order');
    expect(await bank.bank.balance(merchantAccount)).toBe(0);

    const presented = first.send[0]!;
    if (presented.to !== 'bank') throw new Error('no presentment');
    const cleared = await stepMerchant(first.state, await atBank(presented.body.request), merchant);
    expect(cleared.state.phase).toBe('confirmed');
    expect(await bank.bank.balance(merchantAccount)).toBe(PRICE);
    expect(await bank.bank.balance(drawer.account)).toBe(5_000 - PRICE);
    // The same order again: the reply, with the clearing.
    const again = await stepMerchant(cleared.state, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    const reply = again.send[0]!.body as OrderReply;
    expect(reply.clearing?.proof.body).toMatchObject({ method: 'cheque', reference: shopper.dealId, value: chf(PRICE) });
    const done = await stepShopper(waiting.state, { type: 'order-response', response: reply, now: Date.now() }, shopperCtx());
    expect(done.state.phase).toBe('completed');
    expect(done.effects.filter((e) => e.kind === 'archive').map((e) => (e as { statement: Statement }).statement.type)).toEqual(
      expect.arrayContaining(['semper.bank.cheque-clearing', 'semper.payment.proof']),
    );
    // A late duplicate answer of the bank moves nothing; a second presentment is not a second payment.
    expect((await stepMerchant(again.state, await atBank(presented.body.request), merchant)).state.phase).toBe('confirmed');
    expect(await bank.bank.balance(merchantAccount)).toBe(PRICE);
  });

  it('bounces (insufficient funds): the order is refused with the reason, nothing delivered, no money moved', async () => {
    const drawer = await customer(bank.bank, 100);
    const { shopper, m } = await offered();
    const { state, body } = await confirmWithCheque(shopper, drawer);
    const first = await stepMerchant(m, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    const presented = first.send[0]!;
    if (presented.to !== 'bank') throw new Error('no presentment');
    const refused = await stepMerchant(first.state, await atBank(presented.body.request), merchant);
    expect(refused.state.phase).toBe('refused');
    expect(refused.state.phase === 'refused' && refused.state.bounce?.type).toBe('semper.bank.cheque-bounce');
    // The shopper's repeated order gets the refusal (a typed 4xx), never goods.
    await expect(
      stepMerchant(refused.state, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant),
    ).rejects.toMatchObject({
      code: 'ERR_CHEQUE_BOUNCED',
      message: expect.stringContaining('insufficient-funds'),
    });
    const failed = await stepShopper(
      state,
      {
        type: 'transport-error',
        error: { code: 'ERR_CHEQUE_BOUNCED', message: 'the bank did not pay the cheque (insufficient-funds)' },
        status: 422,
        now: Date.now(),
      },
      shopperCtx(),
    );
    expect(failed.state.phase === 'failed' && failed.state.error.code).toBe('ERR_CHEQUE_BOUNCED');
    expect(await bank.bank.balance(merchantAccount)).toBe(0);
    expect(await bank.bank.balance(drawer.account)).toBe(100);
  });

  it('a confirmation of a cheque order without the clearing, or naming another proof, is not a completed purchase', async () => {
    const drawer = await customer(bank.bank, 5_000);
    const { shopper, m } = await offered();
    const { state, body } = await confirmWithCheque(shopper, drawer);
    const first = await stepMerchant(m, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    const presented = first.send[0]!;
    if (presented.to !== 'bank') throw new Error('no presentment');
    const cleared = await stepMerchant(first.state, await atBank(presented.body.request), merchant);
    const again = await stepMerchant(cleared.state, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    const { clearing, ...withoutClearing } = again.send[0]!.body as OrderReply;
    const s1 = await stepShopper(state, { type: 'order-response', response: withoutClearing, now: Date.now() }, shopperCtx());
    expect(s1.state.phase === 'failed' && s1.state.error.code).toBe('ERR_ORDER_INVALID');
    // Another cheque's clearing (a real one, of another deal) is not this cheque's.
    const other = await offered();
    const o = await confirmWithCheque(other.shopper, drawer);
    const f2 = await stepMerchant(other.m, { type: 'order-received', order: o.body.order, cheque: o.body.cheque, now: Date.now() }, merchant);
    const p2 = f2.send[0]!;
    if (p2.to !== 'bank') throw new Error('no presentment');
    const otherClearing = ((await atBank(p2.body.request)) as { answer: unknown }).answer;
    const s2 = await stepShopper(state, { type: 'order-response', response: { ...withoutClearing, clearing: otherClearing }, now: Date.now() }, shopperCtx());
    expect(s2.state.phase === 'failed' && s2.state.error.code).toBe('ERR_ITEM_MISMATCH');
    // The merchant takes no other cheque's clearing either: the deal stays at the bank.
    await expect(stepMerchant(first.state, { type: 'cheque-cleared', answer: otherClearing, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ITEM_MISMATCH',
    });
    expect(clearing).toBeDefined();
  });
});

describe('cheque purchase across restarts (states through JSON)', () => {
  const persist = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

  it('a restarted worker re-sends the very order and cheque it recorded; a restarted kit presents the very presentment again; the bank pays once', async () => {
    const drawer = await customer(bank.bank, 5_000);
    const { shopper, m } = await offered();
    const { state, body } = await confirmWithCheque(shopper, drawer);
    const resent = (await import('../../../core/commerce/shopper.js')).pendingSends(persist(state));
    expect(resent).toEqual([{ kind: 'http', to: 'merchant', path: '/semper/order', body: persist(body) }]);
    const first = await stepMerchant(m, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    const restarted = persist(first.state);
    const second = await stepMerchant(restarted, { type: 'order-received', order: body.order, cheque: body.cheque, now: Date.now() }, merchant);
    expect(second.send).toEqual(persist(first.send));
    const p = second.send[0]!;
    if (p.to !== 'bank') throw new Error('no presentment');
    const a = await atBank(p.body.request);
    const b = await atBank(p.body.request);
    expect(b.type).toBe('cheque-cleared');
    const done = await stepMerchant(persist(second.state), a, merchant);
    expect((await stepMerchant(persist(done.state), b, merchant)).state).toEqual(done.state);
    expect(await bank.bank.balance(merchantAccount)).toBe(PRICE);
    expect(await bank.bank.balance(drawer.account)).toBe(5_000 - PRICE);
  });
});

describe('cheque attacks by a shopper with valid keys', () => {
  /** The merchant's answer to an order carrying `cheque` (the order signed by the honest machine over `named`). */
  async function merchantSees(tamper: Partial<{ payee: string; reference: string; amount: Amount }>) {
    const drawer = await customer(bank.bank, 5_000);
    const { shopper, m } = await offered();
    const honest = await confirmWithCheque(shopper, drawer);
    const asked = chequeRequest(shopper);
    const forged = await writeCheque(drawer, { payee: asked.payee, reference: asked.reference, amount: asked.amount, ...tamper });
    return stepMerchant(m, { type: 'order-received', order: honest.body.order, cheque: forged, now: Date.now() }, merchant);
  }

  it('the shopper machine refuses a cheque its wallet wrote for another payee, deal or amount (the deal stays open)', async () => {
    const drawer = await customer(bank.bank, 5_000);
    const { shopper } = await offered();
    for (const tamper of [{ payee: drawer.keyId }, { reference: 'another-deal-00000001' }, { amount: chf(PRICE - 1) }]) {
      await expect(confirmWithCheque(shopper, drawer, tamper)).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
    }
  });

  it('a cheque for another amount, payee or deal: refused before presentment', async () => {
    const drawer = await customer(bank.bank);
    for (const tamper of [{ amount: chf(PRICE - 1) }, { payee: drawer.keyId }, { reference: 'another-deal-00000001' }]) {
      await expect(merchantSees(tamper)).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
    }
    expect(await bank.bank.balance(merchantAccount)).toBe(0);
  });

  it('a valid cheque the order does not name (a second cheque for the same deal): refused', async () => {
    await expect(merchantSees({})).rejects.toMatchObject({ code: 'ERR_ORDER_INVALID' });
  });

  it('a cheque with an order paid by invoice, or a cheque order without its cheque: refused', async () => {
    const drawer = await customer(bank.bank, 5_000);
    const { shopper, m } = await offered();
    const honest = await confirmWithCheque(shopper, drawer);
    await expect(stepMerchant(m, { type: 'order-received', order: honest.body.order, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ORDER_INVALID',
    });
    const invoice = await stepShopper(shopper, { type: 'user-confirmed', now: Date.now() }, shopperCtx());
    const order = (invoice.send[0]!.body as { order: Statement }).order;
    await expect(stepMerchant(m, { type: 'order-received', order, cheque: honest.cheque, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ORDER_INVALID',
    });
  });

  it("a replayed cheque: deal A's cleared cheque sent with deal B's order is refused (another deal); presented again in A it does not pay twice", async () => {
    const drawer = await customer(bank.bank, 5_000);
    const a = await offered();
    const ca1 = await confirmWithCheque(a.shopper, drawer);
    const fa = await stepMerchant(a.m, { type: 'order-received', order: ca1.body.order, cheque: ca1.body.cheque, now: Date.now() }, merchant);
    const pa = fa.send[0]!;
    if (pa.to !== 'bank') throw new Error('no presentment');
    await stepMerchant(fa.state, await atBank(pa.body.request), merchant);
    const b = await offered();
    const cb = await confirmWithCheque(b.shopper, drawer);
    await expect(stepMerchant(b.m, { type: 'order-received', order: cb.body.order, cheque: ca1.cheque, now: Date.now() }, merchant)).rejects.toMatchObject({
      code: 'ERR_ITEM_MISMATCH',
    });
    expect((await atBank(pa.body.request)).type).toBe('cheque-cleared');
    expect(await bank.bank.balance(merchantAccount)).toBe(PRICE);
    expect(await bank.bank.balance(drawer.account)).toBe(5_000 - PRICE);
  });

  it('an offer that takes cheques but names no payee and bank is refused before the window', async () => {
    const { cheque: _, ...noCheque } = merchant;
    const started = startPurchase({
      dealId: randomId(18),
      nonce: randomId(32),
      origin: ORIGIN,
      items: [{ sku: 'colour-report', quantity: 1 }],
      now: Date.now(),
    });
    const offer = await stepMerchant(
      newMerchantDeal(started.state.dealId),
      { type: 'offer-requested', request: started.send[0]!.body, now: Date.now() },
      noCheque,
    );
    const body = (offer.send[0]!.body as { offer: Statement }).offer;
    const { signStatement } = await import('../../../core/statements/index.js');
    const forged = await signStatement({ ...body, body: { ...(body.body as object), paymentMethods: ['invoice', 'cheque'] } }, merchant.identity.signer, {
      signerRef: { kind: 'x509', chain: merchant.identity.chain },
    });
    const s = await stepShopper(started.state, { type: 'offer-response', response: { offer: forged }, now: Date.now() }, shopperCtx());
    expect(s.state.phase === 'failed' && s.state.error.code).toBe('ERR_OFFER_INVALID');
  });
});
