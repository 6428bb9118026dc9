/**
 * What the wallet, the merchant and the bank say to one another about cash (server/bank serves
 * them; the wallet machine and merchants check them). Every answer that moves money is a statement
 * the bank signs, so a dispute can show it:
 *
 *   semper.bank.withdrawal-request  account holder → bank   signed by the account's registered key
 *   semper.bank.refund-request      merchant → bank         signed by the merchant's account key
 *   semper.bank.issue               bank → wallet           the blind signatures of a withdrawal,
 *                                                           refresh or refund, and what was debited
 *   semper.bank.deposit             bank → merchant         the deposit: coins, value, account credited
 *   semper.payment.proof            bank → anyone           { method: 'cash', value, payee, reference }:
 *                                                           what core/items/match.ts checks in a money item
 *
 * A refresh is not signed by an account: its coins pay for it. Each old coin signs a spend made out
 * to the bank (payee = the bank's key id), referencing the refresh's request id and binding the
 * digest of the new blinded coins (`outputs`), so nobody on the way can redirect its value.
 */
import { z } from '../../zod.js';
import { digestJson } from '../../encoding/index.js';
import { Amount, Digest } from '../../items/schema.js';
import { Statement, type Statement as SignedStatement } from '../../statements/schema.js';

export const CASH_TYPES = {
  withdrawalRequest: 'semper.bank.withdrawal-request',
  refundRequest: 'semper.bank.refund-request',
  issue: 'semper.bank.issue',
  deposit: 'semper.bank.deposit',
} as const;

/** Coins one request may ask for or spend. */
export const MAX_COINS_PER_REQUEST = 64;

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));
/** A request id: 16..48 random bytes, base64url (it is also the statement's dealId, min 8 characters). */
export const RequestId = b64u.check(z.minLength(22), z.maxLength(64));
export const AccountId = z.string().check(z.regex(/^[A-Za-z0-9_-]{8,64}$/, 'account id'));

export const BlindedCoin = z.strictObject({ denominationId: Digest, blindedMsg: b64u.check(z.length(342)) });
export type BlindedCoin = z.infer<typeof BlindedCoin>;
const BlindedCoins = z.array(BlindedCoin).check(z.minLength(1), z.maxLength(MAX_COINS_PER_REQUEST));

export const WithdrawalRequestBody = z.strictObject({ requestId: RequestId, account: AccountId, coins: BlindedCoins });
export type WithdrawalRequestBody = z.infer<typeof WithdrawalRequestBody>;

export const RefundRequestBody = z.strictObject({
  requestId: RequestId,
  account: AccountId,
  /** The deal refunded. */
  reference: z.string().check(z.minLength(8), z.maxLength(128)),
  coins: BlindedCoins,
});
export type RefundRequestBody = z.infer<typeof RefundRequestBody>;

/** POST /bank/refresh */
export const RefreshRequest = z.strictObject({
  requestId: RequestId,
  spends: z.array(Statement).check(z.minLength(1), z.maxLength(MAX_COINS_PER_REQUEST)),
  outputs: BlindedCoins,
});
export type RefreshRequest = z.infer<typeof RefreshRequest>;

/** POST /bank/deposit: spends of one payee for one reference, deposited together (all or none). */
export const DepositRequest = z.strictObject({ spends: z.array(Statement).check(z.minLength(1), z.maxLength(MAX_COINS_PER_REQUEST)) });
export type DepositRequest = z.infer<typeof DepositRequest>;

export const IssueBody = z.strictObject({
  requestId: RequestId,
  kind: z.enum(['withdrawal', 'refresh', 'refund']),
  /** The account debited (withdrawal, refund); absent for a refresh, which old coins paid. */
  account: z.optional(AccountId),
  reference: z.optional(z.string().check(z.minLength(8), z.maxLength(128))),
  value: Amount,
  /** Digest of what was asked (the request statement, or the refresh request). */
  request: Digest,
  /** One per asked coin, in the request's order. */
  blindSignatures: z.array(b64u.check(z.length(342))).check(z.minLength(1), z.maxLength(MAX_COINS_PER_REQUEST)),
});
export type IssueBody = z.infer<typeof IssueBody>;

export const DepositBody = z.strictObject({
  depositId: RequestId,
  account: AccountId,
  payee: Digest,
  reference: z.string().check(z.minLength(8), z.maxLength(128)),
  value: Amount,
  /** Digests of the spends deposited. */
  spends: z.array(Digest).check(z.minLength(1), z.maxLength(MAX_COINS_PER_REQUEST)),
  /** Digest of the payment proof issued with it. */
  proof: Digest,
});
export type DepositBody = z.infer<typeof DepositBody>;

/** The bank's answer to a deposit. */
export const DepositAnswer = z.strictObject({ receipt: Statement, proof: Statement });
export type DepositAnswer = { receipt: SignedStatement; proof: SignedStatement };

/** The bank's answer to a withdrawal, refresh or refund. */
export const IssueAnswer = z.strictObject({ receipt: Statement });
export type IssueAnswer = { receipt: SignedStatement };

/** The refusal of a second spend: the first deposit's spend statement, signed by the coin. */
export const DoubleSpendAnswer = z.strictObject({
  error: z.strictObject({ code: z.literal('ERR_DOUBLE_SPEND'), message: z.string() }),
  coinId: Digest,
  proof: Statement,
});
export type DoubleSpendAnswer = { error: { code: 'ERR_DOUBLE_SPEND'; message: string }; coinId: string; proof: SignedStatement };

/** What the spends of a refresh bind: the digest of its outputs. */
export function outputsDigest(outputs: readonly BlindedCoin[]): Promise<string> {
  return digestJson(outputs);
}
