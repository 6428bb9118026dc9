/**
 * A purse: the shopper's e-cash at one bank, run as one more kind of deal ('wallet') on the
 * worker's one host (worker/host.ts). The machine wraps core/payment/cash/wallet.ts's `cashWallet`
 * and adds what a purse needs around it:
 *
 *   - opening the account with the bank's one-time code (server/bank/opening.ts): the signed
 *     request is persisted before it leaves and sent again until the bank answers (the bank serves
 *     the very same request again with its stored answer), so a worker stopped mid-opening neither
 *     loses the account nor burns the code;
 *   - the bank's verified denomination list, pinned to the bank key the user saw when opening;
 *   - payments for a deal (`pay`: payee key id, reference = deal id, amount): spends deposited at
 *     the bank's /bank/deposit for the payee (cashWallet's `to: 'bank'`), with a refresh for change
 *     first when no coins pay the amount exactly; the intent is in the state, so a restart finishes
 *     it (the refresh, then the payment);
 *   - account transfers for a deal (`transfer`: an order signed by the account key, keyed by the
 *     deal id): the order is recorded before it leaves and sent again as is until the bank answers
 *     (the bank serves a request id once and repeats its answer; a re-signed order would be another
 *     order — ECDSA signatures are randomized), the answer checked against the pinned bank key;
 *   - the history the popup shows (withdrawals, payments with the bank's proof, refunds, refreshes,
 *     double-spend findings with their proof, failures) and restore from a backup (merge).
 *
 * Every step's state is persisted by the host BEFORE its sends leave (the host's rule for every
 * kind), and `pendingSends` re-sends the same requests after a restart: no coin and no withdrawal
 * is lost at any crash point. Blinding (`prepareCoin`) needs the platform CSPRNG and runs outside
 * the step (extension/wallet/service.ts); the events carry its results.
 */
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import type { Signer } from '../../core/crypto/keys.js';
import { canonicalJson } from '../../core/encoding/index.js';
import { SemperError, isSemperError } from '../../core/errors.js';
import type { Amount } from '../../core/items/schema.js';
import type { Machine, RandomSource } from '../../core/machine.js';
// The cash modules one by one, not their barrel: it re-exports blind.ts (@cloudflare/blindrsa-ts),
// which the worker runs as an offscreen task (cash-tasks.ts), not at start.
import type { CoinSecret } from '../../core/payment/cash/coin.js';
import { type DenominationSet, listBody, verifyDenominationList } from '../../core/payment/cash/denominations.js';
import {
  cashWallet,
  currentSend,
  type PendingOperation,
  selectCoins,
  type WalletContext,
  type WalletEffect,
  type WalletEvent,
  type WalletReply,
  type WalletSend,
  type WalletState,
} from '../../core/payment/cash/wallet.js';
import { ACCOUNT_TYPES, type TransferAnswer, TransferOrderBody, verifyTransferAnswer } from '../../core/payment/account/index.js';
import { type Statement, statementDigest, verifyStatement } from '../../core/statements/index.js';
import type { DealKindRegistration, HostEffect, HostEvent, HostOutbound, HttpOutbound } from '../worker/host.js';

export const ACCOUNT_OPENING_PATH = '/bank/accounts/open';
export const ACCOUNT_OPENED_TYPE = 'semper.bank.account-opened';
export const TRANSFER_PATH = '/bank/transfer';
/** The history a purse keeps (newest last); older entries drop off, the archive keeps every statement. */
export const HISTORY_MAX = 200;

const RETRY_BASE_MS = 5_000;
const RETRY_CAP_MS = 10 * 60_000;

export interface ErrorInfo {
  code: string;
  message: string;
}

export type PursePhase = 'opening' | 'open' | 'failed';

export interface HistoryEntry {
  at: number;
  kind: 'opened' | 'withdrawal' | 'refresh' | 'refund' | 'payment' | 'transfer' | 'double-spend' | 'failed' | 'restored';
  requestId?: string;
  amount?: Amount;
  /** payment, refund, double-spend: the deal (or the request the coin was spent in). */
  reference?: string;
  payee?: string;
  coinId?: string;
  /** payment, transfer: the bank's semper.payment.proof; double-spend: the first spend, signed by the coin. */
  proof?: Statement;
  operation?: string;
  error?: ErrorInfo;
  coins?: number;
}

