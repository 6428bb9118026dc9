/**
 * The cheque-like payment module: the payer (drawer) signs a cheque to one payee for one deal; the
 * payee checks it (`receive`), signs a presentment and presents it to the bank, which clears it
 * exactly once and answers with a signed receipt and a `semper.payment.proof` (method 'cheque').
 *
 * Exchange-enabling properties: verifiable (the bank's proof after clearing), not generatable (a TTP
 * holds no money), not revocable (a cleared cheque is final; the drawer can only stop it before it
 * clears) — what `itemProperties` gives a cheque money description.
 *
 * What the payee can check without the bank: the signature, payee, amount, deal and expiry. That the
 * signer is the drawer account's registered key, the funds and stops only the bank knows: a
 * cheque is worth something to the payee once cleared (the proof), not before.
 */
import { jwkThumbprint } from '../../crypto/jwk.js';
import { SemperError } from '../../errors.js';
import { type Amount, PAYMENT_PROOF_TYPE, PaymentProofBody } from '../../items/schema.js';
import type { RandomSource } from '../../machine.js';
import { digestJson } from '../../encoding/index.js';
import { type Statement, verifyStatement, type WebAuthnStatementVerifier } from '../../statements/index.js';
import type { PayRequest, PaymentApi } from '../manager.js';
import type { StatementSigner } from '../signing.js';
import type { PaymentModule, PaymentStatus } from '../types.js';
import { cheque, ChequeBody, CHEQUE_TYPES, type ClearingAnswer, ClearingBody, presentment } from './messages.js';

export * from './messages.js';

export const chequeModule: PaymentModule = {
  method: 'cheque',
  properties: { verifiable: true, generatable: false, revocable: false },
  description: 'cheque: signed by the drawer account key to one payee for one deal, presented by the payee, cleared once by the bank',
};

export interface VerifiedCheque {
  cheque: Statement;
  body: ChequeBody;
  digest: string;
  /** Key id of the cheque's signer (the bank checks it is the drawer account's key). */
  signer: string;
}

/** The payee's check of a cheque before it accepts it (and the bank's first check). */
export async function verifyCheque(
  input: unknown,
  expected: { payee?: string; reference?: string; amount?: Amount; now?: number; webauthn?: WebAuthnStatementVerifier },
): Promise<VerifiedCheque> {
  const v = await verifyStatement(input, { types: [CHEQUE_TYPES.cheque], ...(expected.webauthn ? { webauthn: expected.webauthn } : {}) });
  const parsed = ChequeBody.safeParse(v.statement.body);
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', `cheque: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  const body = parsed.data;
  if (v.statement.dealId !== body.reference) throw new SemperError('ERR_SCHEMA', 'cheque: dealId must be the reference');
  if (expected.payee !== undefined && body.payee !== expected.payee) throw new SemperError('ERR_ITEM_MISMATCH', 'the cheque is made out to another payee');
  if (expected.reference !== undefined && body.reference !== expected.reference)
    throw new SemperError('ERR_ITEM_MISMATCH', `the cheque references ${body.reference}, expected ${expected.reference}`);
  if (expected.amount && (body.amount.amount !== expected.amount.amount || body.amount.currency !== expected.amount.currency))
    throw new SemperError(
      'ERR_ITEM_MISMATCH',
      `the cheque is for ${body.amount.amount} ${body.amount.currency}, ${expected.amount.amount} ${expected.amount.currency} owed`,
    );
  if (expected.now !== undefined && expected.now > body.expiresAt) throw new SemperError('ERR_OFFER_EXPIRED', 'the cheque has expired');
  return { cheque: v.statement, body, digest: await digestJson(v.statement), signer: await jwkThumbprint(v.signerJwk) };
}

/** The payee's presentment of a cheque it holds. */
export async function presentCheque(signedCheque: Statement, sign: StatementSigner, now: number): Promise<Statement> {
  return sign(presentment(signedCheque, await digestJson(signedCheque), now));
}

