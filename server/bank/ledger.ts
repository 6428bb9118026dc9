/**
 * The bank's double-entry ledger. Every movement of money is one posting of entries that sum to
 * zero (checked here before anything is written, and checked again over the whole table by
 * `unbalancedPostings`); entries are append-only (schema.ts triggers); a balance is never stored,
 * only derived: SUM(amount) of the account's entries.
 *
 * Accounts: `customer` (shoppers and merchants, each with its registered key), and two of the
 * bank's own — `funding` (money that entered the system from outside: it goes negative by what was
 * paid in) and `coins` (the value of coins outstanding: credited when coins are issued, debited
 * when they are deposited). Every posting runs inside the caller's transaction (BEGIN IMMEDIATE):
 * `post` must be called from `store.immediate(...)`.
 */
import { SemperError } from '../../core/errors.js';
import type { SqliteDatabase } from '../storage/sqlite.js';

export const FUNDING_ACCOUNT = 'bank-funding';
export const COINS_ACCOUNT = 'bank-coins-outstanding';

export type PostingKind = 'funding' | 'withdrawal' | 'deposit' | 'refresh' | 'refund' | 'transfer' | 'reversal' | 'cheque';

export interface Entry {
  account: string;
  /** Minor units; positive credits the account, negative debits it. */
  amount: number;
}

export class Ledger {
  constructor(
    private readonly db: SqliteDatabase,
    readonly currency: string,
  ) {}

  /** Create the bank's own accounts if missing (inside a transaction). */
  ensureSystemAccounts(now: number): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO accounts (id, kind, currency, opened_at) VALUES (?, ?, ?, ?)');
    insert.run(FUNDING_ACCOUNT, 'funding', this.currency, now);
    insert.run(COINS_ACCOUNT, 'coins', this.currency, now);
  }

  /** Derived, never stored. */
  balance(account: string): number {
    return this.db.prepare<[string], { b: number }>('SELECT COALESCE(SUM(amount), 0) AS b FROM entries WHERE account_id = ?').get(account)!.b;
  }

  /** Write one balanced posting. Call inside a transaction. */
  post(id: string, kind: PostingKind, reference: string | null, entries: readonly Entry[], now: number): void {
    if (entries.length < 2) throw new SemperError('ERR_INTERNAL', 'a posting has at least two entries');
    let total = 0;
    for (const e of entries) {
      if (!Number.isSafeInteger(e.amount) || e.amount === 0) throw new SemperError('ERR_INTERNAL', 'an entry is a non-zero integer');
      total += e.amount;
    }
    if (total !== 0) throw new SemperError('ERR_INTERNAL', `posting ${id} does not balance (${total})`);
    this.db.prepare('INSERT INTO postings (id, kind, reference, at) VALUES (?, ?, ?, ?)').run(id, kind, reference, now);
    const insert = this.db.prepare('INSERT INTO entries (posting_id, account_id, amount) VALUES (?, ?, ?)');
    for (const e of entries) insert.run(id, e.account, e.amount);
  }

  /** Debit `account` by `amount` if its derived balance covers it (inside the transaction: the check and the debit are one). */
  requireFunds(account: string, amount: number): void {
    const balance = this.balance(account);
    if (balance < amount) throw new SemperError('ERR_INSUFFICIENT_FUNDS', `account ${account} holds ${balance}, ${amount} needed`);
  }

  /** Postings whose entries do not sum to zero (always empty). */
  unbalancedPostings(): { posting_id: string; total: number }[] {
    return this.db
      .prepare<[], { posting_id: string; total: number }>('SELECT posting_id, SUM(amount) AS total FROM entries GROUP BY posting_id HAVING SUM(amount) <> 0')
      .all();
  }

  /** Sum of every customer account's balance. */
  customerTotal(): number {
    return this.db
      .prepare<[], { t: number }>("SELECT COALESCE(SUM(e.amount), 0) AS t FROM entries e JOIN accounts a ON a.id = e.account_id WHERE a.kind = 'customer'")
      .get()!.t;
  }
}
