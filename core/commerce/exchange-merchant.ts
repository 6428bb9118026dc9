/**
 * The merchant's side of an exchange deal (certified mail, contract signing; see
 * exchange-deal.ts) as one machine on the contract (core/machine.ts): it answers the shopper's
 * descriptor request with a signed descriptor, starts its *responder* of the generic fair exchange
 * (core/exchange) when m1 arrives, then runs that responder on every message, timer and TTP answer.
 *
 *   new        → descriptor-requested: the signed descriptor (it names no shopper: the request
 *                carries no key)                                                      → offered
 *   offered    → descriptor-requested again (a restarted worker re-sends it): the same descriptor
 *                while it is valid; anything else is a replay
 *   offered    → message m1: the shopper's key is the one m1 names; the two item descriptions are
 *                derived for it (exchangeItems), the merchant's own item made (the document, or
 *                its signature on the contract naming both parties), and the responder started
 *                with everything the descriptor agreed — it checks every field of m1 against that
 *                and answers m2, or refuses m1 and the deal stays offered              → responding
 *   offered    → timeout after the descriptor expired (and m1's grace): nothing was given → expired
 *   responding → message | timeout | ttp-error | resume: the responder's step. Replies to the
 *                shopper go back as the answer to its request (`{ to: 'shopper', body: { replies } }`);
 *                requests to the TTP go to the TTP the merchant is configured with (`{ to: 'ttp' }`),
 *                never to an address a message names.
 * A message the responder refuses without any change is a refusal of the request (thrown).
 *
 * A `responding` state of an earlier release (its descriptor named the shopper's key and its
 * responder was started with it) goes on as it was; its responder takes no new m1.
 */
import { SemperError } from '../errors.js';
import type { Machine, RandomSource, StepResult } from '../machine.js';
import { validateChain, type RevocationCheck } from '../pki/certificates.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import { signStatement, verifyStatement, type Statement } from '../statements/index.js';
import { describeInformation } from '../items/match.js';
import type { Item } from '../items/schema.js';
import {
  EXCHANGE_TYPES,
  isTerminal as responderTerminal,
  startResponder,
  stepExchange,
  type ExchangeContext,
  type ExchangeEffect,
  type ExchangeEvent,
  type ExchangeState,
} from '../exchange/index.js';
import { TtpQuorum, type TtpRef } from '../exchange/types.js';
import type { MerchantIdentity } from './merchant.js';
import { parseBody } from './common.js';
import { checkKeyTerms } from './contract-terms.js';
import {
  DescriptorRequest,
  documentItem,
  EXCHANGE_DEAL_TYPES,
  exchangeItems,
  signFixedStatement,
  timeoutsFrom,
  firstMessageGrace,
  USE_PROTOCOL,
  type DescriptorBody,
  type DescriptorDocument,
  type ExchangeCatalog,
  type ExchangeTiming,
  type ExchangeUse,
} from './exchange-deal.js';
import { isoTime } from '../encoding/index.js';

export interface ExchangeMerchantContext {
  identity: MerchantIdentity;
  /** The TTP this merchant accepts: its key, its certificate chain (in every descriptor) and where the merchant reaches it. */
  ttp: { keyId: string; certificateChain: string[]; url: string };
  /**
   * k-of-n (docs/quorum.md): the TTPs this merchant also accepts as a set (`ttps[0]` is `ttp`) and the fewest that
   * must agree; in every descriptor. A shopper may then name a set of these with at least k in m1.
   */
  quorum?: { k: number; ttps: { keyId: string; certificateChain: string[]; url: string }[] };
  catalog: ExchangeCatalog;
  descriptorTtlMs: number;
  timing: ExchangeTiming;
  terms?: string;
  /** Roots for certified signers in exchange messages (the TTP's chain, certified items). */
  trustRoots: readonly string[];
  isRevoked?: RevocationCheck;
  /** Descriptor ids and the responder's nonces. */
  random: RandomSource;
}

interface Described {
  dealId: string;
  use: ExchangeUse;
  descriptor: Statement<DescriptorBody>;
}

