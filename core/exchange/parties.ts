/**
 * The two roles of the generic optimistic fair-exchange protocols, as sans-IO state machines:
 *
 *   step(state, event, ctx) → Promise<{ state, send, effects }>
 *
 * (async only because WebCrypto is). One machine serves the three protocols; the differences
 * are confined to the m2/m3/m4 transitions and the escalation rules below.
 *
 * Contract signing (ASW, both items generatable), originator O, responder R:
 *   m1  O→R  propose{O, R, T, descriptions, h(nO)}           O may ABORT until m2 arrives
 *   m2  R→O  accept{h(m1), h(nR)}                             R may RESOLVE(m1, m2) from now on
 *   m3  O→R  deliver{item_O, nO, h(nR)}                       O may RESOLVE(m1, m2) from now on
 *   m4  R→O  deliver{item_R, nR, h(nO)}
 *   O never sends m3 after asking for an abort; R never sends m2 for a proposal it cannot check.
 *
 * Generatable ↔ verifiable (paper Figure 4), O's item generatable, R's externally verifiable:
 *   m1  O→R  propose{…, deadline}
 *   m2  R→O  accept{h(m1), item_R}        (agreement and the verifiable transfer in one message)
 *   m3  O→R  deliver{item_O}              only after item_R matched its description
 *   R without m3 complains (m1, m2) before deadline−margin; the TTP checks item_R and, iff it
 *   matches, resolves: an affidavit replaces item_O for R and item_R is forwarded to O.
 *   O without a good m2 asks the TTP after deadline+margin: it then gets the resolution if R
 *   complained in time, or an abort token (and R's later complaints get the same token).
 *
 * Revocable ↔ revocable:
 *   m1 O→R propose, m2 R→O accept{item_R}, m3 O→R deliver{item_O} (only after item_R matched).
 *   Either side without what it expects complains before deadline−margin: the TTP orders both
 *   transfers revoked (a revocation order the banks/statement terms honour until the deadline).
 *   After the deadline the TTP declares the exchange final instead. So neither side reports
 *   completion on the main protocol alone: after deadline+margin each asks the TTP for its final
 *   word (a resolve request) and ends completed (final) or revoked — the TTP's decision reaches
 *   both parties, a revocation is never silently undone behind a "completed".
 */
import { SemperError, isSemperError } from '../errors.js';
import type { Machine } from '../machine.js';
import { matchItem } from '../items/match.js';
import type { Description, Item } from '../items/schema.js';
import { DEFAULT_ATTRIBUTES, type SecurityAttributes } from '../transfer/index.js';
import type { Statement } from '../statements/schema.js';
import {
  AbortTokenBody,
  AcceptBody,
  AffidavitBody,
  DeliverBody,
  EXCHANGE_TYPES,
  ProposeBody,
  ResolutionBody,
  RevocationOrderBody,
  TTP_ANSWER_TYPES,
  TTP_TYPES,
} from './messages.js';
import { assertFair } from './negotiate.js';
import { assertQuorum, assertTrustedSet, decisionOutcome, holdDecision } from './quorum.js';
import {
  archiveSent,
  asRejection,
  commitTo,
  exchangeIdOf,
  finish,
  freshNonce,
  matchContext,
  result,
  sameJson,
  selfRef,
  sign,
  typeOf,
  verifyFrom,
  type VerifyTrust,
} from './common.js';
import {
  DEFAULT_TIMEOUTS,
  type ExchangeContext,
  type ExchangeEffect,
  type ExchangeEvent,
  type ExchangeOutcome,
  type ExchangeState,
  type Outbound,
  type PartyRef,
  type ProtocolId,
  type StepResult,
  type Timeouts,
  type TtpQuorum,
  type TtpRef,
  ttpRetryDelay,
} from './types.js';

/** What either role is told when it starts. */
interface PartyParams {
  /** From negotiateExchange (the originator is the side it names). */
  protocol: ProtocolId;
  dealId: string;
  /**
   * What this party gives, and the item itself (checked against `gives` before anything is sent).
   * A responder in generatable↔verifiable or revocable↔revocable may start with `item: null`: it then
   * stops at 'awaiting-item' once m1 is accepted, and the host hands the item in (`own-item`) — for an
   * item that must not exist before the originator is bound (a payment for this deal).
   */
  gives: Description;
  item: Item | null;
  /** What this party expects from the peer. */
  expects: Description;
  attributes?: SecurityAttributes;
  peerAttributes?: SecurityAttributes;
  now: number;
  timeouts?: Partial<Timeouts>;
}

export interface OriginatorParams extends PartyParams {
  item: Item;
  responder: PartyRef;
  ttp: TtpRef;
  /** k-of-n TTPs (docs/quorum.md): the set (its first is `ttp`) and k; absent: `ttp` alone decides. */
  quorum?: TtpQuorum;
  /** Absolute deadline (epoch ms); default now + 4·peer + 2·ttpMargin. */
  deadline?: number;
  terms?: string;
}

export interface ResponderParams extends PartyParams {
  /**
   * What was agreed in advance, which m1 must name exactly: the originator (its key id, and a
   * signer ref only if one was agreed), the TTP (key id, and endpoint if one was agreed).
   */
  originator: PartyRef;
  ttp: TtpRef;
  /** The k-of-n TTP set and quorum m1 must name exactly (its first is `ttp`); absent: m1 names none. */
  quorum?: TtpQuorum;
  /** How m1 must name this party (default: its key id alone). */
  responder?: PartyRef;
  /** The terms m1 must carry (default: none). */
  terms?: string;
  /** The latest deadline m1 may name (epoch ms; default: only the protocol's own bounds). */
  latestDeadline?: number;
  /** Give up waiting for an acceptable m1 at this time (default now + (peerRetries+2)·peer). */
  waitUntil?: number;
}

