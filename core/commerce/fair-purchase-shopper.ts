/**
 * The shopper's side of a fair purchase (fair-purchase.ts) as one machine on the contract
 * (core/machine.ts). The shopper is the *responder* of the generic exchange, started without its
 * item: the payment is made only once m1 binds the merchant, and it is made by the host's payment
 * service (an outbound `pay`, answered by `paid` or `payment-failed`), so this machine never names
 * a payment system beyond the method the user chose.
 *
 *   requesting-offer      → the merchant's offer and ciphertext, verified          → awaiting-confirmation
 *   awaiting-confirmation → user-confirmed {method}: the start is signed, the responder started
 *                           (it checks every field of m1 against the offer)          → starting
 *   starting              → m1 accepted (responder 'awaiting-item')                  → paying
 *   paying                → paid {money item}: m2 leaves with it                      → exchanging
 *                         → payment-failed: nothing left the purse                     → failed
 *   exchanging            → m3 (the key statement), or the TTP's affidavit revealing the key; the
 *                           goods decrypted and checked against the offer's digest    → completed
 *
 * Once paid, the deal never gives up: the responder complains to the TTP and keeps asking until it
 * decides. A key that does not open the goods, a box the TTP could not open, or a TTP abort after
 * payment end `failed` with the evidence archived (offer, m1, m2, the TTP's answer).
 */
import { SemperError, errorToJson, isSemperError } from '../errors.js';
import type { Machine, RandomSource, StepResult, TransportReply } from '../machine.js';
import type { Signer } from '../crypto/keys.js';
import type { RevocationCheck } from '../pki/certificates.js';
import type { Statement } from '../statements/index.js';
import { decodeBase64url, encodeBase64url, sha256 } from '../encoding/index.js';
import { type Amount, type Item, Item as ItemSchema } from '../items/schema.js';
import { AffidavitBody } from '../exchange/messages.js';
import { startResponder, stepExchange } from '../exchange/parties.js';
import type { ExchangeContext, ExchangeEvent, ExchangeState, StepResult as ExchangeStep, Outbound as ExchangeOutbound } from '../exchange/types.js';
import type { ErrorInfo } from './shopper.js';
import type { FairOutcomeForPage } from '../protocol/provider.js';
import { agreedExchangeContext, ttpStillTrusted, type TrustedTtpEntry } from './exchange-deal.js';
import {
  assertFairPurchase,
  decryptGoods,
  type FairAgreement,
  type FairMethod,
  type FairOfferBody,
  type FairOfferRequest,
  fairItems,
  revealedKey,
  signFairStart,
  type VerifiedFairOfferView,
  verifyFairOffer,
} from './fair-purchase.js';

export interface FairShopperContext {
  random: RandomSource;
  /** The key the purchase is signed with (the identity key): bound at the start, never named before. */
  signer: Signer;
  roots: readonly string[];
  ttps: readonly TrustedTtpEntry[];
  isRevoked?: RevocationCheck;
}

export interface FairPurchaseParams {
  origin: string;
  sku: string;
  now: number;
}

/** What the host's payment service is asked to do: pay this payee for this deal, and hand back the money item. */
export interface PaymentRequest {
  method: FairMethod;
  amount: Amount;
  payee: string;
  reference: string;
  bank: { keyId: string; url: string };
  /** With method card: the card adapter the offer names (its operator signs the proof m1 asks for). */
  card?: { keyId: string; url: string };
}

export type FairShopperOutbound =
  | { kind: 'http'; to: 'merchant'; path: '/semper/fair/offer'; body: FairOfferRequest }
  | { kind: 'http'; to: 'merchant'; path: '/semper/fair/messages'; body: { message: Statement } }
  | { kind: 'http'; to: 'ttp'; url: string; path: '/ttp/requests'; body: { request: Statement } }
  | { kind: 'pay'; request: PaymentRequest };

export type FairShopperEvent =
  | { type: 'reply'; sent: FairShopperOutbound; reply: TransportReply; now: number }
  | { type: 'user-confirmed'; method: FairMethod; now: number }
  | { type: 'user-rejected'; now: number }
  | { type: 'paid'; item: Item; now: number }
  | { type: 'payment-failed'; error: ErrorInfo; now: number }
  | Exclude<ExchangeEvent, { type: 'own-item' }>;

