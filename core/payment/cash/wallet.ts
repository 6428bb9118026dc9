/**
 * The shopper's cash wallet as a sans-IO machine on the one contract (core/machine.ts): withdraw,
 * refresh (change and renewal before expiry), refunds to fresh coins, and paying a merchant.
 *
 * State is JSON: the coins (each with its private key: a coin is a bearer instrument, so the state
 * must be kept as carefully as the key store) and the operations in flight. Every operation is
 * recorded in the state *with everything needed to finish it* — the blinding secrets (`inv`), the
 * exact request — before its request leaves (the host persists the state, then sends). A worker
 * killed at any point therefore loses no coin: on restart `pendingSends` re-sends the very same
 * request, the bank answers a request id it already served with the same signed answer (requests
 * are idempotent by id), and the wallet finalises the coins from the stored secrets.
 *
 * Unblinding: the bank's checked issue receipt is recorded on its operation (`issued`) and the
 * machine asks its host to unblind (an `unblind` send: deterministic, so a host killed before it
 * answered simply does it again — `pendingSends` names it until its answer is in). The host's
 * answer is the coins' signatures; each is checked here against the denomination key (RSASSA-PSS
 * with WebCrypto, coin.ts verifyCoin) before the coin is kept, so a wrong blind signature, or a
 * host's wrong answer, is ERR_SIGNATURE_INVALID and keeps nothing. Why a send and not an effect:
 * the blind-RSA library (blind.ts) stays out of the machine, so out of the extension worker's start
 * bundle (issue 13: its worker answers through an offscreen task), and a send is what the contract
 * re-delivers after a restart.
 *
 * Randomness: the request ids come from `ctx.random` like every machine's. Blinding does not: RFC
 * 9474 blinding needs a fresh secret factor r and a fresh message prefix from the platform CSPRNG,
 * which blindrsa-ts draws itself, and a seeded (replayable) source must never choose them. So the
 * host runs `prepareCoin` (coin.ts) outside the step and passes the results in the event
 * (`prepared`); the step only checks and records them. Replaying a step from the same state and
 * event gives the same state (the determinism the contract asks for).
 *
 * Conflicts: a refresh or payment whose coin the bank has already seen deposited gets
 * ERR_DOUBLE_SPEND with that first deposit's spend (signed by the coin's own key) as proof. The
 * wallet checks the proof and marks the coin spent — not lost: the proof says where it went (a
 * restored backup, another device). Coins of a payment the merchant refused are back but
 * `exposed` (their spends left the wallet): they are refreshed before they pay anyone again.
 */
import { jwkThumbprint } from '../../crypto/jwk.js';
import type { Signer } from '../../crypto/keys.js';
import { canonicalJson } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { type Amount, PAYMENT_PROOF_TYPE, PaymentProofBody } from '../../items/schema.js';
import type { Machine, RandomSource, StepResult } from '../../machine.js';
import { nowIso, signStatement, type Statement, statementDigest, verifyStatement } from '../../statements/index.js';
import { z } from '../../zod.js';
import { type Coin, type CoinSecret, RSA_BYTES_B64U, verifyCoin } from './coin.js';
import { type DenominationSet, denominationUsable, requireDenomination } from './denominations.js';
import { type BlindedCoin, CASH_TYPES, DepositAnswer, DepositBody, DoubleSpendAnswer, IssueAnswer, IssueBody, outputsDigest } from './messages.js';
import { signSpend, verifySpend } from './spend.js';

export const WALLET_KIND = 'cash-wallet';

export interface WalletCoin {
  coinId: string;
  coin: Coin;
  privateJwk: JsonWebKey;
  value: Amount;
  status: 'fresh' | 'locked' | 'spent';
  /** Its spend left the wallet in a payment that did not complete: refresh before paying with it. */
  exposed?: boolean;
  spent?: { by: 'payment' | 'refresh' | 'double-spend'; reference: string; proof?: Statement };
}

export type WalletHttpSend = { kind: 'http'; to: 'bank' | 'merchant'; path: string; body: unknown; requestId: string };
/** One coin to unblind: its message (denomination, coin id, prefix), the blinding's inverse, the bank's blind signature. */
export interface UnblindCoin {
  denominationId: string;
  coinId: string;
  prefix: string;
  inv: string;
  blindSignature: string;
}
/** Asks the host to unblind an issued operation's coins (blind.ts unblindLocally, or the extension's task); answered `{ signatures }`. */
export type UnblindSend = { kind: 'unblind'; requestId: string; coins: UnblindCoin[] };
export type WalletSend = WalletHttpSend | UnblindSend;

