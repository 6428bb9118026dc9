/**
 * The shopper's side of a purchase, offer → order → confirmation → delivery, as a sans-IO state
 * machine: `stepShopper(state, event, ctx)` returns the next plain-JSON state, the messages to
 * send and the effects for the host (show the offer, archive a statement, settle the page's
 * request). The host (the extension's worker, or a test) does all I/O and persists the state
 * after every step, so a killed worker resumes with `pendingSends(state)`.
 *
 * Nothing from the merchant reaches `show-offer` unverified: schema, certificate chain to a
 * configured root, origin binding, signature, nonce echo, deal id, expiry, and a commitment to
 * what each digital item delivers (content digest, media type, size — or, for a good not yet
 * produced, a description and a size bound).
 *
 *   requesting-offer → awaiting-confirmation → ordering → completed
 *                                                      → delivery-mismatch  the merchant's signed delivery is not
 *                                                                           what its offer committed to (evidence kept)
 *                                            ordering → retrying-order      no answer to the order (connection lost,
 *                                                                           merchant unavailable, an answer that is not
 *                                                                           the merchant's): the same order again at
 *                                                                           `wakeAt`, backing off, until the merchant
 *                                                                           answers or the answer deadline passes
 *                                                                           (ERR_ORDER_UNANSWERED); the merchant answers
 *                                                                           a repeated order identically
 * A deal whose order left is reported failed only on the merchant's own error answer (HTTP 4xx
 * with a typed error), on its signed answer contradicting the offer, or at the answer deadline.
 */
import { SemperError, errorToJson, type SemperErrorCode } from '../errors.js';
import type { Signer } from '../crypto/keys.js';
import type { RevocationCheck } from '../pki/certificates.js';
import {
  signStatementWithDigest,
  statementDigest,
  verifyStatement,
  type SignatureBlock,
  type SignerRef,
  type Statement,
  type UnsignedStatement,
  type WebAuthnStatementVerifier,
} from '../statements/index.js';
import { canonicalJson, isoTime } from '../encoding/index.js';
import type { Machine, RandomSource, StepResult, TransportReply } from '../machine.js';
import {
  ConfirmationBody,
  DeliveryBody,
  OfferBody,
  STATEMENT_TYPES,
  type DeliveredGood,
  type Money,
  type OfferedItem,
  type OfferRequest,
  type OrderBody,
  type RequestedItem,
} from '../protocol/commerce.js';
import type { PurchaseOutcome } from '../protocol/provider.js';
import type { SignatureRequirement, VerifiedOfferView } from './view.js';
import { digestJson } from '../encoding/index.js';
import { verifyCheque, verifyClearing } from '../payment/cheque/index.js';
import { certifiedMerchant, checkSignatureDemand, errorAnswer, measureGood, parseBody, verifyMerchantStatement, withBody } from './common.js';

export interface ShopperContext {
  /** Deal ids and nonces. */
  random: RandomSource;
  /** Trusted CA roots (base64 DER): a setting of the user's, not a constant. */
  roots: readonly string[];
  /** The key that signs orders (device key). */
  signer: Signer;
  isRevoked?: RevocationCheck;
  /** Verifies orders signed with a hardware token (WebAuthn) before they are sent. */
  webauthn?: WebAuthnStatementVerifier;
  /** The shopper's settings. */
  policy?: ShopperPolicy;
  /** How an unanswered order is retried (default ORDER_RETRY). */
  orderRetry?: OrderRetryPolicy;
}

/** How an order without an answer is retried (the host's alarm at `wakeAt(state)` sends each attempt). */
export interface OrderRetryPolicy {
  /** Wait after the first failed attempt; doubled after every further one... */
  firstMs: number;
  /** ...up to this. */
  maxMs: number;
  /** The answer deadline: this long after the later of the offer's expiry and the order's time. */
  answerWindowMs: number;
}

/** The default: 2 s, 4 s, … up to 5 min between attempts, for a day after the offer expired. */
export const ORDER_RETRY: OrderRetryPolicy = { firstMs: 2_000, maxMs: 5 * 60_000, answerWindowMs: 24 * 60 * 60_000 };

export interface ShopperPolicy {
  /** Orders whose total exceeds this need a hardware token with user verification. Other currencies always do. */
  hardwareTokenAbove?: Money;
}

/** What the host's payment service is asked for a cheque purchase (`chequeRequest`): a cheque drawn on the shopper's account at this bank (not money yet). */
export interface ChequePayRequest {
  method: 'cheque';
  amount: Money;
  payee: string;
  reference: string;
  bank: { keyId: string; url: string };
}

export type Outbound =
  | { kind: 'http'; to: 'merchant'; path: '/semper/offer'; body: OfferRequest }
  | { kind: 'http'; to: 'merchant'; path: '/semper/order'; body: { order: Statement<OrderBody>; cheque?: Statement } };

export interface ErrorInfo {
  code: SemperErrorCode | string;
  message: string;
}