export type { FairOutcomeForPage };

export type FairShopperEffect =
  | { kind: 'show-offer'; dealId: string; view: VerifiedFairOfferView }
  | { kind: 'archive'; dealId: string; statement: Statement; direction: 'sent' | 'received' }
  | { kind: 'finished'; dealId: string; outcome: FairOutcomeForPage }
  | { kind: 'failed'; dealId: string; error: ErrorInfo }
  | { kind: 'rejected'; dealId: string }
  | { kind: 'problem'; dealId: string; error: ErrorInfo };

interface Common {
  dealId: string;
  origin: string;
  sku: string;
  nonce: string;
  startedAt: number;
}

interface Agreed {
  offer: Statement<FairOfferBody>;
  /** base64url ciphertext of the goods, checked against the offer's digest */
  ciphertext: string;
  view: VerifiedFairOfferView;
  agreement: FairAgreement;
  sealingKeyId: string;
}

interface Bound {
  method: FairMethod;
  start: Statement;
  responder: ExchangeState;
}

export type FairShopperState =
  | (Common & { phase: 'requesting-offer' })
  | (Common & Agreed & { phase: 'awaiting-confirmation' })
  | (Common & Agreed & Bound & { phase: 'starting' | 'exchanging'; paid?: Item; lastProblem?: ErrorInfo })
  | (Common & Agreed & Bound & { phase: 'paying'; payment: PaymentRequest; lastProblem?: ErrorInfo })
  | (Common &
      Agreed &
      Bound & {
        phase: 'completed';
        outcome: FairOutcomeForPage;
        paid: Item;
        /** the goods, base64url, checked against the offer's digest */
        goods: string;
        endedAt: number;
      })
  | (Common & Partial<Agreed> & Partial<Bound> & { phase: 'failed'; error: ErrorInfo; paid?: Item; endedAt: number })
  | (Common & Partial<Agreed> & { phase: 'rejected'; endedAt: number });

export type FairShopperPhase = FairShopperState['phase'];
type Step = StepResult<FairShopperState, FairShopperOutbound, FairShopperEffect>;
type BoundState = Extract<FairShopperState, { phase: 'starting' | 'exchanging' | 'paying' }>;

const MAX_REPLIES = 8;

function common(s: FairShopperState): Common {
  return { dealId: s.dealId, origin: s.origin, sku: s.sku, nonce: s.nonce, startedAt: s.startedAt };
}

function agreed(s: FairShopperState): Partial<Agreed> {
  return 'offer' in s && s.offer && s.view && s.agreement && s.ciphertext !== undefined && s.sealingKeyId
    ? { offer: s.offer, ciphertext: s.ciphertext, view: s.view, agreement: s.agreement, sealingKeyId: s.sealingKeyId }
    : {};
}

function bound(s: FairShopperState): Partial<Bound> {
  return 'responder' in s && s.responder && s.method && s.start ? { method: s.method, start: s.start, responder: s.responder } : {};
}

function paidOf(s: FairShopperState): { paid?: Item } {
  return 'paid' in s && s.paid ? { paid: s.paid } : {};
}

function unchanged(state: FairShopperState): Step {
  return { state, send: [], effects: [] };
}

function fail(state: FairShopperState, error: ErrorInfo, now: number, effects: FairShopperEffect[] = [], responder?: ExchangeState): Step {
  const b = bound(state);
  return {
    state: { ...common(state), ...agreed(state), ...b, ...(responder ? { responder } : {}), ...paidOf(state), phase: 'failed', error, endedAt: now },
    send: [],
    effects: [...effects, { kind: 'failed', dealId: state.dealId, error }],
  };
}

function offerRequest(s: Common): FairShopperOutbound {
  return { kind: 'http', to: 'merchant', path: '/semper/fair/offer', body: { dealId: s.dealId, nonce: s.nonce, sku: s.sku } };
}

