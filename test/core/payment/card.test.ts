/**
 * The card module's pure parts (core/payment/card): registered with the payment service and
 * picked by choosePaymentMethod; its properties are those itemProperties gives a card money
 * description; the translation's check of an acquirer intent refuses any echo that differs from
 * what was asked; the operator's evidence verifies only for the operator, payee, deal and amount;
 * declines are typed; the payer's driver keeps one request per deal.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair, type Signer, signerFromKeyPair } from '../../../core/crypto/index.js';
import { isSemperError, type SemperError } from '../../../core/errors.js';
import { parseDescription } from '../../../core/items/match.js';
import { itemProperties } from '../../../core/items/properties.js';
import { type MoneyDescription, PaymentMethod } from '../../../core/items/schema.js';
import { seededRandom } from '../../../core/machine.js';
import {
  type AcquirerIntent,
  type CardPayRequest,
  type CardState,
  cardModule,
  cardPayment,
  checkAcquirerIntent,
  declined,
  settleCardPayment,
  signCardAnswer,
  verifyCardAnswer,
} from '../../../core/payment/card/index.js';
import { choosePaymentMethod } from '../../../core/payment/manager.js';
import { PAYMENT_MODULES, paymentModule } from '../../../core/payment/modules.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { refused } from './helpers.js';

const signer = async (): Promise<Signer> => signerFromKeyPair('ES256', await generateKeyPair('ES256'));
const chf = (amount: number) => ({ amount, currency: 'CHF' });
const T0 = Date.UTC(2026, 10, 1);

function refusal(f: () => unknown): SemperError {
  try {
    f();
  } catch (e) {
    if (isSemperError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

const intent = (over: Partial<AcquirerIntent> = {}): AcquirerIntent => ({
  id: 'pi_0123456789abcdef',
  status: 'succeeded',
  amount: 1250,
  currency: 'chf',
  merchant_reference: 'deal-card-0001',
  amount_captured: 1250,
  ...over,
});

describe('registration and properties', () => {
  it('card is a payment method with a registered module', () => {
    expect(PaymentMethod.options).toContain('card');
    expect(PAYMENT_MODULES.card).toBe(cardModule);
    expect(paymentModule('card').method).toBe('card');
  });

  it('declares what itemProperties gives a card money description: verifiable, not generatable, not revocable by a TTP', () => {
    const d: MoneyDescription = {
      kind: 'money',
      method: 'card',
      value: chf(1250),
      payee: 'A'.repeat(43),
      reference: 'deal-card-0001',
      issuer: { keyId: 'B'.repeat(43) },
    };
    expect(parseDescription(d)).toEqual(d);
    expect(cardModule.properties).toEqual(itemProperties(d, 'C'.repeat(43)));
    expect(cardModule.properties).toEqual({ verifiable: true, generatable: false, revocable: false });
  });

  it('choosePaymentMethod picks card when the shopper prefers it and the merchant takes it', () => {
    const available = [
      { module: PAYMENT_MODULES.account, funds: { method: 'account' as const, balance: chf(10_000) } },
      { module: cardModule, funds: { method: 'card' as const, balance: chf(5_000) } },
    ];
    const c = choosePaymentMethod(['account', 'card'], ['card', 'account'], available, chf(1250));
    expect(c).toMatchObject({ ok: true, method: 'card' });
    // a card limit too small: the next allowed method
    expect(choosePaymentMethod(['account', 'card'], ['card', 'account'], available, chf(6_000))).toMatchObject({ ok: true, method: 'account' });
    expect(choosePaymentMethod(['card'], ['account'], available)).toMatchObject({ ok: false, reason: 'not-allowed' });
    expect(choosePaymentMethod(['card'], ['card'], [{ module: PAYMENT_MODULES.cash }])).toMatchObject({ ok: false, reason: 'no-module' });
  });
});

describe('the translation: checkAcquirerIntent', () => {
  const asked = { amount: chf(1250), reference: 'deal-card-0001', intentId: 'pi_0123456789abcdef' };

  it('accepts the exact echo (currency in the acquirer’s lower case)', () => {
    expect(checkAcquirerIntent(intent(), asked)).toEqual(intent());
  });

  it.each([
    ['another amount', { amount: 1 }, 'ERR_ITEM_MISMATCH'],
    ['a fractional amount', { amount: 1250.5 }, 'ERR_ITEM_MISMATCH'],
    ['another currency', { currency: 'eur' }, 'ERR_ITEM_MISMATCH'],
    ['an upper-case currency (not the acquirer’s format)', { currency: 'CHF' }, 'ERR_ITEM_MISMATCH'],
    ['another reference', { merchant_reference: 'deal-card-0002' }, 'ERR_ITEM_MISMATCH'],
    ['another intent', { id: 'pi_ffffffffffffffff' }, 'ERR_ITEM_MISMATCH'],
    ['a partial capture', { amount_captured: 1000 }, 'ERR_ITEM_MISMATCH'],
    ['an uncaptured intent', { status: 'requires_capture', amount_captured: 0 }, 'ERR_PROTOCOL_STATE'],
    ['a declined intent', { status: 'declined', amount_captured: 0 }, 'ERR_PROTOCOL_STATE'],
  ])('refuses %s', (_what, over, code) => {
    expect(refusal(() => checkAcquirerIntent(intent(over as Partial<AcquirerIntent>), asked)).code).toBe(code);
  });

  it('refuses what is not an intent', () => {
    expect(refusal(() => checkAcquirerIntent(null, asked)).code).toBe('ERR_SCHEMA');
    expect(refusal(() => checkAcquirerIntent({ error: { code: 'card_declined' } }, asked)).code).toBe('ERR_SCHEMA');
  });
});

describe('declines', () => {
  it.each(['insufficient_funds', 'card_expired', 'do_not_honor'])('%s is ERR_PAYMENT_DECLINED with its decline code', (code) => {
    const e = declined(code);
    expect(e.code).toBe('ERR_PAYMENT_DECLINED');
    expect(e.details).toEqual({ declineCode: code });
  });
  it('an unknown decline code is reported as do_not_honor', () => {
    expect(declined('fraudulent').details).toEqual({ declineCode: 'do_not_honor' });
  });
});

describe("the operator's evidence", () => {
  async function evidence() {
    const operator = await signer();
    const payee = await signer();
    const request: CardPayRequest = { requestId: 'r'.repeat(22), payee: payee.keyId, amount: chf(1250), reference: 'deal-card-0001', cardToken: 'tok_visa' };
    const answer = await signCardAnswer(request, intent(), { acquirer: 'acq', now: T0, refundableUntil: T0 + 1000, sign: deviceKeySigner(operator) });
    return { operator, payee, request, answer };
  }

  it('verifies for the operator, payee, deal and amount, naming the acquirer intent', async () => {
    const { operator, payee, answer } = await evidence();
    const v = await verifyCardAnswer(answer, {
      operatorKeyId: operator.keyId,
      payee: payee.keyId,
      reference: 'deal-card-0001',
      amount: chf(1250),
      requestId: 'r'.repeat(22),
    });
    expect(v.receipt).toMatchObject({ intentId: 'pi_0123456789abcdef', acquirer: 'acq', refundableUntil: T0 + 1000 });
    expect(v.proof).toEqual({ method: 'card', value: chf(1250), payee: payee.keyId, reference: 'deal-card-0001' });
  });

  it('is refused for another operator, payee, deal, amount or request', async () => {
    const { operator, payee, answer } = await evidence();
    const other = await signer();
    const ok = { operatorKeyId: operator.keyId, payee: payee.keyId, reference: 'deal-card-0001', amount: chf(1250) };
    expect((await refused(verifyCardAnswer(answer, { ...ok, operatorKeyId: other.keyId }))).code).toBe('ERR_FORBIDDEN');
    expect((await refused(verifyCardAnswer(answer, { ...ok, payee: other.keyId }))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(verifyCardAnswer(answer, { ...ok, reference: 'deal-card-0002' }))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(verifyCardAnswer(answer, { ...ok, amount: chf(1249) }))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(verifyCardAnswer(answer, { ...ok, requestId: 's'.repeat(22) }))).code).toBe('ERR_ITEM_MISMATCH');
  });

  it("a receipt paired with another payment's proof is refused", async () => {
    const a = await evidence();
    const b = await signCardAnswer({ ...a.request, requestId: 's'.repeat(22) }, intent({ id: 'pi_ffffffffffffffff' }), {
      acquirer: 'acq',
      now: T0 + 1,
      refundableUntil: T0 + 1000,
      sign: deviceKeySigner(a.operator),
    });
    const mixed = { receipt: a.answer.receipt, proof: b.proof };
    const e = await refused(verifyCardAnswer(mixed, { operatorKeyId: a.operator.keyId, payee: a.payee.keyId, reference: 'deal-card-0001', amount: chf(1250) }));
    expect(e.code).toBe('ERR_ITEM_MISMATCH');
    expect(e.message).toBe('the receipt names another proof');
  });

  it('signCardAnswer itself refuses an intent that does not echo the request', async () => {
    const { operator, request } = await evidence();
    const e = await refused(signCardAnswer(request, intent({ amount: 1 }), { acquirer: 'acq', now: T0, refundableUntil: T0, sign: deviceKeySigner(operator) }));
    expect(e.code).toBe('ERR_ITEM_MISMATCH');
  });
});

describe("the payer's driver", () => {
  it('one request per deal: a retry re-sends it; after a decline a new request id', async () => {
    const operator = await signer();
    const payee = await signer();
    const api = cardPayment({ operatorKeyId: operator.keyId, sign: deviceKeySigner(payee), random: seededRandom(7) });
    const s0: CardState = { cardToken: 'tok_visa', payments: {} };
    expect(api.status(s0, 'deal-card-0001')).toEqual({ phase: 'prepared' });
    const req = { amount: chf(1250), payee: payee.keyId, reference: 'deal-card-0001', now: T0 };
    const first = await api.pay(s0, req);
    expect(api.status(first.wallet, 'deal-card-0001')).toEqual({ phase: 'sent' });
    const retry = await api.pay(first.wallet, req);
    expect(retry.payment.body).toEqual(first.payment.body);
    const refusedState = await settleCardPayment(
      first.wallet,
      'deal-card-0001',
      { error: { code: 'ERR_PAYMENT_DECLINED', message: 'declined', declineCode: 'card_expired' } },
      operator.keyId,
    );
    expect(api.status(refusedState, 'deal-card-0001')).toMatchObject({ phase: 'refused', code: 'ERR_PAYMENT_DECLINED' });
    const again = await api.pay(refusedState, req);
    expect(again.payment.body.requestId).not.toBe(first.payment.body.requestId);
    // a settled answer signed by someone else is refused, and the state keeps no proof
    const forged = await signCardAnswer(first.payment.body, intent(), { acquirer: 'acq', now: T0, refundableUntil: T0, sign: deviceKeySigner(payee) });
    expect((await refused(settleCardPayment(first.wallet, 'deal-card-0001', { answer: forged }, operator.keyId))).code).toBe('ERR_FORBIDDEN');
  });
});