/** The host's answer to an `unblind` send: one signature per coin, in order. */
export const UnblindAnswer = z.strictObject({
  signatures: z.array(z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'), z.length(RSA_BYTES_B64U))).check(z.minLength(1), z.maxLength(64)),
});

interface PendingBase {
  requestId: string;
  /** The request to the bank or merchant. */
  send: WalletHttpSend;
  /** Sends so far without an answer. */
  attempts: number;
  /** When to send again (a request that got no answer), or null while one is in flight. */
  retryAt: number | null;
}
/** The bank's checked issue receipt's blind signatures (one per secret): the coins are being unblinded. */
interface Issued {
  issued?: { blindSignatures: string[] };
}
export type PendingOperation =
  | (PendingBase & Issued & { kind: 'withdrawal'; secrets: CoinSecret[] })
  | (PendingBase & Issued & { kind: 'refresh'; secrets: CoinSecret[]; inputs: string[] })
  | (PendingBase & Issued & { kind: 'refund'; secrets: CoinSecret[]; reference: string })
  | (PendingBase & { kind: 'payment'; inputs: string[]; payee: string; reference: string; value: Amount });

export interface WalletState {
  walletId: string;
  coins: WalletCoin[];
  pending: PendingOperation[];
}

/** A transport reply; a bank's double-spend refusal keeps its body (coinId, proof). */
export type WalletReply = { kind: 'response'; body: unknown } | { kind: 'error'; error: { code: string; message: string }; status?: number; body?: unknown };

export type WalletEvent =
  | { type: 'withdraw'; now: number; account: string; prepared: CoinSecret[] }
  | { type: 'refresh'; now: number; coinIds: string[]; prepared: CoinSecret[] }
  | { type: 'refund'; now: number; reference: string; prepared: CoinSecret[] }
  /**
   * `to`: where the spends go — the merchant (default: it deposits them and answers with the bank's
   * DepositAnswer), or the bank's `/bank/deposit` itself, which credits the payee's account and
   * answers the same DepositAnswer to the payer (a fair purchase: the shopper holds the bank's proof).
   */
  | { type: 'pay'; now: number; coinIds: string[]; payee: string; reference: string; to?: 'merchant' | 'bank' }
  | { type: 'reply'; now: number; sent: WalletSend; reply: WalletReply }
  | { type: 'timeout'; now: number };

export type WalletEffect =
  | { kind: 'archive'; statement: Statement }
  | { kind: 'coins-added'; requestId: string; operation: 'withdrawal' | 'refresh' | 'refund'; coinIds: string[] }
  | { kind: 'paid'; requestId: string; reference: string; proof: Statement }
  | { kind: 'double-spent'; coinId: string; proof: Statement }
  | { kind: 'failed'; requestId: string; operation: PendingOperation['kind']; error: { code: string; message: string } };

export interface WalletContext {
  random: RandomSource;
  /** The bank's verified key list (denominations.ts). */
  denominations: DenominationSet;
  /** The account's registered key: signs withdrawal requests. */
  accountSigner?: Signer;
}

export const BANK_PATHS = { withdraw: '/bank/withdraw', refresh: '/bank/refresh', deposit: '/bank/deposit' } as const;
export const MERCHANT_PATHS = { pay: '/semper/cash/pay', refund: '/semper/cash/refund' } as const;

type Result = StepResult<WalletState, WalletSend, WalletEffect>;

const RETRY_BASE_MS = 5_000;
const RETRY_CAP_MS = 10 * 60_000;

function sum(values: readonly Amount[], currency: string): Amount {
  let amount = 0;
  for (const v of values) {
    if (v.currency !== currency) throw new SemperError('ERR_DENOMINATION', `coins of ${v.currency} and ${currency} mixed`);
    amount += v.amount;
  }
  return { amount, currency };
}

/** What an operation waits for now: the unblinding once the bank's receipt is in, else its request. */
export function currentSend(op: PendingOperation): WalletSend {
  if (!('secrets' in op) || !op.issued) return op.send;
  const signatures = op.issued.blindSignatures;
  return {
    kind: 'unblind',
    requestId: op.requestId,
    coins: op.secrets.map((s, i) => ({ denominationId: s.denominationId, coinId: s.coinId, prefix: s.prefix, inv: s.inv, blindSignature: signatures[i]! })),
  };
}

function blinded(secrets: readonly CoinSecret[]): BlindedCoin[] {
  return secrets.map((s) => ({ denominationId: s.denominationId, blindedMsg: s.blindedMsg }));
}

/** The prepared coins, each of a denomination issuing at `now`; their total. */
function checkPrepared(prepared: readonly CoinSecret[], ctx: WalletContext, now: number): Amount {
  if (prepared.length === 0 || prepared.length > 64) throw new SemperError('ERR_SCHEMA', 'between 1 and 64 coins per request');
  const values = prepared.map((p) => requireDenomination(ctx.denominations, p.denominationId, 'withdraw', now).value);
  return sum(values, values[0]!.currency);
}

function takeCoins(state: WalletState, coinIds: readonly string[], forPayment: boolean): WalletCoin[] {
  if (coinIds.length === 0 || new Set(coinIds).size !== coinIds.length) throw new SemperError('ERR_SCHEMA', 'name each coin once');
  return coinIds.map((id) => {
    const c = state.coins.find((x) => x.coinId === id);
    if (!c) throw new SemperError('ERR_NOT_FOUND', `no coin ${id} in the wallet`);
    if (c.status !== 'fresh') throw new SemperError('ERR_PROTOCOL_STATE', `coin ${id} is ${c.status}`);
    if (forPayment && c.exposed) throw new SemperError('ERR_PROTOCOL_STATE', `coin ${id} left the wallet in an unfinished payment: refresh it first`);
    return c;
  });
}

function withCoins(state: WalletState, ids: readonly string[], change: (c: WalletCoin) => WalletCoin): WalletCoin[] {
  return state.coins.map((c) => (ids.includes(c.coinId) ? change(c) : c));
}

async function start(params: { walletId: string }): Promise<Result> {
  return { state: { walletId: params.walletId, coins: [], pending: [] }, send: [], effects: [] };
}

async function issueRequest(
  state: WalletState,
  event: Extract<WalletEvent, { type: 'withdraw' | 'refresh' | 'refund' | 'pay' }>,
  ctx: WalletContext,
): Promise<Result> {
  const requestId = ctx.random.id(16);
  let op: PendingOperation;
  let send: WalletHttpSend;
  let coins = state.coins;
  if (event.type === 'withdraw') {
    if (!ctx.accountSigner) throw new SemperError('ERR_KEY', 'a withdrawal needs the account key');
    checkPrepared(event.prepared, ctx, event.now);
    const request = await signStatement(
      {
        type: CASH_TYPES.withdrawalRequest,
        version: 1,
        dealId: requestId,
        issuedAt: nowIso(event.now),
        body: { requestId, account: event.account, coins: blinded(event.prepared) },
      },
      ctx.accountSigner,
    );
    send = { kind: 'http', to: 'bank', path: BANK_PATHS.withdraw, body: { request }, requestId };
    op = { kind: 'withdrawal', requestId, send, attempts: 1, retryAt: null, secrets: event.prepared };
  } else if (event.type === 'refresh') {
    const inputs = takeCoins(state, event.coinIds, false);
    const total = checkPrepared(event.prepared, ctx, event.now);
    const have = sum(
      inputs.map((c) => c.value),
      total.currency,
    );
    if (have.amount !== total.amount) throw new SemperError('ERR_DENOMINATION', `refresh of ${have.amount} into ${total.amount}: totals differ`);
    const outputs = blinded(event.prepared);
    const digest = await outputsDigest(outputs);
    const spends: Statement[] = [];
    for (const c of inputs) {
      requireDenomination(ctx.denominations, c.coin.denominationId, 'deposit', event.now);
      spends.push(await signSpend(c, c.value, { payee: ctx.denominations.bankKeyId, reference: requestId, outputs: digest, now: event.now }));
    }
    send = { kind: 'http', to: 'bank', path: BANK_PATHS.refresh, body: { requestId, spends, outputs }, requestId };
    op = { kind: 'refresh', requestId, send, attempts: 1, retryAt: null, secrets: event.prepared, inputs: event.coinIds };
    coins = withCoins(state, event.coinIds, (c) => ({ ...c, status: 'locked' }));
  } else if (event.type === 'refund') {
    checkPrepared(event.prepared, ctx, event.now);
    send = {
      kind: 'http',
      to: 'merchant',
      path: MERCHANT_PATHS.refund,
      body: { requestId, reference: event.reference, coins: blinded(event.prepared) },
      requestId,
    };
    op = { kind: 'refund', requestId, send, attempts: 1, retryAt: null, secrets: event.prepared, reference: event.reference };
  } else {
    const inputs = takeCoins(state, event.coinIds, true);
    const spends: Statement[] = [];
    for (const c of inputs) {
      requireDenomination(ctx.denominations, c.coin.denominationId, 'spend', event.now);
      spends.push(await signSpend(c, c.value, { payee: event.payee, reference: event.reference, now: event.now }));
    }
    const value = sum(
      inputs.map((c) => c.value),
      inputs[0]!.value.currency,
    );
    send =
      event.to === 'bank'
        ? { kind: 'http', to: 'bank', path: BANK_PATHS.deposit, body: { spends }, requestId }
        : { kind: 'http', to: 'merchant', path: MERCHANT_PATHS.pay, body: { spends }, requestId };
    op = { kind: 'payment', requestId, send, attempts: 1, retryAt: null, inputs: event.coinIds, payee: event.payee, reference: event.reference, value };
    coins = withCoins(state, event.coinIds, (c) => ({ ...c, status: 'locked' }));
  }
  return { state: { ...state, coins, pending: [...state.pending, op] }, send: [send], effects: [] };
}

/** Check the bank's issue receipt for `op`, record it, and ask the host to unblind its coins. */
async function onIssued(state: WalletState, op: Extract<PendingOperation, { secrets: CoinSecret[] }>, body: unknown, ctx: WalletContext): Promise<Result> {
  const answer = IssueAnswer.safeParse(body);
  if (!answer.success) throw new SemperError('ERR_SCHEMA', 'bank answer is not an issue receipt');
  const verified = await verifyStatement<IssueBody>(answer.data.receipt, { types: [CASH_TYPES.issue] });
  if ((await jwkThumbprint(verified.signerJwk)) !== ctx.denominations.bankKeyId)
    throw new SemperError('ERR_CERT_UNTRUSTED', 'issue receipt not signed by the bank');
  const receipt = IssueBody.safeParse(verified.statement.body);
  if (!receipt.success) throw new SemperError('ERR_SCHEMA', 'issue receipt body is malformed');
  const r = receipt.data;
  const kind = op.kind === 'withdrawal' ? 'withdrawal' : op.kind;
  if (r.requestId !== op.requestId || r.kind !== kind || r.blindSignatures.length !== op.secrets.length) {
    throw new SemperError('ERR_PROTOCOL_STATE', 'issue receipt is for another request');
  }
  if (op.kind === 'refund' && r.reference !== op.reference) throw new SemperError('ERR_PROTOCOL_STATE', 'refund receipt for another deal');
  for (const secret of op.secrets) {
    if (!ctx.denominations.byId.has(secret.denominationId)) throw new SemperError('ERR_DENOMINATION', `unknown denomination ${secret.denominationId}`);
  }
  // Recorded before the unblinding is asked for: a host killed meanwhile asks again (pendingSends).
  const issued: typeof op = { ...op, retryAt: null, issued: { blindSignatures: r.blindSignatures } };
  return {
    state: { ...state, pending: state.pending.map((p) => (p === op ? issued : p)) },
    send: [currentSend(issued)],
    effects: [{ kind: 'archive', statement: verified.statement as Statement }],
  };
}

/** The host's unblinding of an issued operation: each coin checked against its denomination key, then kept. */
async function onUnblinded(
  state: WalletState,
  op: Extract<PendingOperation, { secrets: CoinSecret[] }>,
  reply: WalletReply,
  ctx: WalletContext,
  now: number,
): Promise<Result> {
  if (reply.kind === 'error') {
    // The host says the bank's blind signature does not finalize: refused as a bad answer from the bank is.
    if (reply.error.code === 'ERR_SIGNATURE_INVALID') throw new SemperError('ERR_SIGNATURE_INVALID', reply.error.message);
    // The unblinding did not run (the host's task failed): the same unblinding again, later.
    const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(op.attempts - 1, 16));
    return { state: { ...state, pending: state.pending.map((p) => (p === op ? { ...p, retryAt: now + delay } : p)) }, send: [], effects: [] };
  }
  const answer = UnblindAnswer.safeParse(reply.body);
  if (!answer.success || answer.data.signatures.length !== op.secrets.length) throw new SemperError('ERR_SCHEMA', 'the unblinding answered outside its schema');
  const added: WalletCoin[] = [];
  for (let i = 0; i < op.secrets.length; i++) {
    const secret = op.secrets[i]!;
    const d = ctx.denominations.byId.get(secret.denominationId);
    if (!d) throw new SemperError('ERR_DENOMINATION', `unknown denomination ${secret.denominationId}`);
    const coin: Coin = { denominationId: secret.denominationId, publicJwk: secret.publicJwk, prefix: secret.prefix, signature: answer.data.signatures[i]! };
    // RFC 9474 §4.4's check, here rather than only where the unblinding ran: whatever answered, no coin is kept that the bank did not sign.
    if (!(await verifyCoin(coin, d, secret.coinId)))
      throw new SemperError(
        'ERR_SIGNATURE_INVALID',
        "RFC 9474 §4.4: the bank's blind signature does not finalize (the coin does not verify under its denomination key)",
      );
    added.push({ coinId: secret.coinId, coin, privateJwk: secret.privateJwk, value: d.value, status: 'fresh' });
  }
  let coins = state.coins;
  if (op.kind === 'refresh') coins = withCoins(state, op.inputs, (c) => ({ ...c, status: 'spent', spent: { by: 'refresh', reference: op.requestId } }));
  return {
    state: { ...state, coins: [...coins, ...added], pending: state.pending.filter((p) => p.requestId !== op.requestId) },
    send: [],
    effects: [{ kind: 'coins-added', requestId: op.requestId, operation: op.kind, coinIds: added.map((c) => c.coinId) }],
  };
}