function toHttp(agreement: FairAgreement, o: ExchangeOutbound): FairShopperOutbound {
  return o.to === 'peer'
    ? { kind: 'http', to: 'merchant', path: '/semper/fair/messages', body: { message: o.statement } }
    : { kind: 'http', to: 'ttp', url: agreement.ttp.url, path: '/ttp/requests', body: { request: o.statement } };
}

export function pendingFairSends(state: FairShopperState): FairShopperOutbound[] {
  switch (state.phase) {
    case 'requesting-offer':
      return [offerRequest(state)];
    case 'starting':
      return [{ kind: 'http', to: 'merchant', path: '/semper/fair/messages', body: { message: state.start } }];
    case 'paying':
      return [{ kind: 'pay', request: state.payment }];
    case 'exchanging':
      return state.responder.outbox.map((o) => toHttp(state.agreement, o));
    default:
      return [];
  }
}

export function isTerminalFair(state: FairShopperState): boolean {
  return state.phase === 'completed' || state.phase === 'failed' || state.phase === 'rejected';
}

function exchangeContext(state: Agreed, ctx: FairShopperContext): ExchangeContext {
  return agreedExchangeContext(state.agreement, ctx);
}

export async function startFairPurchase(p: FairPurchaseParams, ctx: Pick<FairShopperContext, 'random'>): Promise<Step> {
  const state: FairShopperState = {
    phase: 'requesting-offer',
    dealId: ctx.random.id(24),
    origin: p.origin,
    sku: p.sku,
    nonce: ctx.random.id(32),
    startedAt: p.now,
  };
  return { state, send: pendingFairSends(state), effects: [] };
}

async function receiveOffer(
  state: Extract<FairShopperState, { phase: 'requesting-offer' }>,
  response: unknown,
  now: number,
  ctx: FairShopperContext,
): Promise<Step> {
  try {
    const v = await verifyFairOffer(response, { dealId: state.dealId, nonce: state.nonce, origin: state.origin, sku: state.sku }, now, {
      roots: ctx.roots,
      ttps: ctx.ttps,
      ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}),
    });
    return {
      state: {
        ...common(state),
        phase: 'awaiting-confirmation',
        offer: v.offer,
        ciphertext: v.ciphertext,
        view: v.view,
        agreement: v.agreement,
        sealingKeyId: v.sealingKeyId,
      },
      send: [],
      effects: [
        { kind: 'archive', dealId: state.dealId, statement: v.offer, direction: 'received' },
        { kind: 'show-offer', dealId: state.dealId, view: v.view },
      ],
    };
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return fail(state, errorToJson(e), now);
  }
}

async function confirm(
  state: Extract<FairShopperState, { phase: 'awaiting-confirmation' }>,
  method: FairMethod,
  now: number,
  ctx: FairShopperContext,
): Promise<Step> {
  const a = state.agreement;
  try {
    if (now >= a.expiresAt) throw new SemperError('ERR_OFFER_EXPIRED', `the merchant's offer expired at ${new Date(a.expiresAt).toISOString()}`);
    if (!ttpStillTrusted(state.view, ctx.ttps)) throw new SemperError('ERR_TTP', `the TTP "${state.view.ttp.name}" is no longer among the TTPs you trust`);
    const items = fairItems(state.offer.body, { dealId: state.dealId, shopperKeyId: ctx.signer.keyId, method, sealingKeyId: state.sealingKeyId });
    assertFairPurchase(items, a.merchantKeyId, ctx.signer.keyId);
    const start = await signFairStart(a, method, ctx.signer, now);
    const t = a.timeouts;
    const started = await startResponder(
      {
        protocol: 'generatable-verifiable',
        dealId: state.dealId,
        originator: { keyId: a.merchantKeyId, signer: a.merchantSigner },
        responder: { keyId: ctx.signer.keyId },
        ttp: { keyId: a.ttp.keyId },
        ...(state.offer.body.terms !== undefined ? { terms: state.offer.body.terms } : {}),
        // The merchant names its deadline when the start arrives (startOriginator's default from then); a margin for skew.
        latestDeadline: now + 4 * t.peer + 3 * t.ttpMargin,
        gives: items.shopperGives,
        item: null,
        expects: items.merchantGives,
        now,
        timeouts: t,
      },
      exchangeContext(state, ctx),
    );
    const next: FairShopperState = {
      ...common(state),
      ...agreed(state),
      offer: state.offer,
      ciphertext: state.ciphertext,
      view: state.view,
      agreement: a,
      sealingKeyId: state.sealingKeyId,
      phase: 'starting',
      method,
      start,
      responder: started.state,
    };
    return { state: next, send: pendingFairSends(next), effects: [{ kind: 'archive', dealId: state.dealId, statement: start, direction: 'sent' }] };
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return fail(state, errorToJson(e), now);
  }
}

