/**
 * The shopper's side of a purchase, offer → order → confirmation → delivery, as a sans-IO state
 * machine: `stepShopper(state, event, ctx)` returns the next plain-JSON state, the messages to
 * send and the effects for the host (show the offer, archive a statement, settle the page's
 * request). The host (the extension's worker, or a test) does all I/O and persists the state
 * after every step, so a killed worker resumes with `pendingSends(state)`.
 *
 * Nothing from the merchant reaches `show-offer` unverified: schema, certificate chain to a
 * configured root, origin binding, signature, nonce echo, deal id, expiry.
 */
import { SemperError, errorToJson, type SemperErrorCode } from '../errors.js';
import type { Signer } from '../crypto/keys.js';
import type { RevocationCheck } from '../pki/certificates.js';
import {
  signStatement,
  statementDigest,
  verifyStatement,
  type SignatureBlock,
  type SignerRef,
  type Statement,
  type UnsignedStatement,
  type WebAuthnStatementVerifier,
} from '../statements/index.js';
import { canonicalJson } from '../encoding/index.js';
import type { Machine, RandomSource, StepResult, TransportReply } from '../machine.js';
import {
  ConfirmationBody,
  DeliveryBody,
  ErrorResponse,
  OfferBody,
  STATEMENT_TYPES,
  type Money,
  type OfferRequest,
  type OrderBody,
  type RequestedItem,
} from '../protocol/commerce.js';
import type { PurchaseOutcome } from '../protocol/provider.js';
import type { SignatureRequirement, VerifiedOfferView } from './view.js';
import { certifiedMerchant, checkSignatureDemand, digestDelivered, parseBody, verifyMerchantStatement } from './common.js';

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
}

export interface ShopperPolicy {
  /** Orders whose total exceeds this need a hardware token with user verification. Other currencies always do. */
  hardwareTokenAbove?: Money;
}

export type Outbound =
  | { kind: 'http'; to: 'merchant'; path: '/semper/offer'; body: OfferRequest }
  | { kind: 'http'; to: 'merchant'; path: '/semper/order'; body: { order: Statement<OrderBody> } };

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
  | { type: 'transport-error'; error: ErrorInfo; now: number }
  /** Confirmed in the trusted window; the host's device signer (ctx.signer) signs the order. */
  | { type: 'user-confirmed'; now: number }
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