async function onPaid(state: WalletState, op: Extract<PendingOperation, { kind: 'payment' }>, body: unknown, ctx: WalletContext): Promise<Result> {
  const answer = DepositAnswer.safeParse(body);
  if (!answer.success) throw new SemperError('ERR_SCHEMA', 'the answer to a payment is not a deposit');
  const verified = await verifyStatement(answer.data.proof, { types: [PAYMENT_PROOF_TYPE] });
  if ((await jwkThumbprint(verified.signerJwk)) !== ctx.denominations.bankKeyId)
    throw new SemperError('ERR_CERT_UNTRUSTED', 'payment proof not signed by the bank');
  const proof = PaymentProofBody.safeParse(verified.statement.body);
  if (!proof.success) throw new SemperError('ERR_SCHEMA', 'payment proof body is malformed');
  const p = proof.data;
  if (p.method !== 'cash' || p.payee !== op.payee || p.reference !== op.reference || canonicalJson(p.value) !== canonicalJson(op.value)) {
    throw new SemperError('ERR_ITEM_MISMATCH', 'payment proof is for another payment');
  }
  const proofStatement = verified.statement as Statement;
  // The deposit receipt must be the bank's and name this very proof: kept with it as evidence.
  const receipt = await verifyStatement(answer.data.receipt, { types: [CASH_TYPES.deposit] });
  if ((await jwkThumbprint(receipt.signerJwk)) !== ctx.denominations.bankKeyId)
    throw new SemperError('ERR_CERT_UNTRUSTED', 'deposit receipt not signed by the bank');
  const deposit = DepositBody.safeParse(receipt.statement.body);
  if (
    !deposit.success ||
    deposit.data.proof !== (await statementDigest(proofStatement)) ||
    deposit.data.payee !== op.payee ||
    deposit.data.reference !== op.reference ||
    canonicalJson(deposit.data.value) !== canonicalJson(op.value)
  ) {
    throw new SemperError('ERR_ITEM_MISMATCH', 'deposit receipt is for another payment');
  }
  return {
    state: {
      ...state,
      coins: withCoins(state, op.inputs, (c) => ({ ...c, status: 'spent', spent: { by: 'payment', reference: op.reference, proof: proofStatement } })),
      pending: state.pending.filter((x) => x.requestId !== op.requestId),
    },
    send: [],
    effects: [
      { kind: 'archive', statement: proofStatement },
      { kind: 'archive', statement: receipt.statement as Statement },
      { kind: 'paid', requestId: op.requestId, reference: op.reference, proof: proofStatement },
    ],
  };
}