/** Fold one responder step into the deal. */
async function applyExchange(state: BoundState, res: ExchangeStep, now: number): Promise<Step> {
  const effects: FairShopperEffect[] = [];
  let lastProblem = state.lastProblem;
  for (const effect of res.effects) {
    if (effect.kind === 'archive') effects.push({ kind: 'archive', dealId: state.dealId, statement: effect.statement, direction: effect.direction });
    else if (effect.kind === 'rejected-message') {
      lastProblem = effect.error;
      effects.push({ kind: 'problem', dealId: state.dealId, error: effect.error });
    }
  }
  const problem = lastProblem ? { lastProblem } : {};
  const outcome = res.state.outcome;
  if (outcome) {
    if (outcome.status === 'resolved' && outcome.replacement)
      effects.push({ kind: 'archive', dealId: state.dealId, statement: outcome.replacement, direction: 'received' });
    const withResponder = { ...state, responder: res.state } as BoundState;
    if (outcome.status === 'completed' || outcome.status === 'resolved') return finish(withResponder, outcome.status, outcome, now, effects);
    const error: ErrorInfo =
      outcome.status === 'failed'
        ? state.phase === 'paying'
          ? // The payment was asked for and did not come back in time: it may still go through (then its proof is kept with this deal).
            {
              code: 'ERR_TTP',
              message: 'the exchange became final before the payment was made; a payment that still goes through is kept with this deal as evidence',
            }
          : { code: 'ERR_TTP', message: outcome.reason }
        : {
            code: 'ERR_TTP',
            message: `the TTP ended the exchange (${outcome.status}) after the payment: the offer, m1, m2 and the TTP's answer are the evidence`,
          };
    return fail(withResponder, error, now, effects, res.state);
  }
  if (res.state.phase === 'awaiting-item' && state.phase === 'starting') {
    // m1 accepted: the merchant is bound, now the money may move.
    const body = state.offer.body;
    const payment: PaymentRequest = {
      method: state.method,
      amount: body.price,
      payee: body.payment.payee,
      reference: state.dealId,
      bank: body.payment.bank,
      ...(state.method === 'card' && body.payment.card ? { card: body.payment.card } : {}),
    };
    const next: FairShopperState = {
      ...common(state),
      ...(agreed(state) as Agreed),
      ...(bound(state) as Bound),
      responder: res.state,
      ...problem,
      phase: 'paying',
      payment,
    };
    return { state: next, send: pendingFairSends(next), effects };
  }
  const next = { ...state, responder: res.state, ...problem } as BoundState;
  if (res.state === state.responder && effects.length === 0 && res.send.length === 0) return unchanged(state);
  return { state: next, send: res.send.map((o) => toHttp(state.agreement, o)), effects };
}

async function finish(
  state: BoundState,
  status: 'completed' | 'resolved',
  outcome: { received?: Item; replacement?: Statement },
  now: number,
  effects: FairShopperEffect[],
): Promise<Step> {
  const paid = 'paid' in state ? state.paid : undefined;
  try {
    if (!paid) throw new SemperError('ERR_PROTOCOL_STATE', 'the exchange ended before the payment was recorded');
    const affidavit = outcome.replacement ? AffidavitBody.safeParse(outcome.replacement.body) : undefined;
    const key = revealedKey(outcome.received, affidavit?.success ? affidavit.data : undefined);
    const body = state.offer.body;
    const goods = await decryptGoods(key, decodeBase64url(state.ciphertext), state.dealId, state.sku, body.goods.digest);
    const pageOutcome: FairOutcomeForPage = {
      dealId: state.dealId,
      status,
      sku: state.sku,
      title: body.title,
      goods: { mediaType: body.goods.mediaType, size: goods.byteLength, digest: encodeBase64url(await sha256(goods)) },
    };
    return {
      state: {
        ...common(state),
        ...(agreed(state) as Agreed),
        ...(bound(state) as Bound),
        phase: 'completed',
        outcome: pageOutcome,
        paid,
        goods: encodeBase64url(goods),
        endedAt: now,
      },
      send: [],
      effects: [...effects, { kind: 'finished', dealId: state.dealId, outcome: pageOutcome }],
    };
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return fail(state, errorToJson(e), now, effects);
  }
}

