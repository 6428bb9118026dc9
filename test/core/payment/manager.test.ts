/** Negotiation of the payment method, and the cash module's declared properties. */
import { describe, expect, it } from 'vitest';
import { isSemperError } from '../../../core/errors.js';
import { itemProperties } from '../../../core/items/properties.js';
import { cash, choosePaymentMethod, PAYMENT_MODULES, type PaymentModule, paymentModule, requirePaymentMethod } from '../../../core/payment/index.js';

const account: PaymentModule = { method: 'account', properties: { verifiable: true, generatable: false, revocable: true }, description: 'account' };
const chf = (amount: number) => ({ amount, currency: 'CHF' });

describe('choosePaymentMethod', () => {
  const modules = [
    { module: cash.cashModule, funds: { method: 'cash' as const, balance: chf(500) } },
    { module: account, funds: { method: 'account' as const, balance: chf(10_000) } },
  ];

  it("takes the shopper's first allowed method the merchant offers and a module can pay", () => {
    expect(choosePaymentMethod(['account', 'cash'], ['cash', 'account'], modules, chf(300))).toMatchObject({ ok: true, method: 'cash' });
    expect(choosePaymentMethod(['account', 'cash'], ['account', 'cash'], modules, chf(300))).toMatchObject({ ok: true, method: 'account' });
    // Not enough cash: the next allowed method.
    expect(choosePaymentMethod(['account', 'cash'], ['cash', 'account'], modules, chf(600))).toMatchObject({ ok: true, method: 'account' });
    expect(choosePaymentMethod(['cash'], ['cash'], modules)).toMatchObject({ ok: true, module: cash.cashModule });
  });

  it('refuses with a typed reason: nothing offered, not allowed, no module, insufficient funds', () => {
    expect(choosePaymentMethod([], ['cash'], modules)).toMatchObject({ ok: false, code: 'ERR_PAYMENT_METHOD', reason: 'nothing-offered' });
    expect(choosePaymentMethod(['cheque'], ['cash', 'account'], modules)).toMatchObject({ ok: false, reason: 'not-allowed' });
    expect(choosePaymentMethod(['cash', 'cheque'], ['cheque'], modules)).toMatchObject({ ok: false, reason: 'no-module' });
    expect(choosePaymentMethod(['cash'], ['cash'], modules, chf(501))).toMatchObject({ ok: false, reason: 'insufficient-funds' });
    // Another currency is no money for this price.
    expect(choosePaymentMethod(['cash'], ['cash'], modules, { amount: 1, currency: 'EUR' })).toMatchObject({ ok: false, reason: 'insufficient-funds' });
    let error: unknown;
    try {
      requirePaymentMethod(['cheque'], ['cash'], modules);
    } catch (e) {
      error = e;
    }
    expect(isSemperError(error) && error.code).toBe('ERR_PAYMENT_METHOD');
  });

  it("the cash module's properties are those the money item kind gives cash (verifiable, not generatable, not revocable)", () => {
    const described = itemProperties(
      { kind: 'money', method: 'cash', value: chf(1), payee: 'A'.repeat(43), reference: 'deal-1', issuer: { keyId: 'B'.repeat(43) } },
      'C'.repeat(43),
    );
    expect(cash.cashModule.properties).toEqual(described);
  });

  it('picks among the installed cash, account and cheque modules by the shopper’s order, the offer and the funds', () => {
    const installed = [
      { module: PAYMENT_MODULES.cash, funds: { method: 'cash' as const, balance: chf(200) } },
      { module: PAYMENT_MODULES.account, funds: { method: 'account' as const, balance: chf(1_000) } },
      { module: PAYMENT_MODULES.cheque, funds: { method: 'cheque' as const, balance: chf(5_000) } },
    ];
    expect(choosePaymentMethod(['cash', 'account', 'cheque'], ['cheque', 'account', 'cash'], installed, chf(100))).toMatchObject({
      ok: true,
      method: 'cheque',
    });
    expect(choosePaymentMethod(['cash', 'account'], ['cheque', 'account', 'cash'], installed, chf(100))).toMatchObject({ ok: true, method: 'account' });
    // The account cannot pay 2 000; the cheque account can, cash cannot.
    expect(choosePaymentMethod(['cash', 'account', 'cheque'], ['account', 'cash', 'cheque'], installed, chf(2_000))).toMatchObject({
      ok: true,
      method: 'cheque',
    });
    expect(choosePaymentMethod(['cash', 'account'], ['account', 'cash'], installed, chf(2_000))).toMatchObject({ ok: false, reason: 'insufficient-funds' });
    expect(choosePaymentMethod(['cheque'], ['cheque'], installed, chf(1))).toMatchObject({ ok: true, module: PAYMENT_MODULES.cheque });
    for (const m of ['cash', 'account', 'cheque'] as const) expect(paymentModule(m).method).toBe(m);
  });
});
