/**
 * Opening an account with a one-time code: the operator makes a code for a named holder (and an
 * amount the bank pays in on opening: a demo account's starting balance), hands it over out of band
 * (`npm start` prints it), and the holder's device presents it in a statement signed by the key the
 * account will be bound to:
 *
 *   semper.bank.account-opening  holder → bank, signed by the holder's key   { code, bank (key id) }
 *   semper.bank.account-opened   bank → holder                              { account, holder, name, funded, request (digest) }
 *
 * Like the CA's registration codes: 80 random bits shown as XXXX-XXXX-XXXX-XXXX, only SHA-256 kept,
 * refused when unknown, expired, withdrawn or used (ERR_REGISTRATION_CODE), single use — the
 * opening's primary key is the code, and the code's claim, the account and its funding are one
 * transaction, so a code opens at most one account and a refused opening (a key that already has
 * an account: ERR_REPLAY) leaves the code unused. The same request again (its answer was lost) gets
 * the stored answer. A newer code for the same name withdraws the older unused ones: restarting
 * the marketplace never leaves two live codes for one demo account.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { jwkThumbprint, type PublicJwk, type Signer } from '../../core/crypto/index.js';
import { canonicalJson, encodeBase64url, randomId } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import { Digest, type Amount } from '../../core/items/schema.js';
import { formatRegistrationCode, newRegistrationCode, normaliseRegistrationCode, REGISTRATION_CODE_LENGTH } from '../../core/pki/index.js';
import { nowIso, signStatement, type Statement, type UnsignedStatement, verifyStatement } from '../../core/statements/index.js';
import { sql } from 'kysely';
import { type Db, firstOf } from '../storage/database.js';
import { type BankContext, bankSign, digestSync, isUniqueViolation, schemaError } from './accounts.js';
import { FUNDING_ACCOUNT } from './ledger.js';

export const ACCOUNT_OPENING_TYPES = {
  request: 'semper.bank.account-opening',
  answer: 'semper.bank.account-opened',
} as const;

export const AccountOpeningBody = z.strictObject({
  /** As typed (case, spaces and hyphens do not matter). */
  code: z.string().min(REGISTRATION_CODE_LENGTH).max(40),
  /** The bank's key id: a request for one bank is no good at another. */
  bank: Digest,
});
export type AccountOpeningBody = z.infer<typeof AccountOpeningBody>;

export interface AccountOpenedBody {
  account: string;
  /** The key id the account is bound to (the request's signer). */
  holder: string;
  name: string;
  funded: Amount;
  /** Digest of the opening request. */
  request: string;
}

export interface AccountOpeningAnswer {
  account: string;
  receipt: Statement;
}

export interface AccountOpeningCodeParams {
  /** Whom the code is for (the operator's record; named in the answer). */
  name: string;
  /** Paid in on opening, minor units (default 0). */
  amount?: number;
  /** Default 7 days. */
  validForMs?: number;
}

const DAY_MS = 86_400_000;

/** The holder's request (unsigned): sign it with the key the account is to be bound to. */
export function accountOpeningRequest(p: { code: string; bank: string; now: number }): UnsignedStatement<AccountOpeningBody> {
  return { type: ACCOUNT_OPENING_TYPES.request, version: 1, dealId: 'account-opening', issuedAt: nowIso(p.now), body: { code: p.code, bank: p.bank } };
}

/** Sign an opening request with a device key. */
export async function signAccountOpening(signer: Signer, p: { code: string; bank: string; now: number }): Promise<Statement> {
  return (await signStatement(accountOpeningRequest(p), signer)) as Statement;
}

function hashCode(canonical: string): string {
  return encodeBase64url(createHash('sha256').update(canonical, 'utf8').digest());
}

function codeError(message: string): SemperError {
  return new SemperError('ERR_REGISTRATION_CODE', message);
}

interface CodeRow {
  code_hash: string;
  name: string;
  amount: number;
  expires_at: number;
}

export class AccountOpenings {
  constructor(private readonly ctx: BankContext) {}

  /** A fresh code (returned once, XXXX-XXXX-XXXX-XXXX); older unused codes for the same name are withdrawn. */
  async createCode(params: AccountOpeningCodeParams): Promise<string> {
    const { ctx } = this;
    const name = params.name;
    if (typeof name !== 'string' || !/^[^\p{Cc}]{1,128}$/u.test(name) || name.trim() !== name)
      throw new SemperError('ERR_SCHEMA', 'the holder name must be 1-128 printable characters without surrounding spaces');
    const amount = params.amount ?? 0;
    if (!Number.isSafeInteger(amount) || amount < 0) throw new SemperError('ERR_SCHEMA', 'the opening amount is a non-negative integer');
    const validForMs = params.validForMs ?? 7 * DAY_MS;
    if (!Number.isSafeInteger(validForMs) || validForMs <= 0) throw new SemperError('ERR_SCHEMA', 'validForMs must be a positive integer');
    const code = newRegistrationCode();
    const now = ctx.clock();
    await ctx.database.write(async (tx) => {
      await sql`INSERT INTO account_opening_codes_withdrawn (code_hash, at)
           SELECT c.code_hash, ${now} FROM account_opening_codes c WHERE c.name = ${name}
             AND NOT EXISTS (SELECT 1 FROM account_openings o WHERE o.code_hash = c.code_hash)
             AND NOT EXISTS (SELECT 1 FROM account_opening_codes_withdrawn w WHERE w.code_hash = c.code_hash)`.execute(tx);
      await sql`INSERT INTO account_opening_codes (code_hash, name, amount, created_at, expires_at)
        VALUES (${hashCode(code)}, ${name}, ${amount}, ${now}, ${now + validForMs})`.execute(tx);
    });
    return formatRegistrationCode(code);
  }