export type ShopperEffect =
  | { kind: 'show-offer'; dealId: string; view: VerifiedOfferView }
  | { kind: 'archive'; dealId: string; statement: Statement<unknown>; direction: 'sent' | 'received' }
  | { kind: 'finished'; dealId: string; outcome: PurchaseOutcome }
  | { kind: 'failed'; dealId: string; error: ErrorInfo }
  | { kind: 'rejected'; dealId: string };

export type ShopperEvent =
  | { type: 'offer-response'; response: unknown; now: number }
  | { type: 'order-response'; response: unknown; now: number }
  /** A request failed: `status` is the HTTP status of an error answer; absent when nothing came back. */
  | { type: 'transport-error'; error: ErrorInfo; status?: number; now: number }
  /** Confirmed in the trusted window; the host's device signer (ctx.signer) signs the order. */
  | { type: 'user-confirmed'; now: number }
  /**
   * Confirmed in the trusted window with method cheque: the host's payment service wrote the cheque
   * (`chequeRequest(state)`, signed by the account key, which the machine does not hold — as a
   * hardware token's order is signed outside it); the machine checks it and signs the order naming it.
   */
  | { type: 'user-confirmed-cheque'; cheque: unknown; now: number }
  /** The host's timer fired at `wakeAt(state)`: an offer nobody confirmed in time ends the deal. */
  | { type: 'timeout'; now: number }
  /** Confirmed and signed outside the machine (a WebAuthn assertion over `orderToSign`). */
  | { type: 'order-signed'; order: unknown; now: number }
  | { type: 'user-rejected'; now: number }
  /** The transport's answer to something this machine sent; applied only while the state still waits for it. */
  | { type: 'reply'; sent: Outbound; reply: TransportReply; now: number };

interface Common {
  dealId: string;
  origin: string;
  nonce: string;
  items: RequestedItem[];
  startedAt: number;
}

/** What the shopper holds once its order left. */
interface Ordered extends Common {
  offer: Statement<OfferBody>;
  offerDigest: string;
  view: VerifiedOfferView;
  order: Statement<OrderBody>;
  orderDigest: string;
  /** With method cheque: the cheque the order names (recorded before it leaves with the order). */
  cheque?: Statement;
}

/** How a delivered good differs from what the offer committed to. */
export interface DeliveryMismatch {
  sku: string;
  /**
   * missing: an offered digital item was not delivered; not-offered / duplicate: a good the offer
   * did not name, or named once; title / media-type / content / size: not what the offer committed
   * to; digest: the delivery's own digest is not its content's.
   */
  what: 'missing' | 'not-offered' | 'duplicate' | 'title' | 'media-type' | 'content' | 'size' | 'digest';
}

export type ShopperState =
  | (Common & { phase: 'requesting-offer' })
  | (Common & { phase: 'awaiting-confirmation'; offer: Statement<OfferBody>; offerDigest: string; view: VerifiedOfferView })
  | (Ordered & { phase: 'ordering' })
  | (Ordered & {
      phase: 'retrying-order';
      /** Attempts that got no answer so far. */
      attempts: number;
      /** When the next attempt is sent; null while one is on its way. */
      nextAttemptAt: number | null;
      /** Until then the order is retried; then the deal ends with ERR_ORDER_UNANSWERED. */
      answerBy: number;
      lastError: ErrorInfo;
    })
  | (Common & {
      phase: 'delivery-mismatch';
      view: VerifiedOfferView;
      offer: Statement<OfferBody>;
      order: Statement<OrderBody>;
      confirmation: Statement<ConfirmationBody>;
      delivery: Statement<DeliveryBody>;
      mismatches: DeliveryMismatch[];
      error: ErrorInfo;
      endedAt: number;
    })
  | (Common & {
      phase: 'completed';
      view: VerifiedOfferView;
      offer: Statement<OfferBody>;
      order: Statement<OrderBody>;
      confirmation: Statement<ConfirmationBody>;
      delivery: Statement<DeliveryBody>;
      outcome: PurchaseOutcome;
      endedAt: number;
    })
  | (Common & { phase: 'rejected'; view?: VerifiedOfferView; endedAt: number })
  | (Common & { phase: 'failed'; error: ErrorInfo; view?: VerifiedOfferView; endedAt: number });

export type ShopperPhase = ShopperState['phase'];

export type ShopperStep = StepResult<ShopperState, Outbound, ShopperEffect>;

/** What a purchase starts with: the page's origin (from the browser) and the items it asked for. */
export interface PurchaseParams {
  origin: string;
  items: RequestedItem[];
  now: number;
}

/** The first state with the deal id and nonce given (the machine's `start` draws them from ctx.random). */
export function startPurchase(p: { dealId: string; nonce: string; origin: string; items: RequestedItem[]; now: number }): ShopperStep {
  const state: ShopperState = { phase: 'requesting-offer', dealId: p.dealId, origin: p.origin, nonce: p.nonce, items: p.items, startedAt: p.now };
  return { state, send: pendingSends(state), effects: [] };
}

