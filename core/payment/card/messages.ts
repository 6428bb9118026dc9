/**
 * What payer, payee and the card adapter's operator say to one another (server/payment-adapter
 * serves them). The card acquirer (server/acquirer) speaks none of this: it has a REST API of its
 * own, and only the adapter talks to it.
 *
 *   pay request               payer → adapter      { requestId, payee (key id), amount, reference, cardToken }
 *                                                  unsigned: the card token is the payer's authority,
 *                                                  as it is for the acquirer
 *   semper.card.receipt       adapter → anyone     the acquirer took the money: its intent id, the
 *                                                  payer's request id, payee, amount, reference, the
 *                                                  refund window, the proof's digest
 *   semper.payment.proof      adapter → anyone     { method: 'card', value, payee, reference }: what
 *                                                  core/items/match.ts checks in a money item
 *   semper.card.refund        payee → adapter      signed by the payee key: give payment requestId back (whole amount)
 *   semper.card.refund-receipt adapter → anyone    the acquirer refunded: its refund id, the intent, the amount
 */
import { z } from '../../zod.js';
import { digestJson } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { Amount, Digest } from '../../items/schema.js';
import { nowIso, Statement, type Statement as SignedStatement, type UnsignedStatement } from '../../statements/index.js';
import { Reference } from '../account/messages.js';
import { RequestId } from '../cash/messages.js';

export const CARD_TYPES = {
  receipt: 'semper.card.receipt',
  refund: 'semper.card.refund',
  refundReceipt: 'semper.card.refund-receipt',
} as const;

/** The acquirer's identifiers (its intents, refunds) as the adapter records them. */
export const AcquirerId = z.string().check(z.regex(/^[A-Za-z0-9_]{4,64}$/, 'acquirer id'));
/** A card token issued by the acquirer's tokeniser (the card number never reaches Semper). */
export const CardToken = z.string().check(z.regex(/^tok_[A-Za-z0-9_]{1,60}$/, 'card token'));

export const CardPayRequest = z.strictObject({
  requestId: RequestId,
  payee: Digest,
  amount: Amount,
  reference: Reference,
  cardToken: CardToken,
});
export type CardPayRequest = z.infer<typeof CardPayRequest>;

export const CardReceiptBody = z.strictObject({
  /** The payer's request id (the adapter's idempotency key towards the acquirer). */
  requestId: RequestId,
  /** Which acquirer, and its payment intent. */
  acquirer: z.string().check(z.minLength(1), z.maxLength(64)),
  intentId: AcquirerId,
  payee: Digest,
  amount: Amount,
  reference: Reference,
  /** Until this time (epoch ms) the payee can have the adapter refund the payment through the acquirer. */
  refundableUntil: z.number().check(z.int(), z.gte(0)),
  /** Digest of the payment proof issued with it. */
  proof: Digest,
});
export type CardReceiptBody = z.infer<typeof CardReceiptBody>;

export const CardAnswer = z.strictObject({ receipt: Statement, proof: Statement });
export type CardAnswer = { receipt: SignedStatement; proof: SignedStatement };

export const CardRefundBody = z.strictObject({
  /** The payment given back (the payer's request id), its deal and whole amount. */
  requestId: RequestId,
  reference: Reference,
  amount: Amount,
});
export type CardRefundBody = z.infer<typeof CardRefundBody>;

export const CardRefundReceiptBody = z.strictObject({
  requestId: RequestId,
  intentId: AcquirerId,
  refundId: AcquirerId,
  reference: Reference,
  amount: Amount,
  /** Digest of the payee's refund order honoured. */
  order: Digest,
});
export type CardRefundReceiptBody = z.infer<typeof CardRefundReceiptBody>;

export const CardRefundAnswer = z.strictObject({ receipt: Statement });
export type CardRefundAnswer = { receipt: SignedStatement };

/** The unsigned refund order of a payee (sign it with the payee's key). */
export function cardRefund(p: { requestId: string; reference: string; amount: Amount; now: number }): UnsignedStatement<Record<string, unknown>> {
  const body: CardRefundBody = { requestId: p.requestId, reference: p.reference, amount: p.amount };
  const parsed = CardRefundBody.safeParse(body);
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', `card refund: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return { type: CARD_TYPES.refund, version: 1, dealId: p.reference, issuedAt: nowIso(p.now), body };
}

export function statementDigestOf(s: SignedStatement): Promise<string> {
  return digestJson(s);
}
