/**
 * The bank's double-entry ledger. Every movement of money is one posting of entries that sum to
 * zero (checked here before anything is written, and checked again over the whole table by
 * `unbalancedPostings`); entries are append-only (schema.ts triggers); a balance is never stored,
 * only derived: SUM(amount) of the account's entries.
 *
 * Accounts: `customer` (shoppers and merchants, each with its registered key), and two of the
 * bank's own — `funding` (money that entered the system from outside: it goes negative by what was
 * paid in) and `coins` (the value of coins outstanding: credited when coins are issued, debited
 * when they are deposited). Every posting runs inside the caller's write transaction
 * (server/storage/database.ts: BEGIN IMMEDIATE on SQLite, SERIALIZABLE on PostgreSQL): `post` is
 * called with the transaction's executor.
 */
import { sql } from 'kysely';
import { SemperError } from '../../core/errors.js';
import { type Db, rowsOf } from '../storage/database.js';

export const FUNDING_ACCOUNT = 'bank-funding';
export const COINS_ACCOUNT = 'bank-coins-outstanding';

export type PostingKind = 'funding' | 'withdrawal' | 'deposit' | 'refresh' | 'refund' | 'transfer' | 'reversal' | 'cheque';

export interface Entry {
  account: string;
  /** Minor units; positive credits the account, negative debits it. */
  amount: number;
}

/** The query behind `Ledger.balance` (the tests read its plan). */
export function balanceQuery(account: string) {
  return sql<{ b: number }>`SELECT COALESCE(SUM(amount), 0) AS b FROM entries WHERE account_id = ${account}`;
}

export class Ledger {
  constructor(readonly currency: string) {}

  /** Create the bank's own accounts if missing (inside a transaction). */
  async ensureSystemAccounts(q: Db, now: number): Promise<void> {
    for (const [id, kind] of [
      [FUNDING_ACCOUNT, 'funding'],
      [COINS_ACCOUNT, 'coins'],
    ] as const)
      await sql`INSERT INTO accounts (id, kind, currency, opened_at) VALUES (${id}, ${kind}, ${this.currency}, ${now}) ON CONFLICT DO NOTHING`.execute(q);
  }

  /**
   * Derived, never stored: the sum of the account's entries, read from the index on (account, amount)
   * (schema.ts v4). Linear in the account's entries — a running balance per entry would make it one
   * lookup, but the deposit runs at READ COMMITTED on PostgreSQL (concurrent deposits to one merchant
   * must not abort each other), where two postings could both extend the same last balance.
   */
  async balance(q: Db, account: string): Promise<number> {
    const [row] = await rowsOf(q, balanceQuery(account));
    return row!.b;
  }

  /** Write one balanced posting. Call inside a transaction. */
  async post(q: Db, id: string, kind: PostingKind, reference: string | null, entries: readonly Entry[], now: number): Promise<void> {
    if (entries.length < 2) throw new SemperError('ERR_INTERNAL', 'a posting has at least two entries');
    let total = 0;
    for (const e of entries) {
      if (!Number.isSafeInteger(e.amount) || e.amount === 0) throw new SemperError('ERR_INTERNAL', 'an entry is a non-zero integer');
      total += e.amount;
    }
    if (total !== 0) throw new SemperError('ERR_INTERNAL', `posting ${id} does not balance (${total})`);
    await sql`INSERT INTO postings (id, kind, reference, at) VALUES (${id}, ${kind}, ${reference}, ${now})`.execute(q);
    for (const e of entries) await sql`INSERT INTO entries (posting_id, account_id, amount) VALUES (${id}, ${e.account}, ${e.amount})`.execute(q);
  }

  /** Debit `account` by `amount` if its derived balance covers it (inside the transaction: the check and the debit are one). */
  async requireFunds(q: Db, account: string, amount: number): Promise<void> {
    const balance = await this.balance(q, account);
    if (balance < amount) throw new SemperError('ERR_INSUFFICIENT_FUNDS', `account ${account} holds ${balance}, ${amount} needed`);
  }

  /** Postings whose entries do not sum to zero (always empty). */
  unbalancedPostings(q: Db): Promise<{ posting_id: string; total: number }[]> {
    return rowsOf(
      q,
      sql<{ posting_id: string; total: number }>`SELECT posting_id, SUM(amount) AS total FROM entries GROUP BY posting_id HAVING SUM(amount) <> 0`,
    );
  }

  /** Sum of every customer account's balance. */
  async customerTotal(q: Db): Promise<number> {
    const [row] = await rowsOf(
      q,
      sql<{ t: number }>`SELECT COALESCE(SUM(e.amount), 0) AS t FROM entries e JOIN accounts a ON a.id = e.account_id WHERE a.kind = 'customer'`,
    );
    return row!.t;
  }
}
