/**
 * Cheque clearing (core/payment/cheque):
 *
 *   present  a presentment signed by the payee key the cheque names, carrying the cheque signed by
 *            the drawer account's registered key → posting drawer −v, payee +v, a clearing receipt
 *            and a 'cheque' payment proof. Exactly once: the clearing row is UNIQUE (drawer, serial)
 *            and written in the transaction that moves the money; every later presentment gets
 *            ERR_CHEQUE_CLEARED carrying the first clearing's receipt and proof.
 *   bounce   a cheque the bank will not pay gets a signed `semper.bank.cheque-bounce` with a reason
 *            (insufficient-funds, expired, unknown-drawer, not-the-payee, stopped), kept in
 *            cheque_bounces, and ERR_CHEQUE_BOUNCED; no money moves. Bounces are not final: a cheque
 *            that bounced for funds clears when presented again after the drawer paid in.
 *   stop     the drawer's signed stop order for one serial, before it clears.
 *
 * A cheque whose signature does not verify (an altered amount) or that is signed by someone other
 * than the drawer account's key is refused outright (ERR_SIGNATURE_INVALID, ERR_FORBIDDEN): it is
 * not the drawer's cheque, and the bank signs nothing about it.
 */
import { jwkThumbprint } from '../../core/crypto/index.js';
import { canonicalJson, randomId } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import { PAYMENT_PROOF_TYPE, type PaymentProofBody } from '../../core/items/schema.js';
import {
  type BounceBody,
  type BounceReason,
  CHEQUE_TYPES,
  type ClearingAnswer,
  type ClearingBody,
  PresentmentBody,
  type StopAnswer,
  StopBody,
  type VerifiedCheque,
  verifyCheque,
} from '../../core/payment/cheque/index.js';
import { type Statement, verifyStatement } from '../../core/statements/index.js';
import { sql } from 'kysely';
import { type Db, firstOf } from '../storage/database.js';
import { type BankContext, bankSign, digestSync, openCustomer, openCustomerOfKey, requireAvailable, schemaError } from './accounts.js';

class Bounce extends Error {
  constructor(readonly reason: BounceReason) {
    super(reason);
  }
}

export class Cheques {
  constructor(private readonly ctx: BankContext) {}

  private async cleared(q: Db, drawer: string, serial: string): Promise<ClearingAnswer | undefined> {
    const row = await firstOf(q, sql<{ answer: string }>`SELECT answer FROM cheque_clearings WHERE drawer_account = ${drawer} AND serial = ${serial}`);
    return row ? (JSON.parse(row.answer) as ClearingAnswer) : undefined;
  }

  private async stopped(q: Db, drawer: string, serial: string): Promise<StopAnswer | undefined> {
    const row = await firstOf(q, sql<{ answer: string }>`SELECT answer FROM cheque_stops WHERE drawer_account = ${drawer} AND serial = ${serial}`);
    return row ? (JSON.parse(row.answer) as StopAnswer) : undefined;
  }

  private clearedError(first: ClearingAnswer): SemperError {
    return new SemperError('ERR_CHEQUE_CLEARED', 'this cheque was cleared before', { receipt: first.receipt, proof: first.proof });
  }

  private async bounce(c: VerifiedCheque, presenter: string, reason: BounceReason, now: number): Promise<never> {
    const body: BounceBody = {
      drawer: c.body.drawer,
      serial: c.body.serial,
      cheque: c.digest,
      presenter,
      amount: c.body.amount,
      reference: c.body.reference,
      reason,
    };
    const bounce = await bankSign(this.ctx, CHEQUE_TYPES.bounce, c.body.reference, body, now);
    await this.ctx.database.write((tx) =>
      sql`INSERT INTO cheque_bounces (drawer_account, serial, cheque_digest, reason, answer, at)
        VALUES (${c.body.drawer}, ${c.body.serial}, ${c.digest}, ${reason}, ${canonicalJson(bounce)}, ${now})`.execute(tx),
    );
    throw new SemperError('ERR_CHEQUE_BOUNCED', `the cheque bounced: ${reason}`, { reason, bounce });
  }

