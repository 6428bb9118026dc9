/**
 * The merchant's side of a purchase as a sans-IO machine on the one contract (core/machine.ts).
 * The merchant kit (server/merchant) persists the returned JSON state per deal, under a per-deal
 * lock and a compare-and-set (server/host/step.ts).
 *
 *   new       → offer-requested: an offer signed over the shopper's nonce     → offered
 *   offered   → offer-requested again (same deal, nonce, items: a restarted worker re-sends it):
 *               the offer already issued, while it is valid; anything else is a replay
 *   offered   → order-received: the shopper's signature, the order names exactly this offer,
 *               the offer is still valid → a signed confirmation and delivery   → confirmed
 *   confirmed → order-received again: the identical order gets the identical reply; a different
 *               order for the same deal is a replay
 * Refusals throw a SemperError and change nothing. Every reply goes back to the shopper as the
 * answer to its request (`send: [{ to: 'shopper', body }]`).
 */
import { SemperError, type SemperErrorCode } from '../errors.js';
import type { Machine, RandomSource, StepResult } from '../machine.js';
import type { Signer } from '../crypto/keys.js';
import type { PublicJwk } from '../crypto/jwk.js';
import {
  signStatement,
  signStatementWithDigest,
  statementDigest,
  verifyStatement,
  type SignerRef,
  type Statement,
  type WebAuthnStatementVerifier,
} from '../statements/index.js';
import {
  OfferRequest,
  OrderBody,
  STATEMENT_TYPES,
  type ConfirmationBody,
  type ContentCommitment,
  type DeliveredGood,
  type DeliveryBody,
  type Money,
  type OfferBody,
  type OfferedItem,
  type OrderSignatureDemand,
} from '../protocol/commerce.js';
import type { RevocationCheck } from '../pki/certificates.js';
import { checkSignatureDemand, digestDelivered, measureGood, parseBody, withBody } from './common.js';
import { digestJson, sealJson, isoTime } from '../encoding/index.js';
import { CHEQUE_TYPES, type ClearingAnswer, presentCheque, type VerifiedCheque, verifyCheque, verifyClearing } from '../payment/cheque/index.js';
import { deviceKeySigner } from '../payment/signing.js';

export interface MerchantIdentity {
  signer: Signer;
  /** The merchant's certificate chain, leaf first (base64 DER). */
  chain: string[];
  /** The origin the merchant serves offers from (in its certificate). */
  origin: string;
}

export interface CatalogItem {
  sku: string;
  title: string;
  unitPrice: Money;
  kind: 'digital' | 'physical';
  /**
   * The digital good delivered after the order: its content (the offer commits to its digest), or
   * for a good not yet produced, a description, its media type and a size bound (the offer commits
   * to those) and how it is produced when ordered.
   */
  good: { mediaType: string; content: string } | { mediaType: string; description: string; maxSize: number; produce(): string };
}

/**
 * Digest and size of a catalogue good's fixed content, remembered per good: every offer commits to
 * them and every delivery carries the digest again, so a good's content would otherwise be hashed
 * twice per purchase. A good whose content was replaced is hashed afresh (the entry names the text
 * it was computed from).
 */
const goodDigests = new WeakMap<object, { content: string; digest: string; size: number }>();

async function digestOfGood(good: { content: string }): Promise<{ digest: string; size: number }> {
  const known = goodDigests.get(good);
  if (known && known.content === good.content) return known;
  const entry = { content: good.content, ...(await measureGood({ content: good.content, encoding: 'utf8' })) };
  goodDigests.set(good, entry);
  return entry;
}

/** What an offer commits to for a catalogue item (digital items only). */
export async function commitmentOf(item: CatalogItem): Promise<ContentCommitment | undefined> {
  if (item.kind !== 'digital') return undefined;
  const good = item.good;
  if ('content' in good) {
    const { digest, size } = await digestOfGood(good);
    return { kind: 'content', mediaType: good.mediaType, digest, size };
  }
  return { kind: 'described', mediaType: good.mediaType, description: good.description, maxSize: good.maxSize };
}

export interface MerchantContext {
  identity: MerchantIdentity;
  lookup(sku: string): CatalogItem | undefined;
  offerTtlMs: number;
  terms: string;
  /** Offer and order ids. */
  random: RandomSource;
  /** Accept orders signed by hardware tokens; absent means device-key signatures only. */
  webauthn?: WebAuthnStatementVerifier;
  /** Accept orders signed with a shopper certificate chaining to these roots (and not revoked). */
  trust?: { roots: readonly string[]; isRevoked?: RevocationCheck };
  /** The merchant's policy: which orders must be signed with a hardware token (signed into the offer). */
  requireHardwareToken?: (items: OfferedItem[], total: Money) => OrderSignatureDemand | undefined;
  /** Take cheques cleared at this bank (made out to the merchant's signing key, which presents them). */
  cheque?: { bank: { keyId: string; url: string } };
}

