/**
 * The card module: a card acquirer (server/acquirer, a payment system with its own REST API that
 * knows nothing of Semper) joined through an *adapter*, as SEMPER joined existing payment systems —
 * never by changing them. This file holds the adapter's pure parts; the I/O host that holds the
 * acquirer credentials and the operator's key is server/payment-adapter.
 *
 *   generic API          adapter (translation)                           acquirer
 *   pay ───────────────▶ CardPayRequest ──▶ POST /v1/payment_intents, /confirm (idempotency key = requestId)
 *   (evidence) ◀──────── checkAcquirerIntent + signCardAnswer ◀── { id, status, amount, currency, merchant_reference, amount_captured }
 *   refund ────────────▶ semper.card.refund (payee-signed) ──▶ POST /v1/refunds
 *   status ◀──────────── the payer's record (settled / refunded / refused)
 *
 * The acquirer signs nothing a third party could check, so the *adapter's operator* does: on a
 * succeeded intent whose echo is exactly what was asked (amount in minor units, currency,
 * reference, captured in full) it signs a `semper.payment.proof` { method: 'card', ... } and a
 * `semper.card.receipt` naming the acquirer's intent id. Anything else — a decline (typed
 * ERR_PAYMENT_DECLINED with the decline code), an echo that differs (ERR_ITEM_MISMATCH) — gets no
 * proof. Properties: verifiable (the operator's proof, checked by matchItem like a bank's), not
 * generatable (a TTP holds no money), not revocable *by a TTP* (only the payee refunds, until
 * `refundableUntil`; core/items/properties.ts gives a card description the same).
 */
import { jwkThumbprint } from '../../crypto/jwk.js';
import { SemperError } from '../../errors.js';
import { type Amount, type MoneyItem, PAYMENT_PROOF_TYPE, PaymentProofBody } from '../../items/schema.js';
import type { RandomSource } from '../../machine.js';
import { nowIso, type Statement, verifyStatement } from '../../statements/index.js';
import type { PayRequest, PaymentApi } from '../manager.js';
import type { StatementSigner } from '../signing.js';
import type { PaymentModule, PaymentStatus } from '../types.js';
import {
  CARD_TYPES,
  type CardAnswer,
  type CardPayRequest,
  CardReceiptBody,
  type CardRefundAnswer,
  CardRefundReceiptBody,
  cardRefund,
  statementDigestOf,
} from './messages.js';

export * from './messages.js';

export const cardModule: PaymentModule = {
  method: 'card',
  properties: { verifiable: true, generatable: false, revocable: false },
  description:
    "card payment through an acquirer adapter: the acquirer takes the money, the adapter's operator signs the proof; the payee may refund until the refund window closes",
};

/** The acquirer's decline codes the adapter knows; anything else is reported as do_not_honor. */
export const DECLINE_CODES = ['insufficient_funds', 'card_expired', 'do_not_honor'] as const;
export type DeclineCode = (typeof DECLINE_CODES)[number];

/** A decline as a typed error: nothing was taken, no proof exists. */
export function declined(code: string, message?: string): SemperError {
  const declineCode: DeclineCode = (DECLINE_CODES as readonly string[]).includes(code) ? (code as DeclineCode) : 'do_not_honor';
  return new SemperError('ERR_PAYMENT_DECLINED', message ?? `the card was declined: ${declineCode}`, { declineCode });
}

/** What the adapter reads of the acquirer's payment intent (the acquirer's own JSON shape). */
export interface AcquirerIntent {
  id: string;
  status: string;
  amount: number;
  currency: string;
  merchant_reference: string;
  amount_captured: number;
}

/**
 * The translation's check of an acquirer answer against what was asked: a succeeded intent with the
 * same amount (minor units, integer), currency (the acquirer writes ISO 4217 in lower case), merchant
 * reference, captured in full. An intent echoing anything else — tampered in transit, or the
 * acquirer's mistake — is refused (ERR_ITEM_MISMATCH): the operator signs nothing it cannot vouch for.
 */
export function checkAcquirerIntent(intent: unknown, asked: { amount: Amount; reference: string; intentId?: string }): AcquirerIntent {
  const i = intent as Partial<AcquirerIntent> | null;
  if (!i || typeof i !== 'object' || typeof i.id !== 'string' || typeof i.status !== 'string')
    throw new SemperError('ERR_SCHEMA', 'the acquirer answered something that is not a payment intent');
  if (asked.intentId !== undefined && i.id !== asked.intentId)
    throw new SemperError('ERR_ITEM_MISMATCH', `the acquirer answered for intent ${i.id}, not ${asked.intentId}`);
  if (!Number.isSafeInteger(i.amount) || i.amount !== asked.amount.amount || i.currency !== asked.amount.currency.toLowerCase())
    throw new SemperError(
      'ERR_ITEM_MISMATCH',
      `the acquirer echoed ${String(i.amount)} ${String(i.currency)}, ${asked.amount.amount} ${asked.amount.currency} was asked: no proof is signed`,
    );
  if (i.merchant_reference !== asked.reference) throw new SemperError('ERR_ITEM_MISMATCH', 'the acquirer echoed another merchant reference');
  if (i.status !== 'succeeded') throw new SemperError('ERR_PROTOCOL_STATE', `the payment intent is ${i.status}, not succeeded`);
  if (i.amount_captured !== i.amount) throw new SemperError('ERR_ITEM_MISMATCH', 'the acquirer captured another amount than was asked');
  return i as AcquirerIntent;
}