const orderSend = (state: Ordered): Outbound => ({
  kind: 'http',
  to: 'merchant',
  path: '/semper/order',
  body: { order: state.order, ...(state.cheque ? { cheque: state.cheque } : {}) },
});

/** Messages that must be (re-)sent in this state: after a start, a step, or a worker restart. */
export function pendingSends(state: ShopperState): Outbound[] {
  switch (state.phase) {
    case 'requesting-offer':
      return [
        {
          kind: 'http',
          to: 'merchant',
          path: '/semper/offer',
          body: { dealId: state.dealId, nonce: state.nonce, items: state.items, deliveryCommitments: true },
        },
      ];
    case 'ordering':
      return [orderSend(state)];
    case 'retrying-order':
      return state.nextAttemptAt === null ? [orderSend(state)] : [];
    default:
      return [];
  }
}

/**
 * When the host should deliver a `timeout` event (epoch ms), or null: the offer's expiry while it
 * awaits the user; the next attempt (or the answer deadline) while an order waits for its answer.
 */
export function wakeAt(state: ShopperState): number | null {
  if (state.phase === 'awaiting-confirmation') return Date.parse(state.view.expiresAt);
  if (state.phase === 'retrying-order') return state.nextAttemptAt === null ? state.answerBy : Math.min(state.nextAttemptAt, state.answerBy);
  return null;
}

export function isTerminal(state: ShopperState): boolean {
  return state.phase === 'completed' || state.phase === 'rejected' || state.phase === 'failed' || state.phase === 'delivery-mismatch';
}

function fail(state: ShopperState, e: unknown, now: number): ShopperStep {
  const error = errorToJson(e);
  const view = 'view' in state ? state.view : undefined;
  const next: ShopperState = withCommon(state, { phase: 'failed', error, ...(view ? { view } : {}), endedAt: now });
  return { state: next, send: [], effects: [{ kind: 'failed', dealId: state.dealId, error }] };
}

/**
 * The next state: the deal's common members, then `rest`. Made as a literal that `rest` is assigned
 * to, not as `{ ...common, ...rest }`: in Node 20's V8 every member written after a leading spread
 * takes a slow path (≈ 2.5 µs each; ≈ 30 µs for a completed purchase's state, measured), which
 * made building the states a noticeable part of a purchase.
 */
function withCommon<const T extends object>(state: Common, rest: T): Common & T {
  return Object.assign({ dealId: state.dealId, origin: state.origin, nonce: state.nonce, items: state.items, startedAt: state.startedAt }, rest);
}

function unexpected(state: ShopperState, event: ShopperEvent): never {
  throw new SemperError('ERR_PROTOCOL_STATE', `purchase ${state.dealId}: event ${event.type} is not expected in phase ${state.phase}`);
}

/**
 * One step. Throws ERR_PROTOCOL_STATE for an event the phase does not expect (the host ignores
 * it: a late or duplicated response must not move a finished deal); every other failure is a
 * transition to `failed` with a typed error.
 */
export async function stepShopper(state: ShopperState, event: ShopperEvent, ctx: ShopperContext): Promise<ShopperStep> {
  if (event.type === 'reply') {
    const { reply, now } = event;
    // A late or duplicate answer (to a request this state no longer waits for) moves nothing; an
    // answer to the order is looked at whenever the order waits for one (it is verified anyway).
    const { sent } = event;
    const orderAnswer = reply.kind === 'response' && sent.path === '/semper/order' && (state.phase === 'ordering' || state.phase === 'retrying-order');
    if (!orderAnswer && !pendingSends(state).some((o) => o.path === sent.path)) return { state, send: [], effects: [] };
    if (reply.kind === 'error') {
      return stepShopper(state, { type: 'transport-error', error: reply.error, ...(reply.status === undefined ? {} : { status: reply.status }), now }, ctx);
    }
    return stepShopper(state, { type: sent.path === '/semper/offer' ? 'offer-response' : 'order-response', response: reply.body, now }, ctx);
  }
  switch (state.phase) {
    case 'requesting-offer':
      if (event.type === 'offer-response') return receiveOffer(state, event.response, event.now, ctx);
      if (event.type === 'transport-error') return fail(state, new SemperError(asCode(event.error.code), event.error.message), event.now);
      if (event.type === 'user-rejected') return reject(state, event.now);
      return unexpected(state, event);
    case 'awaiting-confirmation':
      if (event.type === 'user-confirmed-cheque') return chequeWritten(state, event.cheque, event.now, ctx);
      if (event.type === 'user-confirmed') return confirm(state, event.now, ctx);
      if (event.type === 'order-signed') return acceptSignedOrder(state, event.order, event.now, ctx);
      if (event.type === 'timeout' && Date.parse(state.view.expiresAt) <= event.now) {
        return fail(state, new SemperError('ERR_OFFER_EXPIRED', `offer expired at ${state.view.expiresAt} before it was confirmed`), event.now);
      }
      if (event.type === 'user-rejected') return reject(state, event.now);
      return unexpected(state, event);
    case 'ordering':
    case 'retrying-order':
      if (event.type === 'order-response') return receiveResult(state, event.response, event.now, ctx);
      if (event.type === 'transport-error') {
        // The merchant's own error answer ends the deal; no answer (or not the merchant's) is retried.
        if (isMerchantRefusal(event.status)) return fail(state, new SemperError(asCode(event.error.code), event.error.message), event.now);
        return retryLater(state, event.error, event.now, ctx);
      }
      if (event.type === 'timeout' && state.phase === 'retrying-order') return retryDue(state, event.now);
      return unexpected(state, event);
    default:
      return unexpected(state, event);
  }
}