export interface OrderReply {
  confirmation: Statement<ConfirmationBody>;
  delivery: Statement<DeliveryBody>;
  /** With method cheque: the bank's clearing receipt and payment proof (the confirmation names the proof's digest). */
  clearing?: ClearingAnswer;
}

/** What an order for a cheque purchase holds while the bank has not answered, or after it refused. */
interface ChequeOrder {
  dealId: string;
  offer: Statement<OfferBody>;
  offerDigest: string;
  createdAt: number;
  order: Statement<OrderBody>;
  orderDigest: string;
  shopperKey: PublicJwk;
  cheque: Statement;
  /** The presentment signed by the merchant (the cheque's payee), sent to the bank until it answers. */
  presentment: Statement;
}

export type MerchantDealState =
  /** Nothing issued yet: the state a host starts a deal id it has never seen in (never stored). */
  | { phase: 'new'; dealId: string }
  | { phase: 'offered'; dealId: string; offer: Statement<OfferBody>; offerDigest: string; createdAt: number }
  | {
      phase: 'confirmed';
      dealId: string;
      offer: Statement<OfferBody>;
      offerDigest: string;
      createdAt: number;
      order: Statement<OrderBody>;
      orderDigest: string;
      shopperKey: PublicJwk;
      reply: OrderReply;
      confirmedAt: number;
    }
  /** A cheque order: the cheque is at the bank; nothing is delivered before it clears. */
  | (ChequeOrder & { phase: 'clearing'; orderedAt: number })
  /** The bank did not pay the cheque (bounced, or refused it): the order is refused with why, nothing delivered. */
  | (ChequeOrder & { phase: 'refused'; error: { code: string; message: string }; bounce?: Statement; refusedAt: number });

export type MerchantEvent =
  /** `POST /semper/offer`: an OfferRequest (validated here). */
  | { type: 'offer-requested'; request: unknown; now: number }
  /** `POST /semper/order`: the signed order (and, with method cheque, the cheque it names). */
  | { type: 'order-received'; order: unknown; cheque?: unknown; now: number }
  /** The bank cleared the cheque (its answer to the presentment, or ERR_CHEQUE_CLEARED with the first clearing). */
  | { type: 'cheque-cleared'; answer: unknown; now: number }
  /** The bank did not pay: a bounce (ERR_CHEQUE_BOUNCED with its signed bounce) or another typed refusal. */
  | { type: 'cheque-refused'; error: { code: string; message: string }; bounce?: unknown; now: number };

/** The answer to the shopper's request; a cheque's presentment to the bank. */
export type MerchantOutbound =
  | { to: 'shopper'; body: { offer: Statement<OfferBody> } | OrderReply | { clearing: 'pending' } }
  | { to: 'bank'; path: '/bank/cheque/present'; body: { request: Statement } };

export type MerchantStep = StepResult<MerchantDealState, MerchantOutbound, never>;

/**
 * The merchant's signer reference, made once per identity as a sealed value (core/encoding
 * sealJson): every statement the merchant signs and every digest of one then reuses the canonical
 * text of its certificate chain instead of serialising the certificates again.
 */
const signerRefs = new WeakMap<MerchantIdentity, { chain: string[]; ref: { signerRef: SignerRef } }>();

function signerRef(identity: MerchantIdentity): { signerRef: SignerRef } {
  const known = signerRefs.get(identity);
  // Certificates compared one by one: an identity whose chain was replaced or changed gets a new one.
  if (known && known.chain.length === identity.chain.length && known.chain.every((c, i) => c === identity.chain[i])) return known.ref;
  const chain = [...identity.chain];
  const made: SignerRef = { kind: 'x509', chain };
  const sealed = sealJson(made);
  const ref = { signerRef: sealed.ok ? sealed.value : made };
  signerRefs.set(identity, { chain, ref });
  return ref;
}

/** The deal a host starts a new deal id in. */
export function newMerchantDeal(dealId: string): MerchantDealState {
  return { phase: 'new', dealId };
}

function reply(state: MerchantDealState, body: Extract<MerchantOutbound, { to: 'shopper' }>['body']): MerchantStep {
  return { state, send: [{ to: 'shopper', body }], effects: [] };
}