/**
 * The operator's evidence for a succeeded card payment: the proof (what matchItem checks), then the
 * receipt naming the acquirer's intent and the proof's digest. Call only with a checked intent.
 */
export async function signCardAnswer(
  request: CardPayRequest,
  intent: AcquirerIntent,
  p: { acquirer: string; now: number; refundableUntil: number; sign: StatementSigner },
): Promise<CardAnswer> {
  checkAcquirerIntent(intent, { amount: request.amount, reference: request.reference, intentId: intent.id });
  const proofBody: PaymentProofBody = { method: 'card', value: request.amount, payee: request.payee, reference: request.reference };
  const proof = await p.sign({ type: PAYMENT_PROOF_TYPE, version: 1, dealId: request.reference, issuedAt: nowIso(p.now), body: proofBody });
  const receiptBody: CardReceiptBody = {
    requestId: request.requestId,
    acquirer: p.acquirer,
    intentId: intent.id,
    payee: request.payee,
    amount: request.amount,
    reference: request.reference,
    refundableUntil: p.refundableUntil,
    proof: await statementDigestOf(proof),
  };
  const receipt = await p.sign({ type: CARD_TYPES.receipt, version: 1, dealId: request.reference, issuedAt: nowIso(p.now), body: receiptBody });
  return { receipt, proof };
}

export interface VerifiedCardPayment {
  receipt: CardReceiptBody;
  proof: PaymentProofBody;
  answer: CardAnswer;
}

const same = (x: Amount, y: Amount) => x.amount === y.amount && x.currency === y.currency;

/** Check an adapter's answer: both statements by the operator's key, a card proof for this payee, deal and amount. */
export async function verifyCardAnswer(
  answer: unknown,
  expected: { operatorKeyId: string; payee: string; reference: string; amount: Amount; requestId?: string },
): Promise<VerifiedCardPayment> {
  const a = answer as { receipt?: unknown; proof?: unknown } | null;
  if (!a || typeof a !== 'object') throw new SemperError('ERR_SCHEMA', 'a card answer is { receipt, proof }');
  const receipt = await verifyStatement(a.receipt, { types: [CARD_TYPES.receipt] });
  const proof = await verifyStatement(a.proof, { types: [PAYMENT_PROOF_TYPE] });
  if ((await jwkThumbprint(receipt.signerJwk)) !== expected.operatorKeyId || (await jwkThumbprint(proof.signerJwk)) !== expected.operatorKeyId)
    throw new SemperError('ERR_FORBIDDEN', "the card answer is not signed by the adapter's operator");
  const r = CardReceiptBody.safeParse(receipt.statement.body);
  const p = PaymentProofBody.safeParse(proof.statement.body);
  if (!r.success || !p.success) throw new SemperError('ERR_SCHEMA', 'card receipt or proof is malformed');
  if (p.data.method !== 'card') throw new SemperError('ERR_ITEM_MISMATCH', `a ${p.data.method} proof, not a card payment`);
  if (p.data.payee !== expected.payee || r.data.payee !== expected.payee) throw new SemperError('ERR_ITEM_MISMATCH', 'the card payment names another payee');
  if (p.data.reference !== expected.reference || r.data.reference !== expected.reference || proof.statement.dealId !== expected.reference)
    throw new SemperError('ERR_ITEM_MISMATCH', `the card payment references ${p.data.reference}, expected ${expected.reference}`);
  if (!same(p.data.value, expected.amount) || !same(r.data.amount, expected.amount))
    throw new SemperError('ERR_ITEM_MISMATCH', `the card payment is of ${p.data.value.amount} ${p.data.value.currency}`);
  if (r.data.proof !== (await statementDigestOf(proof.statement))) throw new SemperError('ERR_ITEM_MISMATCH', 'the receipt names another proof');
  if (expected.requestId !== undefined && r.data.requestId !== expected.requestId)
    throw new SemperError('ERR_ITEM_MISMATCH', 'the receipt is for another request');
  return { receipt: r.data, proof: p.data, answer: { receipt: receipt.statement, proof: proof.statement } };
}