/** The item this party gives (always there, but in a responder's 'awaiting-item'). */
function ownItem(state: ExchangeState): Item {
  if (state.ownItem === null) throw new SemperError('ERR_PROTOCOL_STATE', `no own item yet in phase ${state.phase}`);
  return state.ownItem;
}

function trustOf(ctx: ExchangeContext): VerifyTrust {
  return { roots: ctx.trust.roots, ...(ctx.trust.isRevoked ? { isRevoked: ctx.trust.isRevoked } : {}), ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}) };
}

async function assertOwnItem(item: Item, gives: Description, ctx: ExchangeContext, now: number): Promise<void> {
  const m = await matchItem(item, gives, matchContext(trustOf(ctx), now));
  if (!m.ok) throw new SemperError('ERR_ITEM_MISMATCH', `own item does not fit its description: ${m.reason}`);
}

function baseState(p: PartyParams, ctx: ExchangeContext): Omit<ExchangeState, 'role' | 'phase' | 'peer' | 'agreed' | 'ttp' | 'deadline' | 'wakeAt'> {
  return {
    v: 1,
    protocol: p.protocol,
    dealId: p.dealId,
    self: selfRef(ctx),
    ownGives: p.gives,
    ownItem: p.item,
    peerGives: p.expects,
    ownAttributes: p.attributes ?? DEFAULT_ATTRIBUTES,
    peerAttributes: p.peerAttributes ?? DEFAULT_ATTRIBUTES,
    timeouts: { ...DEFAULT_TIMEOUTS, ...p.timeouts },
    startedAt: p.now,
    m1: null,
    m2: null,
    exchangeId: null,
    nonce: null,
    peerCommitment: null,
    received: null,
    delivered: null,
    peerDelivery: null,
    ttpRequest: null,
    ttpAttempts: 0,
    retransmits: 0,
    outbox: [],
    outcome: null,
  };
}

/** Start as originator: validates everything locally, then sends m1. */
export async function startOriginator(p: OriginatorParams, ctx: ExchangeContext): Promise<StepResult> {
  const base = baseState(p, ctx);
  const t = base.timeouts;
  const deadline = p.deadline ?? p.now + 4 * t.peer + 2 * t.ttpMargin;
  if (!ctx.trust.ttps.includes(p.ttp.keyId)) throw new SemperError('ERR_TTP', `TTP ${p.ttp.keyId} is not among the TTPs this party trusts`);
  if (p.quorum) {
    assertQuorum(p.quorum, p.ttp);
    assertTrustedSet(p.quorum, ctx.trust.ttps);
  }
  if (p.responder.keyId === ctx.signer.keyId) throw new SemperError('ERR_PROTOCOL_STATE', 'an exchange needs two different parties');
  if (deadline - t.ttpMargin <= p.now) throw new SemperError('ERR_PROTOCOL_STATE', 'exchange deadline leaves no time for the responder to complain');
  assertFair(
    p.protocol,
    { giver: ctx.signer.keyId, gives: p.gives, attributes: base.ownAttributes },
    { giver: p.responder.keyId, gives: p.expects, attributes: base.peerAttributes },
    deadline,
  );
  await assertOwnItem(p.item, p.gives, ctx, p.now);
  const nonce = p.protocol === 'contract-signing' ? freshNonce(ctx) : null;
  const body: ProposeBody = {
    protocol: p.protocol,
    exchangeNonce: freshNonce(ctx),
    originator: base.self,
    responder: p.responder,
    ttp: p.ttp,
    ...(p.quorum ? { quorum: p.quorum } : {}),
    originatorGives: p.gives,
    responderGives: p.expects,
    originatorAttributes: base.ownAttributes,
    responderAttributes: base.peerAttributes,
    deadline,
    ...(nonce ? { commitment: await commitTo(nonce) } : {}),
    ...(p.terms !== undefined ? { terms: p.terms } : {}),
  };
  const m1 = await sign(EXCHANGE_TYPES.propose, p.dealId, body, ctx, p.now);
  const send: Outbound[] = [{ to: 'peer', statement: m1 }];
  const state: ExchangeState = {
    ...base,
    role: 'originator',
    phase: 'awaiting-m2',
    peer: p.responder,
    agreed: null,
    ttp: p.ttp,
    ...(p.quorum ? { quorum: p.quorum, ttpDecisions: [] } : {}),
    deadline,
    m1,
    exchangeId: await exchangeIdOf(m1),
    nonce,
    wakeAt: originatorM2Wake(p.protocol, p.now, deadline, t),
    outbox: send,
  };
  return result(state, send, archiveSent(send));
}

function originatorM2Wake(protocol: ProtocolId, now: number, deadline: number, t: Timeouts): number {
  switch (protocol) {
    case 'contract-signing':
      return now + t.peer;
    case 'generatable-verifiable':
      return Math.min(now + t.peer, deadline + t.ttpMargin);
    case 'revocable-revocable':
      return Math.max(now, Math.min(now + t.peer, deadline - t.ttpMargin));
  }
}

