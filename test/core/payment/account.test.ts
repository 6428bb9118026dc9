/**
 * The account module's driver and checks: its properties are those itemProperties gives an account
 * money description; pay/settle/status over the payer's record; the payee's receive refuses an
 * answer for another deal, payee or amount, or not signed by the bank.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { itemProperties } from '../../../core/items/properties.js';
import type { MoneyDescription } from '../../../core/items/schema.js';
import { seededRandom } from '../../../core/machine.js';
import {
  type AccountState,
  accountModule,
  accountPayment,
  accountProperties,
  settleTransfer,
  type TransferOrderBody,
  verifyTransferAnswer,
} from '../../../core/payment/account/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { signStatement, type Statement } from '../../../core/statements/index.js';
import { closeCheckingInvariants, type Customer, customer, DAY, openTestBank, signer, T0, type TestBank, refused } from './helpers.js';
import { chf } from './orders.js';

const description = (over: Partial<MoneyDescription> = {}): MoneyDescription => ({
  kind: 'money',
  method: 'account',
  value: chf(1),
  payee: 'A'.repeat(43),
  reference: 'deal-1234',
  issuer: { keyId: 'B'.repeat(43) },
  ...over,
});

describe('account module properties', () => {
  it('are those of an account money item: verifiable, not generatable, revocable exactly when a window is named', () => {
    const until = T0 + DAY;
    expect(accountProperties(until)).toEqual(itemProperties(description({ revocableUntil: until }), 'C'.repeat(43)));
    expect(accountProperties()).toEqual(itemProperties(description(), 'C'.repeat(43)));
    const { revocableUntil: _, ...revocable } = itemProperties(description({ revocableUntil: until }), 'C'.repeat(43));
    expect(accountModule.properties).toEqual(revocable);
    expect(accountModule.method).toBe('account');
  });
});

describe('the account driver', () => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;
  beforeEach(async () => {
    t = await openTestBank();
    alice = await customer(t.bank, 5_000);
    shop = await customer(t.bank);
  });
  afterEach(() => closeCheckingInvariants(t));

  const ctx = (over: Partial<Parameters<typeof accountPayment>[0]> = {}) =>
    accountPayment({ bankKeyId: t.bank.keyId, sign: deviceKeySigner(alice.signer), random: seededRandom(7), ...over });
  const request = (amount = 1_500, reference = 'deal-account-1') => ({ amount: chf(amount), payee: shop.keyId, reference, now: T0 });

  it('pay signs one order per deal (a retry re-sends it), the bank moves the money once, settle records the checked answer', async () => {
    const api = ctx({ revocableFor: DAY });
    let state: AccountState = { account: alice.account, transfers: {} };
    expect(api.status(state, 'deal-account-1')).toEqual({ phase: 'prepared' });
    const paid = await api.pay(state, request());
    state = paid.wallet;
    const order = paid.payment.body.request;
    expect(paid.payment.path).toBe('/bank/transfer');
    expect(order.body as unknown as TransferOrderBody).toMatchObject({ payer: alice.account, payee: shop.keyId, amount: chf(1_500), revocableUntil: T0 + DAY });
    expect(api.status(state, 'deal-account-1')).toEqual({ phase: 'sent' });
    const retry = await api.pay(state, request());
    expect(retry.payment.body.request).toEqual(order);
    const answer = await t.bank.transfer(order);
    expect(await t.bank.transfer(retry.payment.body.request)).toEqual(answer);
    expect(await t.bank.balance(alice.account)).toBe(3_500);
    state = await settleTransfer(state, 'deal-account-1', { answer }, t.bank.keyId);
    expect(api.status(state, 'deal-account-1')).toEqual({ phase: 'settled', proof: answer.proof });
    // The payee's check.
    const received = await api.receive(answer, request());
    expect(received.proof.method).toBe('account');
    // An answer for another order does not settle this one.
    const other = await api.pay({ account: alice.account, transfers: {} }, request(1_500, 'deal-account-2'));
    const otherAnswer = await t.bank.transfer(other.payment.body.request);
    expect((await refused(settleTransfer(state, 'deal-account-1', { answer: otherAnswer }, t.bank.keyId))).code).toBe('ERR_ITEM_MISMATCH');
    // …nor does the answer to another order for the same deal, payee and amount (another request id).
    const twin = await ctx({ random: seededRandom(99), revocableFor: DAY }).pay({ account: alice.account, transfers: {} }, request());
    const twinAnswer = await t.bank.transfer(twin.payment.body.request);
    const fresh = await ctx({ revocableFor: DAY }).pay({ account: alice.account, transfers: {} }, request());
    const e = await refused(settleTransfer(fresh.wallet, 'deal-account-1', { answer: twinAnswer }, t.bank.keyId));
    expect(e.code).toBe('ERR_ITEM_MISMATCH');
    expect(e.message).toMatch(/another order/);
  });

  it('a refusal is recorded; the next pay for the deal signs a new order', async () => {
    const api = ctx({ random: seededRandom(9) });
    const paid = await api.pay({ account: alice.account, transfers: {} }, request(9_999));
    const e = await refused(t.bank.transfer(paid.payment.body.request));
    expect(e.code).toBe('ERR_INSUFFICIENT_FUNDS');
    const state = await settleTransfer(paid.wallet, 'deal-account-1', { error: { code: e.code, message: e.message } }, t.bank.keyId);
    expect(api.status(state, 'deal-account-1')).toMatchObject({ phase: 'refused', code: 'ERR_INSUFFICIENT_FUNDS' });
    const again = await api.pay(state, request(9_999));
    expect((again.payment.body.request.body as { requestId: string }).requestId).not.toBe((paid.payment.body.request.body as { requestId: string }).requestId);
  });

  it('receive refuses a proof for another deal, payee or amount, or one not signed by the bank', async () => {
    const api = ctx();
    const paid = await api.pay({ account: alice.account, transfers: {} }, request());
    const answer = await t.bank.transfer(paid.payment.body.request);
    expect((await refused(api.receive(answer, request(1_500, 'deal-account-9')))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(api.receive(answer, { ...request(), payee: alice.keyId }))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(api.receive(answer, request(1_501)))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(api.receive(answer, { ...request(), amount: { amount: 1_500, currency: 'EUR' } }))).code).toBe('ERR_ITEM_MISMATCH');
    const forger = await signer();
    const forgedProof = (await signStatement({ ...answer.proof, signature: undefined } as never, forger)) as Statement;
    expect((await refused(api.receive({ ...answer, proof: forgedProof }, request()))).code).toBe('ERR_FORBIDDEN');
    // A revocation window other than agreed.
    expect(
      (
        await refused(
          verifyTransferAnswer(answer, {
            bankKeyId: t.bank.keyId,
            payee: shop.keyId,
            reference: 'deal-account-1',
            amount: chf(1_500),
            revocableUntil: T0 + DAY,
          }),
        )
      ).code,
    ).toBe('ERR_ITEM_MISMATCH');
  });

  it('refund is the payee’s signed refund of the whole transfer, which the bank honours', async () => {
    const api = ctx();
    const paid = await api.pay({ account: alice.account, transfers: {} }, request(800));
    await t.bank.transfer(paid.payment.body.request);
    const payeeApi = accountPayment({ bankKeyId: t.bank.keyId, sign: deviceKeySigner(shop.signer), random: seededRandom(1) });
    const requestId = (paid.payment.body.request.body as { requestId: string }).requestId;
    const refund = await payeeApi.refund({ requestId, reference: 'deal-account-1', amount: chf(800), now: T0 });
    await t.bank.revoke({ requestId, order: refund });
    expect(await t.bank.balance(alice.account)).toBe(5_000);
  });
});