async function makeOffer(state: Extract<MerchantDealState, { phase: 'new' }>, request: unknown, now: number, ctx: MerchantContext): Promise<MerchantStep> {
  const req = parseBody(OfferRequest, request, 'offer request');
  if (req.dealId !== state.dealId) throw new SemperError('ERR_PROTOCOL_STATE', 'offer request is for another deal');
  const seen = new Set<string>();
  const items: OfferedItem[] = [];
  for (const { sku, quantity } of req.items) {
    if (seen.has(sku)) throw new SemperError('ERR_SCHEMA', `offer request names ${sku} twice`);
    seen.add(sku);
    const item = ctx.lookup(sku);
    if (!item) throw new SemperError('ERR_NOT_FOUND', `no product ${sku}`);
    // The commitment to what will be delivered, for shoppers that ask (every shopper since the first release).
    const content = req.deliveryCommitments ? await commitmentOf(item) : undefined;
    items.push({ sku, title: item.title, quantity, unitPrice: item.unitPrice, kind: item.kind, ...(content ? { content } : {}) });
  }
  const currency = items[0]!.unitPrice.currency;
  if (items.some((i) => i.unitPrice.currency !== currency)) throw new SemperError('ERR_ORDER_INVALID', 'items are priced in different currencies');
  const total = { amount: items.reduce((s, i) => s + i.unitPrice.amount * i.quantity, 0), currency };
  const demand = ctx.requireHardwareToken?.(items, total);
  const body: OfferBody = {
    offerId: ctx.random.id(18),
    nonce: req.nonce,
    origin: ctx.identity.origin,
    items,
    total,
    expiresAt: isoTime(now + ctx.offerTtlMs),
    terms: ctx.terms,
    paymentMethods: ctx.cheque ? ['invoice', 'cheque'] : ['invoice'],
    ...(ctx.cheque ? { cheque: { payee: ctx.identity.signer.keyId, bank: ctx.cheque.bank } } : {}),
    ...(demand && (demand.hardwareToken || demand.userVerification) ? { orderSignature: demand } : {}),
  };
  // The digest from the text just signed, not a second canonicalisation of the offer.
  const { statement: offer, digest: offerDigest } = await signStatementWithDigest<OfferBody>(
    { type: STATEMENT_TYPES.offer, version: 1, dealId: req.dealId, issuedAt: isoTime(now), body },
    ctx.identity.signer,
    signerRef(ctx.identity),
  );
  return reply({ phase: 'offered', dealId: req.dealId, offer, offerDigest, createdAt: now }, { offer });
}

/**
 * A shopper whose worker was stopped mid-request re-sends the identical offer request after a
 * restart. The same deal, nonce and items get the offer already issued (while it is valid and
 * not yet ordered); anything else for a known deal is a replay.
 */
function repeatedOffer(state: Exclude<MerchantDealState, { phase: 'new' }>, request: unknown, now: number): MerchantStep {
  const req = parseBody(OfferRequest, request, 'offer request');
  const replay = new SemperError('ERR_REPLAY', `deal ${state.dealId} already has an offer`);
  if (state.phase !== 'offered' || req.dealId !== state.dealId || req.nonce !== state.offer.body.nonce) throw replay;
  if (Date.parse(state.offer.body.expiresAt) <= now) throw replay;
  const offered = state.offer.body.items;
  const same = req.items.length === offered.length && req.items.every((r, i) => offered[i]!.sku === r.sku && offered[i]!.quantity === r.quantity);
  if (!same) throw replay;
  return reply(state, { offer: state.offer });
}