/** Start as responder: waits for an acceptable m1 (nothing is sent yet). */
export async function startResponder(p: ResponderParams, ctx: ExchangeContext): Promise<StepResult> {
  const base = baseState(p, ctx);
  if (p.originator.keyId === ctx.signer.keyId) throw new SemperError('ERR_PROTOCOL_STATE', 'an exchange needs two different parties');
  if (p.responder && p.responder.keyId !== ctx.signer.keyId) throw new SemperError('ERR_PROTOCOL_STATE', "m1 is to name this party by another party's key");
  if (!ctx.trust.ttps.includes(p.ttp.keyId)) throw new SemperError('ERR_TTP', `TTP ${p.ttp.keyId} is not among the TTPs this party trusts`);
  if (p.quorum) {
    assertQuorum(p.quorum, p.ttp);
    assertTrustedSet(p.quorum, ctx.trust.ttps);
  }
  if (p.item !== null) await assertOwnItem(p.item, p.gives, ctx, p.now);
  else if (p.protocol === 'contract-signing')
    throw new SemperError('ERR_PROTOCOL_STATE', 'contract signing: the responder commits to its item in m2, so it starts with it');
  const waitUntil = p.waitUntil ?? p.now + (base.timeouts.peerRetries + 2) * base.timeouts.peer;
  const state: ExchangeState = {
    ...base,
    role: 'responder',
    phase: 'awaiting-m1',
    peer: null,
    agreed: {
      originator: p.originator,
      responder: p.responder ?? { keyId: ctx.signer.keyId },
      ttp: p.ttp,
      ...(p.quorum ? { quorum: p.quorum } : {}),
      terms: p.terms ?? null,
      latestDeadline: p.latestDeadline ?? null,
    },
    ttp: null,
    deadline: waitUntil,
    wakeAt: waitUntil,
  };
  return result(state);
}

export function isTerminal(state: ExchangeState): boolean {
  return state.phase === 'done';
}

/** When the host must deliver `{type:'timeout', now}` (null: no timer). */
export function wakeAt(state: ExchangeState): number | null {
  return state.wakeAt;
}

/** What to re-send after a restart (the same as a `resume` event returns). */
export function pendingSends(state: ExchangeState): Outbound[] {
  return state.outbox;
}

// ---------------------------------------------------------------------------------------------

export async function stepExchange(state: ExchangeState, event: ExchangeEvent, ctx: ExchangeContext): Promise<StepResult> {
  switch (event.type) {
    case 'resume':
      return result(state, state.outbox);
    case 'timeout':
      return onTimeout(state, event.now, ctx);
    case 'ttp-error':
      return onTtpError(state, event.now);
    case 'own-item':
      return onOwnItem(state, event.item, event.now, ctx);
    case 'message':
      try {
        return await onMessage(state, event.message, event.now, ctx);
      } catch (e) {
        return result(state, [], [asRejection(e)]);
      }
  }
}

async function onMessage(state: ExchangeState, message: unknown, now: number, ctx: ExchangeContext): Promise<StepResult> {
  const type = typeOf(message);
  if (type !== null && TTP_ANSWER_TYPES.includes(type)) return onTtpAnswer(state, message, now, ctx);
  switch (type) {
    case EXCHANGE_TYPES.propose:
      if (state.role !== 'responder') throw new SemperError('ERR_PROTOCOL_STATE', 'an originator does not take proposals');
      return onPropose(state, message, now, ctx);
    case EXCHANGE_TYPES.accept:
      if (state.role !== 'originator') throw new SemperError('ERR_PROTOCOL_STATE', 'a responder does not take acceptances');
      return onAccept(state, message, now, ctx);
    case EXCHANGE_TYPES.deliver:
      return onDeliver(state, message, now, ctx);
    default:
      throw new SemperError('ERR_STATEMENT_TYPE', `not an exchange message: ${type ?? 'no type'}`);
  }
}

function received(statement: Statement): ExchangeEffect {
  return { kind: 'archive', statement, direction: 'received' };
}

function finished(state: ExchangeState, outcome: ExchangeOutcome): { state: ExchangeState; effects: ExchangeEffect[] } {
  return { state: finish(state, outcome), effects: [{ kind: 'finished', outcome }] };
}

/** Re-send our last message to the peer when it repeats the message we answered (it missed ours). */
function answerRepeat(state: ExchangeState, message: unknown, answered: Statement | null, reply: Statement | null): StepResult | null {
  if (answered && reply && sameJson(message, answered)) return result(state, [{ to: 'peer', statement: reply }]);
  return null;
}

// --- responder: m1 ------------------------------------------------------------------------------

