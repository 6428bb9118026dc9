/**
 * The shopper's side of an exchange deal (certified mail, contract signing; exchange-deal.ts) as
 * one machine on the contract (core/machine.ts): the descriptor → confirm phases and then the
 * shopper's *originator* of the generic fair exchange (core/exchange), whose state it carries.
 *
 *   requesting-descriptor  POST the descriptor request to the page's origin (a fresh deal id and
 *                          nonce, the use and document id: no key of the shopper's); the answer
 *                          is verified (verifyExchangeDescriptor) before anything is shown
 *   awaiting-confirmation  the trusted window shows the verified view; the user decides
 *   exchanging             confirmed: the items are derived for the key the deal is signed with
 *                          (the first time any key of the shopper's leaves: in m1), the shopper's
 *                          item is signed, the originator started; its
 *                          messages go to the merchant, its requests to the TTP at the URL the
 *                          user configured for that TTP (never one a merchant named)
 *   awaiting-ttp           the originator has asked the TTP and waits for its decision: it never
 *                          gives up (something of value may have left) and re-asks with back-off;
 *                          the popup says: waiting for the third party
 *   completed | resolved | aborted   the page's answer (ExchangeOutcomeForPage)
 *   failed | rejected      a typed error, or the user declined
 *
 * Transport answers come back as `reply` events; the machine decides whether they still matter.
 */
import { SemperError, errorToJson, isSemperError } from '../errors.js';
import type { Signer } from '../crypto/keys.js';
import type { Machine, RandomSource, StepResult, TransportReply } from '../machine.js';
import type { RevocationCheck } from '../pki/certificates.js';
import type { Statement } from '../statements/index.js';
import type { ExchangeOutcomeForPage } from '../protocol/provider.js';
import {
  startOriginator,
  stepExchange,
  type ExchangeContext,
  type ExchangeEvent,
  type ExchangeState,
  type Outbound as ExchangeOutbound,
  type StepResult as ExchangeStep,
} from '../exchange/index.js';
import type { ErrorInfo } from './shopper.js';
import {
  agreedQuorum,
  confirmedItems,
  signFixedStatement,
  ttpStillTrusted,
  agreedExchangeContext,
  verifyExchangeDescriptor,
  type DescriptorBody,
  type DescriptorRequest,
  type ExchangeAgreement,
  type ExchangeUse,
  type TrustedTtpEntry,
  type VerifiedExchangeView,
} from './exchange-deal.js';
import type { TtpPolicy } from './ttp-policy.js';

export interface ExchangeShopperContext {
  /** Deal ids, nonces, the exchange's own nonces. */
  random: RandomSource;
  /** The key this browser signs the exchange with (the identity key): used from confirmation on, never named before. */
  signer: Signer;
  /** Trusted CA roots (a setting). */
  roots: readonly string[];
  /** Trusted TTPs (a setting). */
  ttps: readonly TrustedTtpEntry[];
  /** Which trusted TTPs may guarantee an exchange, and k (a setting; core/commerce/ttp-policy.ts); null: the merchant's one TTP. */
  ttpPolicy?: TtpPolicy | null;
  isRevoked?: RevocationCheck;
}

export interface ExchangeDealParams {
  /** The page's origin, from the browser. */
  origin: string;
  use: ExchangeUse;
  documentId: string;
  now: number;
}

export type ExchangeDealOutbound =
  | { kind: 'http'; to: 'merchant'; path: '/semper/exchange/descriptor'; body: DescriptorRequest }
  | { kind: 'http'; to: 'merchant'; path: '/semper/exchange/messages'; body: { message: Statement } }
  /** `url`: where the user said this TTP is reached (the agreement's, from the setting). */
  | { kind: 'http'; to: 'ttp'; url: string; path: '/ttp/requests'; body: { request: Statement } };

export type ExchangeDealEvent =
  | { type: 'descriptor-response'; response: unknown; now: number }
  | { type: 'transport-error'; error: ErrorInfo; now: number }
  | { type: 'user-confirmed'; now: number }
  | { type: 'user-rejected'; now: number }
  | { type: 'reply'; sent: ExchangeDealOutbound; reply: TransportReply; now: number }
  | ExchangeEvent;

