/**
 * The merchant's side of a fair purchase (fair-purchase.ts) as one machine on the contract: it
 * answers an offer request with a signed offer and the encrypted goods, starts its *originator* of
 * the generic exchange when the shopper's signed start arrives (m1 binds it to the key statement),
 * and then runs that originator: m2 with a payment that fits → m3 with the key; no m2 → after the
 * deadline the TTP's final word (an abort token, or the resolution that forwards the payment).
 *
 *   new       → offer-requested {request, prepared}: the offer (price, methods, bank, the goods'
 *               digests, the key's digest and its box sealed to the TTP) + ciphertext    → offered
 *   offered   → the same request again: the same offer while it is valid
 *   offered   → start (signed by the shopper): its key and method bound, items derived, m1 → selling
 *   offered   → timeout after expiry (and grace): nothing was given                     → expired
 *   selling   → the same start again: m1 again; any exchange event: the originator's step.
 *
 * Randomness: the goods key and its HPKE seal come from the platform CSPRNG, never from the step:
 * the host calls `prepareFairOffer` and passes the result in the event (as the wallet does with
 * blinding). The key is kept in the state (a secret of the merchant's store) until m3 reveals it.
 */
import { SemperError } from '../errors.js';
import type { Machine, RandomSource, StepResult } from '../machine.js';
import { validateChain, type RevocationCheck } from '../pki/certificates.js';
import { jwkThumbprint, type PublicJwk } from '../crypto/jwk.js';
import { seal } from '../crypto/seal.js';
import { canonicalJson, decodeBase64url, encodeBase64url, sha256, isoTime } from '../encoding/index.js';
import { sealedAad } from '../items/schema.js';
import type { Amount } from '../items/schema.js';
import { statementDigest, signStatement, verifyStatement, type Statement } from '../statements/index.js';
import { isTerminal as exchangeTerminal, startOriginator, stepExchange } from '../exchange/parties.js';
import type { ExchangeContext, ExchangeEffect, ExchangeEvent, ExchangeState } from '../exchange/types.js';
import type { MerchantIdentity } from './merchant.js';
import { parseBody } from './common.js';
import { type ExchangeTiming, firstMessageGrace, timeoutsFrom } from './exchange-deal.js';
import {
  assertFairPurchase,
  encryptGoods,
  FAIR_TYPES,
  type FairMethod,
  type FairOfferBody,
  FairOfferRequest,
  FairStartBody,
  fairItems,
  signGoodsKey,
} from './fair-purchase.js';

/** One good sold fairly: its bytes and price. */
export interface FairGood {
  title: string;
  mediaType: string;
  /** the goods' bytes, base64url */
  data: string;
  price: Amount;
}

export interface FairCatalog {
  good(sku: string): FairGood | undefined;
}

export interface FairMerchantContext {
  identity: MerchantIdentity;
  /** The TTP the merchant accepts: key, chain (in every offer), where the merchant reaches it, and its signed sealing key. */
  ttp: { keyId: string; certificateChain: string[]; url: string; sealingKey: Statement; sealingKeyId: string };
  catalog: FairCatalog;
  payment: { methods: FairMethod[]; payee: string; bank: { keyId: string; url: string }; card?: { keyId: string; url: string } };
  offerTtlMs: number;
  timing: ExchangeTiming;
  terms?: string;
  trustRoots: readonly string[];
  isRevoked?: RevocationCheck;
  random: RandomSource;
}

/** What the host prepares outside the step: a fresh goods key and its box sealed to the TTP for this deal. */
export interface PreparedFairOffer {
  /** base64url 32-byte AES-256-GCM key */
  key: string;
  box: string;
}

export async function prepareFairOffer(dealId: string, sealingJwk: PublicJwk, merchantKeyId: string): Promise<PreparedFairOffer> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const box = await seal(sealingJwk, key, sealedAad(dealId, merchantKeyId, { field: 'key', digest: encodeBase64url(await sha256(key)) }));
  return { key: encodeBase64url(key), box };
}

interface Offered {
  dealId: string;
  offer: Statement<FairOfferBody>;
  offerDigest: string;
  /** the goods key (base64url): the merchant's secret until m3 */
  key: string;
}

export type FairMerchantState =
  | { phase: 'new'; dealId: string }
  | (Offered & { phase: 'offered' })
  | (Offered & { phase: 'expired'; endedAt: number })
  | (Offered & { phase: 'selling'; start: Statement; method: FairMethod; shopperKeyId: string; originator: ExchangeState });

export type FairMerchantEvent = { type: 'offer-requested'; request: unknown; prepared: PreparedFairOffer; now: number } | ExchangeEvent;

export type FairMerchantOutbound =
  | { to: 'shopper'; body: { offer: Statement<FairOfferBody>; ciphertext: string } | { replies: Statement[] } }
  | { to: 'ttp'; statement: Statement };

export type FairMerchantEffect = Extract<ExchangeEffect, { kind: 'rejected-message' }>;
type Step = StepResult<FairMerchantState, FairMerchantOutbound, FairMerchantEffect>;