/** A double-spend refusal of a refresh or payment: check the proof, mark that coin spent, free the others. */
async function onDoubleSpend(
  state: WalletState,
  op: Extract<PendingOperation, { inputs: string[] }>,
  body: unknown,
  ctx: WalletContext,
  now: number,
): Promise<Result> {
  const answer = DoubleSpendAnswer.safeParse(body);
  if (!answer.success) throw new SemperError('ERR_SCHEMA', 'double-spend refusal without its proof');
  // The proof is a spend signed by the coin itself (only its holder could make it): check it as the bank did.
  const spend = await verifySpend(answer.data.proof, { denominations: ctx.denominations, now, use: 'deposit', ...outputsOf(answer.data.proof) });
  if (spend.coinId !== answer.data.coinId || !op.inputs.includes(spend.coinId))
    throw new SemperError('ERR_PROTOCOL_STATE', 'double-spend proof names a coin of another request');
  // The proof was made before this request: it must not be this very request's own spend.
  if (spend.body.reference === op.requestId || (op.kind === 'payment' && spend.body.reference === op.reference && spend.body.payee === op.payee)) {
    throw new SemperError('ERR_PROTOCOL_STATE', "double-spend proof is this request's own spend");
  }
  const proof = spend.statement as Statement;
  const coins = state.coins.map((c) => {
    if (c.coinId === spend.coinId) return { ...c, status: 'spent' as const, spent: { by: 'double-spend' as const, reference: spend.body.reference, proof } };
    if (op.inputs.includes(c.coinId)) return { ...c, status: 'fresh' as const, ...(op.kind === 'payment' ? { exposed: true } : {}) };
    return c;
  });
  return {
    state: { ...state, coins, pending: state.pending.filter((p) => p.requestId !== op.requestId) },
    send: [],
    effects: [
      { kind: 'archive', statement: proof },
      { kind: 'double-spent', coinId: spend.coinId, proof },
      { kind: 'failed', requestId: op.requestId, operation: op.kind, error: { code: 'ERR_DOUBLE_SPEND', message: `coin ${spend.coinId} was spent before` } },
    ],
  };
}

