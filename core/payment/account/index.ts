/**
 * The account-based payment module: the payer signs a transfer order to its bank (server/bank),
 * the bank moves the money in one transaction and answers with a signed receipt and a
 * `semper.payment.proof` (method 'account') the payee — or a TTP — checks with matchItem.
 *
 * Exchange-enabling properties (core/items/properties.ts): verifiable (the bank's proof), not
 * generatable (a TTP holds no money), revocable when the order names `revocableUntil` — until then
 * a revocation order of a TTP the bank trusts reverses the transfer once (the bank holds the
 * credited amount until the window closes, so a reversal is always covered). `accountModule` is the
 * revocable flavour (the one a fair exchange's revocable↔revocable protocol needs);
 * `accountProperties(revocableUntil?)` gives the properties of one transfer.
 *
 * The payer's state is a small record of its orders (plain JSON): `pay` signs an order and records
 * it before it leaves (a retry sends the same order, the bank serves a request id once), `settle`
 * records the bank's checked answer. No machine is needed: one signed request, one answer.
 */
import { jwkThumbprint } from '../../crypto/jwk.js';
import { SemperError } from '../../errors.js';
import type { ExchangeProperties } from '../../items/properties.js';
import { type Amount, type MoneyItem, PAYMENT_PROOF_TYPE, PaymentProofBody } from '../../items/schema.js';
import type { RandomSource } from '../../machine.js';
import { type Statement, verifyStatement, type WebAuthnStatementVerifier } from '../../statements/index.js';
import type { PayRequest, PaymentApi } from '../manager.js';
import type { StatementSigner } from '../signing.js';
import type { PaymentModule, PaymentStatus } from '../types.js';
import { ACCOUNT_TYPES, orderDigest, payeeRefund, type TransferAnswer, type TransferOrderBody, TransferReceiptBody, transferOrder } from './messages.js';

export * from './messages.js';

export function accountProperties(revocableUntil?: number): ExchangeProperties {
  return revocableUntil === undefined
    ? { verifiable: true, generatable: false, revocable: false }
    : { verifiable: true, generatable: false, revocable: true, revocableUntil };
}

export const accountModule: PaymentModule = {
  method: 'account',
  properties: { verifiable: true, generatable: false, revocable: true },
  description: 'account transfer: an order signed by the account key, the bank moves the money and signs a proof; revocable by a TTP until revocableUntil',
};

/** A verified bank answer to a transfer. */
export interface VerifiedTransfer {
  receipt: TransferReceiptBody;
  proof: PaymentProofBody;
  answer: TransferAnswer;
}

/**
 * Check the bank's answer: both statements signed by the bank's key, the proof an 'account' proof,
 * and both saying what `expected` says (payee, reference, amount; the order's digest when the payer
 * checks it). A proof for another deal, payee or amount is refused with ERR_ITEM_MISMATCH.
 */
export async function verifyTransferAnswer(
  answer: unknown,
  expected: { bankKeyId: string; payee: string; reference: string; amount: Amount; order?: Statement; revocableUntil?: number | null },
): Promise<VerifiedTransfer> {
  const a = answer as { receipt?: unknown; proof?: unknown } | null;
  if (!a || typeof a !== 'object') throw new SemperError('ERR_SCHEMA', 'a transfer answer is { receipt, proof }');
  const receipt = await verifyStatement(a.receipt, { types: [ACCOUNT_TYPES.transferReceipt] });
  const proof = await verifyStatement(a.proof, { types: [PAYMENT_PROOF_TYPE] });
  if ((await jwkThumbprint(receipt.signerJwk)) !== expected.bankKeyId || (await jwkThumbprint(proof.signerJwk)) !== expected.bankKeyId)
    throw new SemperError('ERR_FORBIDDEN', 'the transfer answer is not signed by the bank');
  const r = TransferReceiptBody.safeParse(receipt.statement.body);
  const p = PaymentProofBody.safeParse(proof.statement.body);
  if (!r.success || !p.success) throw new SemperError('ERR_SCHEMA', 'transfer receipt or proof is malformed');
  const same = (x: Amount, y: Amount) => x.amount === y.amount && x.currency === y.currency;
  if (p.data.method !== 'account') throw new SemperError('ERR_ITEM_MISMATCH', `a ${p.data.method} proof, not an account transfer`);
  if (p.data.payee !== expected.payee || r.data.payee !== expected.payee) throw new SemperError('ERR_ITEM_MISMATCH', 'the transfer names another payee');
  if (p.data.reference !== expected.reference || r.data.reference !== expected.reference || proof.statement.dealId !== expected.reference)
    throw new SemperError('ERR_ITEM_MISMATCH', `the transfer references ${p.data.reference}, expected ${expected.reference}`);
  if (!same(p.data.value, expected.amount) || !same(r.data.amount, expected.amount))
    throw new SemperError(
      'ERR_ITEM_MISMATCH',
      `the transfer is of ${p.data.value.amount} ${p.data.value.currency}, ${expected.amount.amount} ${expected.amount.currency} owed`,
    );
  if (r.data.proof !== (await orderDigest(proof.statement))) throw new SemperError('ERR_ITEM_MISMATCH', 'the receipt names another proof');
  if (expected.order && r.data.order !== (await orderDigest(expected.order))) throw new SemperError('ERR_ITEM_MISMATCH', 'the receipt is for another order');
  if (expected.revocableUntil !== undefined && (r.data.revocableUntil ?? null) !== expected.revocableUntil)
    throw new SemperError('ERR_ITEM_MISMATCH', 'the transfer has another revocation window than agreed');
  return { receipt: r.data, proof: p.data, answer: { receipt: receipt.statement, proof: proof.statement } };
}