async function exchangeStep(state: BoundState, event: ExchangeEvent, ctx: FairShopperContext): Promise<Step> {
  if (ctx.signer.keyId !== state.responder.self.keyId) throw new SemperError('ERR_KEY', 'the key this purchase was started with is no longer available');
  return applyExchange(state, await stepExchange(state.responder, event, exchangeContext(state, ctx)), event.now);
}

async function onReply(state: FairShopperState, event: Extract<FairShopperEvent, { type: 'reply' }>, ctx: FairShopperContext): Promise<Step> {
  const { sent, reply, now } = event;
  if (sent.kind === 'pay') {
    // The host's payment service answers the `pay` send: the money item, or a refusal (it moves all or nothing).
    const item = reply.kind === 'response' ? ItemSchema.safeParse(reply.body) : undefined;
    if (state.phase === 'failed' && item?.success) return latePayment(state, item.data);
    if (state.phase !== 'paying') return unchanged(state);
    // No answer yet (the bank has not answered the payment service): the payment may still go through, so the deal
    // keeps waiting for it (a restarted worker asks again; the service is idempotent by the deal) — never failed here.
    if (reply.kind === 'error' && reply.status === undefined) return unchanged(state);
    if (reply.kind === 'error') return fail(state, { code: reply.error.code, message: `the payment was not made: ${reply.error.message}` }, now);
    if (!item?.success) return fail(state, { code: 'ERR_SCHEMA', message: 'the payment service answered without a money item' }, now);
    return onPaid(state, item.data, now, ctx);
  }
  if (sent.path === '/semper/fair/offer') {
    if (state.phase !== 'requesting-offer') return unchanged(state);
    if (reply.kind === 'error') {
      const code = /^ERR_[A-Z_]+$/.test(reply.error.code) && reply.error.code !== 'ERR_INTERNAL' ? 'ERR_OFFER_UNKNOWN' : 'ERR_INTERNAL';
      return fail(state, { code, message: `merchant refused or unreachable: ${reply.error.code} ${reply.error.message}` }, now);
    }
    return receiveOffer(state, reply.body, now, ctx);
  }
  if (state.phase !== 'starting' && state.phase !== 'exchanging' && state.phase !== 'paying') return unchanged(state);
  if (sent.to === 'merchant') {
    if (reply.kind === 'error') {
      // A merchant that refuses our start (and so will never bind itself) ends the deal before any money moved.
      if (state.phase === 'starting' && reply.status !== undefined && reply.status < 500)
        return fail(state, { code: 'ERR_OFFER_UNKNOWN', message: `the merchant refused the purchase: ${reply.error.code} ${reply.error.message}` }, now);
      return unchanged(state); // otherwise the exchange's timers decide
    }
    const replies = (reply.body as { replies?: unknown } | null)?.replies;
    if (!Array.isArray(replies)) return unchanged(state);
    let result: Step = unchanged(state);
    for (const message of replies.slice(0, MAX_REPLIES)) {
      const s = result.state;
      if (s.phase !== 'starting' && s.phase !== 'exchanging') break;
      const next = await exchangeStep(s, { type: 'message', message, now, from: 'peer' }, ctx);
      result = { state: next.state, send: [...result.send, ...next.send], effects: [...result.effects, ...next.effects] };
    }
    return result;
  }
  if (state.phase !== 'exchanging') return unchanged(state);
  if (reply.kind === 'error') return exchangeStep(state, { type: 'ttp-error', error: reply.error, now }, ctx);
  return exchangeStep(state, { type: 'message', message: (reply.body as { answer?: unknown } | null)?.answer, now, from: 'ttp' }, ctx);
}