/**
 * An HTTP error answer the merchant's application gave about the order (4xx with a typed error):
 * the merchant has decided. No status (nothing came back), 408, 429, 5xx and a 2xx whose body could
 * not be read say nothing about the order: it may have been stored, so it is sent again.
 */
function isMerchantRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** No answer to the order: try again after a back-off, until the answer deadline. */
function retryLater(state: Extract<ShopperState, { phase: 'ordering' | 'retrying-order' }>, error: ErrorInfo, now: number, ctx: ShopperContext): ShopperStep {
  const policy = ctx.orderRetry ?? ORDER_RETRY;
  const attempts = state.phase === 'retrying-order' ? state.attempts + 1 : 1;
  const answerBy =
    state.phase === 'retrying-order' ? state.answerBy : Math.max(Date.parse(state.view.expiresAt), Date.parse(state.order.issuedAt)) + policy.answerWindowMs;
  if (now >= answerBy) return unanswered(state, attempts, error, now);
  const delay = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(attempts - 1, 20));
  const next: ShopperState = {
    ...orderedPart(state),
    phase: 'retrying-order',
    attempts,
    nextAttemptAt: Math.min(now + delay, answerBy),
    answerBy,
    lastError: error,
  };
  return { state: next, send: [], effects: [] };
}

/** The timer of a retrying order: send it again, or end the deal at the answer deadline. */
function retryDue(state: Extract<ShopperState, { phase: 'retrying-order' }>, now: number): ShopperStep {
  if (now >= state.answerBy) return unanswered(state, state.attempts, state.lastError, now);
  if (state.nextAttemptAt === null || now < state.nextAttemptAt) {
    throw new SemperError('ERR_PROTOCOL_STATE', `purchase ${state.dealId}: no attempt due (next ${state.nextAttemptAt})`);
  }
  const next: ShopperState = { ...state, nextAttemptAt: null };
  return { state: next, send: [orderSend(next)], effects: [] };
}

function unanswered(state: Extract<ShopperState, { phase: 'ordering' | 'retrying-order' }>, attempts: number, last: ErrorInfo, now: number): ShopperStep {
  return fail(
    state,
    new SemperError(
      'ERR_ORDER_UNANSWERED',
      `the merchant did not answer the order in ${attempts} attempts (last: ${last.code} ${last.message}); it may hold the order: the signed order is in the archive`,
    ),
    now,
  );
}

function orderedPart(state: Ordered): Ordered {
  const { offer, offerDigest, view, order, orderDigest, cheque } = state;
  return withCommon(state, { offer, offerDigest, view, order, orderDigest, ...(cheque ? { cheque } : {}) });
}

function asCode(code: string): SemperErrorCode {
  return /^ERR_[A-Z_]+$/.test(code) ? (code as SemperErrorCode) : 'ERR_INTERNAL';
}

function reject(state: ShopperState, now: number): ShopperStep {
  const view = 'view' in state ? state.view : undefined;
  return {
    state: withCommon(state, { phase: 'rejected', ...(view ? { view } : {}), endedAt: now }),
    send: [],
    effects: [{ kind: 'rejected', dealId: state.dealId }],
  };
}