export type ShopperState =
  | (Common & { phase: 'requesting-offer' })
  | (Common & { phase: 'awaiting-confirmation'; offer: Statement<OfferBody>; offerDigest: string; view: VerifiedOfferView })
  | (Common & {
      phase: 'ordering';
      offer: Statement<OfferBody>;
      offerDigest: string;
      view: VerifiedOfferView;
      order: Statement<OrderBody>;
      orderDigest: string;
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

/** Messages that must be (re-)sent in this state: after a start, a step, or a worker restart. */
export function pendingSends(state: ShopperState): Outbound[] {
  switch (state.phase) {
    case 'requesting-offer':
      return [{ kind: 'http', to: 'merchant', path: '/semper/offer', body: { dealId: state.dealId, nonce: state.nonce, items: state.items } }];
    case 'ordering':
      return [{ kind: 'http', to: 'merchant', path: '/semper/order', body: { order: state.order } }];
    default:
      return [];
  }
}

/** When the host should deliver a `timeout` event (epoch ms), or null: the offer's expiry while it awaits the user. */
export function wakeAt(state: ShopperState): number | null {
  return state.phase === 'awaiting-confirmation' ? Date.parse(state.view.expiresAt) : null;
}

export function isTerminal(state: ShopperState): boolean {
  return state.phase === 'completed' || state.phase === 'rejected' || state.phase === 'failed';
}

function fail(state: ShopperState, e: unknown, now: number): ShopperStep {
  const error = errorToJson(e);
  const view = 'view' in state ? state.view : undefined;
  const next: ShopperState = { ...common(state), phase: 'failed', error, ...(view ? { view } : {}), endedAt: now };
  return { state: next, send: [], effects: [{ kind: 'failed', dealId: state.dealId, error }] };
}

function common(state: ShopperState): Common {
  return { dealId: state.dealId, origin: state.origin, nonce: state.nonce, items: state.items, startedAt: state.startedAt };
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
    // A late or duplicate answer (to a request this state no longer waits for) moves nothing.
    if (!pendingSends(state).some((o) => o.path === event.sent.path)) return { state, send: [], effects: [] };
    const { reply, now } = event;
    if (reply.kind === 'error') return stepShopper(state, { type: 'transport-error', error: reply.error, now }, ctx);
    return stepShopper(state, { type: event.sent.path === '/semper/offer' ? 'offer-response' : 'order-response', response: reply.body, now }, ctx);
  }
  switch (state.phase) {
    case 'requesting-offer':
      if (event.type === 'offer-response') return receiveOffer(state, event.response, event.now, ctx);
      if (event.type === 'transport-error') return fail(state, new SemperError(asCode(event.error.code), event.error.message), event.now);
      if (event.type === 'user-rejected') return reject(state, event.now);
      return unexpected(state, event);
    case 'awaiting-confirmation':
      if (event.type === 'user-confirmed') return confirm(state, event.now, ctx);
      if (event.type === 'order-signed') return acceptSignedOrder(state, event.order, event.now, ctx);
      if (event.type === 'timeout' && Date.parse(state.view.expiresAt) <= event.now) {
        return fail(state, new SemperError('ERR_OFFER_EXPIRED', `offer expired at ${state.view.expiresAt} before it was confirmed`), event.now);
      }
      if (event.type === 'user-rejected') return reject(state, event.now);
      return unexpected(state, event);
    case 'ordering':
      if (event.type === 'order-response') return receiveResult(state, event.response, event.now, ctx);
      if (event.type === 'transport-error') return fail(state, new SemperError(asCode(event.error.code), event.error.message), event.now);
      return unexpected(state, event);
    default:
      return unexpected(state, event);
  }
}

function asCode(code: string): SemperErrorCode {
  return /^ERR_[A-Z_]+$/.test(code) ? (code as SemperErrorCode) : 'ERR_INTERNAL';
}

function reject(state: ShopperState, now: number): ShopperStep {
  const view = 'view' in state ? state.view : undefined;
  return {
    state: { ...common(state), phase: 'rejected', ...(view ? { view } : {}), endedAt: now },
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
  const total = body.items.reduce((sum, i) => sum + i.unitPrice.amount * i.quantity, 0);
  const currencies = new Set(body.items.map((i) => i.unitPrice.currency));
  if (currencies.size !== 1 || !currencies.has(body.total.currency) || total !== body.total.amount) {
    throw new SemperError('ERR_OFFER_INVALID', 'offer total is not the sum of its items in one currency');
  }
  const offerDigest = await statementDigest(offer);
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
    verifiedAt: new Date(now).toISOString(),
  };
  return { offer, offerDigest, view };
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
    state: { ...common(state), phase: 'awaiting-confirmation', ...verified },
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
    issuedAt: new Date(now).toISOString(),
    body: { offerId: state.view.offerId, offerDigest: state.offerDigest, paymentMethod: state.view.paymentMethods[0]! },
    signature: header,
  };
}

function checkNotExpired(state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>, now: number): void {
  // The user may take longer than the offer lives: never send an order for an expired offer.
  if (Date.parse(state.view.expiresAt) <= now) throw new SemperError('ERR_OFFER_EXPIRED', `offer expired at ${state.view.expiresAt}`);
}

async function ordered(state: Extract<ShopperState, { phase: 'awaiting-confirmation' }>, order: Statement<OrderBody>): Promise<ShopperStep> {
  const next: ShopperState = { ...state, phase: 'ordering', order, orderDigest: await statementDigest(order) };
  return { state: next, send: pendingSends(next), effects: [{ kind: 'archive', dealId: state.dealId, statement: order, direction: 'sent' }] };
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
  const { signature: header, ...unsigned } = orderToSign(state, now, { alg: ctx.signer.alg, signer: { kind: 'jwk', jwk: ctx.signer.publicJwk } });
  return ordered(state, await signStatement<OrderBody>(unsigned, ctx.signer, { signerRef: header.signer }));
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
  return ordered(state, { ...order, body: expected.body });
}