export type ExchangeDealEffect =
  | { kind: 'show-offer'; dealId: string; view: VerifiedExchangeView }
  | { kind: 'archive'; dealId: string; statement: Statement; direction: 'sent' | 'received' }
  | { kind: 'finished'; dealId: string; outcome: ExchangeOutcomeForPage }
  | { kind: 'failed'; dealId: string; error: ErrorInfo }
  | { kind: 'rejected'; dealId: string }
  /** A message the exchange refused (kept for the popup; the deal goes on). */
  | { kind: 'problem'; dealId: string; error: ErrorInfo };

interface Common {
  dealId: string;
  origin: string;
  use: ExchangeUse;
  documentId: string;
  /** The fresh nonce the merchant's descriptor must echo. */
  nonce: string;
  startedAt: number;
}

/** What a verified descriptor established. */
interface Agreed {
  descriptor: Statement<DescriptorBody>;
  view: VerifiedExchangeView;
  agreement: ExchangeAgreement;
}

export type ExchangeDealState =
  | (Common & { phase: 'requesting-descriptor' })
  | (Common & Agreed & { phase: 'awaiting-confirmation' })
  | (Common & Agreed & { phase: Running; exchange: ExchangeState; lastProblem?: ErrorInfo })
  | (Common &
      Agreed & {
        phase: 'completed' | 'resolved' | 'aborted';
        exchange: ExchangeState;
        outcome: ExchangeOutcomeForPage;
        lastProblem?: ErrorInfo;
        endedAt: number;
      })
  | (Common & Partial<Agreed> & { phase: 'failed'; error: ErrorInfo; exchange?: ExchangeState; lastProblem?: ErrorInfo; endedAt: number })
  | (Common & Partial<Agreed> & { phase: 'rejected'; endedAt: number });

export type ExchangeDealPhase = ExchangeDealState['phase'];

/** The phases of a confirmed exchange that runs: 'awaiting-ttp' while the originator waits for the TTP's decision. */
type Running = 'exchanging' | 'awaiting-ttp';
type RunningState = Extract<ExchangeDealState, { phase: Running }>;

function isRunning(state: ExchangeDealState): state is RunningState {
  return state.phase === 'exchanging' || state.phase === 'awaiting-ttp';
}

/** The running phase that says what the originator waits for. */
function runningPhase(exchange: ExchangeState): Running {
  return exchange.phase === 'awaiting-ttp' ? 'awaiting-ttp' : 'exchanging';
}
export type ExchangeDealStep = StepResult<ExchangeDealState, ExchangeDealOutbound, ExchangeDealEffect>;

/** At most this many replies of one merchant answer are taken (a merchant cannot make the worker loop). */
const MAX_REPLIES = 8;

function common(s: ExchangeDealState): Common {
  return { dealId: s.dealId, origin: s.origin, use: s.use, documentId: s.documentId, nonce: s.nonce, startedAt: s.startedAt };
}

function agreed(s: ExchangeDealState): Partial<Agreed> {
  return 'descriptor' in s && s.descriptor && s.view && s.agreement ? { descriptor: s.descriptor, view: s.view, agreement: s.agreement } : {};
}

function unchanged(state: ExchangeDealState): ExchangeDealStep {
  return { state, send: [], effects: [] };
}

function fail(state: ExchangeDealState, error: ErrorInfo, now: number, effects: ExchangeDealEffect[] = []): ExchangeDealStep {
  const exchange = 'exchange' in state && state.exchange ? { exchange: state.exchange } : {};
  return {
    state: { ...common(state), ...agreed(state), ...exchange, phase: 'failed', error, endedAt: now },
    send: [],
    effects: [...effects, { kind: 'failed', dealId: state.dealId, error }],
  };
}

function descriptorRequest(s: Extract<ExchangeDealState, { phase: 'requesting-descriptor' }>): ExchangeDealOutbound {
  return {
    kind: 'http',
    to: 'merchant',
    path: '/semper/exchange/descriptor',
    body: { dealId: s.dealId, nonce: s.nonce, use: s.use, documentId: s.documentId },
  };
}