function originatorContext(ctx: FairMerchantContext): ExchangeContext {
  return {
    signer: ctx.identity.signer,
    signerRef: { kind: 'x509', chain: ctx.identity.chain },
    trust: { roots: ctx.trustRoots, ttps: [ctx.ttp.keyId], ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
    random: ctx.random,
  };
}

/** How long after the offer's expiry the shopper's start may still come. */
function startGrace(timing: ExchangeTiming): number {
  return firstMessageGrace(timing);
}

async function ciphertextOf(good: FairGood, key: string, dealId: string, sku: string): Promise<Uint8Array<ArrayBuffer>> {
  return encryptGoods(decodeBase64url(key), decodeBase64url(good.data), dealId, sku);
}

async function issueOffer(dealId: string, request: unknown, prepared: PreparedFairOffer, now: number, ctx: FairMerchantContext): Promise<Step> {
  const req = parseBody(FairOfferRequest, request, 'fair offer request');
  if (req.dealId !== dealId) throw new SemperError('ERR_PROTOCOL_STATE', 'offer request is for another deal');
  const good = ctx.catalog.good(req.sku);
  if (!good) throw new SemperError('ERR_NOT_FOUND', `no good ${req.sku} is sold for money here`);
  if (ctx.identity.chain.length > 0) {
    await validateChain(ctx.identity.chain, { roots: ctx.trustRoots, now: new Date(now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) });
  }
  const key = decodeBase64url(prepared.key);
  const plain = decodeBase64url(good.data);
  const ciphertext = await ciphertextOf(good, prepared.key, dealId, req.sku);
  const body: FairOfferBody = {
    offerId: ctx.random.id(18),
    nonce: req.nonce,
    origin: ctx.identity.origin,
    sku: req.sku,
    title: good.title,
    price: good.price,
    goods: {
      mediaType: good.mediaType,
      size: plain.byteLength,
      digest: encodeBase64url(await sha256(plain)),
      ciphertextDigest: encodeBase64url(await sha256(ciphertext)),
      keyDigest: encodeBase64url(await sha256(key)),
      box: prepared.box,
    },
    payment: ctx.payment,
    merchant: { keyId: ctx.identity.signer.keyId },
    ttp: { keyId: ctx.ttp.keyId, certificateChain: ctx.ttp.certificateChain, sealingKey: ctx.ttp.sealingKey },
    timing: ctx.timing,
    expiresAt: isoTime(now + ctx.offerTtlMs),
    ...(ctx.terms ? { terms: ctx.terms } : {}),
  };
  const offer = await signStatement<FairOfferBody>({ type: FAIR_TYPES.offer, version: 1, dealId, issuedAt: isoTime(now), body }, ctx.identity.signer, {
    signerRef: { kind: 'x509', chain: ctx.identity.chain },
  });
  return {
    state: { phase: 'offered', dealId, offer, offerDigest: await statementDigest(offer), key: prepared.key },
    send: [{ to: 'shopper', body: { offer, ciphertext: encodeBase64url(ciphertext) } }],
    effects: [],
  };
}

async function repeatOffer(state: Offered, request: unknown, now: number, ctx: FairMerchantContext): Promise<Step | null> {
  const req = parseBody(FairOfferRequest, request, 'fair offer request');
  const b = state.offer.body;
  if (req.dealId !== state.dealId || req.nonce !== b.nonce || req.sku !== b.sku || Date.parse(b.expiresAt) <= now) return null;
  const good = ctx.catalog.good(b.sku);
  if (!good) return null;
  const ciphertext = encodeBase64url(await ciphertextOf(good, state.key, state.dealId, b.sku));
  return { state: state as FairMerchantState, send: [{ to: 'shopper', body: { offer: state.offer, ciphertext } }], effects: [] };
}

function isStart(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === FAIR_TYPES.start;
}

async function onStart(state: Extract<FairMerchantState, { phase: 'offered' }>, message: unknown, now: number, ctx: FairMerchantContext): Promise<Step> {
  const body = state.offer.body;
  if (now > Date.parse(body.expiresAt) + startGrace(ctx.timing)) throw new SemperError('ERR_OFFER_EXPIRED', `the offer expired at ${body.expiresAt}`);
  const v = await verifyStatement(message, { types: [FAIR_TYPES.start], trust: { roots: ctx.trustRoots, now: new Date(now) } });
  const start = parseBody(FairStartBody, v.statement.body, 'fair start');
  if (v.statement.dealId !== state.dealId) throw new SemperError('ERR_REPLAY', 'the start is for another deal');
  if (start.offer !== state.offerDigest) throw new SemperError('ERR_OFFER_INVALID', 'the start names another offer than this deal made');
  const shopperKeyId = await jwkThumbprint(v.signerJwk);
  const items = fairItems(body, { dealId: state.dealId, shopperKeyId, method: start.method, sealingKeyId: ctx.ttp.sealingKeyId });
  assertFairPurchase(items, ctx.identity.signer.keyId, shopperKeyId);
  const item = await signGoodsKey(body, state.dealId, decodeBase64url(state.key), ctx.identity.signer, ctx.identity.chain, now);
  const started = await startOriginator(
    {
      protocol: 'generatable-verifiable',
      dealId: state.dealId,
      responder: { keyId: shopperKeyId },
      ttp: { keyId: ctx.ttp.keyId },
      gives: items.merchantGives,
      item,
      expects: items.shopperGives,
      now,
      timeouts: timeoutsFrom(ctx.timing),
      ...(body.terms !== undefined ? { terms: body.terms } : {}),
    },
    originatorContext(ctx),
  );
  return {
    state: { ...state, phase: 'selling', start: v.statement, method: start.method, shopperKeyId, originator: started.state },
    send: [{ to: 'shopper', body: { replies: started.send.filter((o) => o.to === 'peer').map((o) => o.statement) } }],
    effects: [],
  };
}

export async function stepFairMerchant(state: FairMerchantState, event: FairMerchantEvent, ctx: FairMerchantContext): Promise<Step> {
  if (event.type === 'offer-requested') {
    if (state.phase === 'new') return issueOffer(state.dealId, event.request, event.prepared, event.now, ctx);
    if (state.phase === 'offered') {
      const again = await repeatOffer(state, event.request, event.now, ctx);
      if (again) return again;
    }
    throw new SemperError('ERR_REPLAY', `deal ${state.dealId} already has an offer`);
  }
  switch (state.phase) {
    case 'new':
      throw new SemperError('ERR_NOT_FOUND', `no purchase for deal ${state.dealId}`);
    case 'expired':
      if (event.type === 'message') throw new SemperError('ERR_OFFER_EXPIRED', `the offer of deal ${state.dealId} expired`);
      return { state, send: [], effects: [] };
    case 'offered':
      if (event.type === 'message') {
        if (!isStart(event.message)) throw new SemperError('ERR_PROTOCOL_STATE', `deal ${state.dealId} has no exchange under way yet: it takes a start`);
        return onStart(state, event.message, event.now, ctx);
      }
      if (event.type === 'timeout' && event.now >= offeredWakeAt(state, ctx.timing)) {
        const { phase: _p, ...offered } = state;
        return { state: { ...offered, phase: 'expired', endedAt: event.now }, send: [], effects: [] };
      }
      return { state, send: [], effects: [] };
    case 'selling':
      break;
  }
  if (event.type === 'message' && isStart(event.message)) {
    // The shopper missed m1: the same start gets m1 again (while m1 is what we wait on).
    if (canonicalJson(event.message) !== canonicalJson(state.start)) throw new SemperError('ERR_REPLAY', `deal ${state.dealId} was started already`);
    const m1 = state.originator.m1;
    return { state, send: [{ to: 'shopper', body: { replies: state.originator.phase === 'awaiting-m2' && m1 ? [m1] : [] } }], effects: [] };
  }
  const res = await stepExchange(state.originator, event, originatorContext(ctx));
  const problems = res.effects.filter((e): e is FairMerchantEffect => e.kind === 'rejected-message');
  if (event.type === 'message' && problems.length > 0 && res.state === state.originator && res.send.length === 0) {
    const { code, message } = problems[0]!.error;
    throw new SemperError(/^ERR_[A-Z_]+$/.test(code) ? (code as SemperError['code']) : 'ERR_INTERNAL', message);
  }
  const next: FairMerchantState = res.state === state.originator ? state : { ...state, originator: res.state };
  const send: FairMerchantOutbound[] = res.send.filter((o) => o.to === 'ttp').map((o) => ({ to: 'ttp', statement: o.statement }));
  if (event.type === 'message') send.unshift({ to: 'shopper', body: { replies: res.send.filter((o) => o.to === 'peer').map((o) => o.statement) } });
  return { state: next, send, effects: problems };
}

function offeredWakeAt(state: Offered, timing: ExchangeTiming): number {
  return Date.parse(state.offer.body.expiresAt) + startGrace(timing);
}

/** The merchant's fair-purchase role on the machine contract. */
export const fairPurchaseMerchant: Machine<
  FairMerchantState,
  FairMerchantEvent,
  FairMerchantContext,
  FairMerchantOutbound,
  FairMerchantEffect,
  { dealId: string }
> = {
  kind: 'fair-purchase-merchant',
  start: async ({ dealId }) => ({ state: { phase: 'new', dealId }, send: [], effects: [] }),
  step: stepFairMerchant,
  pendingSends: (state) =>
    state.phase === 'selling' ? state.originator.outbox.filter((o) => o.to === 'ttp').map((o) => ({ to: 'ttp' as const, statement: o.statement })) : [],
  wakeAt: (state) => (state.phase === 'selling' ? state.originator.wakeAt : state.phase === 'offered' ? offeredWakeAt(state, state.offer.body.timing) : null),
  isTerminal: (state) => state.phase === 'expired' || (state.phase === 'selling' && exchangeTerminal(state.originator)),
};
