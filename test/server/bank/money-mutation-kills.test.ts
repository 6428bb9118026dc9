/**
 * Attacks on the bank's checks that no other test made (test/mutation/money.ts: each of these fails
 * when its check is removed). The attacker holds valid keys, signs what he likes and picks every field.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestJson, randomId } from '../../../core/encoding/index.js';
import { CASH_TYPES, prepareCoin, signSpend } from '../../../core/payment/cash/index.js';
import { type ChequeBody, presentment } from '../../../core/payment/cheque/index.js';
import { FUNDING_ACCOUNT, Ledger } from '../../../server/bank/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import {
  bankWithAliceAndShop,
  closeCheckingInvariants,
  type Customer,
  dealId,
  denominationOf,
  refused,
  T0,
  type TestBank,
  withdraw,
  bankRows,
} from '../../core/payment/helpers.js';
import { present, writeCheque } from '../../core/payment/orders.js';

describe('the bank refuses (money mutation kills)', () => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;

  beforeEach(async () => {
    ({ t, alice, shop } = await bankWithAliceAndShop({ aliceFunds: 10_000 }));
  });

  afterEach(() => closeCheckingInvariants(t));

  it('a withdrawal request whose dealId is not its request id (a statement the holder signed for a deal), debiting nothing', async () => {
    const set = await t.set();
    const secret = await prepareCoin(denominationOf(set, 100));
    const requestId = randomId(16);
    const request = (await signStatement(
      {
        type: CASH_TYPES.withdrawalRequest,
        version: 1,
        dealId: dealId(),
        issuedAt: nowIso(T0),
        body: { requestId, account: alice.account, coins: [{ denominationId: secret.denominationId, blindedMsg: secret.blindedMsg }] },
      },
      alice.signer,
    )) as Statement;
    expect((await refused(t.bank.withdraw(request))).code).toBe('ERR_SCHEMA');
    expect(await t.bank.balance(alice.account)).toBe(10_000);
  });

  it('a deposit naming one coin twice, before it touches the spent coins (ERR_SCHEMA, not a double spend); the coin stays depositable', async () => {
    const { coins } = await withdraw(t, alice, [100]);
    const spend = await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
    const e = await refused(t.bank.deposit({ spends: [spend, structuredClone(spend)] }));
    expect(e.code).toBe('ERR_SCHEMA');
    expect(await t.bank.balance(shop.account)).toBe(0);
    await t.bank.deposit({ spends: [spend] });
    expect(await t.bank.balance(shop.account)).toBe(100);
  });

  it("a deposit mixing two deals' spends to one payee (one proof for deal A worth what deal B paid too) is refused whole", async () => {
    const { coins } = await withdraw(t, alice, [100, 100]);
    const dealA = dealId();
    const dealB = dealId();
    const a = await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealA, now: T0 });
    const b = await signSpend(coins[1]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealB, now: T0 });
    expect((await refused(t.bank.deposit({ spends: [a, b] }))).code).toBe('ERR_ITEM_MISMATCH');
    expect(await t.bank.balance(shop.account)).toBe(0);
    // Each deal's spends deposit on their own, with a proof for that deal's value.
    expect((await t.bank.deposit({ spends: [a] })).proof.body).toMatchObject({ reference: dealA, value: { amount: 100 } });
    expect((await t.bank.deposit({ spends: [b] })).proof.body).toMatchObject({ reference: dealB, value: { amount: 100 } });
  });

  it('the ledger writes no entry of a fraction of a minor unit or beyond the safe integers, even in a balanced posting', async () => {
    const ledger = new Ledger('CHF');
    for (const [amount, id] of [
      [0.5, 'p-fraction'],
      [2 ** 53 + 2, 'p-unsafe'],
    ] as const) {
      const posting = [
        { account: alice.account, amount },
        { account: FUNDING_ACCOUNT, amount: -amount },
      ];
      await expect(t.bank.database.write((tx) => ledger.post(tx, id, 'funding', null, posting, T0))).rejects.toThrow(/non-zero integer/);
    }
    expect(await bankRows(t.bank, "SELECT COUNT(*) AS n FROM postings WHERE id LIKE 'p-%'")).toEqual([{ n: 0 }]);
    expect(await t.bank.balance(alice.account)).toBe(10_000);
  });

  it('funding that would take money out of an account (a negative or fractional amount) is refused, nothing posted', async () => {
    expect((await refused(t.bank.fund(alice.account, -500))).code).toBe('ERR_SCHEMA');
    expect((await refused(t.bank.fund(alice.account, 0.5))).code).toBe('ERR_SCHEMA');
    expect(await t.bank.balance(alice.account)).toBe(10_000);
  });

  it('closing an account that still holds money is refused (its money would be stranded in a closed account)', async () => {
    expect((await refused(t.bank.closeAccount(alice.account))).code).toBe('ERR_FORBIDDEN');
    // Still open: it pays and is paid.
    await t.bank.fund(alice.account, 1);
    expect(await t.bank.balance(alice.account)).toBe(10_001);
  });

  describe('cheques', () => {
    it("a presentment whose dealId is another deal than the cheque's (the payee's statement for deal A shown for deal B) is refused, nothing moves", async () => {
      const c = await writeCheque(alice, shop, 100);
      const p = await deviceKeySigner(shop.signer)({ ...presentment(c, await digestJson(c), T0), dealId: 'deal-not-the-cheques' });
      expect((await refused(t.bank.presentCheque(p))).code).toBe('ERR_SCHEMA');
      expect(await t.bank.balance(shop.account)).toBe(0);
    });

    it('a cheque for nothing (amount 0) is refused as malformed, not cleared or bounced', async () => {
      const c = await writeCheque(alice, shop, 0);
      expect((await refused(t.bank.presentCheque(await present(c, shop.signer)))).code).toBe('ERR_SCHEMA');
    });

    it("a cheque the drawer wrote to its own key is refused (no self-clearing that would look like a payment's proof)", async () => {
      const c = await writeCheque(alice, alice, 100);
      expect((await refused(t.bank.presentCheque(await present(c, alice.signer)))).code).toBe('ERR_SCHEMA');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });

    it('five cheques of 3 000 presented at once against 10 000: three clear, two bounce for funds, the drawer is never overdrawn', async () => {
      const cheques = await Promise.all(Array.from({ length: 5 }, () => writeCheque(alice, shop, 3_000)));
      const presentments = await Promise.all(cheques.map((c) => present(c, shop.signer)));
      const results = await Promise.allSettled(presentments.map((p) => t.bank.presentCheque(p)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      const reasons = results.flatMap((r) =>
        r.status === 'rejected' ? [[(r.reason as { code: string }).code, (r.reason as { details?: { reason?: string } }).details?.reason]] : [],
      );
      expect(reasons).toEqual([
        ['ERR_CHEQUE_BOUNCED', 'insufficient-funds'],
        ['ERR_CHEQUE_BOUNCED', 'insufficient-funds'],
      ]);
      expect(await t.bank.balance(alice.account)).toBe(1_000);
      expect(await t.bank.balance(shop.account)).toBe(9_000);
      expect((cheques[0]!.body as unknown as ChequeBody).amount.amount).toBe(3_000);
    });
  });
});