function toHttp(agreement: ExchangeAgreement, o: ExchangeOutbound): ExchangeDealOutbound {
  if (o.to === 'peer') return { kind: 'http', to: 'merchant', path: '/semper/exchange/messages', body: { message: o.statement } };
  return { kind: 'http', to: 'ttp', url: ttpUrl(agreement, o.ttp), path: '/ttp/requests', body: { request: o.statement } };
}

/** Where the user reaches a TTP of the exchange (k-of-n: the one the request is for; the set's TTPs only). */
function ttpUrl(agreement: ExchangeAgreement, keyId: string | undefined): string {
  if (keyId === undefined || !agreement.quorum) return agreement.ttp.url;
  const ttp = agreement.quorum.ttps.find((t) => t.keyId === keyId);
  if (!ttp) throw new SemperError('ERR_TTP', `a request for TTP ${keyId}, which is not of this exchange's set`);
  return ttp.url;
}

export function pendingExchangeDealSends(state: ExchangeDealState): ExchangeDealOutbound[] {
  if (state.phase === 'requesting-descriptor') return [descriptorRequest(state)];
  if (isRunning(state)) return state.exchange.outbox.map((o) => toHttp(state.agreement, o));
  return [];
}

export function isTerminalExchangeDeal(state: ExchangeDealState): boolean {
  return state.phase !== 'requesting-descriptor' && state.phase !== 'awaiting-confirmation' && !isRunning(state);
}

function exchangeContext(state: Agreed, ctx: ExchangeShopperContext): ExchangeContext {
  return agreedExchangeContext(state.agreement, ctx);
}

export async function startExchangeDeal(p: ExchangeDealParams, ctx: Pick<ExchangeShopperContext, 'random'>): Promise<ExchangeDealStep> {
  const state: ExchangeDealState = {
    phase: 'requesting-descriptor',
    dealId: ctx.random.id(24),
    origin: p.origin,
    use: p.use,
    documentId: p.documentId,
    nonce: ctx.random.id(32),
    startedAt: p.now,
  };
  return { state, send: pendingExchangeDealSends(state), effects: [] };
}