/** Verify a merchant's offer against everything the shopper knows; returns the view the user may see. */
export async function verifyOffer(
  response: unknown,
  expected: { dealId: string; nonce: string; origin: string; items: RequestedItem[] },
  now: number,
  ctx: Pick<ShopperContext, 'roots' | 'isRevoked' | 'policy'>,
): Promise<{ offer: Statement<OfferBody>; offerDigest: string; view: VerifiedOfferView }> {
  const verified = await verifyMerchantStatement(response, 'offer', STATEMENT_TYPES.offer, OfferBody, expected, now, ctx);
  const offer = verified.statement;
  const body = offer.body;
  checkItemsMatch(body, expected.items);
  checkCommitments(body);
  const total = body.items.reduce((sum, i) => sum + i.unitPrice.amount * i.quantity, 0);
  const currencies = new Set(body.items.map((i) => i.unitPrice.currency));
  if (currencies.size !== 1 || !currencies.has(body.total.currency) || total !== body.total.amount) {
    throw new SemperError('ERR_OFFER_INVALID', 'offer total is not the sum of its items in one currency');
  }
  if ((body.cheque !== undefined) !== body.paymentMethods.includes('cheque'))
    throw new SemperError('ERR_OFFER_INVALID', 'an offer names a payee and bank for cheques exactly when it takes cheques');
  // The digest of the offer as signed (its canonical text is known since verification), not of the
  // copy with the parsed body, which would be canonicalised all over again.
  const offerDigest = await statementDigest(verified.signed);
  const view: VerifiedOfferView = {
    dealId: offer.dealId,
    offerId: body.offerId,
    origin: expected.origin,
    merchant: certifiedMerchant(verified.chain),
    items: body.items,
    total: body.total,
    expiresAt: body.expiresAt,
    terms: body.terms,
    paymentMethods: body.paymentMethods,
    signature: signatureRequirement(body, ctx.policy),
    verifiedAt: isoTime(now),
  };
  // Set after the literal, not spread into it: V8 writes every member after a spread the slow way.
  if (body.cheque) view.cheque = body.cheque;
  return { offer, offerDigest, view };
}

/** Every digital item says what it delivers; physical items are not delivered in the deal. */
function checkCommitments(body: OfferBody): void {
  for (const item of body.items) {
    if (item.kind === 'digital' && !item.content) throw new SemperError('ERR_OFFER_INVALID', `the offer does not commit to what "${item.sku}" delivers`);
    if (item.kind === 'physical' && item.content) throw new SemperError('ERR_OFFER_INVALID', `physical item "${item.sku}" is not delivered in the deal`);
  }
}

function checkItemsMatch(body: OfferBody, requested: RequestedItem[]): void {
  const want = new Map(requested.map((i) => [i.sku, i.quantity]));
  if (body.items.length !== want.size || body.items.some((i) => want.get(i.sku) !== i.quantity)) {
    throw new SemperError('ERR_OFFER_INVALID', 'offer items are not the items requested');
  }
}

async function receiveOffer(
  state: Extract<ShopperState, { phase: 'requesting-offer' }>,
  response: unknown,
  now: number,
  ctx: ShopperContext,
): Promise<ShopperStep> {
  let verified: Awaited<ReturnType<typeof verifyOffer>>;
  try {
    verified = await verifyOffer(response, state, now, ctx);
  } catch (e) {
    return fail(state, e, now);
  }
  return {
    state: withCommon(state, { phase: 'awaiting-confirmation', ...verified }),
    send: [],
    effects: [
      { kind: 'archive', dealId: state.dealId, statement: verified.offer, direction: 'received' },
      { kind: 'show-offer', dealId: state.dealId, view: verified.view },
    ],
  };
}

function signatureRequirement(body: OfferBody, policy: ShopperPolicy | undefined): SignatureRequirement {
  const because: SignatureRequirement['because'] = [];
  let hardwareToken = false;
  let userVerification = false;
  if (body.orderSignature) {
    because.push('merchant');
    hardwareToken ||= body.orderSignature.hardwareToken;
    userVerification ||= body.orderSignature.userVerification;
  }
  const limit = policy?.hardwareTokenAbove;
  if (limit && (body.total.currency !== limit.currency || body.total.amount > limit.amount)) {
    because.push('amount');
    hardwareToken = true;
    userVerification = true;
  }
  return { hardwareToken, userVerification, because };
}

/** The order the shopper signs for this offer, with the signature header it will carry. */
export function orderToSign<H extends { alg: SignatureBlock['alg']; signer: SignerRef }>(
  state: ShopperState,
  now: number,
  header: H,
): UnsignedStatement<OrderBody> & { signature: H } {
  if (state.phase !== 'awaiting-confirmation') throw new SemperError('ERR_PROTOCOL_STATE', `purchase ${state.dealId}: nothing to sign in phase ${state.phase}`);
  return {
    type: STATEMENT_TYPES.order,
    version: 1,
    dealId: state.dealId,
    issuedAt: isoTime(now),
    body: { offerId: state.view.offerId, offerDigest: state.offerDigest, paymentMethod: state.view.paymentMethods[0]! },
    signature: header,
  };
}

function checkNotExpired(state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>, now: number): void {
  // The user may take longer than the offer lives: never send an order for an expired offer.
  if (Date.parse(state.view.expiresAt) <= now) throw new SemperError('ERR_OFFER_EXPIRED', `offer expired at ${state.view.expiresAt}`);
}

async function ordered(
  state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>,
  signed: { statement: Statement<OrderBody>; digest?: string },
  cheque?: Statement,
): Promise<ShopperStep> {
  const { offer, offerDigest, view } = state;
  const order = signed.statement;
  const next: ShopperState = withCommon(state, {
    offer,
    offerDigest,
    view,
    phase: 'ordering',
    order,
    // Signed here: the digest of the text just signed (signStatementWithDigest), not a second walk.
    orderDigest: signed.digest ?? (await statementDigest(order)),
    ...(cheque ? { cheque } : {}),
  });
  const effects: ShopperEffect[] = [{ kind: 'archive', dealId: state.dealId, statement: order, direction: 'sent' }];
  if (cheque) effects.push({ kind: 'archive', dealId: state.dealId, statement: cheque, direction: 'sent' });
  return { state: next, send: pendingSends(next), effects };
}

