/** The ledger: postings balance, entries are append-only, balances are derived; the invariant check can fail. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSemperError } from '../../../core/errors.js';
import { signSpend } from '../../../core/payment/cash/index.js';
import { COINS_ACCOUNT, FUNDING_ACCOUNT, Ledger } from '../../../server/bank/index.js';
import { type Customer, customer, openTestBank, T0, type TestBank, withdraw } from '../../core/payment/helpers.js';

let t: TestBank;
let alice: Customer;
let ledger: Ledger;

beforeEach(async () => {
  t = await openTestBank();
  alice = await customer(t.bank, 1_000);
  ledger = new Ledger(t.bank.store.db, 'CHF');
});

afterEach(() => t.close());

describe('ledger', () => {
  it('every posting is two or more entries summing to zero; a balance is the sum of the entries', async () => {
    await withdraw(t, alice, [200]);
    const db = t.bank.store.db;
    expect(ledger.unbalancedPostings()).toEqual([]);
    const perPosting = db.prepare('SELECT posting_id, COUNT(*) AS n, SUM(amount) AS total FROM entries GROUP BY posting_id').all() as {
      n: number;
      total: number;
    }[];
    expect(perPosting.length).toBe(2);
    for (const p of perPosting) {
      expect(p.n).toBeGreaterThanOrEqual(2);
      expect(p.total).toBe(0);
    }
    expect(ledger.balance(alice.account)).toBe(800);
    expect(ledger.balance(FUNDING_ACCOUNT)).toBe(-1_000);
    // No column anywhere stores a balance.
    const columns = db.prepare("SELECT name FROM pragma_table_info('accounts')").all() as { name: string }[];
    expect(columns.map((c) => c.name).some((n) => /balance/i.test(n))).toBe(false);
    t.bank.checkInvariants();
  });

  it('refuses an unbalanced posting and a single entry, writing nothing', () => {
    const before = ledger.balance(alice.account);
    expect(() =>
      t.bank.store.immediate(() =>
        ledger.post(
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
    ).toThrow(/does not balance/);
    expect(() => t.bank.store.immediate(() => ledger.post('p-single', 'funding', null, [{ account: alice.account, amount: 5 }], T0))).toThrow(/two entries/);
    expect(ledger.balance(alice.account)).toBe(before);
    expect(t.bank.store.db.prepare("SELECT COUNT(*) AS n FROM postings WHERE id LIKE 'p-%'").get()).toEqual({ n: 0 });
  });

  it('entries, postings, issues, spent coins and deposits refuse UPDATE and DELETE', async () => {
    const { coins } = await withdraw(t, alice, [100]);
    const shop = await customer(t.bank);
    await t.bank.deposit({
      spends: [await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: 'deal-append-only', now: T0 })],
    });
    const db = t.bank.store.db;
    for (const table of ['entries', 'postings', 'issues', 'spent_coins', 'deposits']) {
      expect(db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get(), table).not.toEqual({ n: 0 });
      expect(() => db.exec(`DELETE FROM ${table}`), table).toThrow(/append-only/);
      expect(() => db.exec(`UPDATE ${table} SET rowid = rowid`), table).toThrow(/append-only/);
    }
    expect(ledger.balance(alice.account)).toBe(900);
    expect(ledger.balance(shop.account)).toBe(100);
    t.bank.checkInvariants();
  });

  it('the invariant check fails on money that appeared from nowhere or coins the ledger does not know', async () => {
    await withdraw(t, alice, [100]);
    const db = t.bank.store.db;
    // A balanced posting that moves coins-outstanding value into an account without any coin redeemed.
    t.bank.store.immediate(() =>
      ledger.post(
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
      t.bank.checkInvariants();
    } catch (e) {
      error = e;
    }
    expect(isSemperError(error) && error.code).toBe('ERR_INTERNAL');
    expect(db.prepare('SELECT COUNT(*) AS n FROM postings').get()).toEqual({ n: 3 });
  });

  it('insufficient funds is refused inside the transaction', () => {
    expect(() => t.bank.store.immediate(() => ledger.requireFunds(alice.account, 1_001))).toThrow(expect.objectContaining({ code: 'ERR_INSUFFICIENT_FUNDS' }));
  });
});
