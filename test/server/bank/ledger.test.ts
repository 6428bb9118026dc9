/** The ledger: postings balance, entries are append-only, balances are derived; the invariant check can fail. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSemperError } from '../../../core/errors.js';
import { signSpend } from '../../../core/payment/cash/index.js';
import { COINS_ACCOUNT, FUNDING_ACCOUNT, Ledger } from '../../../server/bank/index.js';
import { balanceQuery } from '../../../server/bank/ledger.js';
import { type Customer, customer, openTestBank, T0, type TestBank, withdraw, bankRows, bankExec } from '../../core/payment/helpers.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank ledger on %s', (engine) => {
  let t: TestBank;
  let alice: Customer;
  let ledger: Ledger;

  beforeEach(async () => {
    t = await openTestBank({ engine });
    alice = await customer(t.bank, 1_000);
    ledger = new Ledger('CHF');
  });

  afterEach(() => t.close());

  const pool = () => t.bank.database.db;

  describe('ledger', () => {
    it('every posting is two or more entries summing to zero; a balance is the sum of the entries', async () => {
      await withdraw(t, alice, [200]);
      expect(await ledger.unbalancedPostings(pool())).toEqual([]);
      const perPosting = await bankRows<{ n: number; total: number }>(
        t.bank,
        'SELECT posting_id, COUNT(*) AS n, SUM(amount) AS total FROM entries GROUP BY posting_id',
      );
      expect(perPosting.length).toBe(2);
      for (const p of perPosting) {
        expect(p.n).toBeGreaterThanOrEqual(2);
        expect(p.total).toBe(0);
      }
      expect(await ledger.balance(pool(), alice.account)).toBe(800);
      expect(await ledger.balance(pool(), FUNDING_ACCOUNT)).toBe(-1_000);
      // No column anywhere stores a balance.
      const columns = await bankRows<{ name: string }>(
        t.bank,
        t.bank.database.engine === 'sqlite'
          ? "SELECT name FROM pragma_table_info('accounts')"
          : "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts'",
      );
      expect(columns.length).toBeGreaterThan(3);
      expect(columns.map((c) => c.name).some((n) => /balance/i.test(n))).toBe(false);
      await t.bank.checkInvariants();
    });

    it('a balance is read from the index on (account, amount), not from each entry row', async () => {
      await withdraw(t, alice, [200]);
      if (engine === 'sqlite') {
        const compiled = balanceQuery(alice.account).compile(pool());
        const plan = await bankRows<{ detail: string }>(t.bank, `EXPLAIN QUERY PLAN ${compiled.sql.replace('?', `'${alice.account}'`)}`);
        expect(plan.map((p) => p.detail).join('; ')).toMatch(/USING COVERING INDEX entries_by_account_amount/);
      } else {
        const indexes = await bankRows<{ indexname: string }>(t.bank, "SELECT indexname FROM pg_indexes WHERE tablename = 'entries' ORDER BY indexname");
        expect(indexes.map((i) => i.indexname)).toContain('entries_by_account_amount');
      }
      // The index on account alone is gone (the new one serves every query it served).
      const names =
        engine === 'sqlite'
          ? await bankRows<{ name: string }>(t.bank, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries'")
          : await bankRows<{ name: string }>(t.bank, "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'entries'");
      expect(names.map((n) => n.name)).not.toContain('entries_by_account');
      expect(await ledger.balance(pool(), alice.account)).toBe(800);
    });

    it('refuses an unbalanced posting and a single entry, writing nothing', async () => {
      const before = await ledger.balance(pool(), alice.account);
      await expect(
        t.bank.database.write((tx) =>
          ledger.post(
            tx,
            'p-unbalanced',
            'funding',
            null,
            [
              { account: alice.account, amount: 5 },
              { account: FUNDING_ACCOUNT, amount: -4 },
            ],
            T0,
          ),
        ),
      ).rejects.toThrow(/does not balance/);
      await expect(t.bank.database.write((tx) => ledger.post(tx, 'p-single', 'funding', null, [{ account: alice.account, amount: 5 }], T0))).rejects.toThrow(
        /two entries/,
      );
      expect(await ledger.balance(pool(), alice.account)).toBe(before);
      expect(await bankRows(t.bank, "SELECT COUNT(*) AS n FROM postings WHERE id LIKE 'p-%'")).toEqual([{ n: 0 }]);
    });

    it('entries, postings, issues, spent coins and deposits refuse UPDATE and DELETE', async () => {
      const { coins } = await withdraw(t, alice, [100]);
      const shop = await customer(t.bank);
      await t.bank.deposit({
        spends: [await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: 'deal-append-only', now: T0 })],
      });
      for (const table of ['entries', 'postings', 'issues', 'spent_coins', 'deposits']) {
        expect(await bankRows(t.bank, `SELECT COUNT(*) AS n FROM ${table}`), table).not.toEqual([{ n: 0 }]);
        await expect(bankExec(t.bank, `DELETE FROM ${table}`), table).rejects.toThrow(/append-only/);
        await expect(bankExec(t.bank, `UPDATE ${table} SET ${table === 'entries' ? 'amount = amount' : 'at = at'}`), table).rejects.toThrow(/append-only/);
        if (t.bank.database.engine === 'postgres') await expect(bankExec(t.bank, `TRUNCATE ${table} CASCADE`), table).rejects.toThrow(/append-only/);
      }
      expect(await ledger.balance(pool(), alice.account)).toBe(900);
      expect(await ledger.balance(pool(), shop.account)).toBe(100);
      await t.bank.checkInvariants();
    });

    it('the invariant check fails on money that appeared from nowhere or coins the ledger does not know', async () => {
      await withdraw(t, alice, [100]);
      // A balanced posting that moves coins-outstanding value into an account without any coin redeemed.
      await t.bank.database.write((tx) =>
        ledger.post(
          tx,
          'p-theft',
          'deposit',
          null,
          [
            { account: COINS_ACCOUNT, amount: -100 },
            { account: alice.account, amount: 100 },
          ],
          T0,
        ),
      );
      let error: unknown;
      try {
        await t.bank.checkInvariants();
      } catch (e) {
        error = e;
      }
      expect(isSemperError(error) && error.code).toBe('ERR_INTERNAL');
      expect(await bankRows(t.bank, 'SELECT COUNT(*) AS n FROM postings')).toEqual([{ n: 3 }]);
    });

    it('insufficient funds is refused inside the transaction', async () => {
      await expect(t.bank.database.write((tx) => ledger.requireFunds(tx, alice.account, 1_001))).rejects.toThrow(
        expect.objectContaining({ code: 'ERR_INSUFFICIENT_FUNDS' }),
      );
    });
  });
});