/**
 * What the host's payment service is asked for when the user confirms with method cheque: a cheque
 * to the offer's payee, for this deal and the total, drawn on the shopper's account at the offer's
 * bank. Throws when the offer takes no cheques (or demands a hardware-token order: the cheque's
 * order is signed by the device key).
 */
export function chequeRequest(state: ShopperState): ChequePayRequest {
  if (state.phase !== 'awaiting-confirmation') throw new SemperError('ERR_PROTOCOL_STATE', `purchase ${state.dealId}: nothing to pay in phase ${state.phase}`);
  const terms = state.view.cheque;
  if (!terms || !state.view.paymentMethods.includes('cheque'))
    throw new SemperError('ERR_PAYMENT_METHOD', 'the merchant does not take cheques for this purchase');
  if (state.view.signature.hardwareToken || state.view.signature.userVerification) {
    throw new SemperError(
      'ERR_HARDWARE_TOKEN_REQUIRED',
      `this order must be signed with a hardware security key (${state.view.signature.because.join(', ')}); a cheque order is signed by the device key`,
    );
  }
  return { method: 'cheque', amount: state.view.total, payee: terms.payee, reference: state.dealId, bank: terms.bank };
}

/**
 * The cheque the host's payment service wrote, checked against `chequeRequest` (to the offer's payee,
 * for this deal and the total), then the order naming its digest, signed by the device key; both are
 * recorded in the state before they leave together. A cheque that is not the one asked for is refused
 * (the deal stays open: nothing was sent).
 */
async function chequeWritten(
  state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>,
  input: unknown,
  now: number,
  ctx: ShopperContext,
): Promise<ShopperStep> {
  try {
    checkNotExpired(state, now);
  } catch (e) {
    return fail(state, e, now);
  }
  const asked = chequeRequest(state);
  const cheque = (await verifyCheque(input, { payee: asked.payee, reference: asked.reference, amount: asked.amount, now })).cheque;
  const order = await signStatementWithDigest<OrderBody>(
    {
      type: STATEMENT_TYPES.order,
      version: 1,
      dealId: state.dealId,
      issuedAt: isoTime(now),
      body: { offerId: state.view.offerId, offerDigest: state.offerDigest, paymentMethod: 'cheque', cheque: await digestJson(cheque) },
    },
    ctx.signer,
    { signerRef: { kind: 'jwk', jwk: ctx.signer.publicJwk } },
  );
  return ordered(state, order, cheque);
}

async function confirm(state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>, now: number, ctx: ShopperContext): Promise<ShopperStep> {
  try {
    checkNotExpired(state, now);
  } catch (e) {
    return fail(state, e, now);
  }
  // Refused without ending the deal: the window can still be confirmed with a hardware token.
  if (state.view.signature.hardwareToken || state.view.signature.userVerification) {
    throw new SemperError('ERR_HARDWARE_TOKEN_REQUIRED', `this order must be signed with a hardware security key (${state.view.signature.because.join(', ')})`);
  }
  const o = orderToSign(state, now, { alg: ctx.signer.alg, signer: { kind: 'jwk', jwk: ctx.signer.publicJwk } });
  // Its members named, not a rest copy (a slow path in Node 20's V8).
  const unsigned = { type: o.type, version: o.version, dealId: o.dealId, issuedAt: o.issuedAt, body: o.body };
  return ordered(state, await signStatementWithDigest<OrderBody>(unsigned, ctx.signer, { signerRef: o.signature.signer }));
}

/**
 * An order signed outside the machine (hardware token in the trusted window). It must be the
 * order `orderToSign` describes for this state, verify, and meet the signature requirement;
 * otherwise it is refused and the deal stays open.
 */
async function acceptSignedOrder(
  state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>,
  input: unknown,
  now: number,
  ctx: ShopperContext,
): Promise<ShopperStep> {
  try {
    checkNotExpired(state, now);
  } catch (e) {
    return fail(state, e, now);
  }
  const verified = await verifyStatement<OrderBody>(input, { types: [STATEMENT_TYPES.order], ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}) });
  const order = verified.statement;
  const expected = orderToSign(state, now, order.signature);
  if (order.dealId !== expected.dealId || canonicalJson(order.body) !== canonicalJson(expected.body)) {
    throw new SemperError('ERR_ORDER_INVALID', 'the signed order is not the order for this offer');
  }
  if (Math.abs(Date.parse(order.issuedAt) - now) > 10 * 60_000) throw new SemperError('ERR_ORDER_INVALID', 'the signed order is not fresh');
  checkSignatureDemand(state.view.signature, order.signature.alg, verified.userVerified);
  return ordered(state, { statement: withBody(order, expected.body) });
}