async function onPropose(state: ExchangeState, message: unknown, now: number, ctx: ExchangeContext): Promise<StepResult> {
  if (state.phase === 'awaiting-item' && sameJson(message, state.m1)) return result(state); // m2 follows once our item is ready
  if (state.phase !== 'awaiting-m1') {
    const repeat = answerRepeat(state, message, state.m1, state.m2);
    if (repeat) return repeat;
    throw new SemperError('ERR_REPLAY', 'a proposal for another exchange: this one is already under way');
  }
  const agreed = state.agreed;
  if (!agreed) throw new SemperError('ERR_PROTOCOL_STATE', 'this exchange was set up by an earlier release without an agreement to check m1 against');
  const t = state.timeouts;
  const { statement: m1, body } = await verifyFrom(message, [EXCHANGE_TYPES.propose], [agreed.originator.keyId], ProposeBody, trustOf(ctx), now);
  // Every field of m1 is what was agreed (the exchange nonce is freshness only, the commitment is checked below).
  // m1 is signed by the agreed originator's key (verifyFrom) and names exactly that originator (below), so it is
  // signed by the originator it names.
  if (m1.dealId !== state.dealId) throw new SemperError('ERR_REPLAY', `m1 is for deal ${m1.dealId}, not ${state.dealId}`);
  if (body.protocol !== state.protocol) throw new SemperError('ERR_PROTOCOL_STATE', `m1 proposes ${body.protocol}, agreed was ${state.protocol}`);
  if (!sameJson(body.originator, agreed.originator)) throw new SemperError('ERR_PROTOCOL_STATE', 'm1 names the originator otherwise than agreed');
  if (!sameJson(body.responder, agreed.responder)) throw new SemperError('ERR_PROTOCOL_STATE', 'm1 names this party otherwise than agreed');
  if (!ctx.trust.ttps.includes(body.ttp.keyId)) throw new SemperError('ERR_TTP', `m1 names TTP ${body.ttp.keyId}, which this party does not trust`);
  if (!sameJson(body.ttp, agreed.ttp)) throw new SemperError('ERR_TTP', 'm1 names the TTP (key or endpoint) otherwise than agreed');
  if (!sameJson(body.quorum ?? null, agreed.quorum ?? null)) throw new SemperError('ERR_TTP', 'm1 names the TTP set or its quorum otherwise than agreed');
  // The settings may have changed since the agreement: every TTP of the set must still be trusted.
  if (body.quorum) assertTrustedSet(body.quorum, ctx.trust.ttps);
  if (!sameJson(body.originatorGives, state.peerGives))
    throw new SemperError('ERR_ITEM_MISMATCH', "m1: the originator's item description differs from the agreed one");
  if (!sameJson(body.responderGives, state.ownGives))
    throw new SemperError('ERR_ITEM_MISMATCH', "m1: the responder's item description differs from the agreed one");
  if (!sameJson(body.originatorAttributes, state.peerAttributes))
    throw new SemperError('ERR_PROTOCOL_STATE', "m1: the originator's security attributes differ from the agreed ones");
  if (!sameJson(body.responderAttributes, state.ownAttributes))
    throw new SemperError('ERR_PROTOCOL_STATE', "m1: the responder's security attributes differ from the agreed ones");
  if ((body.terms ?? null) !== agreed.terms) throw new SemperError('ERR_PROTOCOL_STATE', 'm1 carries other terms than agreed');
  if (agreed.latestDeadline !== null && body.deadline > agreed.latestDeadline)
    throw new SemperError('ERR_PROTOCOL_STATE', 'm1 names a later deadline than agreed');
  const completeBy = state.protocol === 'contract-signing' ? body.deadline : body.deadline - t.ttpMargin;
  if (now >= completeBy) throw new SemperError('ERR_OFFER_EXPIRED', 'm1: too close to (or past) its deadline to be answered safely');
  if ((state.protocol === 'contract-signing') !== (body.commitment !== undefined))
    throw new SemperError('ERR_PROTOCOL_STATE', 'm1: a commitment is required exactly for contract signing');
  assertFair(
    state.protocol,
    { giver: body.originator.keyId, gives: body.originatorGives, attributes: body.originatorAttributes },
    { giver: state.self.keyId, gives: state.ownGives, attributes: state.ownAttributes },
    body.deadline,
  );
  const exchangeId = await exchangeIdOf(m1);
  const bound: ExchangeState = {
    ...state,
    peer: body.originator,
    ttp: body.ttp,
    ...(body.quorum ? { quorum: body.quorum, ttpDecisions: [] } : {}),
    peerAttributes: body.originatorAttributes,
    deadline: body.deadline,
    m1,
    exchangeId,
    peerCommitment: body.commitment ?? null,
    retransmits: 0,
  };
  if (state.ownItem === null) {
    // The originator is bound now: the host makes our item (e.g. pays for this deal) and hands it in. Until
    // deadline+margin a complaint with it can still win at the TTP, so that is how long we wait for it.
    return result({ ...bound, phase: 'awaiting-item', wakeAt: body.deadline + t.ttpMargin, outbox: [] }, [], [received(m1)]);
  }
  return accept(bound, state.ownItem, now, ctx, [received(m1)]);
}

/** Send m2 (with our item, or our commitment in contract signing) for the accepted m1. */
async function accept(state: ExchangeState, item: Item, now: number, ctx: ExchangeContext, effects: ExchangeEffect[]): Promise<StepResult> {
  const t = state.timeouts;
  let nonce: string | null = null;
  let body: Record<string, unknown>;
  let wake: number;
  if (state.protocol === 'contract-signing') {
    nonce = freshNonce(ctx);
    body = { exchangeId: state.exchangeId, commitment: await commitTo(nonce) };
    wake = now + t.peer;
  } else {
    body = { exchangeId: state.exchangeId, item };
    // Given late (past the last safe call), the complaint goes out at once.
    wake = Math.max(now, Math.min(now + t.peer, state.deadline - t.ttpMargin));
  }
  const m2 = await sign(EXCHANGE_TYPES.accept, state.dealId, body, ctx, now);
  const send: Outbound[] = [{ to: 'peer', statement: m2 }];
  const next: ExchangeState = { ...state, phase: 'awaiting-m3', ownItem: item, m2, nonce, wakeAt: wake, outbox: send };
  return result(next, send, [...effects, ...archiveSent(send)]);
}

