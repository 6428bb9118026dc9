/**
 * What another request does between a request's checks and its write transaction. The bank checks
 * a request, signs its answer (outside any transaction: signing is slow and the answer needs no
 * lock), then opens the write transaction and checks again inside it. These tests put the other
 * request exactly in that gap — the same request again (a client's retry), a stop order, a
 * clearing, an account closed, an account-opening code used or replaced — and show that what the transaction checks again decides: one
 * answer for a retried request, no money to or from a closed account, no cheque both stopped and
 * cleared. Without the re-checks inside the transactions each of these tests fails (delete one and
 * see); the checks before the transaction alone do not see what landed in the gap.
 *
 * The gap is made deterministic by running the other request when the bank next opens a write
 * transaction (`beforeNextWrite`), on the real bank and database of either engine.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId } from '../../../core/encoding/index.js';
import { outputsDigest, prepareCoin, signSpend } from '../../../core/payment/cash/index.js';
import { type ChequeBody, stopOrder } from '../../../core/payment/cheque/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import type { Statement } from '../../../core/statements/index.js';
import { type BankService, signAccountOpening } from '../../../server/bank/index.js';
import {
  bankRows,
  bankWithAliceAndShop,
  closeCheckingInvariants,
  type Customer,
  customer,
  denominationOf,
  refused,
  signer,
  T0,
  type TestBank,
  withdraw,
  withdrawalRequest,
} from '../../core/payment/helpers.js';
import { order, present, writeCheque } from '../../core/payment/orders.js';
import { ENGINES } from '../../helpers/engines.js';

/**
 * Run `between` when the bank next opens a write transaction, before it opens it: the request that
 * opens it has made its checks and signed its answer. `between` runs whole (its own transactions
 * are not held back); the hook fires once. The returned promise is `between`'s outcome.
 */
function beforeNextWrite<T>(bank: BankService, between: () => Promise<T>): Promise<T> {
  const database = bank.database;
  const write = database.write;
  let settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };
  const outcome = new Promise<T>((resolve, reject) => {
    settle = { resolve, reject };
  });
  database.write = async function (this: typeof database, ...args: Parameters<typeof write>) {
    database.write = write;
    try {
      settle.resolve(await between());
    } catch (e) {
      settle.reject(e);
    }
    return write.apply(this, args);
  } as typeof write;
  return outcome;
}