/** A payment asked for by the deal code (service.ts `pay`), until it is paid or failed. */
export interface PaymentIntent {
  reference: string;
  payee: string;
  amount: Amount;
  /** change: refreshing for change first (requestId: the refresh's); paying: the deposit is out (requestId: the payment's). */
  phase: 'change' | 'paying' | 'paid' | 'failed';
  requestId: string;
  at: number;
  proof?: Statement;
  error?: ErrorInfo;
}

/**
 * An account transfer for a deal (service.ts `transfer`): the signed order, recorded before it
 * leaves and re-sent as is until the bank answers; then the bank's checked answer or its refusal.
 */
export interface AccountTransfer {
  reference: string;
  payee: string;
  amount: Amount;
  requestId: string;
  order: Statement;
  phase: 'sending' | 'done' | 'failed';
  attempts: number;
  retryAt: number | null;
  at: number;
  /** done: the bank's receipt and semper.payment.proof (checked against the pinned key). */
  answer?: TransferAnswer;
  error?: ErrorInfo;
}

export interface PurseState {
  phase: PursePhase;
  /** The purse id (the host's deal id). */
  dealId: string;
  bankUrl: string;
  /** The bank's ES256 key, pinned when the account was opened (RFC 7638 thumbprint). */
  bankKeyId: string;
  /** The key the account is bound to ('keys' store, purpose 'account'). */
  accountKeyId: string;
  account?: string;
  /** The account-opening request while the bank has not answered it. */
  opening?: { request: Statement; attempts: number; retryAt: number | null };
  /** The bank's denomination key list, verified against `bankKeyId`. */
  denominations: Statement;
  wallet: WalletState;
  payments: PaymentIntent[];
  /** Account transfers by reference (absent in purses made before transfers). */
  transfers?: AccountTransfer[];
  history: HistoryEntry[];
  error?: ErrorInfo;
}

/** What a backup holds of one purse (backup.ts encrypts a list of them). */
export interface PurseBackup {
  bankUrl: string;
  bankKeyId: string;
  account?: string;
  accountKeyId: string;
  denominations: Statement;
  wallet: WalletState;
  history: HistoryEntry[];
  payments: PaymentIntent[];
  transfers?: AccountTransfer[];
}

export type PurseParams =
  | { bankKeyId: string; accountKeyId: string; denominations: Statement; opening: Statement }
  | { bankKeyId: string; accountKeyId: string; denominations: Statement; restore: PurseBackup };

export type PurseEvent =
  | { type: 'withdraw'; now: number; prepared: CoinSecret[] }
  | { type: 'pay'; now: number; payee: string; reference: string; amount: Amount; change?: { coinIds: string[]; prepared: CoinSecret[] } }
  | { type: 'renew'; now: number; coinIds: string[]; prepared: CoinSecret[] }
  /** An account transfer: the order signed by the account key outside the step (service.ts). */
  | { type: 'transfer'; now: number; order: Statement }
  | { type: 'denominations'; now: number; list: Statement }
  | { type: 'restore'; now: number; backup: PurseBackup };

export interface PurseContext {
  random: RandomSource;
  /** The state's list, verified (undefined at start: start verifies the list it is given). */
  denominations?: DenominationSet;
  accountSigner?: Signer;
}

type Result = { state: PurseState; send: HostOutbound[]; effects: HostEffect[] };

/**
 * A wallet send as the host's: a request to the bank, or the coins to unblind with each one's
 * denomination key (from the purse's list, verified when it was stored; the wallet machine checks
 * the coins against the verified set whatever the task answers).
 */
function toOutbound(send: WalletSend, state: PurseState): HostOutbound {
  if (send.kind === 'unblind') {
    const keys = new Map(listBody(state.denominations).denominations.map((d) => [d.id, d.rsaPublicKey]));
    return {
      kind: 'unblind',
      // A denomination the list no longer names (never thrown here: pendingSends runs at every
      // start) goes without a key, and the task refuses it; the machine refuses such coins anyway.
      coins: send.coins.map((c) => ({ ...c, rsaPublicKey: keys.get(c.denominationId) ?? '' })),
    };
  }
  if (send.to !== 'bank') throw new SemperError('ERR_INTERNAL', `a purse talks only to its bank, not to the ${send.to}`);
  return { kind: 'http', to: 'bank', path: send.path, body: send.body };
}

function openingOutbound(request: Statement): HttpOutbound {
  return { kind: 'http', to: 'bank', path: ACCOUNT_OPENING_PATH, body: { request } };
}

function transferOutbound(order: Statement): HttpOutbound {
  return { kind: 'http', to: 'bank', path: TRANSFER_PATH, body: { request: order } };
}