/** A responder's item, handed in after m1 (phase 'awaiting-item'). */
async function onOwnItem(state: ExchangeState, item: Item, now: number, ctx: ExchangeContext): Promise<StepResult> {
  if (state.phase !== 'awaiting-item')
    throw new SemperError('ERR_PROTOCOL_STATE', `an own item is handed in only while awaiting it, not in phase ${state.phase}`);
  await assertOwnItem(item, state.ownGives, ctx, now);
  return accept(state, item, now, ctx, []);
}

// --- originator: m2 -----------------------------------------------------------------------------

async function onAccept(state: ExchangeState, message: unknown, now: number, ctx: ExchangeContext): Promise<StepResult> {
  const lateItemOk = state.protocol === 'generatable-verifiable' && state.phase === 'awaiting-ttp';
  if (state.phase !== 'awaiting-m2' && !lateItemOk) {
    const repeat = answerRepeat(state, message, state.m2, state.delivered);
    if (repeat) return repeat;
    throw new SemperError('ERR_PROTOCOL_STATE', `m2 not expected in phase ${state.phase}${state.ttpRequest === 'abort' ? ' (abort requested)' : ''}`);
  }
  const { statement: m2, body } = await verifyFrom(message, [EXCHANGE_TYPES.accept], [state.peer!.keyId], AcceptBody, trustOf(ctx), now);
  if (body.exchangeId !== state.exchangeId) throw new SemperError('ERR_REPLAY', 'm2 names another exchange');
  const t = state.timeouts;
  if (state.protocol === 'contract-signing') {
    if (!body.commitment || body.item) throw new SemperError('ERR_SCHEMA', 'contract signing m2 carries a commitment and no item');
    const deliver = await sign(
      EXCHANGE_TYPES.deliver,
      state.dealId,
      { exchangeId: state.exchangeId, role: 'originator', item: ownItem(state), nonce: state.nonce, peerCommitment: body.commitment },
      ctx,
      now,
    );
    const send: Outbound[] = [{ to: 'peer', statement: deliver }];
    const next: ExchangeState = {
      ...state,
      phase: 'awaiting-m4',
      m2,
      peerCommitment: body.commitment,
      delivered: deliver,
      retransmits: 0,
      wakeAt: now + t.peer,
      outbox: send,
    };
    return result(next, send, [received(m2), ...archiveSent(send)]);
  }
  // generatable-verifiable / revocable-revocable: check the responder's item before giving ours.
  if (!body.item || body.commitment) throw new SemperError('ERR_SCHEMA', `${state.protocol} m2 carries the responder's item and no commitment`);
  const m = await matchItem(body.item, state.peerGives, matchContext(trustOf(ctx), now));
  if (!m.ok) throw new SemperError('ERR_ITEM_MISMATCH', `m2: the responder's item does not fit its description: ${m.reason}`);
  const deliver = await sign(EXCHANGE_TYPES.deliver, state.dealId, { exchangeId: state.exchangeId, role: 'originator', item: ownItem(state) }, ctx, now);
  const send: Outbound[] = [{ to: 'peer', statement: deliver }];
  if (state.protocol === 'revocable-revocable') {
    return result(awaitFinal({ ...state, m2, received: body.item, delivered: deliver, outbox: send }), send, [received(m2), ...archiveSent(send)]);
  }
  const done = finished({ ...state, m2, received: body.item, delivered: deliver, outbox: send }, { status: 'completed', received: body.item });
  return result(done.state, send, [received(m2), ...archiveSent(send), ...done.effects]);
}

// --- m3 / m4 ------------------------------------------------------------------------------------

async function onDeliver(state: ExchangeState, message: unknown, now: number, ctx: ExchangeContext): Promise<StepResult> {
  const expectsDelivery =
    (state.role === 'responder' && (state.phase === 'awaiting-m3' || (state.phase === 'awaiting-ttp' && state.received === null))) ||
    (state.role === 'originator' &&
      state.protocol === 'contract-signing' &&
      (state.phase === 'awaiting-m4' || (state.phase === 'awaiting-ttp' && state.ttpRequest === 'resolve')));
  if (!expectsDelivery) {
    // Contract signing: the originator repeats m3 because it missed our m4.
    if (state.role === 'responder' && state.phase === 'done' && state.delivered) {
      const { body } = await verifyFrom(message, [EXCHANGE_TYPES.deliver], [state.peer!.keyId], DeliverBody, trustOf(ctx), now);
      if (body.exchangeId === state.exchangeId && body.role === 'originator') return result(state, [{ to: 'peer', statement: state.delivered }]);
    }
    throw new SemperError('ERR_PROTOCOL_STATE', `delivery not expected in phase ${state.phase}`);
  }
  const peerRole = state.role === 'responder' ? 'originator' : 'responder';
  const { statement, body } = await verifyFrom(message, [EXCHANGE_TYPES.deliver], [state.peer!.keyId], DeliverBody, trustOf(ctx), now);
  if (body.exchangeId !== state.exchangeId) throw new SemperError('ERR_REPLAY', 'delivery names another exchange');
  if (body.role !== peerRole) throw new SemperError('ERR_PROTOCOL_STATE', `delivery claims role ${body.role}, expected ${peerRole}`);
  if (state.protocol === 'contract-signing') {
    if (!body.nonce || !body.peerCommitment) throw new SemperError('ERR_SCHEMA', 'contract signing delivery reveals a nonce and names h(own nonce)');
    if ((await commitTo(body.nonce)) !== state.peerCommitment) throw new SemperError('ERR_NONCE_MISMATCH', 'revealed nonce does not match the commitment');
    if (body.peerCommitment !== (await commitTo(state.nonce!))) throw new SemperError('ERR_NONCE_MISMATCH', "delivery is not bound to this party's commitment");
  }
  const m = await matchItem(body.item, state.peerGives, matchContext(trustOf(ctx), now));
  if (!m.ok) throw new SemperError('ERR_ITEM_MISMATCH', `delivery does not fit its description: ${m.reason}`);
  const effects: ExchangeEffect[] = [received(statement)];
  if (state.protocol === 'revocable-revocable') {
    // Our complaint is on its way and will revoke both transfers: keep the item, wait for the TTP.
    if (state.phase === 'awaiting-ttp') return result({ ...state, received: body.item, peerDelivery: statement }, [], effects);
    // Not final before the deadline: wait for the TTP's final word.
    return result(awaitFinal({ ...state, received: body.item, peerDelivery: statement }), [], effects);
  }
  let send: Outbound[] = [];
  let delivered = state.delivered;
  if (state.protocol === 'contract-signing' && state.role === 'responder') {
    delivered = await sign(
      EXCHANGE_TYPES.deliver,
      state.dealId,
      { exchangeId: state.exchangeId, role: 'responder', item: ownItem(state), nonce: state.nonce, peerCommitment: state.peerCommitment },
      ctx,
      now,
    );
    send = [{ to: 'peer', statement: delivered }];
  }
  const done = finished(
    { ...state, received: body.item, peerDelivery: statement, delivered, outbox: send.length ? send : state.outbox },
    { status: 'completed', received: body.item },
  );
  return result(done.state, send, [...effects, ...archiveSent(send), ...done.effects]);
}