export type ExchangeMerchantState =
  /** Nothing issued yet (never stored). */
  | { phase: 'new'; dealId: string }
  /** The descriptor is out; no m1 yet (no key of the shopper's is known). */
  | (Described & { phase: 'offered' })
  /** No acceptable m1 came before the descriptor (and its grace) ran out: nothing was given. */
  | (Described & { phase: 'expired'; endedAt: number })
  | (Described & { phase: 'responding'; responder: ExchangeState });

export type ExchangeMerchantEvent = { type: 'descriptor-requested'; request: unknown; now: number } | ExchangeEvent;

export type ExchangeMerchantOutbound =
  | { to: 'shopper'; body: { descriptor: Statement<DescriptorBody> } | { replies: Statement[] } }
  /** `ttp`: k-of-n, the key id of the TTP of the set this request goes to (absent: the one TTP). */
  | { to: 'ttp'; statement: Statement; ttp?: string };

/** Messages the responder refused along the way (for the operator's log; the state says the rest). */
export type ExchangeMerchantEffect = Extract<ExchangeEffect, { kind: 'rejected-message' }>;

export type ExchangeMerchantStep = StepResult<ExchangeMerchantState, ExchangeMerchantOutbound, ExchangeMerchantEffect>;

function responderContext(ctx: ExchangeMerchantContext): ExchangeContext {
  return {
    signer: ctx.identity.signer,
    signerRef: { kind: 'x509', chain: ctx.identity.chain },
    trust: { roots: ctx.trustRoots, ttps: acceptedTtps(ctx), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
    random: ctx.random,
  };
}

/** Key ids of every TTP the merchant accepts. */
function acceptedTtps(ctx: ExchangeMerchantContext): string[] {
  return ctx.quorum ? ctx.quorum.ttps.map((t) => t.keyId) : [ctx.ttp.keyId];
}

/** The TTP requests of a responder's step, each to the TTP it is for. */
function ttpSends(outbox: readonly { to: 'peer' | 'ttp'; statement: Statement; ttp?: string }[]): ExchangeMerchantOutbound[] {
  return outbox.filter((o) => o.to === 'ttp').map((o) => ({ to: 'ttp' as const, statement: o.statement, ...(o.ttp ? { ttp: o.ttp } : {}) }));
}

/** How long after the descriptor's expiry m1 may still come (the shopper confirmed in time; its m1 may need retries). */
function m1Grace(timing: ExchangeTiming): number {
  return firstMessageGrace(timing);
}

/** The merchant's answer to a descriptor request: the signed descriptor. It names what is exchanged, not who asks. */
async function makeExchangeDescriptor(req: DescriptorRequest, now: number, ctx: ExchangeMerchantContext): Promise<Statement<DescriptorBody>> {
  // Nothing is signed under a certificate that is no longer good (expired, revoked: the host prepared the CRL). A kit
  // without a certificate (tests) signs descriptors no shopper accepts anyway.
  if (ctx.identity.chain.length > 0) {
    await validateChain(ctx.identity.chain, { roots: ctx.trustRoots, now: new Date(now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) });
  }
  let title: string;
  let document: DescriptorDocument | undefined;
  let contract: DescriptorBody['contract'];
  if (req.use === 'certified-mail') {
    const doc = ctx.catalog.document(req.documentId);
    if (!doc) throw new SemperError('ERR_NOT_FOUND', `no document ${req.documentId}`);
    const described = await describeInformation(documentItem(doc));
    title = doc.title;
    document = { title: doc.title, mediaType: doc.mediaType, size: described.size!, digest: described.digest };
  } else {
    const c = ctx.catalog.contract(req.documentId);
    if (!c) throw new SemperError('ERR_NOT_FOUND', `no contract ${req.documentId}`);
    title = c.title;
    // The merchant never signs key terms that contradict each other (the shopper would refuse them anyway).
    if (c.keyTerms) checkKeyTerms(c.keyTerms);
    contract = { title: c.title, text: c.text, ...(c.keyTerms ? { keyTerms: c.keyTerms } : {}) };
  }
  const body: DescriptorBody = {
    descriptorId: ctx.random.id(18),
    nonce: req.nonce,
    origin: ctx.identity.origin,
    use: req.use,
    documentId: req.documentId,
    title,
    protocol: USE_PROTOCOL[req.use],
    merchant: { keyId: ctx.identity.signer.keyId },
    ttp: { keyId: ctx.ttp.keyId, certificateChain: ctx.ttp.certificateChain, endpoint: ctx.ttp.url },
    ...(ctx.quorum
      ? { quorum: { k: ctx.quorum.k, ttps: ctx.quorum.ttps.map((t) => ({ keyId: t.keyId, certificateChain: t.certificateChain, endpoint: t.url })) } }
      : {}),
    ...(document ? { document } : {}),
    ...(contract ? { contract } : {}),
    timing: ctx.timing,
    expiresAt: isoTime(now + ctx.descriptorTtlMs),
    ...(ctx.terms ? { terms: ctx.terms } : {}),
  };
  return signStatement<DescriptorBody>(
    { type: EXCHANGE_DEAL_TYPES.descriptor, version: 1, dealId: req.dealId, issuedAt: isoTime(now), body },
    ctx.identity.signer,
    { signerRef: { kind: 'x509', chain: ctx.identity.chain } },
  );
}

/** The same request again (a restarted worker re-sends it): true if it asks for exactly this descriptor. */
function isRepeatedDescriptorRequest(descriptor: Statement<DescriptorBody>, request: unknown): boolean {
  const req = parseBody(DescriptorRequest, request, 'exchange descriptor request');
  const b = descriptor.body;
  return descriptor.dealId === req.dealId && b.nonce === req.nonce && b.use === req.use && b.documentId === req.documentId;
}

async function issueDescriptor(dealId: string, request: unknown, now: number, ctx: ExchangeMerchantContext): Promise<ExchangeMerchantStep> {
  const req = parseBody(DescriptorRequest, request, 'exchange descriptor request');
  if (req.dealId !== dealId) throw new SemperError('ERR_PROTOCOL_STATE', 'descriptor request is for another deal');
  const descriptor = await makeExchangeDescriptor(req, now, ctx);
  return { state: { phase: 'offered', dealId, use: req.use, descriptor }, send: [{ to: 'shopper', body: { descriptor } }], effects: [] };
}

/**
 * The key that signed m1 (the shopper's, bound now) and the k-of-n set it names, if any; the responder then checks
 * m1 names exactly these and nothing but what was agreed.
 */
async function proposer(message: unknown, now: number, ctx: ExchangeMerchantContext): Promise<{ keyId: string; quorum: TtpQuorum | undefined }> {
  const verified = await verifyStatement(message, {
    types: [EXCHANGE_TYPES.propose],
    trust: { roots: ctx.trustRoots, now: new Date(now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
  });
  const named = (verified.statement.body as { quorum?: unknown } | null)?.quorum;
  const quorum = named === undefined ? undefined : parseBody(TtpQuorum, named, "m1's TTP set");
  return { keyId: await jwkThumbprint(verified.signerJwk), quorum };
}

/**
 * The TTP set a shopper names in m1 must be one this descriptor offered: TTPs of its set only, at least its k (the
 * quorum rules themselves — k > n/2, each TTP once — the responder checks as for any m1). No set: the one TTP.
 */
function offeredSet(body: DescriptorBody, quorum: TtpQuorum | undefined): { ttp: TtpRef; quorum?: TtpQuorum } {
  if (!quorum) return { ttp: { keyId: body.ttp.keyId } };
  const offer = body.quorum;
  if (!offer) throw new SemperError('ERR_TTP', 'm1 names a TTP set, but the descriptor offered one TTP');
  const offered = offer.ttps.map((t) => t.keyId);
  for (const t of quorum.ttps) if (!offered.includes(t.keyId)) throw new SemperError('ERR_TTP', `m1 names TTP ${t.keyId}, which the descriptor did not offer`);
  if (quorum.k < offer.k) throw new SemperError('ERR_TTP', `m1's quorum k=${quorum.k} is below the descriptor's k=${offer.k}`);
  return { ttp: quorum.ttps[0]!, quorum };
}

/** m1 for an offered deal: bind the shopper's key, derive the items, start the responder with the agreement and step it. */
async function onProposal(
  state: Extract<ExchangeMerchantState, { phase: 'offered' }>,
  event: Extract<ExchangeEvent, { type: 'message' }>,
  ctx: ExchangeMerchantContext,
): Promise<ExchangeMerchantStep> {
  const { descriptor } = state;
  const body = descriptor.body;
  const now = event.now;
  const expiresAt = Date.parse(body.expiresAt);
  if (now > expiresAt + m1Grace(ctx.timing)) throw new SemperError('ERR_OFFER_EXPIRED', `the descriptor expired at ${body.expiresAt}`);
  const merchantKeyId = ctx.identity.signer.keyId;
  if (body.merchant.keyId !== merchantKeyId) throw new SemperError('ERR_KEY', 'the descriptor was signed with another merchant key than this one');
  const proposed = await proposer(event.message, now, ctx);
  const shopperKeyId = proposed.keyId;
  const guarantee = offeredSet(body, proposed.quorum);
  const items = exchangeItems(body, { dealId: state.dealId, shopperKeyId, merchantKeyId });
  let item: Item;
  if (state.use === 'certified-mail') {
    const doc = ctx.catalog.document(body.documentId);
    if (!doc) throw new SemperError('ERR_NOT_FOUND', `no document ${body.documentId}`);
    item = documentItem(doc);
  } else {
    item = await signFixedStatement(items.merchantGives, state.dealId, ctx.identity.signer, now, { kind: 'x509', chain: ctx.identity.chain });
  }
  const timeouts = timeoutsFrom(ctx.timing);
  const started = await startResponder(
    {
      protocol: body.protocol,
      dealId: state.dealId,
      // What the descriptor agreed, which m1 must say exactly (exchange-shopper.ts: what the shopper puts in m1).
      originator: { keyId: shopperKeyId },
      responder: { keyId: merchantKeyId },
      ttp: guarantee.ttp,
      ...(guarantee.quorum ? { quorum: guarantee.quorum } : {}),
      ...(body.terms !== undefined ? { terms: body.terms } : {}),
      // The shopper confirms by expiresAt and names a deadline (startOriginator's default) from then; one more margin for clock skew.
      latestDeadline: expiresAt + 4 * timeouts.peer + 3 * timeouts.ttpMargin,
      gives: items.merchantGives,
      item,
      expects: items.shopperGives,
      now,
      timeouts,
    },
    responderContext(ctx),
  );
  const res = await stepExchange(started.state, event, responderContext(ctx));
  const problems = res.effects.filter((e): e is ExchangeMerchantEffect => e.kind === 'rejected-message');
  if (res.state.phase === 'awaiting-m1') {
    // Refused: the deal stays offered, nothing is stored; the refusal answers the request.
    const error = problems[0]?.error ?? { code: 'ERR_PROTOCOL_STATE', message: 'm1 was not accepted' };
    throw new SemperError(/^ERR_[A-Z_]+$/.test(error.code) ? (error.code as SemperError['code']) : 'ERR_INTERNAL', error.message);
  }
  return {
    state: { phase: 'responding', dealId: state.dealId, use: state.use, descriptor, responder: res.state },
    send: [{ to: 'shopper', body: { replies: res.send.filter((o) => o.to === 'peer').map((o) => o.statement) } }],
    effects: problems,
  };
}

function isProposal(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === EXCHANGE_TYPES.propose;
}

export async function stepExchangeMerchant(
  state: ExchangeMerchantState,
  event: ExchangeMerchantEvent,
  ctx: ExchangeMerchantContext,
): Promise<ExchangeMerchantStep> {
  if (event.type === 'descriptor-requested') {
    if (state.phase === 'new') return issueDescriptor(state.dealId, event.request, event.now, ctx);
    // A restarted worker re-sends its request: the same descriptor while no m1 came and it is valid (also an earlier
    // release's `responding` state whose responder still waits for m1).
    const stillOpen =
      (state.phase === 'offered' || (state.phase === 'responding' && state.responder.phase === 'awaiting-m1')) &&
      Date.parse(state.descriptor.body.expiresAt) > event.now;
    if (stillOpen && isRepeatedDescriptorRequest(state.descriptor, event.request))
      return { state, send: [{ to: 'shopper', body: { descriptor: state.descriptor } }], effects: [] };
    throw new SemperError('ERR_REPLAY', `deal ${state.dealId} already has an exchange descriptor`);
  }
  switch (state.phase) {
    case 'new':
      throw new SemperError('ERR_NOT_FOUND', `no exchange for deal ${state.dealId}`);
    case 'expired':
      if (event.type === 'message') throw new SemperError('ERR_OFFER_EXPIRED', `the exchange descriptor of deal ${state.dealId} expired`);
      return { state, send: [], effects: [] };
    case 'offered':
      if (event.type === 'message') {
        if (!isProposal(event.message))
          throw new SemperError('ERR_PROTOCOL_STATE', `deal ${state.dealId} has no exchange under way yet: it takes a proposal (m1)`);
        return onProposal(state, event, ctx);
      }
      if (event.type === 'timeout' && event.now >= offeredWakeAt(state, ctx.timing)) {
        return { state: { phase: 'expired', dealId: state.dealId, use: state.use, descriptor: state.descriptor, endedAt: event.now }, send: [], effects: [] };
      }
      return { state, send: [], effects: [] };
    case 'responding':
      break;
  }
  const res = await stepExchange(state.responder, event, responderContext(ctx));
  const problems = res.effects.filter((e): e is ExchangeMerchantEffect => e.kind === 'rejected-message');
  if (event.type === 'message' && problems.length > 0 && res.state === state.responder && res.send.length === 0) {
    const { code, message } = problems[0]!.error;
    throw new SemperError(/^ERR_[A-Z_]+$/.test(code) ? (code as SemperError['code']) : 'ERR_INTERNAL', message);
  }
  const next: ExchangeMerchantState = res.state === state.responder ? state : { ...state, responder: res.state };
  const send: ExchangeMerchantOutbound[] = ttpSends(res.send);
  // Only a shopper's message has a request to answer; a timer's retransmissions to the shopper have none
  // (the shopper re-sends, and a repeated message is answered with the reply again).
  if (event.type === 'message') send.unshift({ to: 'shopper', body: { replies: res.send.filter((o) => o.to === 'peer').map((o) => o.statement) } });
  return { state: next, send, effects: problems };
}

/** An offered deal's timer: when no m1 can come any more. */
function offeredWakeAt(state: Described, timing: ExchangeTiming): number {
  return Date.parse(state.descriptor.body.expiresAt) + m1Grace(timing);
}

/** The merchant's exchange-deal role on the machine contract. */
export const exchangeMerchant: Machine<
  ExchangeMerchantState,
  ExchangeMerchantEvent,
  ExchangeMerchantContext,
  ExchangeMerchantOutbound,
  ExchangeMerchantEffect,
  { dealId: string }
> = {
  kind: 'exchange-merchant',
  start: async ({ dealId }) => ({ state: { phase: 'new', dealId }, send: [], effects: [] }),
  step: stepExchangeMerchant,
  pendingSends: (state) => (state.phase === 'responding' ? ttpSends(state.responder.outbox) : []),
  // An offered deal wakes when no m1 can come any more: with the timing it was described under.
  wakeAt: (state) =>
    state.phase === 'responding' ? state.responder.wakeAt : state.phase === 'offered' ? offeredWakeAt(state, state.descriptor.body.timing) : null,
  isTerminal: (state) => state.phase === 'expired' || (state.phase === 'responding' && responderTerminal(state.responder)),
};