const transfersOf = (state: PurseState): AccountTransfer[] => state.transfers ?? [];

function withTransfer(state: PurseState, t: AccountTransfer): PurseState {
  return { ...state, transfers: [...transfersOf(state).filter((x) => x.reference !== t.reference), t] };
}

function walletCtx(ctx: PurseContext): WalletContext {
  if (!ctx.denominations) throw new SemperError('ERR_INTERNAL', 'the purse has no verified denomination list');
  return { random: ctx.random, denominations: ctx.denominations, ...(ctx.accountSigner ? { accountSigner: ctx.accountSigner } : {}) };
}

function delay(attempts: number): number {
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 16));
}

function withHistory(state: PurseState, entries: HistoryEntry[]): PurseState {
  if (entries.length === 0) return state;
  return { ...state, history: [...state.history, ...entries].slice(-HISTORY_MAX) };
}

function sumValues(state: WalletState, coinIds: readonly string[]): Amount | undefined {
  const coins = state.coins.filter((c) => coinIds.includes(c.coinId));
  if (coins.length === 0) return undefined;
  return { amount: coins.reduce((n, c) => n + c.value.amount, 0), currency: coins[0]!.value.currency };
}

/** One cashWallet step inside the purse: its sends become the host's, its effects the purse's history and intents. */
async function walletStep(state: PurseState, event: WalletEvent, ctx: PurseContext, extra: HistoryEntry[] = []): Promise<Result> {
  const wctx = walletCtx(ctx);
  const before = state.wallet;
  const r = await cashWallet.step(before, event, wctx);
  let next: PurseState = { ...state, wallet: r.state };
  const effects: HostEffect[] = [];
  const history: HistoryEntry[] = [...extra];
  const send: HostOutbound[] = r.send.map((x) => toOutbound(x, next));
  const now = event.now;
  for (const e of r.effects as WalletEffect[]) {
    switch (e.kind) {
      case 'archive':
        effects.push({ kind: 'archive', statement: e.statement, direction: 'received' });
        break;
      case 'coins-added': {
        const amount = sumValues(r.state, e.coinIds);
        const op = before.pending.find((p) => p.requestId === e.requestId);
        history.push({
          at: now,
          kind: e.operation,
          requestId: e.requestId,
          ...(amount ? { amount } : {}),
          ...(op?.kind === 'refund' ? { reference: op.reference } : {}),
          coins: e.coinIds.length,
        });
        break;
      }
      case 'paid': {
        const op = before.pending.find((p) => p.requestId === e.requestId);
        history.push({
          at: now,
          kind: 'payment',
          requestId: e.requestId,
          reference: e.reference,
          proof: e.proof,
          ...(op?.kind === 'payment' ? { payee: op.payee, amount: op.value } : {}),
        });
        next = {
          ...next,
          payments: next.payments.map((p) => (p.phase === 'paying' && p.requestId === e.requestId ? { ...p, phase: 'paid' as const, proof: e.proof } : p)),
        };
        break;
      }
      case 'double-spent': {
        const coin = r.state.coins.find((c) => c.coinId === e.coinId);
        const reference = (e.proof.body as { reference?: unknown } | undefined)?.reference;
        history.push({
          at: now,
          kind: 'double-spend',
          coinId: e.coinId,
          proof: e.proof,
          ...(coin ? { amount: coin.value } : {}),
          ...(typeof reference === 'string' ? { reference } : {}),
        });
        break;
      }
      case 'failed':
        history.push({ at: now, kind: 'failed', requestId: e.requestId, operation: e.operation, error: e.error });
        next = {
          ...next,
          payments: next.payments.map((p) =>
            (p.phase === 'paying' || p.phase === 'change') && p.requestId === e.requestId ? { ...p, phase: 'failed' as const, error: e.error } : p,
          ),
        };
        break;
    }
  }
  next = withHistory(next, history);
  // Payments waiting for change whose refresh is done: pay now (in this step, so the state that
  // leaves with the deposit is the one persisted).
  for (const intent of next.payments) {
    if (intent.phase !== 'change' || intent.requestId === '' || next.wallet.pending.some((p) => p.requestId === intent.requestId)) continue;
    const paid = await startPayment(next, intent, ctx, now);
    next = paid.state;
    send.push(...paid.send);
  }
  return { state: next, send, effects };
}