export async function stepMerchant(state: MerchantDealState, event: MerchantEvent, ctx: MerchantContext): Promise<MerchantStep> {
  if (event.type === 'offer-requested')
    return state.phase === 'new' ? makeOffer(state, event.request, event.now, ctx) : repeatedOffer(state, event.request, event.now);
  if (state.phase === 'new') throw new SemperError('ERR_OFFER_UNKNOWN', `no offer was made for deal ${state.dealId}`);
  if (event.type === 'cheque-cleared' || event.type === 'cheque-refused') {
    // The bank's answer counts only while the cheque is at the bank (a late duplicate changes nothing).
    if (state.phase !== 'clearing') return { state, send: [], effects: [] };
    return event.type === 'cheque-cleared' ? cleared(state, event.answer, event.now, ctx) : chequeRefused(state, event);
  }
  const verified = await verifyStatement<OrderBody>(event.order, {
    types: [STATEMENT_TYPES.order],
    ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}),
    ...(ctx.trust ? { trust: { roots: ctx.trust.roots, now: new Date(event.now), ...(ctx.trust.isRevoked ? { isRevoked: ctx.trust.isRevoked } : {}) } } : {}),
  });
  if (verified.chain && verified.chain.leaf.role !== 'shopper') {
    throw new SemperError('ERR_CERT_UNTRUSTED', `orders are signed by shoppers, not by a ${verified.chain.leaf.role ?? 'role-less'} certificate`);
  }
  const order = verified.statement;
  const body = parseBody(OrderBody, order.body, 'order');
  if (order.dealId !== state.dealId) throw new SemperError('ERR_ORDER_INVALID', 'order is for another deal');
  const orderDigest = await statementDigest(order);
  if (state.phase !== 'offered') {
    if (orderDigest !== state.orderDigest) throw new SemperError('ERR_REPLAY', 'this deal already has a different order');
    if (state.phase === 'confirmed') return reply(state, state.reply);
    // The same order again while the bank has not answered: present again (the bank clears a cheque once) and say so.
    if (state.phase === 'clearing') return presentAgain(state);
    throw new SemperError(state.error.code as SemperErrorCode, state.error.message);
  }
  if (body.offerDigest !== state.offerDigest || body.offerId !== state.offer.body.offerId) {
    throw new SemperError('ERR_ORDER_INVALID', 'order does not accept the offer issued for this deal');
  }
  if (Date.parse(state.offer.body.expiresAt) <= event.now) throw new SemperError('ERR_OFFER_EXPIRED', `offer expired at ${state.offer.body.expiresAt}`);
  if (!state.offer.body.paymentMethods.includes(body.paymentMethod))
    throw new SemperError('ERR_ORDER_INVALID', `payment method ${body.paymentMethod} was not offered`);
  checkSignatureDemand(state.offer.body.orderSignature, order.signature.alg, verified.userVerified);
  if (body.paymentMethod === 'cheque') {
    const cheque = await checkChequeOrder(state, body, event.cheque, event.now, ctx);
    const presentment = await presentCheque(cheque.cheque, deviceKeySigner(ctx.identity.signer), event.now);
    const next: MerchantDealState = {
      ...state,
      phase: 'clearing',
      order: withBody(order, body),
      orderDigest,
      shopperKey: verified.signerJwk,
      cheque: cheque.cheque,
      presentment,
      orderedAt: event.now,
    };
    return presentAgain(next);
  }
  if (body.cheque !== undefined || event.cheque !== undefined) throw new SemperError('ERR_ORDER_INVALID', 'a cheque comes only with an order paid by cheque');
  return confirmAndDeliver(state, withBody(order, body), orderDigest, verified.signerJwk, event.now, ctx);
}

/** Confirmation and delivery for an accepted order (paid by cheque: only once cleared, naming the bank's proof). */
async function confirmAndDeliver(
  state: Extract<MerchantDealState, { phase: 'offered' | 'clearing' }>,
  order: Statement<OrderBody>,
  orderDigest: string,
  shopperKey: PublicJwk,
  now: number,
  ctx: MerchantContext,
  clearing?: ClearingAnswer,
): Promise<MerchantStep> {
  const body = order.body;
  const issuedAt = isoTime(now);
  const orderId = ctx.random.id(18);
  const confirmation = await signStatement<ConfirmationBody>(
    {
      type: STATEMENT_TYPES.confirmation,
      version: 1,
      dealId: state.dealId,
      issuedAt,
      body: {
        orderId,
        offerDigest: state.offerDigest,
        orderDigest,
        status: 'accepted',
        total: state.offer.body.total,
        paymentMethod: body.paymentMethod,
        ...(clearing ? { clearing: await digestJson(clearing.proof) } : {}),
      },
    },
    ctx.identity.signer,
    signerRef(ctx.identity),
  );
  const goods: DeliveredGood[] = [];
  for (const item of state.offer.body.items.filter((i) => i.kind === 'digital')) {
    const catalog = ctx.lookup(item.sku);
    if (!catalog) throw new SemperError('ERR_NOT_FOUND', `product ${item.sku} is no longer available`);
    const source = catalog.good;
    const good = { content: 'content' in source ? source.content : source.produce(), encoding: 'utf8' as const };
    const digest = 'content' in source ? (await digestOfGood(source)).digest : await digestDelivered(good);
    goods.push({ sku: item.sku, title: item.title, mediaType: source.mediaType, ...good, digest });
  }
  const delivery = await signStatement<DeliveryBody>(
    { type: STATEMENT_TYPES.delivery, version: 1, dealId: state.dealId, issuedAt, body: { orderId, orderDigest, goods } },
    ctx.identity.signer,
    signerRef(ctx.identity),
  );
  const orderReply: OrderReply = { confirmation, delivery, ...(clearing ? { clearing } : {}) };
  const { dealId, offer, offerDigest, createdAt } = state;
  const next: MerchantDealState = {
    phase: 'confirmed',
    dealId,
    offer,
    offerDigest,
    createdAt,
    order,
    orderDigest,
    shopperKey,
    reply: orderReply,
    confirmedAt: now,
  };
  // Cleared by the bank's answer, no shopper request waits: the shopper's next (repeated) order gets the reply.
  return clearing ? { state: next, send: [], effects: [] } : reply(next, orderReply);
}