function outputsOf(statement: unknown): { outputs?: string } {
  const outputs = (statement as { body?: { outputs?: unknown } })?.body?.outputs;
  return typeof outputs === 'string' ? { outputs } : {};
}

async function onReply(state: WalletState, event: Extract<WalletEvent, { type: 'reply' }>, ctx: WalletContext): Promise<Result> {
  const op = state.pending.find((p) => p.requestId === event.sent.requestId && canonicalJson(currentSend(p)) === canonicalJson(event.sent));
  // A late or duplicated answer for something already settled (or a bank's answer again once its receipt is in) moves nothing.
  if (!op) return { state, send: [], effects: [] };
  const { reply } = event;
  if (event.sent.kind === 'unblind' && 'secrets' in op) return onUnblinded(state, op, reply, ctx, event.now);
  if (reply.kind === 'response') return op.kind === 'payment' ? onPaid(state, op, reply.body, ctx) : onIssued(state, op, reply.body, ctx);
  if (reply.status === undefined || reply.status >= 500 || reply.error.code === 'ERR_RATE_LIMITED') {
    // No answer (or not now): the request may or may not have been served; the same request again, later.
    const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(op.attempts - 1, 16));
    return { state: { ...state, pending: state.pending.map((p) => (p === op ? { ...p, retryAt: event.now + delay } : p)) }, send: [], effects: [] };
  }
  if (reply.error.code === 'ERR_DOUBLE_SPEND' && (op.kind === 'refresh' || op.kind === 'payment')) return onDoubleSpend(state, op, reply.body, ctx, event.now);
  // Refused for good: the bank's operations are all or nothing, so nothing was taken.
  const coins =
    op.kind === 'refresh' || op.kind === 'payment'
      ? withCoins(state, op.inputs, (c) => ({ ...c, status: 'fresh', ...(op.kind === 'payment' ? { exposed: true } : {}) }))
      : state.coins;
  return {
    state: { ...state, coins, pending: state.pending.filter((p) => p !== op) },
    send: [],
    effects: [{ kind: 'failed', requestId: op.requestId, operation: op.kind, error: { code: reply.error.code, message: reply.error.message } }],
  };
}