  async present(input: unknown): Promise<ClearingAnswer> {
    const { ctx } = this;
    const webauthn = ctx.webauthn ? { webauthn: ctx.webauthn } : {};
    const p = await verifyStatement(input, { types: [CHEQUE_TYPES.presentment], ...webauthn });
    const parsed = PresentmentBody.safeParse(p.statement.body);
    if (!parsed.success) throw schemaError(CHEQUE_TYPES.presentment, parsed.error);
    const c = await verifyCheque(parsed.data.cheque, webauthn);
    if (c.digest !== parsed.data.chequeDigest) throw new SemperError('ERR_ITEM_MISMATCH', 'the presentment names another cheque');
    if (p.statement.dealId !== c.body.reference) throw new SemperError('ERR_SCHEMA', `${CHEQUE_TYPES.presentment}: dealId must be the cheque's reference`);
    if (c.body.amount.currency !== ctx.currency)
      throw new SemperError('ERR_ITEM_MISMATCH', `this bank keeps ${ctx.currency}, the cheque is in ${c.body.amount.currency}`);
    if (c.body.amount.amount <= 0) throw new SemperError('ERR_SCHEMA', 'a cheque is for a positive amount');
    const presenter = await jwkThumbprint(p.signerJwk);
    const now = ctx.clock();
    if (presenter !== c.body.payee) return this.bounce(c, presenter, 'not-the-payee', now);
    const pool = ctx.database.db;
    const drawer = await openCustomer(pool, c.body.drawer);
    if (!drawer) return this.bounce(c, presenter, 'unknown-drawer', now);
    if (drawer.keyId !== c.signer) throw new SemperError('ERR_FORBIDDEN', 'the cheque is not signed by the drawer account’s registered key');
    const first = await this.cleared(pool, drawer.id, c.body.serial);
    if (first) throw this.clearedError(first);
    if (await this.stopped(pool, drawer.id, c.body.serial)) return this.bounce(c, presenter, 'stopped', now);
    if (now > c.body.expiresAt) return this.bounce(c, presenter, 'expired', now);
    const payee = await openCustomerOfKey(pool, c.body.payee);
    if (!payee) throw new SemperError('ERR_NOT_FOUND', `no open account for payee ${c.body.payee}`);
    if (payee.id === drawer.id) throw new SemperError('ERR_SCHEMA', 'a cheque to the drawer’s own account');
    const value = c.body.amount.amount;
    try {
      await requireAvailable(pool, ctx.ledger, drawer.id, value, now);
    } catch (e) {
      if (e instanceof SemperError && e.code === 'ERR_INSUFFICIENT_FUNDS') return this.bounce(c, presenter, 'insufficient-funds', now);
      throw e;
    }
    const clearingId = randomId(16);
    const proofBody: PaymentProofBody = { method: 'cheque', value: c.body.amount, payee: c.body.payee, reference: c.body.reference };
    const proof = await bankSign(ctx, PAYMENT_PROOF_TYPE, c.body.reference, proofBody, now);
    const receiptBody: ClearingBody = {
      clearingId,
      drawer: drawer.id,
      serial: c.body.serial,
      cheque: c.digest,
      payee: c.body.payee,
      payeeAccount: payee.id,
      amount: c.body.amount,
      reference: c.body.reference,
      proof: digestSync(proof),
    };
    const receipt = await bankSign(ctx, CHEQUE_TYPES.clearing, c.body.reference, receiptBody, now);
    const answer: ClearingAnswer = { receipt, proof };
    // The cheque cleared, stopped or its accounts closed since the checks above: decided here, in the
    // transaction (the UNIQUE (drawer, serial) index is the database's own last word).
    const outcome = await ctx.database.write(async (tx): Promise<ClearingAnswer | Bounce> => {
      const again = await this.cleared(tx, drawer.id, c.body.serial);
      if (again) throw this.clearedError(again);
      if (await this.stopped(tx, drawer.id, c.body.serial)) return new Bounce('stopped');
      if (!(await openCustomer(tx, drawer.id))) return new Bounce('unknown-drawer');
      if (!(await openCustomer(tx, payee.id))) throw new SemperError('ERR_NOT_FOUND', 'the payee account was closed');
      try {
        await requireAvailable(tx, ctx.ledger, drawer.id, value, now);
      } catch (e) {
        if (e instanceof SemperError && e.code === 'ERR_INSUFFICIENT_FUNDS') return new Bounce('insufficient-funds');
        throw e;
      }
      const postingId = randomId(16);
      await ctx.ledger.post(
        tx,
        postingId,
        'cheque',
        c.body.reference,
        [
          { account: drawer.id, amount: -value },
          { account: payee.id, amount: value },
        ],
        now,
      );
      await sql`INSERT INTO cheque_clearings (id, drawer_account, serial, cheque_digest, cheque, presentment, payee_account, payee_key, amount, reference, posting_id, answer, at)
        VALUES (${clearingId}, ${drawer.id}, ${c.body.serial}, ${c.digest}, ${canonicalJson(c.cheque)}, ${canonicalJson(p.statement)}, ${payee.id}, ${c.body.payee},
          ${value}, ${c.body.reference}, ${postingId}, ${canonicalJson(answer)}, ${now})`.execute(tx);
      return answer;
    });
    if (outcome instanceof Bounce) return this.bounce(c, presenter, outcome.reason, now);
    return outcome;
  }

  /** The drawer stops one serial before it clears (idempotent: the same stop again gets the stored answer). */
  async stop(input: unknown): Promise<StopAnswer> {
    const { ctx } = this;
    const v = await verifyStatement(input, { types: [CHEQUE_TYPES.stop], ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}) });
    const parsed = StopBody.safeParse(v.statement.body);
    if (!parsed.success) throw schemaError(CHEQUE_TYPES.stop, parsed.error);
    const { drawer: drawerId, serial } = parsed.data;
    const pool = ctx.database.db;
    const drawer = await openCustomer(pool, drawerId);
    if (!drawer || drawer.keyId !== (await jwkThumbprint(v.signerJwk)))
      throw new SemperError('ERR_FORBIDDEN', `${CHEQUE_TYPES.stop} is not signed by the drawer account's registered key`);
    const first = await this.cleared(pool, drawer.id, serial);
    if (first) throw this.clearedError(first);
    const done = await this.stopped(pool, drawer.id, serial);
    if (done) return done;
    const now = ctx.clock();
    const answer: StopAnswer = {
      receipt: await bankSign(ctx, CHEQUE_TYPES.stopped, v.statement.dealId, { drawer: drawer.id, serial, stop: digestSync(v.statement) }, now),
    };
    return ctx.database.write(async (tx) => {
      const cleared = await this.cleared(tx, drawer.id, serial);
      if (cleared) throw this.clearedError(cleared);
      const again = await this.stopped(tx, drawer.id, serial);
      if (again) return again;
      await sql`INSERT INTO cheque_stops (drawer_account, serial, request, answer, at)
        VALUES (${drawer.id}, ${serial}, ${canonicalJson(v.statement as Statement)}, ${canonicalJson(answer)}, ${now})`.execute(tx);
      return answer;
    });
  }
}
