/**
 * What payer, payee, TTP and bank say to one another about account transfers (server/bank serves
 * them). Every answer that moves money is a statement the bank signs:
 *
 *   semper.bank.transfer          payer → bank    signed by the payer account's registered key (device
 *                                                 key or WebAuthn token): payer account, payee key id
 *                                                 (and optionally account), amount, reference (deal id),
 *                                                 request id, optionally revocableUntil
 *   semper.bank.transfer-receipt  bank → payer    the transfer done: accounts, amount, reference, the
 *                                                 order's digest, the window, the proof's digest
 *   semper.payment.proof          bank → anyone   { method: 'account', value, payee, reference }: what
 *                                                 core/items/match.ts checks in a money item
 *   semper.ttp.revocation-order   TTP → bank      (core/exchange/messages.ts) the transfers of an exchange
 *                                                 are to be undone; honoured until revocableUntil
 *   semper.bank.transfer-refund   payee → bank    the payee gives a transfer back (whole amount), any time
 *   semper.bank.reversal          bank → anyone   the transfer reversed, once: by whom, the order's digest
 */
import { z } from '../../zod.js';
import { digestJson } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { Amount, Digest } from '../../items/schema.js';
import { nowIso, Statement, type Statement as SignedStatement, type UnsignedStatement } from '../../statements/index.js';
import { AccountId, RequestId } from '../cash/messages.js';

export const ACCOUNT_TYPES = {
  transfer: 'semper.bank.transfer',
  transferReceipt: 'semper.bank.transfer-receipt',
  payeeRefund: 'semper.bank.transfer-refund',
  reversal: 'semper.bank.reversal',
} as const;

export const Reference = z.string().check(z.minLength(8), z.maxLength(128));
const Epoch = z.number().check(z.int(), z.gte(0));

export const TransferOrderBody = z.strictObject({
  requestId: RequestId,
  /** The account debited; the order must be signed by its registered key. */
  payer: AccountId,
  /** Key id of the payee: the bank credits that key's account, and the proof names it. */
  payee: Digest,
  /** The payee's account, if the payer knows it: must be the payee key's account. */
  payeeAccount: z.optional(AccountId),
  amount: Amount,
  /** The deal paid (the statement's dealId). */
  reference: Reference,
  /** Until this time (epoch ms) a TTP revocation order the bank trusts reverses the transfer. */
  revocableUntil: z.optional(Epoch),
});
export type TransferOrderBody = z.infer<typeof TransferOrderBody>;

export const TransferReceiptBody = z.strictObject({
  transferId: RequestId,
  requestId: RequestId,
  /** Digest of the order statement. */
  order: Digest,
  payerAccount: AccountId,
  payeeAccount: AccountId,
  payee: Digest,
  amount: Amount,
  reference: Reference,
  revocableUntil: z.optional(Epoch),
  /** Digest of the payment proof issued with it. */
  proof: Digest,
});
export type TransferReceiptBody = z.infer<typeof TransferReceiptBody>;

/** POST /bank/transfer answers this. */
export const TransferAnswer = z.strictObject({ receipt: Statement, proof: Statement });
export type TransferAnswer = { receipt: SignedStatement; proof: SignedStatement };

export const PayeeRefundBody = z.strictObject({
  /** The transfer given back (its request id). */
  requestId: RequestId,
  reference: Reference,
  /** The whole amount of the transfer. */
  amount: Amount,
});
export type PayeeRefundBody = z.infer<typeof PayeeRefundBody>;

/** POST /bank/revoke: the transfer (request id) and the order undoing it (TTP revocation order or payee refund). */
export const RevokeRequest = z.strictObject({ requestId: RequestId, order: Statement });
export type RevokeRequest = z.infer<typeof RevokeRequest>;

export const ReversalBody = z.strictObject({
  reversalId: RequestId,
  requestId: RequestId,
  transferId: RequestId,
  reference: Reference,
  amount: Amount,
  /** Debited now (the transfer's payee). */
  payeeAccount: AccountId,
  /** Credited now (the transfer's payer). */
  payerAccount: AccountId,
  by: z.enum(['ttp', 'payee']),
  /** Digest of the order honoured, and its signer's key id. */
  order: Digest,
  orderSigner: Digest,
});
export type ReversalBody = z.infer<typeof ReversalBody>;

export const ReversalAnswer = z.strictObject({ receipt: Statement });
export type ReversalAnswer = { receipt: SignedStatement };

export interface TransferOrderParams {
  requestId: string;
  payer: string;
  payee: string;
  payeeAccount?: string;
  amount: Amount;
  reference: string;
  revocableUntil?: number;
  now: number;
}

/** The unsigned transfer order (sign it with the account's key: deviceKeySigner or a token). */
export function transferOrder(p: TransferOrderParams): UnsignedStatement<Record<string, unknown>> {
  const body: TransferOrderBody = {
    requestId: p.requestId,
    payer: p.payer,
    payee: p.payee,
    ...(p.payeeAccount ? { payeeAccount: p.payeeAccount } : {}),
    amount: p.amount,
    reference: p.reference,
    ...(p.revocableUntil !== undefined ? { revocableUntil: p.revocableUntil } : {}),
  };
  const parsed = TransferOrderBody.safeParse(body);
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', `transfer order: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return { type: ACCOUNT_TYPES.transfer, version: 1, dealId: p.reference, issuedAt: nowIso(p.now), body };
}

/** The unsigned refund of a transfer by its payee (sign with the payee's account key). */
export function payeeRefund(p: { requestId: string; reference: string; amount: Amount; now: number }): UnsignedStatement<Record<string, unknown>> {
  const body: PayeeRefundBody = { requestId: p.requestId, reference: p.reference, amount: p.amount };
  return { type: ACCOUNT_TYPES.payeeRefund, version: 1, dealId: p.reference, issuedAt: nowIso(p.now), body };
}

/** What the receipt binds: the digest of the order statement. */
export function orderDigest(order: SignedStatement): Promise<string> {
  return digestJson(order);
}