/**
 * The answer to the order. The merchant's typed error answer ends the deal. An answer that is not
 * the merchant's signed answer for this deal (schema, chain, signature, another signer than the
 * offer's, another deal) is no answer: the order is sent again. The merchant's signed answer is
 * final: it must name this order, offer and total, and its delivery must be what the offer
 * committed to (else `delivery-mismatch`, the statements archived as evidence).
 */
async function receiveResult(
  state: Extract<ShopperState, { phase: 'ordering' | 'retrying-order' }>,
  response: unknown,
  now: number,
  ctx: ShopperContext,
): Promise<ShopperStep> {
  const errorReply = errorAnswer(response);
  if (errorReply) {
    return fail(state, new SemperError(asCode(errorReply.error.code), `merchant refused the order: ${errorReply.error.message}`), now);
  }
  if (state.cheque && (response as { clearing?: unknown } | null)?.clearing === 'pending') {
    // The merchant presents the cheque at its bank: ask again (the same order) after a back-off.
    return retryLater(state, { code: 'ERR_PROTOCOL_STATE', message: 'the merchant is clearing the cheque at its bank' }, now, ctx);
  }
  let answer: { confirmation: Statement<ConfirmationBody>; delivery: Statement<DeliveryBody> };
  try {
    answer = await authenticateAnswer(state, response, now, ctx);
  } catch (e) {
    return retryLater(state, errorToJson(e), now, ctx);
  }
  const { confirmation, delivery } = answer;
  const evidence: ShopperEffect[] = [
    { kind: 'archive', dealId: state.dealId, statement: confirmation, direction: 'received' },
    { kind: 'archive', dealId: state.dealId, statement: delivery, direction: 'received' },
  ];
  const clearing = (response as { clearing?: { receipt?: Statement; proof?: Statement } } | null)?.clearing;
  if (state.cheque && clearing?.receipt && clearing.proof)
    evidence.push(
      { kind: 'archive', dealId: state.dealId, statement: clearing.receipt, direction: 'received' },
      { kind: 'archive', dealId: state.dealId, statement: clearing.proof, direction: 'received' },
    );
  try {
    if (state.cheque) await checkClearing(state, confirmation, clearing);
    if (confirmation.body.orderDigest !== state.orderDigest || confirmation.body.offerDigest !== state.offerDigest) {
      throw new SemperError('ERR_ORDER_INVALID', 'confirmation does not name this order and offer');
    }
    if (confirmation.body.total.amount !== state.view.total.amount || confirmation.body.total.currency !== state.view.total.currency) {
      throw new SemperError('ERR_ORDER_INVALID', 'confirmation total differs from the offer');
    }
    if (delivery.body.orderDigest !== state.orderDigest || delivery.body.orderId !== confirmation.body.orderId) {
      throw new SemperError('ERR_ORDER_INVALID', 'delivery does not name this order');
    }
  } catch (e) {
    const failed = fail(state, e, now);
    return { ...failed, effects: [...evidence, ...failed.effects] };
  }
  const mismatches = await deliveryMismatches(state.offer.body, delivery.body.goods);
  const { view, offer, order } = state;
  if (mismatches.length > 0) {
    const error = {
      code: 'ERR_DELIVERY_MISMATCH' as const,
      message: `the delivery is not what the offer committed to: ${mismatches.map((m) => `${m.sku} (${m.what})`).join(', ')}`,
    };
    return {
      state: withCommon(state, { phase: 'delivery-mismatch', view, offer, order, confirmation, delivery, mismatches, error, endedAt: now }),
      send: [],
      effects: [...evidence, { kind: 'failed', dealId: state.dealId, error }],
    };
  }
  const outcome: PurchaseOutcome = {
    dealId: state.dealId,
    status: 'completed',
    orderId: confirmation.body.orderId,
    delivered: delivery.body.goods.map((g) => ({ sku: g.sku, title: g.title })),
  };
  return {
    state: withCommon(state, { phase: 'completed', view, offer, order, confirmation, delivery, outcome, endedAt: now }),
    send: [],
    effects: [...evidence, { kind: 'finished', dealId: state.dealId, outcome }],
  };
}

/**
 * A cheque order's confirmation must come with the bank's clearing of exactly this cheque (receipt and
 * proof signed by the offer's bank key) and name that proof: the merchant delivers only what was paid.
 */
async function checkClearing(state: Ordered, confirmation: Statement<ConfirmationBody>, clearing: unknown): Promise<void> {
  const bank = state.view.cheque?.bank;
  if (!bank || !state.cheque) throw new SemperError('ERR_ORDER_INVALID', 'a cheque order without the offer’s cheque terms');
  if (!clearing) throw new SemperError('ERR_ORDER_INVALID', "the confirmation of a cheque order comes without the bank's clearing");
  await verifyClearing(clearing, { bankKeyId: bank.keyId, cheque: state.cheque });
  if (confirmation.body.clearing !== (await digestJson((clearing as { proof: Statement }).proof)))
    throw new SemperError('ERR_ORDER_INVALID', "the confirmation does not name the bank's proof of the cleared cheque");
}