// --- timers -------------------------------------------------------------------------------------

async function toTtp(state: ExchangeState, kind: 'abort' | 'resolve' | 'complaint', ctx: ExchangeContext, now: number): Promise<StepResult> {
  const type = kind === 'abort' ? EXCHANGE_TYPES.abortRequest : kind === 'resolve' ? EXCHANGE_TYPES.resolveRequest : EXCHANGE_TYPES.complaint;
  const body: Record<string, unknown> = { exchangeId: state.exchangeId, m1: state.m1 };
  if (kind === 'resolve' || (kind === 'complaint' && state.m2)) body.m2 = state.m2;
  const request = await sign(type, state.dealId, body, ctx, now);
  // k-of-n: the same request to every TTP of the set that has not decided yet.
  const send: Outbound[] = state.quorum
    ? undecidedTtps(state, state.quorum).map((t) => ({ to: 'ttp', ttp: t, statement: request }))
    : [{ to: 'ttp', statement: request }];
  const next: ExchangeState = {
    ...state,
    phase: 'awaiting-ttp',
    ttpRequest: kind,
    ttpAttempts: 1,
    wakeAt: now + ttpRetryDelay(state.timeouts, 1),
    outbox: send,
  };
  return result(next, send, archiveSent(send));
}

/**
 * k-of-n: the TTPs of the set still to be asked: those whose decision this party does not hold for
 * every outcome it has seen. Without a split, the TTPs that have not decided; with one (say T
 * resolved, T3 aborted, T2 down), T and T3 too — an honest TTP answers again with its one decision
 * (counted once), a TTP that signs both ways may now complete a quorum: asking it only once would
 * leave the party waiting on a TTP that is down.
 */
function undecidedTtps(state: ExchangeState, quorum: TtpQuorum): string[] {
  const held = state.ttpDecisions ?? [];
  const seen = [...new Set(held.map((d) => d.outcome))];
  return quorum.ttps.map((t) => t.keyId).filter((t) => seen.length === 0 || seen.some((o) => !held.some((d) => d.ttp === t && d.outcome === o)));
}

/** Revocable↔revocable after the main protocol: ask the TTP for its final word once the deadline (and a margin) passed. */
function awaitFinal(state: ExchangeState): ExchangeState {
  return { ...state, phase: 'awaiting-final', retransmits: 0, wakeAt: state.deadline + state.timeouts.ttpMargin };
}

function retransmit(state: ExchangeState, wake: number): StepResult {
  const send = state.outbox.filter((o) => o.to === 'peer');
  return result({ ...state, retransmits: state.retransmits + 1, wakeAt: wake }, send);
}

function failed(state: ExchangeState, reason: string): StepResult {
  const outcome: ExchangeOutcome = state.received ? { status: 'failed', reason, received: state.received } : { status: 'failed', reason };
  const done = finished(state, outcome);
  return result(done.state, [], done.effects);
}

