/**
 * Cheques (server/bank clears them):
 *
 *   semper.bank.cheque              drawer → payee     signed by the drawer account's registered key:
 *                                                      drawer account, payee key id, amount, reference
 *                                                      (deal id), serial (unique per drawer), expiry
 *   semper.bank.cheque-presentment  payee → bank       signed by the payee key the cheque names; carries
 *                                                      the cheque
 *   semper.bank.cheque-clearing     bank → payee       the cheque paid: accounts, amount, the cheque's
 *                                                      digest, the proof's digest
 *   semper.payment.proof            bank → anyone      { method: 'cheque', value, payee, reference }
 *   semper.bank.cheque-bounce       bank → presenter   the cheque not paid, with a reason code; no money moved
 *   semper.bank.cheque-stop         drawer → bank      stop payment of one serial (before it clears)
 *   semper.bank.cheque-stopped      bank → drawer      the stop recorded
 *
 * A cheque clears exactly once: (drawer, serial) is unique in the bank's clearing table, inserted in
 * the transaction that moves the money; a second presentment gets ERR_CHEQUE_CLEARED with the first
 * clearing's receipt and proof.
 */
import { z } from '../../zod.js';
import { Amount, Digest } from '../../items/schema.js';
import { nowIso, Statement, type Statement as SignedStatement, type UnsignedStatement } from '../../statements/index.js';
import { Reference } from '../account/messages.js';
import { AccountId, RequestId } from '../cash/messages.js';

export const CHEQUE_TYPES = {
  cheque: 'semper.bank.cheque',
  presentment: 'semper.bank.cheque-presentment',
  clearing: 'semper.bank.cheque-clearing',
  bounce: 'semper.bank.cheque-bounce',
  stop: 'semper.bank.cheque-stop',
  stopped: 'semper.bank.cheque-stopped',
} as const;

export const ChequeSerial = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'cheque serial'));

export const ChequeBody = z.strictObject({
  drawer: AccountId,
  serial: ChequeSerial,
  payee: Digest,
  amount: Amount,
  reference: Reference,
  /** Presented after this time (epoch ms), the cheque bounces. */
  expiresAt: z.number().check(z.int(), z.gte(0)),
});
export type ChequeBody = z.infer<typeof ChequeBody>;

export const PresentmentBody = z.strictObject({
  cheque: Statement,
  /** Digest of the cheque (binds the presentment to exactly these bytes). */
  chequeDigest: Digest,
});
export type PresentmentBody = z.infer<typeof PresentmentBody>;

export const BOUNCE_REASONS = ['insufficient-funds', 'expired', 'unknown-drawer', 'not-the-payee', 'stopped'] as const;
export type BounceReason = (typeof BOUNCE_REASONS)[number];

export const ClearingBody = z.strictObject({
  clearingId: RequestId,
  drawer: AccountId,
  serial: ChequeSerial,
  cheque: Digest,
  payee: Digest,
  payeeAccount: AccountId,
  amount: Amount,
  reference: Reference,
  proof: Digest,
});
export type ClearingBody = z.infer<typeof ClearingBody>;

export const BounceBody = z.strictObject({
  drawer: AccountId,
  serial: ChequeSerial,
  cheque: Digest,
  /** Who presented it (key id). */
  presenter: Digest,
  amount: Amount,
  reference: Reference,
  reason: z.enum(BOUNCE_REASONS),
});
export type BounceBody = z.infer<typeof BounceBody>;

export const StopBody = z.strictObject({ drawer: AccountId, serial: ChequeSerial });
export type StopBody = z.infer<typeof StopBody>;
export const StoppedBody = z.strictObject({ drawer: AccountId, serial: ChequeSerial, stop: Digest });

export const ClearingAnswer = z.strictObject({ receipt: Statement, proof: Statement });
export type ClearingAnswer = { receipt: SignedStatement; proof: SignedStatement };
export type StopAnswer = { receipt: SignedStatement };

export interface ChequeParams {
  drawer: string;
  serial: string;
  payee: string;
  amount: Amount;
  reference: string;
  expiresAt: number;
  now: number;
}

/** The unsigned cheque (sign it with the drawer account's key). */
export function cheque(p: ChequeParams): UnsignedStatement<Record<string, unknown>> {
  const body: ChequeBody = ChequeBody.parse({
    drawer: p.drawer,
    serial: p.serial,
    payee: p.payee,
    amount: p.amount,
    reference: p.reference,
    expiresAt: p.expiresAt,
  });
  return { type: CHEQUE_TYPES.cheque, version: 1, dealId: p.reference, issuedAt: nowIso(p.now), body };
}

/** The unsigned presentment of a cheque (sign it with the payee key the cheque names). */
export function presentment(signedCheque: SignedStatement, chequeDigest: string, now: number): UnsignedStatement<Record<string, unknown>> {
  const body = { cheque: signedCheque, chequeDigest } as PresentmentBody;
  return { type: CHEQUE_TYPES.presentment, version: 1, dealId: signedCheque.dealId, issuedAt: nowIso(now), body };
}

/** The unsigned stop order for one serial (sign it with the drawer account's key). */
export function stopOrder(p: { drawer: string; serial: string; now: number }): UnsignedStatement<Record<string, unknown>> {
  const body: StopBody = { drawer: p.drawer, serial: p.serial };
  return { type: CHEQUE_TYPES.stop, version: 1, dealId: `cheque-${p.serial}`.slice(0, 128).padEnd(8, '-'), issuedAt: nowIso(p.now), body };
}