  /** Has a code for `name` opened an account? (Then its account id.) */
  async openedFor(name: string): Promise<string | undefined> {
    const row = await firstOf(
      this.ctx.database.db,
      sql<{
        account_id: string;
      }>`SELECT o.account_id FROM account_openings o JOIN account_opening_codes c ON c.code_hash = o.code_hash WHERE c.name = ${name} LIMIT 1`,
    );
    return row?.account_id;
  }

  /** The stored hash of a code this bank issued (what the HTTP limit counts attempts against), else undefined. */
  async codeKey(typed: string): Promise<string | undefined> {
    const canonical = typeof typed === 'string' ? normaliseRegistrationCode(typed) : undefined;
    if (!canonical) return undefined;
    const hash = hashCode(canonical);
    return (await firstOf(this.ctx.database.db, sql<{ code_hash: string }>`SELECT code_hash FROM account_opening_codes WHERE code_hash = ${hash}`))?.code_hash;
  }

  /** Open (and fund) the account a code stands for, bound to the request's signer. */
  async open(input: unknown): Promise<AccountOpeningAnswer> {
    const { ctx } = this;
    const verified = await verifyStatement(input, { types: [ACCOUNT_OPENING_TYPES.request], ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}) });
    const parsed = AccountOpeningBody.safeParse(verified.statement.body);
    if (!parsed.success) throw schemaError(ACCOUNT_OPENING_TYPES.request, parsed.error);
    const request = parsed.data;
    if (request.bank !== ctx.signer.keyId)
      throw new SemperError('ERR_ITEM_MISMATCH', `this request is for bank ${request.bank}, not this bank (${ctx.signer.keyId})`);
    const canonical = normaliseRegistrationCode(request.code);
    if (!canonical) throw codeError(`an account-opening code is ${REGISTRATION_CODE_LENGTH} characters like XXXX-XXXX-XXXX-XXXX`);
    const hash = hashCode(canonical);
    const jwk: PublicJwk = verified.signerJwk;
    const holder = await jwkThumbprint(jwk);
    const digest = digestSync(verified.statement);
    const served = async (q: Db): Promise<AccountOpeningAnswer | undefined> => {
      const row = await firstOf(
        q,
        sql<{ request_digest: string; answer: string }>`SELECT request_digest, answer FROM account_openings WHERE code_hash = ${hash}`,
      );
      if (!row) return undefined;
      if (row.request_digest !== digest) throw codeError('this account-opening code has already been used');
      return JSON.parse(row.answer) as AccountOpeningAnswer;
    };
    const check = async (q: Db): Promise<CodeRow> => {
      const row = await firstOf(q, sql<CodeRow>`SELECT code_hash, name, amount, expires_at FROM account_opening_codes WHERE code_hash = ${hash}`);
      if (!row) throw codeError('unknown account-opening code: check it, or ask the bank for a new one');
      if (await firstOf(q, sql`SELECT 1 AS one FROM account_opening_codes_withdrawn WHERE code_hash = ${hash}`))
        throw codeError('this account-opening code was replaced by a newer one');
      if (row.expires_at <= ctx.clock()) throw codeError(`this account-opening code expired at ${new Date(row.expires_at).toISOString()}`);
      return row;
    };
    const pool = ctx.database.db;
    const done = await served(pool);
    if (done) return done;
    const code = await check(pool);
    const now = ctx.clock();
    const account = randomId(16);
    const body: AccountOpenedBody = { account, holder, name: code.name, funded: { amount: code.amount, currency: ctx.currency }, request: digest };
    const receipt = await bankSign(ctx, ACCOUNT_OPENING_TYPES.answer, account, body as unknown as Record<string, unknown>, now);
    const answer: AccountOpeningAnswer = { account, receipt };
    try {
      return await ctx.database.write(async (tx) => {
        const again = await served(tx);
        if (again) return again;
        await check(tx);
        await sql`INSERT INTO accounts (id, kind, key_id, public_jwk, currency, opened_at)
          VALUES (${account}, 'customer', ${holder}, ${canonicalJson(jwk)}, ${ctx.currency}, ${now})`.execute(tx);
        let postingId: string | null = null;
        if (code.amount > 0) {
          postingId = randomId(16);
          await ctx.ledger.post(
            tx,
            postingId,
            'funding',
            null,
            [
              { account: FUNDING_ACCOUNT, amount: -code.amount },
              { account, amount: code.amount },
            ],
            now,
          );
        }
        await sql`INSERT INTO account_openings (code_hash, account_id, request_digest, request, posting_id, answer, at)
          VALUES (${hash}, ${account}, ${digest}, ${canonicalJson(verified.statement)}, ${postingId}, ${JSON.stringify(answer)}, ${now})`.execute(tx);
        return answer;
      });
    } catch (e) {
      // accounts.key_id is UNIQUE: one account per key (the code stays unused: the transaction rolled back).
      if (isUniqueViolation(e)) throw new SemperError('ERR_REPLAY', 'this key already has an account');
      throw e;
    }
  }
}