/** Pay `intent` from the coins at hand (exact), or fail it: its change is in the wallet now. */
async function startPayment(state: PurseState, intent: PaymentIntent, ctx: PurseContext, now: number): Promise<{ state: PurseState; send: HostOutbound[] }> {
  const wctx = walletCtx(ctx);
  const coinIds = selectCoins(state.wallet, wctx.denominations, intent.amount, now);
  const replace = (p: PaymentIntent) => (next: PurseState, changed: PaymentIntent) => ({
    ...next,
    payments: next.payments.map((x) => (x.reference === p.reference ? changed : x)),
  });
  if (!coinIds) {
    const error = { code: 'ERR_INSUFFICIENT_FUNDS', message: `no coins paying exactly ${intent.amount.amount} ${intent.amount.currency}` };
    const failed = replace(intent)(state, { ...intent, phase: 'failed', error });
    return { state: withHistory(failed, [{ at: now, kind: 'failed', operation: 'payment', reference: intent.reference, error }]), send: [] };
  }
  const r = await cashWallet.step(state.wallet, { type: 'pay', now, coinIds, payee: intent.payee, reference: intent.reference, to: 'bank' }, wctx);
  const op = r.state.pending.find((p) => !state.wallet.pending.some((q) => q.requestId === p.requestId))!;
  return {
    state: replace(intent)({ ...state, wallet: r.state }, { ...intent, phase: 'paying', requestId: op.requestId }),
    send: r.send.map((x) => toOutbound(x, state)),
  };
}

async function start(params: PurseParams & { origin: string; now: number }, ctx: PurseContext): Promise<Result> {
  // The list must be the pinned bank's before anything of it is kept.
  await verifyDenominationList(params.denominations, { bankKeyId: params.bankKeyId });
  const dealId = `purse-${ctx.random.id(16)}`;
  const base = {
    dealId,
    bankUrl: params.origin,
    bankKeyId: params.bankKeyId,
    accountKeyId: params.accountKeyId,
    denominations: params.denominations,
  };
  if ('opening' in params) {
    const state: PurseState = {
      ...base,
      phase: 'opening',
      opening: { request: params.opening, attempts: 1, retryAt: null },
      wallet: { walletId: dealId, coins: [], pending: [] },
      payments: [],
      history: [],
    };
    return { state, send: [openingOutbound(params.opening)], effects: [] };
  }
  const b = params.restore;
  if (b.bankKeyId !== params.bankKeyId) throw new SemperError('ERR_ITEM_MISMATCH', 'the backup is of another bank');
  const coins = b.wallet.coins.map((c) =>
    c.status === 'locked' && !b.wallet.pending.some((p) => opCoins(p).includes(c.coinId)) ? { ...c, status: 'fresh' as const } : c,
  );
  const wallet: WalletState = { walletId: dealId, coins, pending: b.wallet.pending.map((p) => ({ ...p, retryAt: null })) };
  const state: PurseState = {
    ...base,
    phase: 'open',
    ...(b.account ? { account: b.account } : {}),
    wallet,
    payments: b.payments.filter((p) => p.phase === 'paid' || p.phase === 'failed'),
    ...(b.transfers?.length ? { transfers: b.transfers.map((x) => (x.phase === 'sending' ? { ...x, retryAt: null } : x)) } : {}),
    history: [...b.history, restoredEntry(params.now, coins)].slice(-HISTORY_MAX),
  };
  return {
    state,
    send: [
      ...wallet.pending.map((p) => toOutbound(currentSend(p), state)),
      ...transfersOf(state)
        .filter((x) => x.phase === 'sending')
        .map((x) => transferOutbound(x.order)),
    ],
    effects: [],
  };
}

/** The history entry of a restore: the coins (not spent) it brought, and their value. */
function restoredEntry(at: number, coins: readonly WalletState['coins'][number][]): HistoryEntry {
  const added = coins.filter((c) => c.status !== 'spent');
  const amount = added.length ? { amount: added.reduce((n, c) => n + c.value.amount, 0), currency: added[0]!.value.currency } : undefined;
  return { at, kind: 'restored', coins: added.length, ...(amount ? { amount } : {}) };
}

/** The coins an operation names: its inputs and the coins it is to make. */
function opCoins(op: PendingOperation): string[] {
  return [...('inputs' in op ? op.inputs : []), ...('secrets' in op ? op.secrets.map((s) => s.coinId) : [])];
}