/** Check the operator's refund receipt for a payment. */
export async function verifyCardRefundAnswer(
  answer: unknown,
  expected: { operatorKeyId: string; requestId: string; reference: string; amount: Amount },
): Promise<CardRefundReceiptBody> {
  const a = answer as { receipt?: unknown } | null;
  if (!a || typeof a !== 'object') throw new SemperError('ERR_SCHEMA', 'a card refund answer is { receipt }');
  const receipt = await verifyStatement(a.receipt, { types: [CARD_TYPES.refundReceipt] });
  if ((await jwkThumbprint(receipt.signerJwk)) !== expected.operatorKeyId)
    throw new SemperError('ERR_FORBIDDEN', "the refund receipt is not signed by the adapter's operator");
  const r = CardRefundReceiptBody.safeParse(receipt.statement.body);
  if (!r.success) throw new SemperError('ERR_SCHEMA', 'card refund receipt is malformed');
  if (r.data.requestId !== expected.requestId || r.data.reference !== expected.reference || !same(r.data.amount, expected.amount))
    throw new SemperError('ERR_ITEM_MISMATCH', 'the refund receipt is for another payment');
  return r.data;
}

/** The money item a payee hands on: the operator's proof. */
export function cardMoneyItem(answer: CardAnswer): MoneyItem {
  const p = answer.proof.body as unknown as PaymentProofBody;
  return { kind: 'money', method: 'card', value: p.value, proof: answer.proof };
}

/** The payer's record: its card token (from the acquirer's tokeniser) and its payments by reference (plain JSON). */
export interface CardState {
  cardToken: string;
  payments: Record<
    string,
    { request: CardPayRequest; answer?: CardAnswer; refused?: { code: string; message: string; declineCode?: string }; refund?: Statement }
  >;
}

export interface CardContext {
  /** Key id of the adapter's operator (the signer of card proofs). */
  operatorKeyId: string;
  /** Signs the payee's refund orders (the payee's key). */
  sign: StatementSigner;
  random: RandomSource;
}

/** What `pay` hands the host: POST it to the adapter's /card/pay. */
export interface CardSend {
  to: 'card-adapter';
  path: '/card/pay';
  body: CardPayRequest;
}

export interface CardRefundRequest {
  requestId: string;
  reference: string;
  amount: Amount;
  now: number;
}

/** Record the adapter's answer (checked) or refusal for a reference. */
export async function settleCardPayment(
  state: CardState,
  reference: string,
  reply: { answer: unknown } | { error: { code: string; message: string; declineCode?: string } },
  operatorKeyId: string,
): Promise<CardState> {
  const t = state.payments[reference];
  if (!t) throw new SemperError('ERR_PROTOCOL_STATE', `no card payment for ${reference}`);
  if ('error' in reply) return { ...state, payments: { ...state.payments, [reference]: { request: t.request, refused: reply.error } } };
  const v = await verifyCardAnswer(reply.answer, {
    operatorKeyId,
    payee: t.request.payee,
    reference,
    amount: t.request.amount,
    requestId: t.request.requestId,
  });
  return { ...state, payments: { ...state.payments, [reference]: { request: t.request, answer: v.answer } } };
}

/** Record the operator's refund receipt (checked): the payment's status becomes refunded. */
export async function settleCardRefund(state: CardState, reference: string, reply: unknown, operatorKeyId: string): Promise<CardState> {
  const t = state.payments[reference];
  if (!t?.answer) throw new SemperError('ERR_PROTOCOL_STATE', `no settled card payment for ${reference}`);
  await verifyCardRefundAnswer(reply, { operatorKeyId, requestId: t.request.requestId, reference, amount: t.request.amount });
  return { ...state, payments: { ...state.payments, [reference]: { ...t, refund: (reply as CardRefundAnswer).receipt } } };
}

/** The card module's driver: the payer asks the adapter, the payee checks the operator's evidence. */
export function cardPayment(ctx: CardContext): PaymentApi<CardState, CardSend, VerifiedCardPayment, CardRefundRequest, Statement> {
  return {
    module: cardModule,
    async pay(state, request: PayRequest) {
      const existing = state.payments[request.reference];
      // One request per deal: a retry re-sends it (same request id = the acquirer's idempotency key: one charge).
      if (existing && !existing.refused) return { wallet: state, payment: { to: 'card-adapter', path: '/card/pay', body: existing.request } };
      const body: CardPayRequest = {
        requestId: ctx.random.id(16),
        payee: request.payee,
        amount: request.amount,
        reference: request.reference,
        cardToken: state.cardToken,
      };
      const wallet: CardState = { ...state, payments: { ...state.payments, [request.reference]: { request: body } } };
      return { wallet, payment: { to: 'card-adapter', path: '/card/pay', body } };
    },
    receive(payment, expected) {
      return verifyCardAnswer(payment, { operatorKeyId: ctx.operatorKeyId, payee: expected.payee, reference: expected.reference, amount: expected.amount });
    },
    refund(request) {
      return ctx.sign(cardRefund(request));
    },
    status(state, reference): PaymentStatus {
      const t = state.payments[reference];
      if (!t) return { phase: 'prepared' };
      if (t.answer && t.refund) return { phase: 'refunded', proof: t.answer.proof, refund: t.refund };
      if (t.answer) return { phase: 'settled', proof: t.answer.proof };
      if (t.refused) return { phase: 'refused', code: t.refused.code, message: t.refused.message };
      return { phase: 'sent' };
    },
  };
}
