/**
 * The bank's tables (component `bank` of bank.sqlite). Append-only where it matters: a trigger
 * refuses UPDATE and DELETE on postings, entries, issues, spent coins and deposits, so history is
 * never rewritten — a correction is a new posting. Balances are not stored anywhere: they are the
 * SUM of an account's entries (ledger.ts).
 *
 * What is kept apart (unlinkability): `issues` holds the withdrawal/refresh/refund side — the
 * signed request with its *blinded* messages and the receipt with the *blind* signatures; `spent_coins`
 * and `deposits` hold the redemption side — coin ids, coin keys, unblinded signatures. Nothing
 * the bank holds relates one to the other: the blinding factor never reaches the bank.
 */
import { appendOnlyPostgres, type PostgresMigration } from '../storage/database.js';
import { appendOnly, type Migration, type MigrationSet } from '../storage/sqlite.js';

const V1_TABLES = `
    CREATE TABLE bank_identity (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      pkcs8 BLOB NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE accounts (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('customer', 'funding', 'coins')),
      key_id TEXT UNIQUE,
      public_jwk TEXT,
      currency TEXT NOT NULL,
      opened_at INTEGER NOT NULL
    );
    -- The account and cheque kinds were added to this CHECK before any bank file existed outside
    -- tests (SQLite cannot change a CHECK in place without rebuilding postings under its foreign keys).
    CREATE TABLE postings (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('funding', 'withdrawal', 'deposit', 'refresh', 'refund', 'transfer', 'reversal', 'cheque')),
      reference TEXT,
      at INTEGER NOT NULL
    );
    CREATE TABLE entries (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      posting_id TEXT NOT NULL REFERENCES postings(id),
      account_id TEXT NOT NULL REFERENCES accounts(id),
      amount INTEGER NOT NULL CHECK (amount <> 0)
    );
    CREATE INDEX entries_by_account ON entries(account_id);
    CREATE INDEX entries_by_posting ON entries(posting_id);
    CREATE TABLE denominations (
      id TEXT PRIMARY KEY,
      value INTEGER NOT NULL CHECK (value > 0),
      currency TEXT NOT NULL,
      spki BLOB NOT NULL,
      pkcs8 BLOB NOT NULL,
      valid_from INTEGER NOT NULL,
      withdraw_until INTEGER NOT NULL,
      spend_until INTEGER NOT NULL,
      deposit_until INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE issues (
      request_id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('withdrawal', 'refresh', 'refund')),
      account_id TEXT REFERENCES accounts(id),
      request_digest TEXT NOT NULL,
      request TEXT NOT NULL,
      posting_id TEXT NOT NULL REFERENCES postings(id),
      value INTEGER NOT NULL CHECK (value > 0),
      answer TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE TABLE spent_coins (
      coin_id TEXT PRIMARY KEY,
      denomination_id TEXT NOT NULL REFERENCES denominations(id),
      value INTEGER NOT NULL CHECK (value > 0),
      spend_digest TEXT NOT NULL,
      spend TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('deposit', 'refresh')),
      redemption_id TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE TABLE deposits (
      id TEXT PRIMARY KEY,
      batch_digest TEXT NOT NULL UNIQUE,
      account_id TEXT NOT NULL REFERENCES accounts(id),
      payee TEXT NOT NULL,
      reference TEXT NOT NULL,
      value INTEGER NOT NULL CHECK (value > 0),
      posting_id TEXT NOT NULL REFERENCES postings(id),
      answer TEXT NOT NULL,
      at INTEGER NOT NULL
    );`;
const V1_APPEND_ONLY = ['postings', 'entries', 'issues', 'spent_coins', 'deposits'];

const v1: Migration = {
  version: 1,
  description: 'bank: identity, accounts, double-entry ledger, denomination keys, issues, spent coins, deposits',
  up: `${V1_TABLES}
    ${V1_APPEND_ONLY.map(appendOnly).join('\n')}`,
};

/**
 * Accounts and cheques: closures (an account is closed by a row, never an UPDATE), transfers,
 * their reversals (the primary key on the transfer: reversed at most once), cheque clearings
 * (UNIQUE (drawer, serial): cleared at most once), stop orders and bounces.
 */
