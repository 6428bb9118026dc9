/**
 * What the bank's operations share about customer accounts: lookups that treat a closed account
 * as absent, the held amount (incoming revocable transfers still inside their window: the bank
 * keeps them back so that a TTP revocation is always covered), and signing the bank's statements.
 */
import { createHash } from 'node:crypto';
import type { Signer } from '../../core/crypto/index.js';
import { canonicalBytes } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import { nowIso, signStatement, type Statement, type WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { sql } from 'kysely';
import { type Database, type Db, firstOf } from '../storage/database.js';
import type { Ledger } from './ledger.js';

export interface CustomerAccount {
  id: string;
  keyId: string;
}

/** What the account and cheque operations need of the bank (BankService gives it). */
export interface BankContext {
  database: Database;
  ledger: Ledger;
  signer: Signer;
  currency: string;
  clock: () => number;
  /** Key ids of the TTPs whose revocation orders the bank honours. */
  trustedTtps: ReadonlySet<string>;
  /** The longest revocation window a transfer may ask for (ms). */
  maxRevocationWindow: number;
  webauthn?: WebAuthnStatementVerifier;
}

/** An open customer account (closed and unknown accounts are both absent). `q`: the pool, or the transaction's executor. */
export async function openCustomer(q: Db, id: string): Promise<CustomerAccount | undefined> {
  const row = await firstOf(
    q,
    sql<{ id: string; key_id: string }>`SELECT a.id, a.key_id FROM accounts a WHERE a.id = ${id} AND a.kind = 'customer'
      AND NOT EXISTS (SELECT 1 FROM account_closures c WHERE c.account_id = a.id)`,
  );
  return row ? { id: row.id, keyId: row.key_id } : undefined;
}

/** The open customer account of a key. */
export async function openCustomerOfKey(q: Db, keyId: string): Promise<CustomerAccount | undefined> {
  const row = await firstOf(
    q,
    sql<{ id: string; key_id: string }>`SELECT a.id, a.key_id FROM accounts a WHERE a.key_id = ${keyId} AND a.kind = 'customer'
      AND NOT EXISTS (SELECT 1 FROM account_closures c WHERE c.account_id = a.id)`,
  );
  return row ? { id: row.id, keyId: row.key_id } : undefined;
}

/** Incoming revocable transfers not reversed whose window is still open at `now` (revocable while now ≤ revocableUntil). */
export async function heldAmount(q: Db, account: string, now: number, except?: string): Promise<number> {
  const row = await firstOf(
    q,
    sql<{ h: number }>`SELECT COALESCE(SUM(t.amount), 0) AS h FROM transfers t
       WHERE t.payee_account = ${account} AND t.revocable_until IS NOT NULL AND t.revocable_until >= ${now} AND t.request_id <> ${except ?? ''}
         AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.transfer_request_id = t.request_id)`,
  );
  return row!.h;
}

/** Refuse unless the account's balance less what is held covers `amount` (inside the transaction for the final check). */
export async function requireAvailable(q: Db, ledger: Ledger, account: string, amount: number, now: number, except?: string): Promise<void> {
  const balance = await ledger.balance(q, account);
  const held = await heldAmount(q, account, now, except);
  if (balance - held < amount)
    throw new SemperError(
      'ERR_INSUFFICIENT_FUNDS',
      `account ${account} holds ${balance}${held ? ` (${held} held for revocable transfers)` : ''}, ${amount} needed`,
    );
}

export async function bankSign(ctx: BankContext, type: string, dealId: string, body: Record<string, unknown>, now: number): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(now), body }, ctx.signer)) as Statement;
}

export { isUniqueViolation } from '../storage/database.js';

/** The first zod issue as a SemperError ERR_SCHEMA. */
export function schemaError(what: string, error: { issues: { path: PropertyKey[]; message: string }[] }): SemperError {
  const issue = error.issues[0];
  return new SemperError('ERR_SCHEMA', `${what}: ${issue ? `${issue.path.map(String).join('.') || '$'}: ${issue.message}` : 'malformed'}`);
}

/**
 * digestJson / statementDigest (core/encoding, core/statements), computed synchronously with
 * node:crypto: the same bytes (base64url SHA-256 of the RFC 8785 form) without a thread-pool round
 * trip per digest on the bank's hot paths.
 */
export function digestSync(value: unknown): string {
  return createHash('sha256').update(canonicalBytes(value)).digest('base64url');
}