/** Check the bank's clearing answer: both signed by the bank, a 'cheque' proof for this cheque. */
export async function verifyClearing(
  answer: unknown,
  expected: { bankKeyId: string; cheque: Statement },
): Promise<{ receipt: ClearingBody; proof: PaymentProofBody }> {
  const a = answer as { receipt?: unknown; proof?: unknown } | null;
  if (!a || typeof a !== 'object') throw new SemperError('ERR_SCHEMA', 'a clearing answer is { receipt, proof }');
  const receipt = await verifyStatement(a.receipt, { types: [CHEQUE_TYPES.clearing] });
  const proof = await verifyStatement(a.proof, { types: [PAYMENT_PROOF_TYPE] });
  if ((await jwkThumbprint(receipt.signerJwk)) !== expected.bankKeyId || (await jwkThumbprint(proof.signerJwk)) !== expected.bankKeyId)
    throw new SemperError('ERR_FORBIDDEN', 'the clearing answer is not signed by the bank');
  const r = ClearingBody.safeParse(receipt.statement.body);
  const p = PaymentProofBody.safeParse(proof.statement.body);
  if (!r.success || !p.success) throw new SemperError('ERR_SCHEMA', 'clearing receipt or proof is malformed');
  const c = expected.cheque.body as unknown as ChequeBody;
  if (r.data.cheque !== (await digestJson(expected.cheque))) throw new SemperError('ERR_ITEM_MISMATCH', 'the receipt clears another cheque');
  if (r.data.proof !== (await digestJson(proof.statement))) throw new SemperError('ERR_ITEM_MISMATCH', 'the receipt names another proof');
  if (
    p.data.method !== 'cheque' ||
    p.data.payee !== c.payee ||
    p.data.reference !== c.reference ||
    p.data.value.amount !== c.amount.amount ||
    p.data.value.currency !== c.amount.currency
  )
    throw new SemperError('ERR_ITEM_MISMATCH', 'the proof does not say what the cheque says');
  return { receipt: r.data, proof: p.data };
}

/** The drawer's cheque book (plain JSON): the cheques written, by reference, and what became of them. */
export interface ChequeBookState {
  account: string;
  cheques: Record<string, { cheque: Statement; clearing?: ClearingAnswer; refused?: { code: string; message: string } }>;
}

export interface ChequeContext {
  bankKeyId: string;
  sign: StatementSigner;
  /** Serials: random, so two devices (or a restored backup) of one drawer never write the same one. */
  random: RandomSource;
  /** How long a cheque may be presented (ms from `now`); default 30 days. */
  validFor?: number;
  webauthn?: WebAuthnStatementVerifier;
}

/** What `pay` hands the host: the cheque, to the payee (who presents it). */
export interface ChequeSend {
  to: 'payee';
  body: { cheque: Statement };
}

/** A payee's refund: a cheque drawn on its own account back to the payer. */
export interface ChequeRefundRequest {
  account: string;
  payer: string;
  reference: string;
  amount: Amount;
  now: number;
}

export const DEFAULT_CHEQUE_VALIDITY = 30 * 86_400_000;

/** Record what became of a cheque (the payee forwards the clearing, or the drawer learns of a bounce). */
export async function recordClearing(state: ChequeBookState, reference: string, answer: unknown, bankKeyId: string): Promise<ChequeBookState> {
  const c = state.cheques[reference];
  if (!c) throw new SemperError('ERR_PROTOCOL_STATE', `no cheque for ${reference}`);
  await verifyClearing(answer, { bankKeyId, cheque: c.cheque });
  return { ...state, cheques: { ...state.cheques, [reference]: { cheque: c.cheque, clearing: answer as ClearingAnswer } } };
}

export function chequePayment(ctx: ChequeContext): PaymentApi<ChequeBookState, ChequeSend, VerifiedCheque, ChequeRefundRequest, Statement> {
  const validFor = ctx.validFor ?? DEFAULT_CHEQUE_VALIDITY;
  return {
    module: chequeModule,
    async pay(state, request: PayRequest) {
      const existing = state.cheques[request.reference];
      // One cheque per deal: a retry hands over the same cheque (it clears once anyway).
      if (existing && !existing.refused) return { wallet: state, payment: { to: 'payee', body: { cheque: existing.cheque } } };
      const signed = await ctx.sign(
        cheque({
          drawer: state.account,
          serial: ctx.random.id(12),
          payee: request.payee,
          amount: request.amount,
          reference: request.reference,
          expiresAt: request.now + validFor,
          now: request.now,
        }),
      );
      return {
        wallet: { ...state, cheques: { ...state.cheques, [request.reference]: { cheque: signed } } },
        payment: { to: 'payee', body: { cheque: signed } },
      };
    },
    receive(payment, expected) {
      const c = (payment as { cheque?: unknown } | null)?.cheque;
      return verifyCheque(c, {
        payee: expected.payee,
        reference: expected.reference,
        amount: expected.amount,
        now: expected.now,
        ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}),
      });
    },
    refund(request) {
      return ctx.sign(
        cheque({
          drawer: request.account,
          serial: ctx.random.id(12),
          payee: request.payer,
          amount: request.amount,
          reference: request.reference,
          expiresAt: request.now + validFor,
          now: request.now,
        }),
      );
    },
    status(state, reference): PaymentStatus {
      const c = state.cheques[reference];
      if (!c) return { phase: 'prepared' };
      if (c.clearing) return { phase: 'settled', proof: c.clearing.proof };
      if (c.refused) return { phase: 'refused', code: c.refused.code, message: c.refused.message };
      return { phase: 'sent' };
    },
  };
}