async function onTimeout(state: ExchangeState, now: number, ctx: ExchangeContext): Promise<StepResult> {
  if (state.wakeAt === null || now < state.wakeAt) return result(state);
  const t = state.timeouts;
  const canRetry = state.retransmits < t.peerRetries;
  switch (state.phase) {
    case 'awaiting-m1':
      return failed(state, 'no acceptable proposal arrived in time');
    case 'awaiting-item':
      return failed(state, 'our item was not ready before the exchange became final; nothing was given');
    case 'awaiting-m2':
      switch (state.protocol) {
        case 'contract-signing':
          return canRetry ? retransmit(state, now + t.peer) : toTtp(state, 'abort', ctx, now);
        case 'generatable-verifiable': {
          // Nothing of ours has left; the responder may complain until the deadline, so only
          // after deadline+margin is the TTP's answer final.
          const finalAt = state.deadline + t.ttpMargin;
          if (now >= finalAt) return toTtp(state, 'abort', ctx, now);
          return canRetry ? retransmit(state, Math.min(now + t.peer, finalAt)) : result({ ...state, wakeAt: finalAt });
        }
        case 'revocable-revocable': {
          const lastCall = state.deadline - t.ttpMargin;
          if (canRetry && now + t.peer < lastCall) return retransmit(state, now + t.peer);
          return toTtp(state, 'complaint', ctx, now);
        }
      }
      return result(state); // not reached: the switch above answers every protocol
    case 'awaiting-m3':
      if (state.protocol === 'contract-signing') return canRetry ? retransmit(state, now + t.peer) : toTtp(state, 'resolve', ctx, now);
      {
        const lastCall = state.deadline - t.ttpMargin;
        if (canRetry && now + t.peer < lastCall) return retransmit(state, now + t.peer);
        return toTtp(state, 'complaint', ctx, now);
      }
    case 'awaiting-m4':
      return canRetry ? retransmit(state, now + t.peer) : toTtp(state, 'resolve', ctx, now);
    case 'awaiting-final':
      return toTtp(state, 'resolve', ctx, now);
    case 'awaiting-ttp': {
      // Never give up: the same request again, after a wait that doubles up to a cap (a durable timer).
      const waiting = state.quorum ? undecidedTtps(state, state.quorum) : null;
      const send = state.outbox.filter((o) => o.to === 'ttp' && (!waiting || !o.ttp || waiting.includes(o.ttp)));
      const attempt = state.ttpAttempts + 1;
      return result({ ...state, ttpAttempts: attempt, wakeAt: now + ttpRetryDelay(t, attempt) }, send);
    }
    case 'done':
      return result(state);
  }
}

function onTtpError(state: ExchangeState, now: number): StepResult {
  if (state.phase !== 'awaiting-ttp') return result(state);
  // Ask again at the next timer (the request was early, e.g. before the deadline, or the TTP is down): never give up.
  return result({ ...state, wakeAt: now + ttpRetryDelay(state.timeouts, state.ttpAttempts) });
}

// --- the TTP's answer ---------------------------------------------------------------------------

async function onTtpAnswer(state: ExchangeState, message: unknown, now: number, ctx: ExchangeContext): Promise<StepResult> {
  if (state.phase === 'done') return result(state);
  if (!state.exchangeId || !state.ttp || !state.peer) throw new SemperError('ERR_PROTOCOL_STATE', 'a TTP statement before the exchange began');
  if (state.quorum) return onQuorumAnswer(state, state.quorum, message, now, ctx);
  const { effects, outcome } = await readTtpAnswer(state, message, now, ctx);
  const done = finished({ ...state, outbox: state.phase === 'awaiting-ttp' ? [] : state.outbox }, outcome);
  return result(done.state, [], [...effects, ...done.effects]);
}

/**
 * k-of-n: one TTP's answer is read exactly as a lone TTP's (readTtpAnswer, with that TTP as the
 * exchange's), then counted (quorum.ts holdDecision: each TTP once per outcome) until k agree. A TTP
 * that signed both ways stays in the archive, evidence for the arbiter's ttp-conflict rule.
 */
async function onQuorumAnswer(state: ExchangeState, quorum: TtpQuorum, message: unknown, now: number, ctx: ExchangeContext): Promise<StepResult> {
  const set = quorum.ttps.map((t) => t.keyId);
  const { keyId } = await verifyFrom(message, TTP_ANSWER_TYPES, set, { safeParse: (v: unknown) => ({ success: true as const, data: v }) }, trustOf(ctx), now);
  const ttp = quorum.ttps.find((t) => t.keyId === keyId)!;
  const read = await readTtpAnswer({ ...state, ttp }, message, now, ctx);
  const statement = heldStatement(read.outcome);
  const counted = holdDecision(state.ttpDecisions ?? [], { ttp: keyId, outcome: decisionOutcome(statement), statement }, quorum.k);
  if (!counted.added) return result(state); // a TTP counts once towards an outcome, however often it answers
  const next: ExchangeState = { ...state, ttpDecisions: counted.held };
  if (!counted.quorum) return result(next, [], read.effects);
  // k decisions of one outcome: that is the outcome. Any of them may carry what the party receives (the item the TTP
  // forwards, the affidavit standing in for it): take the first that does, each read again as its TTP's.
  let outcome = read.outcome;
  for (const d of counted.quorum) {
    if (d.ttp === keyId) continue;
    const again = await readTtpAnswer({ ...state, ttp: quorum.ttps.find((t) => t.keyId === d.ttp)! }, d.statement, now, ctx).catch((e: unknown) => {
      if (isSemperError(e)) return null; // counted when it arrived; it just gives nothing more now
      throw e;
    });
    if (again && richer(again.outcome, outcome)) outcome = again.outcome;
  }
  if (outcome.status === 'failed') throw new SemperError('ERR_INTERNAL', 'a TTP answer read as failed');
  const done = finished({ ...next, outbox: state.phase === 'awaiting-ttp' ? [] : next.outbox }, { ...outcome, quorum: counted.quorum.map((d) => d.statement) });
  return result(done.state, [], [...read.effects, ...done.effects]);
}