function onTimeout(state: WalletState, now: number): Result {
  const due = state.pending.filter((p) => p.retryAt !== null && p.retryAt <= now);
  if (due.length === 0) return { state, send: [], effects: [] };
  return {
    state: { ...state, pending: state.pending.map((p) => (due.includes(p) ? { ...p, attempts: p.attempts + 1, retryAt: null } : p)) },
    send: due.map(currentSend),
    effects: [],
  };
}

export const cashWallet: Machine<WalletState, WalletEvent, WalletContext, WalletSend, WalletEffect, { walletId: string }> = {
  kind: WALLET_KIND,
  start,
  async step(state, event, ctx) {
    switch (event.type) {
      case 'withdraw':
      case 'refresh':
      case 'refund':
      case 'pay':
        return issueRequest(state, event, ctx);
      case 'reply':
        return onReply(state, event, ctx);
      case 'timeout':
        return onTimeout(state, event.now);
    }
  },
  pendingSends: (state) => state.pending.map(currentSend),
  wakeAt(state) {
    const times = state.pending.map((p) => p.retryAt).filter((t): t is number => t !== null);
    return times.length ? Math.min(...times) : null;
  },
  isTerminal: () => false,
};

// ---------------------------------------------------------------------------------------------
// Helpers a host uses around the machine

