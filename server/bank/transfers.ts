/**
 * Account transfers and their reversal (core/payment/account):
 *
 *   transfer  an order signed by the payer account's registered key (device key or WebAuthn token)
 *             → posting payer −v, payee +v; the receipt and a 'account' payment proof, signed.
 *             Idempotent by request id (same order: the stored answer; another order: ERR_REPLAY).
 *   revoke    a TTP revocation order (semper.ttp.revocation-order by a TTP the bank trusts, naming
 *             the payer as giver and this transfer's money) until the transfer's revocableUntil, or a
 *             refund signed by the payee (any time) → a reversing posting payee −v, payer +v. Once:
 *             the reversal row's primary key is the transfer, so a second is ERR_REVOKED carrying
 *             the first reversal. Never an UPDATE.
 *
 * While a revocable transfer's window is open the credited amount is held (not available to the
 * payee), so a reversal the bank must honour is always covered and no balance goes negative.
 */
import { jwkThumbprint } from '../../core/crypto/index.js';
import { canonicalJson, randomId } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import { RevocationOrderBody, TTP_TYPES } from '../../core/exchange/messages.js';
import { type Description, PAYMENT_PROOF_TYPE, type PaymentProofBody } from '../../core/items/schema.js';
import {
  ACCOUNT_TYPES,
  PayeeRefundBody,
  type ReversalAnswer,
  type ReversalBody,
  RevokeRequest,
  type TransferAnswer,
  TransferOrderBody,
  type TransferReceiptBody,
} from '../../core/payment/account/index.js';
import { verifyStatement } from '../../core/statements/index.js';
import { sql } from 'kysely';
import { type Db, firstOf } from '../storage/database.js';
import { type BankContext, bankSign, digestSync, openCustomer, openCustomerOfKey, requireAvailable, schemaError } from './accounts.js';

interface TransferRow {
  request_id: string;
  id: string;
  order_digest: string;
  payer_account: string;
  payee_account: string;
  payee_key: string;
  amount: number;
  reference: string;
  revocable_until: number | null;
  answer: string;
}

export class Transfers {
  constructor(private readonly ctx: BankContext) {}

  private row(q: Db, requestId: string): Promise<TransferRow | undefined> {
    return firstOf(q, sql<TransferRow>`SELECT * FROM transfers WHERE request_id = ${requestId}`);
  }

  private async served(q: Db, requestId: string, digest: string): Promise<TransferAnswer | undefined> {
    const row = await this.row(q, requestId);
    if (!row) return undefined;
    if (row.order_digest !== digest) throw new SemperError('ERR_REPLAY', `request id ${requestId} was used for another transfer`);
    return JSON.parse(row.answer) as TransferAnswer;
  }