/** The money item a payee hands on (a fair exchange's verifiable transfer): the bank's proof. */
export function accountMoneyItem(answer: TransferAnswer): MoneyItem {
  const p = answer.proof.body as unknown as PaymentProofBody;
  return { kind: 'money', method: 'account', value: p.value, proof: answer.proof };
}

/** The payer's record of its transfers, by reference (plain JSON; persist it before an order leaves). */
export interface AccountState {
  account: string;
  transfers: Record<string, { order: Statement; answer?: TransferAnswer; refused?: { code: string; message: string } }>;
}

export interface AccountContext {
  bankKeyId: string;
  sign: StatementSigner;
  random: RandomSource;
  /** The revocation window a payment asks for (ms from `now`); absent: not revocable. */
  revocableFor?: number;
  webauthn?: WebAuthnStatementVerifier;
}

/** What `pay` hands the host: POST it to the bank's /bank/transfer. */
export interface AccountSend {
  to: 'bank';
  path: '/bank/transfer';
  body: { request: Statement };
}

export interface AccountRefundRequest {
  /** The transfer given back (its request id), its deal and whole amount. */
  requestId: string;
  reference: string;
  amount: Amount;
  now: number;
}

/** Record the bank's answer (checked) or refusal for a reference: the payment's final state. */
export async function settleTransfer(
  state: AccountState,
  reference: string,
  reply: { answer: unknown } | { error: { code: string; message: string } },
  bankKeyId: string,
): Promise<AccountState> {
  const t = state.transfers[reference];
  if (!t) throw new SemperError('ERR_PROTOCOL_STATE', `no transfer for ${reference}`);
  if ('error' in reply) return { ...state, transfers: { ...state.transfers, [reference]: { ...t, refused: reply.error } } };
  const o = t.order.body as unknown as TransferOrderBody;
  const v = await verifyTransferAnswer(reply.answer, {
    bankKeyId,
    payee: o.payee,
    reference: o.reference,
    amount: o.amount,
    order: t.order,
    revocableUntil: o.revocableUntil ?? null,
  });
  return { ...state, transfers: { ...state.transfers, [reference]: { order: t.order, answer: v.answer } } };
}

/** The account module's driver: the payer signs orders, the payee checks the bank's answer. */
export function accountPayment(ctx: AccountContext): PaymentApi<AccountState, AccountSend, VerifiedTransfer, AccountRefundRequest, Statement> {
  return {
    module: accountModule,
    async pay(state, request: PayRequest) {
      const existing = state.transfers[request.reference];
      // One order per deal: a retry re-sends the recorded order (same request id: one debit).
      if (existing && !existing.refused) return { wallet: state, payment: { to: 'bank', path: '/bank/transfer', body: { request: existing.order } } };
      const order = await ctx.sign(
        transferOrder({
          requestId: ctx.random.id(16),
          payer: state.account,
          payee: request.payee,
          amount: request.amount,
          reference: request.reference,
          ...(ctx.revocableFor !== undefined ? { revocableUntil: request.now + ctx.revocableFor } : {}),
          now: request.now,
        }),
      );
      const wallet: AccountState = { ...state, transfers: { ...state.transfers, [request.reference]: { order } } };
      return { wallet, payment: { to: 'bank', path: '/bank/transfer', body: { request: order } } };
    },
    receive(payment, expected) {
      return verifyTransferAnswer(payment, { bankKeyId: ctx.bankKeyId, payee: expected.payee, reference: expected.reference, amount: expected.amount });
    },
    refund(request) {
      return ctx.sign(payeeRefund(request));
    },
    status(state, reference): PaymentStatus {
      const t = state.transfers[reference];
      if (!t) return { phase: 'prepared' };
      if (t.answer) return { phase: 'settled', proof: t.answer.proof };
      if (t.refused) return { phase: 'refused', code: t.refused.code, message: t.refused.message };
      return { phase: 'sent' };
    },
  };
}