/** The merchant's signed answer for this deal: both statements certified, by the offer's own signer, for this deal. Throws otherwise. */
async function authenticateAnswer(
  state: Extract<ShopperState, { phase: 'ordering' | 'retrying-order' }>,
  response: unknown,
  now: number,
  ctx: ShopperContext,
): Promise<{ confirmation: Statement<ConfirmationBody>; delivery: Statement<DeliveryBody> }> {
  const reply = response as { confirmation?: unknown; delivery?: unknown } | null;
  const trust = { roots: ctx.roots, now: new Date(now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) };
  // The merchant signs with the same certified key it signed the offer with.
  const offerSigner = state.offer.signature.signer;
  const c = await verifyStatement<ConfirmationBody>(reply?.confirmation, { types: [STATEMENT_TYPES.confirmation], requireCertificate: true, trust });
  if (!sameSigner(c.statement.signature.signer, offerSigner)) throw new SemperError('ERR_SIGNATURE_INVALID', "confirmation not signed by the offer's merchant");
  const d = await verifyStatement<DeliveryBody>(reply?.delivery, { types: [STATEMENT_TYPES.delivery], requireCertificate: true, trust });
  if (!sameSigner(d.statement.signature.signer, offerSigner)) throw new SemperError('ERR_SIGNATURE_INVALID', "delivery not signed by the offer's merchant");
  const confirmation = withBody(c.statement, parseBody(ConfirmationBody, c.statement.body, 'confirmation'));
  const delivery = withBody(d.statement, parseBody(DeliveryBody, d.statement.body, 'delivery'));
  if (confirmation.dealId !== state.dealId) throw new SemperError('ERR_REPLAY', 'confirmation is for another deal');
  if (delivery.dealId !== state.dealId) throw new SemperError('ERR_REPLAY', 'delivery is for another deal');
  return { confirmation, delivery };
}

/**
 * The same signer reference. Certified signers (what merchants sign with) are compared by their
 * chains, certificate by certificate: the schema allows nothing else in them, so this is what
 * comparing their canonical texts decided, without serialising the certificates each time.
 */
function sameSigner(a: SignerRef, b: SignerRef): boolean {
  if (a.kind === 'x509' && b.kind === 'x509') return a.chain.length === b.chain.length && a.chain.every((cert, i) => cert === b.chain[i]);
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * How the delivered goods differ from what the offer committed to (empty: they are what was
 * offered). Each offered digital item exactly once, titled as offered; its media type, content
 * digest and size as committed (a described good: its media type and size bound); and the
 * delivery's own digest of each good right.
 */
export async function deliveryMismatches(offer: OfferBody, goods: readonly DeliveredGood[]): Promise<DeliveryMismatch[]> {
  const out: DeliveryMismatch[] = [];
  const digital = new Map<string, OfferedItem>();
  for (const item of offer.items) if (item.kind === 'digital') digital.set(item.sku, item);
  const seen = new Set<string>();
  for (const good of goods) {
    const item = digital.get(good.sku);
    if (!item) {
      out.push({ sku: good.sku, what: 'not-offered' });
      continue;
    }
    if (seen.has(good.sku)) {
      out.push({ sku: good.sku, what: 'duplicate' });
      continue;
    }
    seen.add(good.sku);
    if (good.title !== item.title) out.push({ sku: good.sku, what: 'title' });
    let actual: { digest: string; size: number } | undefined;
    try {
      actual = await measureGood(good);
    } catch {
      actual = undefined; // not decodable: not the content of anything
    }
    const committed = item.content;
    if (committed) {
      if (good.mediaType !== committed.mediaType) out.push({ sku: good.sku, what: 'media-type' });
      if (committed.kind === 'content') {
        if (actual?.digest !== committed.digest) out.push({ sku: good.sku, what: 'content' });
        else if (actual.size !== committed.size) out.push({ sku: good.sku, what: 'size' });
      } else if (!actual || actual.size > committed.maxSize) out.push({ sku: good.sku, what: 'size' });
    }
    if (actual?.digest !== good.digest) out.push({ sku: good.sku, what: 'digest' });
  }
  for (const sku of digital.keys()) if (!seen.has(sku)) out.push({ sku, what: 'missing' });
  return out;
}

/** The shopper's purchase role on the machine contract (core/machine.ts). */
export const purchaseShopper: Machine<ShopperState, ShopperEvent, ShopperContext, Outbound, ShopperEffect, PurchaseParams> = {
  kind: 'purchase',
  start: async (p, ctx) => startPurchase({ dealId: ctx.random.id(24), nonce: ctx.random.id(32), origin: p.origin, items: p.items, now: p.now }),
  step: stepShopper,
  pendingSends,
  wakeAt,
  isTerminal,
};