async function receiveDescriptor(
  state: Extract<ExchangeDealState, { phase: 'requesting-descriptor' }>,
  response: unknown,
  now: number,
  ctx: ExchangeShopperContext,
): Promise<ExchangeDealStep> {
  let verified: Awaited<ReturnType<typeof verifyExchangeDescriptor>>;
  try {
    verified = await verifyExchangeDescriptor(
      response,
      { dealId: state.dealId, nonce: state.nonce, origin: state.origin, use: state.use, documentId: state.documentId },
      now,
      { roots: ctx.roots, ttps: ctx.ttps, policy: ctx.ttpPolicy ?? null, ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
    );
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return fail(state, errorToJson(e), now);
  }
  return {
    state: { ...common(state), phase: 'awaiting-confirmation', descriptor: verified.descriptor, view: verified.view, agreement: verified.agreement },
    send: [],
    effects: [
      { kind: 'archive', dealId: state.dealId, statement: verified.descriptor, direction: 'received' },
      { kind: 'show-offer', dealId: state.dealId, view: verified.view },
    ],
  };
}

async function confirm(
  state: Extract<ExchangeDealState, { phase: 'awaiting-confirmation' }>,
  now: number,
  ctx: ExchangeShopperContext,
): Promise<ExchangeDealStep> {
  const a = state.agreement;
  try {
    // The user may take longer than the descriptor lives, or change settings meanwhile.
    if (now >= a.expiresAt) throw new SemperError('ERR_OFFER_EXPIRED', `the merchant's proposal expired at ${new Date(a.expiresAt).toISOString()}`);
    if (!ttpStillTrusted(state.view, ctx.ttps)) throw new SemperError('ERR_TTP', `the TTP "${state.view.ttp.name}" is no longer among the TTPs you trust`);
    const quorum = agreedQuorum(a);
    // The key the deal is signed with is bound now, in m1 (the descriptor named none): derive what each side gives for it.
    const items = confirmedItems(state.descriptor, a, ctx.signer.keyId);
    const item = await signFixedStatement(items.shopperGives, state.dealId, ctx.signer, now);
    const started = await startOriginator(
      {
        protocol: a.protocol,
        dealId: state.dealId,
        responder: { keyId: a.merchantKeyId },
        // The TTP as the descriptor agreed it: its key (where the user reaches it is the user's setting, not part of the agreement).
        ttp: { keyId: a.ttp.keyId },
        // k-of-n: the set and k the shopper chose with its policy from the merchant's TTPs (m1 names it; signed).
        ...(quorum ? { quorum } : {}),
        gives: items.shopperGives,
        item,
        expects: items.merchantGives,
        now,
        timeouts: a.timeouts,
        // The merchant's signed terms, as shown; the merchant's responder checks m1 carries exactly these.
        ...(state.descriptor.body.terms !== undefined ? { terms: state.descriptor.body.terms } : {}),
      },
      exchangeContext(state, ctx),
    );
    return applyExchange({ ...state, phase: runningPhase(started.state), exchange: started.state }, started, now, true);
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return fail(state, errorToJson(e), now);
  }
}

/** Fold one originator step into the deal: archive, problems, the outcome, the sends. */
function applyExchange(state: RunningState, res: ExchangeStep, now: number, started = false): ExchangeDealStep {
  const effects: ExchangeDealEffect[] = [];
  let lastProblem = state.lastProblem;
  let next: ExchangeDealState = { ...state, phase: runningPhase(res.state), exchange: res.state };
  for (const effect of res.effects) {
    if (effect.kind === 'archive') effects.push({ kind: 'archive', dealId: state.dealId, statement: effect.statement, direction: effect.direction });
    else if (effect.kind === 'rejected-message') {
      lastProblem = effect.error;
      effects.push({ kind: 'problem', dealId: state.dealId, error: effect.error });
    } else {
      const outcome = effect.outcome;
      // The TTP's affidavit is evidence in its own right: archive it beside the resolution.
      if (outcome.status === 'resolved' && outcome.replacement)
        effects.push({ kind: 'archive', dealId: state.dealId, statement: outcome.replacement, direction: 'received' });
      const problem = lastProblem ? { lastProblem } : {};
      if (outcome.status === 'failed') {
        const error = { code: 'ERR_TTP', message: outcome.reason };
        next = { ...common(state), ...agreed(state), exchange: res.state, ...problem, phase: 'failed', error, endedAt: now };
        effects.push({ kind: 'failed', dealId: state.dealId, error });
      } else {
        // The deal's uses never run revocable↔revocable; a revocation would be an abort for the page.
        const status = outcome.status === 'revoked' ? 'aborted' : outcome.status;
        const pageOutcome: ExchangeOutcomeForPage = {
          dealId: state.dealId,
          status,
          use: state.use,
          exchangeId: res.state.exchangeId!,
          title: state.agreement.title,
        };
        next = {
          ...common(state),
          descriptor: state.descriptor,
          view: state.view,
          agreement: state.agreement,
          exchange: res.state,
          ...problem,
          phase: status,
          outcome: pageOutcome,
          endedAt: now,
        };
        effects.push({ kind: 'finished', dealId: state.dealId, outcome: pageOutcome });
      }
    }
  }
  if (isRunning(next) && lastProblem) next = { ...next, lastProblem };
  if (!started && res.state === state.exchange && effects.length === 0 && res.send.length === 0) return unchanged(state);
  return { state: next, send: res.send.map((o) => toHttp(state.agreement, o)), effects };
}

async function exchangeStep(state: RunningState, event: ExchangeEvent, ctx: ExchangeShopperContext): Promise<ExchangeDealStep> {
  // The exchange must finish with the key that signed m1.
  if (ctx.signer.keyId !== state.exchange.self.keyId) throw new SemperError('ERR_KEY', 'the key this exchange was signed with is no longer available');
  return applyExchange(state, await stepExchange(state.exchange, event, exchangeContext(state, ctx)), event.now);
}

async function onReply(state: ExchangeDealState, event: Extract<ExchangeDealEvent, { type: 'reply' }>, ctx: ExchangeShopperContext): Promise<ExchangeDealStep> {
  const { sent, reply, now } = event;
  if (sent.path === '/semper/exchange/descriptor') {
    if (state.phase !== 'requesting-descriptor') return unchanged(state);
    if (reply.kind === 'error') return stepExchangeDeal(state, { type: 'transport-error', error: reply.error, now }, ctx);
    return receiveDescriptor(state, reply.body, now, ctx);
  }
  if (!isRunning(state)) return unchanged(state);
  if (sent.to === 'merchant') {
    // A merchant that refused or is down: the exchange's timers decide what happens next.
    if (reply.kind === 'error') return unchanged(state);
    const replies = (reply.body as { replies?: unknown } | null)?.replies;
    if (!Array.isArray(replies)) return unchanged(state);
    let result: ExchangeDealStep = unchanged(state);
    for (const message of replies.slice(0, MAX_REPLIES)) {
      if (!isRunning(result.state)) break;
      const next = await exchangeStep(result.state, { type: 'message', message, now, from: 'peer' }, ctx);
      result = { state: next.state, send: [...result.send, ...next.send], effects: [...result.effects, ...next.effects] };
    }
    return result;
  }
  if (reply.kind === 'error') return exchangeStep(state, { type: 'ttp-error', error: reply.error, now }, ctx);
  return exchangeStep(state, { type: 'message', message: (reply.body as { answer?: unknown } | null)?.answer, now, from: 'ttp' }, ctx);
}

export async function stepExchangeDeal(state: ExchangeDealState, event: ExchangeDealEvent, ctx: ExchangeShopperContext): Promise<ExchangeDealStep> {
  if (event.type === 'reply') return onReply(state, event, ctx);
  switch (state.phase) {
    case 'requesting-descriptor':
      if (event.type === 'descriptor-response') return receiveDescriptor(state, event.response, event.now, ctx);
      if (event.type === 'transport-error') {
        const code = /^ERR_[A-Z_]+$/.test(event.error.code) && event.error.code !== 'ERR_INTERNAL' ? 'ERR_OFFER_UNKNOWN' : 'ERR_INTERNAL';
        return fail(state, { code, message: `merchant refused or unreachable: ${event.error.code} ${event.error.message}` }, event.now);
      }
      if (event.type === 'user-rejected') return reject(state, event.now);
      break;
    case 'awaiting-confirmation':
      if (event.type === 'user-confirmed') return confirm(state, event.now, ctx);
      if (event.type === 'user-rejected') return reject(state, event.now);
      break;
    case 'exchanging':
    case 'awaiting-ttp':
      if (event.type === 'message' || event.type === 'timeout' || event.type === 'ttp-error' || event.type === 'resume') return exchangeStep(state, event, ctx);
      break;
    default:
      break;
  }
  throw new SemperError('ERR_PROTOCOL_STATE', `exchange ${state.dealId} is ${state.phase}: ${event.type} is not expected`);
}

function reject(state: ExchangeDealState, now: number): ExchangeDealStep {
  return { state: { ...common(state), ...agreed(state), phase: 'rejected', endedAt: now }, send: [], effects: [{ kind: 'rejected', dealId: state.dealId }] };
}

/** The shopper's exchange-deal role on the machine contract. */
export const exchangeShopper: Machine<
  ExchangeDealState,
  ExchangeDealEvent,
  ExchangeShopperContext,
  ExchangeDealOutbound,
  ExchangeDealEffect,
  ExchangeDealParams
> = {
  kind: 'exchange',
  start: startExchangeDeal,
  step: stepExchangeDeal,
  pendingSends: pendingExchangeDealSends,
  wakeAt: (state) => (isRunning(state) ? state.exchange.wakeAt : null),
  isTerminal: isTerminalExchangeDeal,
};