async function onOpeningReply(state: PurseState, reply: WalletReply, now: number): Promise<Result> {
  const opening = state.opening!;
  if (reply.kind === 'error') {
    if (reply.status === undefined || reply.status >= 500 || reply.error.code === 'ERR_RATE_LIMITED') {
      return { state: { ...state, opening: { ...opening, retryAt: now + delay(opening.attempts) } }, send: [], effects: [] };
    }
    const error = { code: reply.error.code, message: reply.error.message };
    const { opening: _, ...rest } = state;
    return {
      state: withHistory({ ...rest, phase: 'failed', error }, [{ at: now, kind: 'failed', operation: 'account-opening', error }]),
      send: [],
      effects: [],
    };
  }
  const body = reply.body as { account?: unknown; receipt?: unknown };
  const verified = await verifyStatement(body?.receipt, { types: [ACCOUNT_OPENED_TYPE] });
  if ((await jwkThumbprint(verified.signerJwk)) !== state.bankKeyId) throw new SemperError('ERR_CERT_UNTRUSTED', 'account receipt not signed by the bank');
  const r = verified.statement.body as { account?: unknown; holder?: unknown; request?: unknown; funded?: Amount };
  if (
    typeof body.account !== 'string' ||
    r.account !== body.account ||
    r.holder !== state.accountKeyId ||
    r.request !== (await statementDigest(opening.request))
  ) {
    throw new SemperError('ERR_ITEM_MISMATCH', 'the account receipt is not for this request');
  }
  const { opening: _, ...rest } = state;
  const next = withHistory({ ...rest, phase: 'open', account: body.account }, [{ at: now, kind: 'opened', ...(r.funded ? { amount: r.funded } : {}) }]);
  return { state: next, send: [], effects: [{ kind: 'archive', statement: verified.statement as Statement, direction: 'received' }] };
}

async function onReply(state: PurseState, event: Extract<HostEvent, { type: 'reply' }>, ctx: PurseContext): Promise<Result> {
  const reply = event.reply as WalletReply;
  const sent = event.sent;
  // A purse sends only HTTP to its bank, and unblindings to its host.
  if (sent.kind === 'pay') return { state, send: [], effects: [] };
  if (sent.kind === 'http' && state.phase === 'opening' && sent.path === ACCOUNT_OPENING_PATH) {
    try {
      return await onOpeningReply(state, reply, event.now);
    } catch (e) {
      // Not the bank's answer to this request: ask again later (the bank answers it the same way once it can).
      if (!isSemperError(e)) throw e;
      const opening = state.opening!;
      return { state: { ...state, opening: { ...opening, retryAt: event.now + delay(opening.attempts) } }, send: [], effects: [] };
    }
  }
  if (sent.kind === 'http' && sent.path === TRANSFER_PATH) return onTransferReply(state, reply, sent, event.now);
  const sentJson = canonicalJson(sent);
  const op = state.wallet.pending.find((p) => canonicalJson(toOutbound(currentSend(p), state)) === sentJson);
  // A late or duplicated answer for something already settled moves nothing.
  if (!op) return { state, send: [], effects: [] };
  try {
    return await walletStep(state, { type: 'reply', now: event.now, sent: currentSend(op), reply }, ctx);
  } catch (e) {
    if (!isSemperError(e) || e.code === 'ERR_PROTOCOL_STATE') throw e;
    // An answer that does not check out (not the bank's, for another request, a bad signature): the
    // coins stay locked and the same request goes again later — the bank serves it once and repeats
    // its answer, so nothing is lost by asking again.
    const wallet = { ...state.wallet, pending: state.wallet.pending.map((p) => (p === op ? { ...p, retryAt: event.now + delay(p.attempts) } : p)) };
    return {
      state: withHistory({ ...state, wallet }, [
        { at: event.now, kind: 'failed', requestId: op.requestId, operation: op.kind, error: { code: e.code, message: e.message } },
      ]),
      send: [],
      effects: [],
    };
  }
}

async function onTimeout(state: PurseState, now: number, ctx: PurseContext): Promise<Result> {
  if (state.phase === 'opening') {
    const opening = state.opening!;
    if (opening.retryAt === null || opening.retryAt > now) return { state, send: [], effects: [] };
    return {
      state: { ...state, opening: { ...opening, attempts: opening.attempts + 1, retryAt: null } },
      send: [openingOutbound(opening.request)],
      effects: [],
    };
  }
  // Transfers the bank has not answered: the same order again (never a new one).
  const due = transfersOf(state).filter((x) => x.phase === 'sending' && x.retryAt !== null && x.retryAt <= now);
  let next = state;
  for (const x of due) next = withTransfer(next, { ...x, attempts: x.attempts + 1, retryAt: null });
  const r = await walletStep(next, { type: 'timeout', now }, ctx);
  return { ...r, send: [...due.map((x) => transferOutbound(x.order)), ...r.send] };
}