  async transfer(input: unknown): Promise<TransferAnswer> {
    const { ctx } = this;
    const verified = await verifyStatement(input, { types: [ACCOUNT_TYPES.transfer], ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}) });
    const parsed = TransferOrderBody.safeParse(verified.statement.body);
    if (!parsed.success) throw schemaError(ACCOUNT_TYPES.transfer, parsed.error);
    const order = parsed.data;
    if (verified.statement.dealId !== order.reference) throw new SemperError('ERR_SCHEMA', `${ACCOUNT_TYPES.transfer}: dealId must be the reference`);
    // A missing or closed account and a stranger's key get the same answer.
    const pool = ctx.database.db;
    const payer = await openCustomer(pool, order.payer);
    if (!payer || payer.keyId !== (await jwkThumbprint(verified.signerJwk)))
      throw new SemperError('ERR_FORBIDDEN', `${ACCOUNT_TYPES.transfer} is not signed by the payer account's registered key`);
    const digest = digestSync(verified.statement);
    const done = await this.served(pool, order.requestId, digest);
    if (done) return done;
    if (order.amount.currency !== ctx.currency)
      throw new SemperError('ERR_ITEM_MISMATCH', `this bank keeps ${ctx.currency}, the order is in ${order.amount.currency}`);
    const value = order.amount.amount;
    if (value <= 0) throw new SemperError('ERR_SCHEMA', 'a transfer moves a positive amount');
    const payee = await openCustomerOfKey(pool, order.payee);
    if (!payee) throw new SemperError('ERR_NOT_FOUND', `no open account for payee ${order.payee}`);
    if (order.payeeAccount !== undefined && order.payeeAccount !== payee.id)
      throw new SemperError('ERR_ITEM_MISMATCH', 'the payee account named is not the payee key’s account');
    if (payee.id === payer.id) throw new SemperError('ERR_SCHEMA', 'a transfer to the same account');
    const now = ctx.clock();
    if (order.revocableUntil !== undefined && (order.revocableUntil < now || order.revocableUntil > now + ctx.maxRevocationWindow))
      throw new SemperError('ERR_SCHEMA', `revocableUntil must lie between now and ${ctx.maxRevocationWindow} ms from now`);
    await requireAvailable(pool, ctx.ledger, payer.id, value, now);
    const transferId = randomId(16);
    const proofBody: PaymentProofBody = { method: 'account', value: order.amount, payee: order.payee, reference: order.reference };
    const proof = await bankSign(ctx, PAYMENT_PROOF_TYPE, order.reference, proofBody, now);
    const receiptBody: TransferReceiptBody = {
      transferId,
      requestId: order.requestId,
      order: digest,
      payerAccount: payer.id,
      payeeAccount: payee.id,
      payee: order.payee,
      amount: order.amount,
      reference: order.reference,
      ...(order.revocableUntil !== undefined ? { revocableUntil: order.revocableUntil } : {}),
      proof: digestSync(proof),
    };
    const receipt = await bankSign(ctx, ACCOUNT_TYPES.transferReceipt, order.reference, receiptBody, now);
    const answer: TransferAnswer = { receipt, proof };
    return ctx.database.write(async (tx) => {
      const again = await this.served(tx, order.requestId, digest);
      if (again) return again;
      if (!(await openCustomer(tx, payer.id)) || !(await openCustomer(tx, payee.id)))
        throw new SemperError('ERR_NOT_FOUND', 'an account of the transfer was closed');
      await requireAvailable(tx, ctx.ledger, payer.id, value, now);
      const postingId = randomId(16);
      await ctx.ledger.post(
        tx,
        postingId,
        'transfer',
        order.reference,
        [
          { account: payer.id, amount: -value },
          { account: payee.id, amount: value },
        ],
        now,
      );
      await sql`INSERT INTO transfers (request_id, id, order_digest, request, payer_account, payee_account, payee_key, amount, reference, revocable_until, posting_id, answer, at)
        VALUES (${order.requestId}, ${transferId}, ${digest}, ${canonicalJson(verified.statement)}, ${payer.id}, ${payee.id}, ${order.payee}, ${value},
          ${order.reference}, ${order.revocableUntil ?? null}, ${postingId}, ${canonicalJson(answer)}, ${now})`.execute(tx);
      return answer;
    });
  }

  private async reversed(q: Db, requestId: string): Promise<ReversalAnswer | undefined> {
    const row = await firstOf(q, sql<{ answer: string }>`SELECT answer FROM reversals WHERE transfer_request_id = ${requestId}`);
    return row ? (JSON.parse(row.answer) as ReversalAnswer) : undefined;
  }

  private alreadyRevoked(first: ReversalAnswer): SemperError {
    return new SemperError('ERR_REVOKED', 'this transfer was reversed before', { proof: first.receipt });
  }

  /** Reverse a transfer on a trusted TTP's revocation order (inside the window) or the payee's refund. */
  async revoke(input: unknown): Promise<ReversalAnswer> {
    const { ctx } = this;
    const parsed = RevokeRequest.safeParse(input);
    if (!parsed.success) throw schemaError('revoke', parsed.error);
    const { requestId, order } = parsed.data;
    const pool = ctx.database.db;
    const transfer = await this.row(pool, requestId);
    if (!transfer) throw new SemperError('ERR_NOT_FOUND', `no transfer ${requestId}`);
    const verified = await verifyStatement(order, {
      types: [TTP_TYPES.revocationOrder, ACCOUNT_TYPES.payeeRefund],
      ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}),
    });
    const signer = await jwkThumbprint(verified.signerJwk);
    const now = ctx.clock();
    let by: 'ttp' | 'payee';
    if (verified.statement.type === TTP_TYPES.revocationOrder) {
      by = 'ttp';
      if (!ctx.trustedTtps.has(signer)) throw new SemperError('ERR_FORBIDDEN', 'the revocation order is not signed by a TTP this bank trusts');
      const body = RevocationOrderBody.safeParse(verified.statement.body);
      if (!body.success) throw schemaError(TTP_TYPES.revocationOrder, body.error);
      const payerKey = await customerKey(pool, transfer.payer_account);
      const names = body.data.revoke.some((r) => r.giver === payerKey && moneyOf(r.description).some((d) => sameTransfer(d, transfer, ctx.currency)));
      if (!names) throw new SemperError('ERR_ITEM_MISMATCH', 'the revocation order does not name this transfer (payer as giver, payee, amount, reference)');
    } else {
      by = 'payee';
      if (signer !== transfer.payee_key) throw new SemperError('ERR_FORBIDDEN', 'a transfer refund must be signed by the transfer’s payee');
      const body = PayeeRefundBody.safeParse(verified.statement.body);
      if (!body.success) throw schemaError(ACCOUNT_TYPES.payeeRefund, body.error);
      const b = body.data;
      if (b.requestId !== requestId || b.reference !== transfer.reference || b.amount.amount !== transfer.amount || b.amount.currency !== ctx.currency)
        throw new SemperError('ERR_ITEM_MISMATCH', 'the refund names another transfer or amount (a refund gives the whole transfer back)');
    }
    const first = await this.reversed(pool, requestId);
    if (first) throw this.alreadyRevoked(first);
    if (by === 'ttp') {
      if (transfer.revocable_until === null) throw new SemperError('ERR_REVOCATION_CLOSED', 'this transfer is not revocable');
      if (now > transfer.revocable_until)
        throw new SemperError('ERR_REVOCATION_CLOSED', `the transfer was revocable until ${new Date(transfer.revocable_until).toISOString()}`);
    }
    // The reversed transfer's own hold does not count against it; anything else held does.
    await requireAvailable(pool, ctx.ledger, transfer.payee_account, transfer.amount, now, requestId);
    const reversalId = randomId(16);
    const orderDigest = digestSync(verified.statement);
    const body: ReversalBody = {
      reversalId,
      requestId,
      transferId: transfer.id,
      reference: transfer.reference,
      amount: { amount: transfer.amount, currency: ctx.currency },
      payeeAccount: transfer.payee_account,
      payerAccount: transfer.payer_account,
      by,
      order: orderDigest,
      orderSigner: signer,
    };
    const answer: ReversalAnswer = { receipt: await bankSign(ctx, ACCOUNT_TYPES.reversal, transfer.reference, body, now) };
    return ctx.database.write(async (tx) => {
      const again = await this.reversed(tx, requestId);
      if (again) throw this.alreadyRevoked(again);
      await requireAvailable(tx, ctx.ledger, transfer.payee_account, transfer.amount, now, requestId);
      const postingId = randomId(16);
      await ctx.ledger.post(
        tx,
        postingId,
        'reversal',
        transfer.reference,
        [
          { account: transfer.payee_account, amount: -transfer.amount },
          { account: transfer.payer_account, amount: transfer.amount },
        ],
        now,
      );
      await sql`INSERT INTO reversals (transfer_request_id, id, by, order_digest, request, amount, posting_id, answer, at)
        VALUES (${requestId}, ${reversalId}, ${by}, ${orderDigest}, ${canonicalJson(verified.statement)}, ${transfer.amount}, ${postingId}, ${canonicalJson(answer)}, ${now})`.execute(
        tx,
      );
      return answer;
    });
  }
}

/** The registered key of an account, closed or not (the payer of a past transfer). */
async function customerKey(q: Db, account: string): Promise<string | undefined> {
  return (await firstOf(q, sql<{ key_id: string }>`SELECT key_id FROM accounts WHERE id = ${account} AND kind = 'customer'`))?.key_id;
}

/** Every money description in a description tree. */
function moneyOf(d: Description): Extract<Description, { kind: 'money' }>[] {
  if (d.kind === 'money') return [d];
  if (d.kind === 'package') return d.items.flatMap(moneyOf);
  return [];
}

function sameTransfer(d: Extract<Description, { kind: 'money' }>, t: TransferRow, currency: string): boolean {
  return (
    d.method === 'account' &&
    d.payee === t.payee_key &&
    d.reference === t.reference &&
    d.value.amount === t.amount &&
    d.value.currency === currency &&
    d.revocableUntil !== undefined
  );
}