async function onPaid(state: Extract<FairShopperState, { phase: 'paying' }>, item: Item, now: number, ctx: FairShopperContext): Promise<Step> {
  const { payment: _payment, ...rest } = state;
  const exchanging = { ...rest, phase: 'exchanging' as const, paid: item };
  try {
    const res = await stepExchange(state.responder, { type: 'own-item', item, now }, exchangeContext(state, ctx));
    const step = await applyExchange(exchanging, res, now);
    return { ...step, effects: [...step.effects] };
  } catch (e) {
    if (!isSemperError(e)) throw e;
    // The money moved but its proof does not fit what m1 asks: keep it (evidence, refund) and stop.
    return fail(exchanging, { code: e.code, message: `the payment's proof does not fit the purchase: ${e.message}` }, now);
  }
}

/**
 * The payment service answered after the deal ended (slower than m1's deadline + margin: the
 * responder gave up waiting for its item). The money has moved, so the deal keeps the bank's proof
 * and says so — the offer, m1 and that proof are the evidence for a refund — instead of dropping it.
 */
function latePayment(state: Extract<FairShopperState, { phase: 'failed' }>, item: Item): Step {
  if (state.paid) return unchanged(state);
  const error: ErrorInfo = {
    code: state.error.code,
    message: `the merchant was paid after the exchange became final (${state.error.message}): no m2 left, the offer, m1 and the bank's proof are the evidence for a refund`,
  };
  const effects: FairShopperEffect[] = [];
  if (item.kind === 'money') effects.push({ kind: 'archive', dealId: state.dealId, statement: item.proof, direction: 'received' });
  effects.push({ kind: 'problem', dealId: state.dealId, error });
  return { state: { ...state, paid: item, error }, send: [], effects };
}

export async function stepFairPurchase(state: FairShopperState, event: FairShopperEvent, ctx: FairShopperContext): Promise<Step> {
  if (event.type === 'reply') return onReply(state, event, ctx);
  if (state.phase === 'failed' && event.type === 'paid') return latePayment(state, event.item);
  switch (state.phase) {
    case 'requesting-offer':
      if (event.type === 'user-rejected') return reject(state, event.now);
      break;
    case 'awaiting-confirmation':
      if (event.type === 'user-confirmed') return confirm(state, event.method, event.now, ctx);
      if (event.type === 'user-rejected') return reject(state, event.now);
      break;
    case 'starting':
      if (event.type === 'message' || event.type === 'timeout' || event.type === 'resume') return exchangeStep(state, event, ctx);
      break;
    case 'paying':
      if (event.type === 'paid') return onPaid(state, event.item, event.now, ctx);
      if (event.type === 'payment-failed') return fail(state, event.error, event.now);
      // The merchant's retransmitted m1 and timers while the payment is under way: the responder ignores or handles them.
      if (event.type === 'message' || event.type === 'timeout' || event.type === 'resume') return exchangeStep(state, event, ctx);
      break;
    case 'exchanging':
      if (event.type === 'message' || event.type === 'timeout' || event.type === 'ttp-error' || event.type === 'resume') return exchangeStep(state, event, ctx);
      break;
    default:
      break;
  }
  throw new SemperError('ERR_PROTOCOL_STATE', `purchase ${state.dealId} is ${state.phase}: ${event.type} is not expected`);
}

function reject(state: FairShopperState, now: number): Step {
  return { state: { ...common(state), ...agreed(state), phase: 'rejected', endedAt: now }, send: [], effects: [{ kind: 'rejected', dealId: state.dealId }] };
}

/** The shopper's fair-purchase role on the machine contract. */
export const fairPurchaseShopper: Machine<FairShopperState, FairShopperEvent, FairShopperContext, FairShopperOutbound, FairShopperEffect, FairPurchaseParams> =
  {
    kind: 'fair-purchase',
    start: startFairPurchase,
    step: stepFairPurchase,
    pendingSends: pendingFairSends,
    wakeAt: (state) => (state.phase === 'starting' || state.phase === 'paying' || state.phase === 'exchanging' ? state.responder.wakeAt : null),
    isTerminal: isTerminalFair,
  };