/**
 * An account transfer for a deal: the order (signed by the account key outside the step) is
 * recorded and sent. The same reference again returns what is recorded (no second order); with
 * another payee or amount it is ERR_REPLAY.
 */
async function onTransfer(state: PurseState, event: Extract<PurseEvent, { type: 'transfer' }>): Promise<Result> {
  requireOpen(state);
  const parsed = TransferOrderBody.safeParse(event.order.body);
  if (event.order.type !== ACCOUNT_TYPES.transfer || !parsed.success) throw new SemperError('ERR_SCHEMA', 'not a transfer order');
  const o = parsed.data;
  const existing = transfersOf(state).find((x) => x.reference === o.reference);
  if (existing) {
    if (existing.payee !== o.payee || canonicalJson(existing.amount) !== canonicalJson(o.amount))
      throw new SemperError('ERR_REPLAY', `deal ${o.reference} is already being paid with another payee or amount`);
    return { state, send: [], effects: [] };
  }
  if (o.payer !== state.account) throw new SemperError('ERR_ITEM_MISMATCH', "the order is not of this purse's account");
  const verified = await verifyStatement(event.order, { types: [ACCOUNT_TYPES.transfer] });
  if ((await jwkThumbprint(verified.signerJwk)) !== state.accountKeyId) throw new SemperError('ERR_FORBIDDEN', "the order is not signed by the account's key");
  if (o.amount.amount <= 0) throw new SemperError('ERR_SCHEMA', 'a transfer is of a positive amount');
  const t: AccountTransfer = {
    reference: o.reference,
    payee: o.payee,
    amount: o.amount,
    requestId: o.requestId,
    order: event.order,
    phase: 'sending',
    attempts: 1,
    retryAt: null,
    at: event.now,
  };
  return { state: withTransfer(state, t), send: [transferOutbound(event.order)], effects: [] };
}

/** The bank's answer to a transfer order: checked and recorded, or the refusal recorded, or (no answer) the same order later. */
async function onTransferReply(state: PurseState, reply: WalletReply, sent: HttpOutbound, now: number): Promise<Result> {
  const sentOrder = canonicalJson((sent.body as { request?: unknown } | undefined)?.request);
  const t = transfersOf(state).find((x) => x.phase === 'sending' && canonicalJson(x.order) === sentOrder);
  // A late or duplicated answer for something already settled moves nothing.
  if (!t) return { state, send: [], effects: [] };
  const later = (entries: HistoryEntry[] = []): Result => ({
    state: withHistory(withTransfer(state, { ...t, retryAt: now + delay(t.attempts) }), entries),
    send: [],
    effects: [],
  });
  if (reply.kind === 'error') {
    // No answer (or not now): the order may or may not have been served; the same order again, later.
    if (reply.status === undefined || reply.status >= 500 || reply.error.code === 'ERR_RATE_LIMITED') return later();
    // Refused: the bank's transfers are all or nothing, so nothing moved.
    const error = { code: reply.error.code, message: reply.error.message };
    const { answer: _a, retryAt: _r, ...rest } = t;
    return {
      state: withHistory(withTransfer(state, { ...rest, phase: 'failed', retryAt: null, error }), [
        { at: now, kind: 'failed', operation: 'transfer', requestId: t.requestId, reference: t.reference, error },
      ]),
      send: [],
      effects: [],
    };
  }
  try {
    const v = await verifyTransferAnswer(reply.body, {
      bankKeyId: state.bankKeyId,
      payee: t.payee,
      reference: t.reference,
      amount: t.amount,
      order: t.order,
      revocableUntil: (t.order.body as { revocableUntil?: number }).revocableUntil ?? null,
    });
    const done: AccountTransfer = { ...t, phase: 'done', retryAt: null, answer: v.answer };
    return {
      state: withHistory(withTransfer(state, done), [
        { at: now, kind: 'transfer', requestId: t.requestId, reference: t.reference, payee: t.payee, amount: t.amount, proof: v.answer.proof },
      ]),
      send: [],
      effects: [
        { kind: 'archive', statement: v.answer.receipt, direction: 'received' },
        { kind: 'archive', statement: v.answer.proof, direction: 'received' },
      ],
    };
  } catch (e) {
    if (!isSemperError(e)) throw e;
    // Not the bank's answer to this order: ask again later (the bank repeats its stored answer).
    return later([
      { at: now, kind: 'failed', operation: 'transfer', requestId: t.requestId, reference: t.reference, error: { code: e.code, message: e.message } },
    ]);
  }
}