const V2_TABLES = `
    CREATE TABLE account_closures (
      account_id TEXT PRIMARY KEY REFERENCES accounts(id),
      at INTEGER NOT NULL
    );
    CREATE TABLE transfers (
      request_id TEXT PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      order_digest TEXT NOT NULL,
      request TEXT NOT NULL,
      payer_account TEXT NOT NULL REFERENCES accounts(id),
      payee_account TEXT NOT NULL REFERENCES accounts(id),
      payee_key TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount > 0),
      reference TEXT NOT NULL,
      revocable_until INTEGER,
      posting_id TEXT NOT NULL REFERENCES postings(id),
      answer TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE INDEX transfers_held ON transfers(payee_account, revocable_until);
    CREATE TABLE reversals (
      transfer_request_id TEXT PRIMARY KEY REFERENCES transfers(request_id),
      id TEXT NOT NULL UNIQUE,
      by TEXT NOT NULL CHECK (by IN ('ttp', 'payee')),
      order_digest TEXT NOT NULL,
      request TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount > 0),
      posting_id TEXT NOT NULL REFERENCES postings(id),
      answer TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE TABLE cheque_clearings (
      id TEXT PRIMARY KEY,
      drawer_account TEXT NOT NULL REFERENCES accounts(id),
      serial TEXT NOT NULL,
      cheque_digest TEXT NOT NULL,
      cheque TEXT NOT NULL,
      presentment TEXT NOT NULL,
      payee_account TEXT NOT NULL REFERENCES accounts(id),
      payee_key TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount > 0),
      reference TEXT NOT NULL,
      posting_id TEXT NOT NULL REFERENCES postings(id),
      answer TEXT NOT NULL,
      at INTEGER NOT NULL,
      UNIQUE (drawer_account, serial)
    );
    CREATE TABLE cheque_stops (
      drawer_account TEXT NOT NULL REFERENCES accounts(id),
      serial TEXT NOT NULL,
      request TEXT NOT NULL,
      answer TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (drawer_account, serial)
    );
    CREATE TABLE cheque_bounces (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      drawer_account TEXT NOT NULL,
      serial TEXT NOT NULL,
      cheque_digest TEXT NOT NULL,
      reason TEXT NOT NULL,
      answer TEXT NOT NULL,
      at INTEGER NOT NULL
    );`;
const V2_APPEND_ONLY = ['account_closures', 'transfers', 'reversals', 'cheque_clearings', 'cheque_stops', 'cheque_bounces'];

const v2: Migration = {
  version: 2,
  description: 'bank: account closures, transfers, reversals, cheque clearings, stops, bounces',
  up: `${V2_TABLES}
    ${V2_APPEND_ONLY.map(appendOnly).join('\n')}`,
};

/**
 * Account opening with a one-time code (opening.ts): the operator's codes (only SHA-256 of each
 * is kept), codes withdrawn (superseded by a newer one for the same name), and openings — the
 * primary key on the code, so a code opens at most one account.
 */
const V3_TABLES = `
    CREATE TABLE account_opening_codes (
      code_hash TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount >= 0),
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX account_opening_codes_by_name ON account_opening_codes(name);
    CREATE TABLE account_opening_codes_withdrawn (
      code_hash TEXT PRIMARY KEY REFERENCES account_opening_codes(code_hash),
      at INTEGER NOT NULL
    );
    CREATE TABLE account_openings (
      code_hash TEXT PRIMARY KEY REFERENCES account_opening_codes(code_hash),
      account_id TEXT NOT NULL UNIQUE REFERENCES accounts(id),
      request_digest TEXT NOT NULL,
      request TEXT NOT NULL,
      posting_id TEXT REFERENCES postings(id),
      answer TEXT NOT NULL,
      at INTEGER NOT NULL
    );`;
const V3_APPEND_ONLY = ['account_opening_codes', 'account_opening_codes_withdrawn', 'account_openings'];

const v3: Migration = {
  version: 3,
  description: 'bank: one-time account-opening codes and the accounts they opened',
  up: `${V3_TABLES}
    ${V3_APPEND_ONLY.map(appendOnly).join('\n')}`,
};

/**
 * A balance is SUM(amount) of the account's entries, read before and again inside every debit's
 * write transaction. Indexed by account alone, each entry's row is fetched from the table: 20 ms for an
 * account of 100,000 entries (a merchant's, on this machine), 3.5 ms from an index that holds the
 * amounts too. Still linear in the account's entries: see ledger.ts.
 */
const V4_INDEXES = `
    CREATE INDEX entries_by_account_amount ON entries(account_id, amount);
    DROP INDEX entries_by_account;`;

const v4: Migration = {
  version: 4,
  description: 'bank: balances from an index that holds the amounts',
  up: V4_INDEXES,
};

export const BANK_SCHEMA: MigrationSet = { component: 'bank', migrations: [v1, v2, v3, v4] };

/**
 * The same tables on PostgreSQL: amounts and times are BIGINT (SQLite's INTEGER is 64-bit, a
 * PostgreSQL INTEGER is not), BLOB is BYTEA, the entry ids an identity column; the append-only
 * tables refuse UPDATE, DELETE and TRUNCATE by trigger, as on SQLite.
 */
export function postgresDdl(sqlite: string): string {
  return sqlite
    .replace(/INTEGER PRIMARY KEY AUTOINCREMENT/g, 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY')
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bBLOB\b/g, 'BYTEA');
}

export const BANK_POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  { version: 1, description: v1.description, up: `${postgresDdl(V1_TABLES)}\n${V1_APPEND_ONLY.map(appendOnlyPostgres).join('\n')}` },
  { version: 2, description: v2.description, up: `${postgresDdl(V2_TABLES)}\n${V2_APPEND_ONLY.map(appendOnlyPostgres).join('\n')}` },
  { version: 3, description: v3.description, up: `${postgresDdl(V3_TABLES)}\n${V3_APPEND_ONLY.map(appendOnlyPostgres).join('\n')}` },
  { version: 4, description: v4.description, up: V4_INDEXES },
];