/**
 * The cheque sent with a cheque order: the offer took cheques, the order names exactly this cheque,
 * and the cheque is made out to the offer's payee, for this deal and the offer's total, not expired.
 * That the drawer's key signed it, and the funds, only the bank knows: it is presented before anything is delivered.
 */
async function checkChequeOrder(
  state: Extract<MerchantDealState, { phase: 'offered' }>,
  body: OrderBody,
  input: unknown,
  now: number,
  ctx: MerchantContext,
): Promise<VerifiedCheque> {
  const terms = state.offer.body.cheque;
  if (!terms || !ctx.cheque) throw new SemperError('ERR_ORDER_INVALID', 'this offer takes no cheques');
  if (input === undefined || body.cheque === undefined) throw new SemperError('ERR_ORDER_INVALID', 'an order paid by cheque comes with the cheque it names');
  const cheque = await verifyCheque(input, { payee: terms.payee, reference: state.dealId, amount: state.offer.body.total, now });
  if (cheque.digest !== body.cheque) throw new SemperError('ERR_ORDER_INVALID', 'the cheque is not the one the order names');
  return cheque;
}

function presentAgain(state: Extract<MerchantDealState, { phase: 'clearing' }>): MerchantStep {
  return {
    state,
    send: [
      { to: 'bank', path: '/bank/cheque/present', body: { request: state.presentment } },
      { to: 'shopper', body: { clearing: 'pending' } },
    ],
    effects: [],
  };
}

async function cleared(state: Extract<MerchantDealState, { phase: 'clearing' }>, answer: unknown, now: number, ctx: MerchantContext): Promise<MerchantStep> {
  if (!ctx.cheque) throw new SemperError('ERR_INTERNAL', 'cheques are no longer taken');
  // Only the bank's own answer for this very cheque clears it (else the deal waits: the next presentment asks again).
  await verifyClearing(answer, { bankKeyId: ctx.cheque.bank.keyId, cheque: state.cheque });
  return confirmAndDeliver(state, state.order, state.orderDigest, state.shopperKey, now, ctx, answer as ClearingAnswer);
}

function chequeRefused(state: Extract<MerchantDealState, { phase: 'clearing' }>, event: Extract<MerchantEvent, { type: 'cheque-refused' }>): MerchantStep {
  const bounce = event.bounce as Statement | undefined;
  const reason = (bounce?.type === CHEQUE_TYPES.bounce ? (bounce.body as { reason?: unknown }).reason : undefined) as string | undefined;
  const error =
    event.error.code === 'ERR_CHEQUE_BOUNCED'
      ? { code: 'ERR_CHEQUE_BOUNCED', message: `the bank did not pay the cheque (${reason ?? 'bounced'}): the order is refused, nothing is delivered` }
      : { code: event.error.code, message: `the bank refused the cheque: ${event.error.message}` };
  const { orderedAt: _, ...rest } = state;
  const next: MerchantDealState = { ...rest, phase: 'refused', error, ...(bounce ? { bounce } : {}), refusedAt: event.now };
  return { state: next, send: [], effects: [] };
}

/** The merchant's purchase role on the machine contract. It only answers: nothing is pending, no timer. */
export const purchaseMerchant: Machine<MerchantDealState, MerchantEvent, MerchantContext, MerchantOutbound, never, { dealId: string }> = {
  kind: 'purchase-merchant',
  start: async ({ dealId }) => ({ state: newMerchantDeal(dealId), send: [], effects: [] }),
  step: stepMerchant,
  pendingSends: () => [],
  wakeAt: () => null,
  isTerminal: (state) => state.phase === 'confirmed' || state.phase === 'refused',
};