async function receiveResult(state: Extract<ShopperState, { phase: 'ordering' }>, response: unknown, now: number, ctx: ShopperContext): Promise<ShopperStep> {
  try {
    const reply = response as { confirmation?: unknown; delivery?: unknown } | null;
    const errorReply = ErrorResponse.safeParse(response);
    if (errorReply.success) throw new SemperError(asCode(errorReply.data.error.code), `merchant refused the order: ${errorReply.data.error.message}`);
    // The merchant signs with the same certified key it signed the offer with.
    const trust = { roots: ctx.roots, now: new Date(now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) };
    const offerSigner = state.offer.signature.signer;
    const sameSigner = (s: Statement<unknown>) => JSON.stringify(s.signature.signer) === JSON.stringify(offerSigner);
    const c = await verifyStatement<ConfirmationBody>(reply?.confirmation, { types: [STATEMENT_TYPES.confirmation], requireCertificate: true, trust });
    const d = await verifyStatement<DeliveryBody>(reply?.delivery, { types: [STATEMENT_TYPES.delivery], requireCertificate: true, trust });
    if (!sameSigner(c.statement) || !sameSigner(d.statement))
      throw new SemperError('ERR_SIGNATURE_INVALID', "confirmation or delivery not signed by the offer's merchant");
    const confirmation = { ...c.statement, body: parseBody(ConfirmationBody, c.statement.body, 'confirmation') };
    const delivery = { ...d.statement, body: parseBody(DeliveryBody, d.statement.body, 'delivery') };
    if (confirmation.dealId !== state.dealId || delivery.dealId !== state.dealId)
      throw new SemperError('ERR_REPLAY', 'confirmation or delivery is for another deal');
    if (confirmation.body.orderDigest !== state.orderDigest || confirmation.body.offerDigest !== state.offerDigest) {
      throw new SemperError('ERR_ORDER_INVALID', 'confirmation does not name this order and offer');
    }
    if (confirmation.body.total.amount !== state.view.total.amount || confirmation.body.total.currency !== state.view.total.currency) {
      throw new SemperError('ERR_ORDER_INVALID', 'confirmation total differs from the offer');
    }
    if (delivery.body.orderDigest !== state.orderDigest || delivery.body.orderId !== confirmation.body.orderId) {
      throw new SemperError('ERR_ORDER_INVALID', 'delivery does not name this order');
    }
    const digitalSkus = state.view.items
      .filter((i) => i.kind === 'digital')
      .map((i) => i.sku)
      .sort();
    const deliveredSkus = delivery.body.goods.map((g) => g.sku).sort();
    if (JSON.stringify(digitalSkus) !== JSON.stringify(deliveredSkus))
      throw new SemperError('ERR_ORDER_INVALID', 'delivery does not contain the digital goods ordered');
    for (const good of delivery.body.goods) {
      if ((await digestDelivered(good)) !== good.digest) throw new SemperError('ERR_ORDER_INVALID', `delivered "${good.title}" does not match its digest`);
    }
    const outcome: PurchaseOutcome = {
      dealId: state.dealId,
      status: 'completed',
      orderId: confirmation.body.orderId,
      delivered: delivery.body.goods.map((g) => ({ sku: g.sku, title: g.title })),
    };
    return {
      state: { ...common(state), phase: 'completed', view: state.view, offer: state.offer, order: state.order, confirmation, delivery, outcome, endedAt: now },
      send: [],
      effects: [
        { kind: 'archive', dealId: state.dealId, statement: confirmation, direction: 'received' },
        { kind: 'archive', dealId: state.dealId, statement: delivery, direction: 'received' },
        { kind: 'finished', dealId: state.dealId, outcome },
      ],
    };
  } catch (e) {
    return fail(state, e, now);
  }
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