function requireOpen(state: PurseState): void {
  if (state.phase !== 'open' || !state.account) throw new SemperError('ERR_PROTOCOL_STATE', `the purse is ${state.phase}`);
}

async function onPay(state: PurseState, event: Extract<PurseEvent, { type: 'pay' }>, ctx: PurseContext): Promise<Result> {
  requireOpen(state);
  const existing = state.payments.find((p) => p.reference === event.reference);
  if (existing && existing.phase !== 'failed') {
    if (existing.payee !== event.payee || canonicalJson(existing.amount) !== canonicalJson(event.amount))
      throw new SemperError('ERR_REPLAY', `deal ${event.reference} is already being paid with another payee or amount`);
    return { state, send: [], effects: [] };
  }
  if (event.amount.amount <= 0) throw new SemperError('ERR_SCHEMA', 'a payment is of a positive amount');
  const intent: PaymentIntent = { reference: event.reference, payee: event.payee, amount: event.amount, phase: 'change', requestId: '', at: event.now };
  const withIntent: PurseState = { ...state, payments: [...state.payments.filter((p) => p.reference !== event.reference), intent] };
  const wctx = walletCtx(ctx);
  if (selectCoins(state.wallet, wctx.denominations, event.amount, event.now)) {
    const r = await startPayment(withIntent, intent, ctx, event.now);
    return { state: r.state, send: r.send, effects: [] };
  }
  if (!event.change) throw new SemperError('ERR_INSUFFICIENT_FUNDS', `no coins paying exactly ${event.amount.amount} ${event.amount.currency}`);
  const before = state.wallet.pending;
  const r = await walletStep(withIntent, { type: 'refresh', now: event.now, coinIds: event.change.coinIds, prepared: event.change.prepared }, ctx);
  const refresh = r.state.wallet.pending.find((p) => !before.some((q) => q.requestId === p.requestId))!;
  return {
    ...r,
    state: { ...r.state, payments: r.state.payments.map((p) => (p.reference === event.reference ? { ...p, requestId: refresh.requestId } : p)) },
  };
}

/** Merge a backup into this purse: coins and operations it does not know; nothing it knows is changed. */
function onRestore(state: PurseState, backup: PurseBackup, now: number): Result {
  if (backup.bankKeyId !== state.bankKeyId) throw new SemperError('ERR_ITEM_MISMATCH', 'the backup is of another bank');
  const known = new Set(state.wallet.coins.map((c) => c.coinId));
  for (const p of state.wallet.pending) for (const id of opCoins(p)) known.add(id);
  const knownOps = new Set(state.wallet.pending.map((p) => p.requestId));
  // Operations in flight when the backup was made, none of whose coins this purse knows: they go again
  // (the bank serves a request id once and repeats its answer; a withdrawal already debited is finalised).
  const ops = backup.wallet.pending.filter((p) => !knownOps.has(p.requestId) && opCoins(p).every((id) => !known.has(id)));
  const opCoinIds = new Set(ops.flatMap(opCoins));
  const coins = backup.wallet.coins
    .filter((c) => !known.has(c.coinId))
    .map((c) => (c.status === 'locked' && !opCoinIds.has(c.coinId) ? { ...c, status: 'fresh' as const } : c));
  const pending = ops.map((p) => ({ ...p, retryAt: null }));
  const history = backup.history.filter((h) => !state.history.some((x) => x.at === h.at && x.kind === h.kind && x.requestId === h.requestId));
  const knownRefs = new Set(transfersOf(state).map((x) => x.reference));
  const transfers = (backup.transfers ?? []).filter((x) => !knownRefs.has(x.reference)).map((x) => (x.phase === 'sending' ? { ...x, retryAt: null } : x));
  const next: PurseState = {
    ...state,
    ...(transfers.length ? { transfers: [...transfersOf(state), ...transfers] } : {}),
    wallet: { ...state.wallet, coins: [...state.wallet.coins, ...coins], pending: [...state.wallet.pending, ...pending] },
    history: [...state.history, ...history].sort((a, b) => a.at - b.at).slice(-HISTORY_MAX),
  };
  return {
    state: withHistory(next, [restoredEntry(now, coins)]),
    send: [...pending.map((p) => toOutbound(currentSend(p), next)), ...transfers.filter((x) => x.phase === 'sending').map((x) => transferOutbound(x.order))],
    effects: [],
  };
}