/** The TTP statement an outcome read from one answer rests on. */
function heldStatement(o: ExchangeOutcome): Statement {
  switch (o.status) {
    case 'aborted':
      return o.token;
    case 'revoked':
      return o.order;
    case 'resolved':
      return o.resolution;
    case 'completed':
      if (o.final) return o.final;
      break;
    case 'failed':
      break;
  }
  throw new SemperError('ERR_INTERNAL', `a TTP answer read as ${o.status}`);
}

/** Does `a` give the party more than `b` (the peer's item, or an affidavit replacing it)? */
function richer(a: ExchangeOutcome, b: ExchangeOutcome): boolean {
  const score = (o: ExchangeOutcome) =>
    ('received' in o && o.received ? 2 : 0) + (o.status === 'resolved' && o.replacement ? 1 : 0) + (o.status === 'completed' ? 4 : 0);
  return score(a) > score(b);
}

/** Read a TTP's answer as the answer of `state.ttp`: its effects and the outcome it decides (not applied). */
async function readTtpAnswer(
  state: ExchangeState,
  message: unknown,
  now: number,
  ctx: ExchangeContext,
): Promise<{ effects: ExchangeEffect[]; outcome: ExchangeOutcome }> {
  if (!state.exchangeId || !state.ttp || !state.peer) throw new SemperError('ERR_INTERNAL', 'a TTP answer read outside an exchange under way');
  const trust = trustOf(ctx);
  const type = typeOf(message)!;
  const effects: ExchangeEffect[] = [];
  let outcome: ExchangeOutcome;
  const keep = state.received ? { received: state.received } : {};
  if (type === TTP_TYPES.abortToken) {
    const { statement, body } = await verifyFrom(message, [type], [state.ttp.keyId], AbortTokenBody, trust, now);
    if (body.exchangeId !== state.exchangeId) throw new SemperError('ERR_REPLAY', 'abort token for another exchange');
    if (body.protocol !== state.protocol) throw new SemperError('ERR_REPLAY', `abort token for a ${body.protocol} exchange, this is ${state.protocol}`);
    effects.push(received(statement));
    outcome = { status: 'aborted', token: statement, ...keep };
  } else if (type === TTP_TYPES.revocationOrder) {
    const { statement, body } = await verifyFrom(message, [type], [state.ttp.keyId], RevocationOrderBody, trust, now);
    if (body.exchangeId !== state.exchangeId) throw new SemperError('ERR_REPLAY', 'revocation order for another exchange');
    if (body.protocol !== state.protocol) throw new SemperError('ERR_REPLAY', `revocation order for a ${body.protocol} exchange, this is ${state.protocol}`);
    effects.push(received(statement));
    outcome = { status: 'revoked', order: statement, revoked: body.revoke, ...keep };
  } else {
    const { statement, body } = await verifyFrom(message, [TTP_TYPES.resolution], [state.ttp.keyId], ResolutionBody, trust, now);
    if (body.exchangeId !== state.exchangeId || body.protocol !== state.protocol) throw new SemperError('ERR_REPLAY', 'resolution for another exchange');
    effects.push(received(statement));
    let replacement: Statement | undefined;
    for (const a of body.affidavits) {
      const aff = await verifyFrom(a, [TTP_TYPES.affidavit], [state.ttp.keyId], AffidavitBody, trust, now);
      if (aff.body.exchangeId === state.exchangeId && aff.body.onBehalfOf === state.peer.keyId && sameJson(aff.body.description, state.peerGives)) {
        replacement = aff.statement;
      }
    }
    let item: Item | null = state.received;
    if (!item && state.protocol === 'generatable-verifiable' && state.role === 'originator' && body.m2) {
      // The verifiable transfer, re-sent via the TTP: check it ourselves, the TTP is not trusted to.
      try {
        const m2 = await verifyFrom(body.m2, [EXCHANGE_TYPES.accept], [state.peer.keyId], AcceptBody, trust, now);
        if (m2.body.exchangeId === state.exchangeId && m2.body.item) {
          const m = await matchItem(m2.body.item, state.peerGives, matchContext(trust, now));
          if (m.ok) item = m2.body.item;
          else effects.push({ kind: 'rejected-message', error: { code: 'ERR_ITEM_MISMATCH', message: `item forwarded by the TTP does not fit: ${m.reason}` } });
        }
      } catch (e) {
        if (!isSemperError(e)) throw e;
        effects.push(asRejection(e));
      }
    }
    if (body.final === true && state.protocol === 'revocable-revocable' && item) {
      // Both transfers stand: the main protocol's outcome, now final.
      outcome = { status: 'completed', received: item, final: statement };
    } else {
      outcome = { status: 'resolved', resolution: statement, ...(item ? { received: item } : {}), ...(replacement ? { replacement } : {}) };
    }
  }
  return { effects, outcome };
}

/** The fair exchange's originator on the machine contract (core/machine.ts). */
export const exchangeOriginator: Machine<ExchangeState, ExchangeEvent, ExchangeContext, Outbound, ExchangeEffect, OriginatorParams> = {
  kind: 'exchange-originator',
  start: startOriginator,
  step: stepExchange,
  pendingSends,
  wakeAt,
  isTerminal,
};

/** The fair exchange's responder on the machine contract. */
export const exchangeResponder: Machine<ExchangeState, ExchangeEvent, ExchangeContext, Outbound, ExchangeEffect, ResponderParams> = {
  kind: 'exchange-responder',
  start: startResponder,
  step: stepExchange,
  pendingSends,
  wakeAt,
  isTerminal,
};