describe.each(ENGINES)('the bank between its checks and its transaction, on %s', (engine) => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;

  beforeEach(async () => {
    ({ t, alice, shop } = await bankWithAliceAndShop({ engine }));
  });

  afterEach(() => closeCheckingInvariants(t));

  const chequeBody = (c: Statement) => c.body as unknown as ChequeBody;
  const stopOf = async (c: Statement) => deviceKeySigner(alice.signer)(stopOrder({ drawer: alice.account, serial: chequeBody(c).serial, now: T0 }));

  describe('the same request again (a retry)', () => {
    it('a withdrawal: both get the one answer, the account is debited once', async () => {
      const set = await t.set();
      const request = await withdrawalRequest(alice, [await prepareCoin(denominationOf(set, 500))]);
      const retried = beforeNextWrite(t.bank, () => t.bank.withdraw(structuredClone(request)));
      const first = await t.bank.withdraw(request);
      expect(await retried).toEqual(first);
      expect(await t.bank.balance(alice.account)).toBe(4_500);
      expect(await bankRows(t.bank, "SELECT COUNT(*) AS n FROM issues WHERE kind = 'withdrawal'")).toEqual([{ n: 1 }]);
    });

    it('a refresh: both get the one answer, one set of new coins issued', async () => {
      const { coins } = await withdraw(t, alice, [500]);
      const set = await t.set();
      const requestId = randomId(16);
      const secrets = [await prepareCoin(denominationOf(set, 500))];
      const outputs = secrets.map((s) => ({ denominationId: s.denominationId, blindedMsg: s.blindedMsg }));
      const spends = [
        await signSpend(
          coins[0]!,
          { amount: 500, currency: 'CHF' },
          { payee: t.bank.keyId, reference: requestId, outputs: await outputsDigest(outputs), now: T0 },
        ),
      ];
      const request = { requestId, spends, outputs };
      const retried = beforeNextWrite(t.bank, () => t.bank.refresh(structuredClone(request)));
      const first = await t.bank.refresh(request);
      expect(await retried).toEqual(first);
      expect(await bankRows(t.bank, "SELECT COUNT(*) AS n FROM issues WHERE kind = 'refresh'")).toEqual([{ n: 1 }]);
    });

    it('a transfer: both get the one answer, the money moves once', async () => {
      const o = await order(alice, shop, 1_200);
      const retried = beforeNextWrite(t.bank, () => t.bank.transfer(structuredClone(o)));
      const first = await t.bank.transfer(o);
      expect(await retried).toEqual(first);
      expect(await t.bank.balance(alice.account)).toBe(3_800);
      expect(await t.bank.balance(shop.account)).toBe(1_200);
    });

    it('a deposit: both get the one answer, the payee is credited once', async () => {
      const { coins } = await withdraw(t, alice, [500]);
      const spend = await signSpend(coins[0]!, { amount: 500, currency: 'CHF' }, { payee: shop.keyId, reference: 'deal-retried', now: T0 });
      const retried = beforeNextWrite(t.bank, () => t.bank.deposit({ spends: [structuredClone(spend)] }));
      const first = await t.bank.deposit({ spends: [spend] });
      expect(await retried).toEqual(first);
      expect(await t.bank.balance(shop.account)).toBe(500);
    });

    it('a stop order: both get the one stop receipt', async () => {
      const c = await writeCheque(alice, shop, 100);
      const stop = await stopOf(c);
      const retried = beforeNextWrite(t.bank, () => t.bank.stopCheque(structuredClone(stop)));
      const first = await t.bank.stopCheque(stop);
      expect(await retried).toEqual(first);
      expect(await bankRows(t.bank, 'SELECT COUNT(*) AS n FROM cheque_stops')).toEqual([{ n: 1 }]);
    });

    it('a presentment: the cheque clears once, the later answer is ERR_CHEQUE_CLEARED with the first receipt (not a bounce for the funds the first took)', async () => {
      const c = await writeCheque(alice, shop, 5_000);
      const p = await present(c, shop.signer);
      const retried = beforeNextWrite(t.bank, () => t.bank.presentCheque(structuredClone(p)));
      const late = await refused(t.bank.presentCheque(p));
      const first = await retried;
      expect(late.code).toBe('ERR_CHEQUE_CLEARED');
      expect(late.details?.receipt).toEqual(first.receipt);
      expect(await t.bank.balance(shop.account)).toBe(5_000);
      expect(await bankRows(t.bank, 'SELECT COUNT(*) AS n FROM cheque_bounces')).toEqual([{ n: 0 }]);
    });
  });

  describe('cheques: a stop and a clearing cross', () => {
    it('a stop lands while the cheque is being cleared: the cheque bounces as stopped and no money moves', async () => {
      const c = await writeCheque(alice, shop, 900);
      const stopped = beforeNextWrite(t.bank, async () => t.bank.stopCheque(await stopOf(c)));
      const e = await refused(t.bank.presentCheque(await present(c, shop.signer)));
      expect((await stopped).receipt.type).toBe('semper.bank.cheque-stopped');
      expect(e.code).toBe('ERR_CHEQUE_BOUNCED');
      expect(e.details?.reason).toBe('stopped');
      expect(await t.bank.balance(alice.account)).toBe(5_000);
      expect(await t.bank.balance(shop.account)).toBe(0);
    });

    it('the cheque clears while its stop is being recorded: the stop is ERR_CHEQUE_CLEARED with the receipt, and no stop is kept', async () => {
      const c = await writeCheque(alice, shop, 900);
      const cleared = beforeNextWrite(t.bank, async () => t.bank.presentCheque(await present(c, shop.signer)));
      const e = await refused(t.bank.stopCheque(await stopOf(c)));
      expect(e.code).toBe('ERR_CHEQUE_CLEARED');
      expect(e.details?.receipt).toEqual((await cleared).receipt);
      expect(await bankRows(t.bank, 'SELECT COUNT(*) AS n FROM cheque_stops')).toEqual([{ n: 0 }]);
      expect(await t.bank.balance(shop.account)).toBe(900);
    });
  });

  describe('an account-opening code used or replaced in the gap', () => {
    const openWith = async (code: string, holder = signer()) => signAccountOpening(await holder, { code, bank: t.bank.keyId, now: T0 });

    it('the same opening request again: both get the one account, funded once', async () => {
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 300 });
      const request = await openWith(code);
      const retried = beforeNextWrite(t.bank, () => t.bank.openAccountWithCode(structuredClone(request)));
      const first = await t.bank.openAccountWithCode(request);
      expect(await retried).toEqual(first);
      expect(await t.bank.balance(first.account)).toBe(300);
    });

    it('another key opens with the same code first: this opening is refused as a used code, and one account exists', async () => {
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 300 });
      const other = beforeNextWrite(t.bank, async () => t.bank.openAccountWithCode(await openWith(code)));
      const e = await refused(t.bank.openAccountWithCode(await openWith(code)));
      expect(e.code).toBe('ERR_REGISTRATION_CODE');
      expect(e.message).toMatch(/already been used/);
      expect(await t.bank.accountOpenedFor('Demo Shopper')).toBe((await other).account);
    });

    it('the bank replaces the code (a new one for the name) while it is being used: the old code opens nothing', async () => {
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 300 });
      const replaced = beforeNextWrite(t.bank, () => t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 300 }));
      const holder = await signer();
      const e = await refused(t.bank.openAccountWithCode(await openWith(code, Promise.resolve(holder))));
      await replaced;
      expect(e.code).toBe('ERR_REGISTRATION_CODE');
      expect(e.message).toMatch(/replaced/);
      expect(await t.bank.accountOfKey(holder.keyId)).toBeUndefined();
      expect(await t.bank.accountOpenedFor('Demo Shopper')).toBeUndefined();
    });
  });

  describe('an account closed in the gap', () => {
    it("the drawer's account closes while its cheque is being cleared: the cheque bounces as from an unknown drawer", async () => {
      const c = await writeCheque(alice, shop, 900);
      // To close, the drawer first moves everything out (a closed account holds nothing).
      const closed = beforeNextWrite(t.bank, async () => {
        await t.bank.transfer(await order(alice, shop, 5_000));
        await t.bank.closeAccount(alice.account);
      });
      const e = await refused(t.bank.presentCheque(await present(c, shop.signer)));
      await closed;
      expect(e.code).toBe('ERR_CHEQUE_BOUNCED');
      expect(e.details?.reason).toBe('unknown-drawer');
      expect(await t.bank.balance(shop.account)).toBe(5_000);
    });

    it("the payee's account closes while a cheque to it is being cleared: refused, nothing credited to the closed account", async () => {
      const c = await writeCheque(alice, shop, 900);
      const closed = beforeNextWrite(t.bank, () => t.bank.closeAccount(shop.account));
      const e = await refused(t.bank.presentCheque(await present(c, shop.signer)));
      await closed;
      expect(e.code).toBe('ERR_NOT_FOUND');
      expect(await t.bank.balance(shop.account)).toBe(0);
      expect(await t.bank.balance(alice.account)).toBe(5_000);
    });

    it("the payee's account closes while a transfer to it is being made: refused, nothing credited to the closed account", async () => {
      const closed = beforeNextWrite(t.bank, () => t.bank.closeAccount(shop.account));
      const e = await refused(t.bank.transfer(await order(alice, shop, 900)));
      await closed;
      expect(e.code).toBe('ERR_NOT_FOUND');
      expect(await t.bank.balance(shop.account)).toBe(0);
      expect(await t.bank.balance(alice.account)).toBe(5_000);
    });

    it("the payer's account closes while its transfer is being made: refused as a closed account, not as short of funds", async () => {
      const other = await customer(t.bank);
      const closed = beforeNextWrite(t.bank, async () => {
        await t.bank.transfer(await order(alice, other, 5_000));
        await t.bank.closeAccount(alice.account);
      });
      const e = await refused(t.bank.transfer(await order(alice, shop, 900)));
      await closed;
      expect(e.code).toBe('ERR_NOT_FOUND');
      expect(await t.bank.balance(shop.account)).toBe(0);
    });
  });
});