export const purseMachine: Machine<PurseState, PurseEvent | HostEvent, PurseContext, HostOutbound, HostEffect, PurseParams & { origin: string; now: number }> =
  {
    kind: 'purse',
    start,
    async step(state, event, ctx) {
      if (state.phase === 'failed') throw new SemperError('ERR_PROTOCOL_STATE', 'the purse could not be opened');
      switch (event.type) {
        case 'reply':
          return onReply(state, event, ctx);
        case 'timeout':
          return onTimeout(state, event.now, ctx);
        case 'withdraw':
          requireOpen(state);
          return walletStep(state, { type: 'withdraw', now: event.now, account: state.account!, prepared: event.prepared }, ctx);
        case 'renew':
          requireOpen(state);
          return walletStep(state, { type: 'refresh', now: event.now, coinIds: event.coinIds, prepared: event.prepared }, ctx);
        case 'pay':
          return onPay(state, event, ctx);
        case 'transfer':
          return onTransfer(state, event);
        case 'denominations': {
          await verifyDenominationList(event.list, { bankKeyId: state.bankKeyId });
          if (canonicalJson(event.list) === canonicalJson(state.denominations)) return { state, send: [], effects: [] };
          return { state: { ...state, denominations: event.list }, send: [], effects: [] };
        }
        case 'restore':
          return onRestore(state, event.backup, event.now);
        default:
          throw new SemperError('ERR_PROTOCOL_STATE', `a purse takes no ${(event as { type: string }).type}`);
      }
    },
    pendingSends(state) {
      if (state.phase === 'opening') return state.opening ? [openingOutbound(state.opening.request)] : [];
      if (state.phase !== 'open') return [];
      return [
        ...cashWallet.pendingSends(state.wallet).map((x) => toOutbound(x, state)),
        ...transfersOf(state)
          .filter((x) => x.phase === 'sending')
          .map((x) => transferOutbound(x.order)),
      ];
    },
    wakeAt(state) {
      if (state.phase === 'opening') return state.opening?.retryAt ?? null;
      if (state.phase !== 'open') return null;
      const times = [cashWallet.wakeAt(state.wallet), ...transfersOf(state).map((x) => (x.phase === 'sending' ? x.retryAt : null))].filter(
        (x): x is number => x !== null,
      );
      return times.length ? Math.min(...times) : null;
    },
    isTerminal: (state) => state.phase === 'failed',
  };

/** What a backup keeps of a purse. */
export function purseBackup(state: PurseState): PurseBackup {
  return {
    bankUrl: state.bankUrl,
    bankKeyId: state.bankKeyId,
    ...(state.account ? { account: state.account } : {}),
    accountKeyId: state.accountKeyId,
    denominations: state.denominations,
    wallet: state.wallet,
    history: state.history,
    payments: state.payments,
    ...(state.transfers?.length ? { transfers: state.transfers } : {}),
  };
}

export interface WalletKindDeps {
  random: RandomSource;
  /** The signer of the key an account is bound to (the key store's 'account' key of that id). */
  accountSigner(keyId: string): Promise<Signer | undefined>;
}

/** The purse in the worker's host: one per bank (the bank's URL is its origin), never holding a window. */
export function walletKind(deps: WalletKindDeps): DealKindRegistration<PurseState, PurseEvent, PurseContext, PurseParams> {
  const lists = new Map<string, Promise<DenominationSet>>();
  const verified = (state: PurseState): Promise<DenominationSet> => {
    const key = `${state.bankKeyId} ${state.denominations.signature.value}`;
    let set = lists.get(key);
    if (!set) {
      if (lists.size > 16) lists.clear();
      set = verifyDenominationList(state.denominations, { bankKeyId: state.bankKeyId });
      lists.set(key, set);
      set.catch(() => lists.delete(key));
    }
    return set;
  };
  return {
    kind: 'wallet',
    machine: purseMachine,
    async context(deal) {
      if (!deal.state) return { random: deps.random };
      const signer = await deps.accountSigner(deal.state.accountKeyId).catch(() => undefined);
      return { random: deps.random, denominations: await verified(deal.state), ...(signer ? { accountSigner: signer } : {}) };
    },
    roots: () => [],
    holdsWindow: () => false,
    // One purse per bank; opening more than a few a minute is not a user's doing.
    maxActivePerOrigin: 1,
    maxPerOriginPerWindow: 5,
    rateWindowMs: 60_000,
    noun: 'purses',
  };
}
