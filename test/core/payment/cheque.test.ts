/**
 * The cheque module's driver and checks: its properties are those itemProperties gives a cheque
 * money description; pay writes one cheque per deal; the payee's receive refuses a cheque for
 * another payee, deal or amount, an expired or altered one; recordClearing checks the bank's answer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebAuthnVerifier } from '../../../core/crypto/webauthn.js';
import { itemProperties } from '../../../core/items/properties.js';
import { seededRandom } from '../../../core/machine.js';
import {
  type ChequeBody,
  type ChequeBookState,
  cheque,
  chequeModule,
  chequePayment,
  recordClearing,
  verifyCheque,
} from '../../../core/payment/cheque/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import type { Statement } from '../../../core/statements/index.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import { closeCheckingInvariants, type Customer, customer, DAY, openTestBank, T0, type TestBank, refused } from './helpers.js';
import { chf, present, writeCheque } from './orders.js';

describe('cheque module properties', () => {
  it('are those of a cheque money item: verifiable, not generatable, not revocable', () => {
    const d = {
      kind: 'money' as const,
      method: 'cheque' as const,
      value: chf(1),
      payee: 'A'.repeat(43),
      reference: 'deal-1234',
      issuer: { keyId: 'B'.repeat(43) },
    };
    expect(chequeModule.properties).toEqual(itemProperties(d, 'C'.repeat(43)));
    // Even if a description names a window: cheques are never revocable.
    expect(chequeModule.properties).toEqual(itemProperties({ ...d, revocableUntil: T0 }, 'C'.repeat(43)));
  });
});

describe('the cheque driver', () => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;
  beforeEach(async () => {
    t = await openTestBank();
    alice = await customer(t.bank, 5_000);
    shop = await customer(t.bank);
  });
  afterEach(() => closeCheckingInvariants(t));

  const api = (who: Customer = alice) =>
    chequePayment({ bankKeyId: t.bank.keyId, sign: deviceKeySigner(who.signer), random: seededRandom(3), validFor: 10 * DAY });
  const request = (amount = 700, reference = 'deal-cheque-1') => ({ amount: chf(amount), payee: shop.keyId, reference, now: T0 });

  it('pay writes one cheque per deal; the payee receives, presents, and the drawer records the clearing', async () => {
    let state: ChequeBookState = { account: alice.account, cheques: {} };
    const paid = await api().pay(state, request());
    state = paid.wallet;
    const c = paid.payment.body.cheque;
    expect(c.body as unknown as ChequeBody).toMatchObject({ drawer: alice.account, payee: shop.keyId, amount: chf(700), expiresAt: T0 + 10 * DAY });
    expect(api().status(state, 'deal-cheque-1')).toEqual({ phase: 'sent' });
    expect((await api().pay(state, request())).payment.body.cheque).toEqual(c);
    const received = await api(shop).receive(paid.payment.body, request());
    expect(received.signer).toBe(alice.keyId);
    const answer = await t.bank.presentCheque(await present(c, shop.signer));
    state = await recordClearing(state, 'deal-cheque-1', answer, t.bank.keyId);
    expect(api().status(state, 'deal-cheque-1')).toEqual({ phase: 'settled', proof: answer.proof });
    // A clearing of another cheque does not settle this one.
    const other = await writeCheque(alice, shop, 700, { reference: 'deal-cheque-1' });
    const otherAnswer = await t.bank.presentCheque(await present(other, shop.signer));
    expect((await refused(recordClearing(state, 'deal-cheque-1', otherAnswer, t.bank.keyId))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(recordClearing(state, 'deal-cheque-1', answer, shop.keyId))).code).toBe('ERR_FORBIDDEN');
  });

  it('receive refuses another payee, deal or amount, an expired cheque and an altered one', async () => {
    const { payment } = await api().pay({ account: alice.account, cheques: {} }, request());
    const payee = api(shop);
    expect((await refused(payee.receive(payment.body, { ...request(), payee: alice.keyId }))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(payee.receive(payment.body, request(700, 'deal-cheque-2')))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(payee.receive(payment.body, request(701)))).code).toBe('ERR_ITEM_MISMATCH');
    expect((await refused(payee.receive(payment.body, { ...request(), now: T0 + 10 * DAY + 1 }))).code).toBe('ERR_OFFER_EXPIRED');
    const c = payment.body.cheque;
    expect((await refused(payee.receive({ cheque: { ...c, body: { ...c.body, amount: chf(70_000) } } }, request(70_000)))).code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('refund: the payee draws a cheque back to the payer, which clears', async () => {
    const paid = await api().pay({ account: alice.account, cheques: {} }, request(400));
    await t.bank.presentCheque(await present(paid.payment.body.cheque, shop.signer));
    const back = await api(shop).refund({ account: shop.account, payer: alice.keyId, reference: 'deal-cheque-1', amount: chf(400), now: T0 });
    await t.bank.presentCheque(await present(back, alice.signer));
    expect(await t.bank.balance(alice.account)).toBe(5_000);
    expect(await t.bank.balance(shop.account)).toBe(0);
  });

  it('a cheque signed with a WebAuthn token is checked with the verifier (and refused without one)', async () => {
    const origin = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
    const token = await SoftAuthenticator.create({ rpId: origin, origin });
    const signed = (await token.signStatement(
      cheque({ drawer: alice.account, serial: 'tok-1', payee: shop.keyId, amount: chf(5), reference: 'deal-cheque-token', expiresAt: T0 + DAY, now: T0 }),
    )) as Statement;
    const webauthn = createWebAuthnVerifier({ expectedOrigins: [origin], expectedRpIds: [origin] });
    expect((await verifyCheque(signed, { payee: shop.keyId, webauthn })).signer).toBeTypeOf('string');
    expect((await refused(verifyCheque(signed, { payee: shop.keyId }))).code).toBe('ERR_ALG_UNSUPPORTED');
  });
});