/** Fresh, unexposed coins spendable at `now`, of `currency`. */
export function spendableCoins(state: WalletState, denominations: DenominationSet, now: number, currency: string): WalletCoin[] {
  return state.coins.filter((c) => {
    const d = denominations.byId.get(c.coin.denominationId);
    return c.status === 'fresh' && !c.exposed && c.value.currency === currency && d !== undefined && denominationUsable(d, 'spend', now);
  });
}

export function balance(state: WalletState, denominations: DenominationSet, now: number, currency: string): Amount {
  return { amount: spendableCoins(state, denominations, now, currency).reduce((n, c) => n + c.value.amount, 0), currency };
}

/** Coins paying exactly `amount` (largest first), or null: then refresh a larger coin into change first (`decompose`). */
export function selectCoins(state: WalletState, denominations: DenominationSet, amount: Amount, now: number): string[] | null {
  const coins = spendableCoins(state, denominations, now, amount.currency).sort((a, b) => b.value.amount - a.value.amount);
  const chosen: string[] = [];
  let rest = amount.amount;
  for (const c of coins) {
    if (c.value.amount <= rest) {
      chosen.push(c.coinId);
      rest -= c.value.amount;
    }
  }
  return rest === 0 && chosen.length ? chosen : null;
}

/** Denominations (issuing at `now`) summing to `amount`, largest first; ERR_DENOMINATION if none do. */
export function decompose(denominations: DenominationSet, amount: Amount, now: number): string[] {
  const usable = [...denominations.byId.values()]
    .filter((d) => d.value.currency === amount.currency && denominationUsable(d, 'withdraw', now))
    .sort((a, b) => b.value.amount - a.value.amount);
  const ids: string[] = [];
  let rest = amount.amount;
  for (const d of usable) {
    while (rest >= d.value.amount && ids.length < 64) {
      ids.push(d.id);
      rest -= d.value.amount;
    }
  }
  if (rest !== 0) throw new SemperError('ERR_DENOMINATION', `${amount.amount} ${amount.currency} cannot be made of the issuing denominations`);
  return ids;
}

/** Coins expiring (spendUntil) within `horizonMs` of `now`: refresh them while the bank still issues. */
export function coinsToRenew(state: WalletState, denominations: DenominationSet, now: number, horizonMs: number): string[] {
  return state.coins
    .filter((c) => c.status === 'fresh')
    .filter((c) => {
      const d = denominations.byId.get(c.coin.denominationId);
      return d !== undefined && d.spendUntil - horizonMs <= now && now <= d.depositUntil;
    })
    .map((c) => c.coinId);
}
