/**
 * The merchant kit: one Hono sub-app any Node web shop mounts on its own origin to speak Semper
 * (docs/contracts.md), and the host of the merchant's machines. Every kind of deal is a core
 * machine registered here with the one host step (server/host/step.ts) over the one deal store
 * (deals.ts); the routes only validate the envelope, run one step and answer with what the
 * machine sends to the shopper.
 *
 *   purchases (core/commerce/merchant.ts)
 *   POST /semper/offer                OfferRequest           → { offer }
 *   POST /semper/order                { order }              → { confirmation, delivery }   (idempotent)
 *        the order is signed by a device key (jwk), a shopper certificate (x509, if `shopperTrust`,
 *        revocation from `revocation`) or a hardware token (webauthn-ES256, if `webauthn`)
 *   exchange deals: certified mail, contract signing (core/commerce/exchange-merchant.ts)
 *   POST /semper/exchange/descriptor  DescriptorRequest      → { descriptor }               (idempotent)
 *   POST /semper/exchange/messages    { message: Statement } → { replies: Statement[] }
 *   operator
 *   GET  /semper/deals/:dealId                               → the stored deal of any kind (bearer token)
 *   errors                                                   → { error: { code, message } }
 *
 * Every POST issues signed statements, so all of them share one per-client rate limit
 * (http/rate-limit.ts). Exchange deals run timers (`tick()`, or `start()` to tick periodically)
 * and ask the TTP the merchant is configured with, never one a message names; the TTP's answer
 * is the deal's next event.
 *
 * Test faults (`exchanges.faults`, read on every request so a test can switch them):
 *   stopAfter: 'receiving-proposal'         the merchant processes m1, then answers nothing more
 *   stopAfter: 'receiving-originator-item'  the merchant takes the shopper's item (m3), then stops
 *   descriptorOrigin                        descriptors name this origin instead of the merchant's
 * A stopped (halted) deal answers 503 and runs no timers: the shopper must get its due from the TTP.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { SemperError, errorToJson } from '../../core/errors.js';
import { cryptoRandom, type Machine, type RandomSource } from '../../core/machine.js';
import type { RevocationCheck } from '../../core/pki/certificates.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import {
  purchaseMerchant,
  type CatalogItem,
  type MerchantContext,
  type MerchantDealState,
  type MerchantEvent,
  type MerchantIdentity,
  type MerchantOutbound,
} from '../../core/commerce/merchant.js';
import {
  exchangeMerchant,
  type ExchangeMerchantContext,
  type ExchangeMerchantEffect,
  type ExchangeMerchantEvent,
  type ExchangeMerchantOutbound,
  type ExchangeMerchantState,
} from '../../core/commerce/exchange-merchant.js';
import { DEFAULT_EXCHANGE_TIMING, DescriptorRequest, type ExchangeCatalog, type ExchangeTiming } from '../../core/commerce/exchange-deal.js';
import { EXCHANGE_TYPES } from '../../core/exchange/index.js';
import { DealId, OfferRequest } from '../../core/protocol/commerce.js';
import { Statement, type WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { errorResponse, handleError } from '../http/errors.js';
import { DEFAULT_BODY_LIMIT, jsonBodyLimit, readJson } from '../http/json.js';
import { operatorOnly } from '../http/operator.js';
import { signingRateLimit } from '../http/rate-limit.js';
import { KeyedLock } from '../host/keyed-lock.js';
import { MachineHost, type HostStep, type TimedEvent } from '../host/step.js';
import { dealsOfKind, type DealKind, type MerchantDealStore } from './deals.js';

export interface MerchantCatalog {
  lookup(sku: string): CatalogItem | undefined;
  /** The terms every offer carries (and the shopper signs by ordering). */
  terms: string;
}

export interface PurchaseOptions {
  catalog: MerchantCatalog;
  /** How long an offer may be accepted. */
  offerTtlMs: number;
  /** Accept orders signed with hardware tokens (`webauthn-ES256`, core/crypto/webauthn.ts). */
  webauthn?: WebAuthnStatementVerifier;
  /**
   * Accept orders signed with a shopper certificate (`x509` signer, role shopper) chaining to
   * these roots at the time of the order, and not revoked per the kit's `revocation`. Absent:
   * certified orders are refused (ERR_CERT_UNTRUSTED).
   */
  shopperTrust?: { roots: readonly string[] };
  /** Which offers demand a hardware-token signature on the order (signed into the offer as `orderSignature`). */
  requireHardwareToken?: MerchantContext['requireHardwareToken'];
}

export interface ExchangeFaults {
  stopAfter?: 'receiving-proposal' | 'receiving-originator-item';
  descriptorOrigin?: string;
}

export interface ExchangeOptions {
  catalog: ExchangeCatalog;
  /** The TTP this merchant accepts, and where it reaches it. */
  ttp: { keyId: string; url: string; certificateChain: string[] };
  /** Roots for certified signers in exchange messages (the TTP's chain, certified items). */
  trustRoots: readonly string[];
  timing?: ExchangeTiming;
  /** How long a descriptor may be confirmed (default 10 minutes). */
  descriptorTtlMs?: number;
  terms?: string;
  faults?: ExchangeFaults;
  /** How the merchant POSTs to the TTP (default: global fetch). */
  fetch?: typeof fetch;
}

export interface MerchantKitOptions {
  identity: MerchantIdentity;
  deals: MerchantDealStore;
  /** Purchases (offer → order); absent: the kit has no purchase routes. */
  purchases?: PurchaseOptions;
  /** Exchange deals; absent: the kit has no exchange routes and no timers. */
  exchanges?: ExchangeOptions;
  /** Revocation status for certificates in what shoppers and the TTP send (prepared before each step). */
  revocation?: RevocationSource;
  /** Signed statements each client address may obtain per minute (offers, orders, descriptors, messages together). */
  signedStatementsPerMinute?: number;
  /** If set, `GET /semper/deals/:dealId` requires `Authorization: Bearer <token>`. */
  operatorToken?: string;
  /** Largest accepted POST body (default 64 KiB for purchases, 256 KiB for exchanges: a message may carry a document). */
  maxBodyBytes?: number;
  /** Clock; injectable so tests can let offers expire and timers fall due. */
  now?: () => number;
  /** Offer, order and descriptor ids, exchange nonces (default: the platform CSPRNG). */
  random?: RandomSource;
  /** Where the kit reports what no request is waiting for (refused TTP answers, unreachable TTP). */
  log?: (what: string, e: unknown) => void;
}

export interface MerchantKit {
  readonly app: Hono;
  /** Deliver every due timer once (exchange deals). */
  tick(): Promise<void>;
  /** Run `tick` every `intervalMs` (unref'd: it never keeps a process alive). */
  start(intervalMs?: number): void;
  /** Stop the timers and wait for TTP requests under way. */
  stop(): Promise<void>;
}

/** `POST /semper/order` body. The statement is fully verified by the machine; here only its shape. */
const OrderRequest = z.strictObject({ order: Statement });
const MessageRequest = z.strictObject({ message: Statement });
const DEFAULT_DESCRIPTOR_TTL_MS = 10 * 60_000;
const EXCHANGE_BODY_LIMIT = 256 * 1024;
const TTP_TIMEOUT_MS = 10_000;
const DUE_PER_TICK = 100;

/** A catalogue from a fixed list of items. */
export function catalogFromItems(items: readonly CatalogItem[], terms: string): MerchantCatalog {
  const bySku = new Map(items.map((item) => [item.sku, item]));
  if (bySku.size !== items.length) throw new SemperError('ERR_SCHEMA', 'catalogue lists a SKU twice');
  return { lookup: (sku) => bySku.get(sku), terms };
}

/** Our own rows, but a hand-edited or truncated file must not be acted on as if it were sound. */
function decodePurchase(dealId: string, value: unknown): MerchantDealState {
  const v = value as Partial<Record<'phase' | 'dealId', unknown>> | null;
  if (typeof v !== 'object' || v === null || (v.phase !== 'offered' && v.phase !== 'confirmed') || v.dealId !== dealId) {
    throw new SemperError('ERR_INTERNAL', `stored state of deal ${dealId} is not a purchase state`);
  }
  return value as MerchantDealState;
}

function decodeExchange(dealId: string, value: unknown): ExchangeMerchantState {
  const v = value as { phase?: unknown; dealId?: unknown; responder?: { v?: unknown; role?: unknown; dealId?: unknown } } | null;
  const r = v?.responder;
  if (typeof v !== 'object' || v === null || v.phase !== 'responding' || v.dealId !== dealId || r?.v !== 1 || r.role !== 'responder' || r.dealId !== dealId) {
    throw new SemperError('ERR_INTERNAL', `stored state of deal ${dealId} is not an exchange state`);
  }
  return value as ExchangeMerchantState;
}

function isPropose(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === EXCHANGE_TYPES.propose;
}

/** The test faults that halt an exchange deal, checked after each shopper message. */
function haltsOn(faults: ExchangeFaults) {
  return (before: ExchangeMerchantState, after: ExchangeMerchantState, event: ExchangeMerchantEvent): boolean => {
    if (event.type !== 'message' || event.from !== 'peer' || before.phase !== 'responding' || after.phase !== 'responding') return false;
    switch (faults.stopAfter) {
      case 'receiving-proposal':
        return isPropose(event.message) && before.responder.phase === 'awaiting-m1' && after.responder.phase !== 'awaiting-m1';
      case 'receiving-originator-item':
        return before.responder.received === null && after.responder.received !== null;
      default:
        return false;
    }
  };
}

/** A POST route of a kind of deal: which deal the request is about, and the event it is. */
interface DealRoute<V> {
  path: string;
  read(c: Context, now: number): Promise<{ dealId: string; event: V }>;
}

function jsonRoute<B, V>(path: string, schema: z.ZodType<B>, what: string, toEvent: (body: B, now: number) => { dealId: string; event: V }): DealRoute<V> {
  return { path, read: async (c, now) => toEvent(await readJson(c, schema, what), now) };
}

/** Runs one event for a deal of this kind, and whatever it leads to (followUp); resolves with the step. */
type RunStep<S, V, O, E> = (dealId: string, event: V | ((state: S) => V | null)) => Promise<HostStep<S, O, E>>;

/**
 * One kind of deal as the kit hosts it: its core machine, how its stored state is read back, its
 * context, its routes, its timer event, what happens after a step besides answering the shopper.
 * A new kind of deal is a core machine and one of these.
 */
interface DealKindRegistration<S extends { phase: string }, V extends TimedEvent, C, O extends { to: string }, E> {
  kind: DealKind;
  machine: Machine<S, V, C, O, E, { dealId: string }>;
  decode(dealId: string, value: unknown): S;
  context(): C;
  /** The roots its steps validate chains against (revocation is prepared for them); none: no revocation. */
  revocationRoots?: readonly string[];
  haltAfter?(before: S, after: S, event: V): boolean;
  maxBodyBytes: number;
  routes: DealRoute<V>[];
  /** The event a due timer delivers (kinds whose machine has a `wakeAt`). */
  timeout?(now: number): V;
  /** After every step: sends to others than the shopper, effects. */
  followUp?(dealId: string, step: HostStep<S, O, E>, run: RunStep<S, V, O, E>): void;
}

/** The answer to the shopper's request: what the step sent to the shopper. */
function answer<S, O extends { to: string }, E>(c: Context, step: HostStep<S, O, E>): Response {
  // A halted merchant (test fault) behaves like one that crashed: no answer worth reading.
  if (step.kind === 'halted') return errorResponse(c, 'ERR_INTERNAL', 'the merchant has stopped (test fault)', 503);
  const reply = step.kind === 'stepped' ? step.send.find((o): o is O & { body: object } => o.to === 'shopper' && 'body' in o) : undefined;
  if (!reply) throw new SemperError('ERR_INTERNAL', 'the step had no answer for the shopper');
  return c.json(reply.body);
}

function purchaseDeals(options: PurchaseOptions, identity: MerchantIdentity, random: RandomSource, isRevoked: RevocationCheck | undefined) {
  if (!(options.offerTtlMs > 0)) throw new SemperError('ERR_SCHEMA', 'offerTtlMs must be positive');
  const roots = options.shopperTrust?.roots;
  const registration: DealKindRegistration<MerchantDealState, MerchantEvent, MerchantContext, MerchantOutbound, never> = {
    kind: 'purchase',
    machine: purchaseMerchant,
    decode: decodePurchase,
    context: () => ({
      identity,
      lookup: (sku) => options.catalog.lookup(sku),
      offerTtlMs: options.offerTtlMs,
      terms: options.catalog.terms,
      random,
      ...(options.webauthn ? { webauthn: options.webauthn } : {}),
      ...(roots ? { trust: { roots, ...(isRevoked ? { isRevoked } : {}) } } : {}),
      ...(options.requireHardwareToken ? { requireHardwareToken: options.requireHardwareToken } : {}),
    }),
    ...(roots ? { revocationRoots: roots } : {}),
    maxBodyBytes: DEFAULT_BODY_LIMIT,
    routes: [
      jsonRoute('/semper/offer', OfferRequest, 'offer request', (request, now) => ({
        dealId: request.dealId,
        event: { type: 'offer-requested', request, now },
      })),
      jsonRoute('/semper/order', OrderRequest, 'order request', ({ order }, now) => ({ dealId: order.dealId, event: { type: 'order-received', order, now } })),
    ],
  };
  return registration;
}

interface ExchangeHostEnv {
  identity: MerchantIdentity;
  random: RandomSource;
  isRevoked: RevocationCheck | undefined;
  now: () => number;
  log: (what: string, e: unknown) => void;
  /** Keep track of work no request waits for (stop() waits for it). */
  track(p: Promise<unknown>): void;
}

function exchangeDeals(options: ExchangeOptions, env: ExchangeHostEnv) {
  const faults = options.faults ?? {};
  const doFetch = options.fetch ?? fetch;
  const { identity, now, log } = env;

  /** The TTP's answer to a request as the deal's next event; null if the TTP could not be reached (the responder's timer asks again). */
  const askTtp = async (dealId: string, request: Statement): Promise<ExchangeMerchantEvent | null> => {
    try {
      const response = await doFetch(new URL('/ttp/requests', options.ttp.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ request }),
        redirect: 'error',
        signal: AbortSignal.timeout(TTP_TIMEOUT_MS),
      });
      const body = (await response.json()) as { answer?: unknown; error?: { code?: unknown; message?: unknown } };
      if (response.ok && body.answer) return { type: 'message', message: body.answer, now: now(), from: 'ttp' };
      return {
        type: 'ttp-error',
        error: { code: String(body.error?.code ?? 'ERR_TTP'), message: String(body.error?.message ?? `TTP answered HTTP ${response.status}`) },
        now: now(),
      };
    } catch (e) {
      log(`TTP unreachable for exchange ${dealId}`, errorToJson(e));
      return null;
    }
  };

  const registration: DealKindRegistration<
    ExchangeMerchantState,
    ExchangeMerchantEvent,
    ExchangeMerchantContext,
    ExchangeMerchantOutbound,
    ExchangeMerchantEffect
  > = {
    kind: 'exchange',
    machine: exchangeMerchant,
    decode: decodeExchange,
    context: () => ({
      identity: faults.descriptorOrigin ? { ...identity, origin: faults.descriptorOrigin } : identity,
      ttp: options.ttp,
      catalog: options.catalog,
      descriptorTtlMs: options.descriptorTtlMs ?? DEFAULT_DESCRIPTOR_TTL_MS,
      timing: options.timing ?? DEFAULT_EXCHANGE_TIMING,
      ...(options.terms ? { terms: options.terms } : {}),
      trustRoots: options.trustRoots,
      ...(env.isRevoked ? { isRevoked: env.isRevoked } : {}),
      random: env.random,
    }),
    revocationRoots: options.trustRoots,
    haltAfter: haltsOn(faults),
    maxBodyBytes: EXCHANGE_BODY_LIMIT,
    routes: [
      jsonRoute('/semper/exchange/descriptor', DescriptorRequest, 'exchange descriptor request', (request, t) => ({
        dealId: request.dealId,
        event: { type: 'descriptor-requested', request, now: t },
      })),
      jsonRoute('/semper/exchange/messages', MessageRequest, 'exchange message', ({ message }, t) => ({
        dealId: message.dealId,
        event: { type: 'message', message, now: t, from: 'peer' },
      })),
    ],
    timeout: (t) => ({ type: 'timeout', now: t }),
    followUp(dealId, step, run) {
      if (step.kind !== 'stepped') return;
      for (const effect of step.effects) log(`exchange ${dealId}`, effect.error);
      for (const o of step.send) {
        if (o.to !== 'ttp') continue;
        // The TTP's answer is the deal's next event; no shopper request waits for it.
        env.track(
          askTtp(dealId, o.statement)
            .then((event) => event && run(dealId, event))
            .catch((e: unknown) => log(`TTP request of exchange ${dealId}`, e)),
        );
      }
    },
  };
  return registration;
}

export function createMerchantKit(options: MerchantKitOptions): MerchantKit {
  const { identity, deals } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? cryptoRandom;
  const log = options.log ?? ((what: string, e: unknown) => console.warn(`[merchant] ${what}:`, e));
  const isRevoked = options.revocation?.isRevoked;
  // Every kind keys its deals by deal id in one table: one lock for all.
  const locks = new KeyedLock();
  const timers = new Map<DealKind, (dealId: string) => Promise<unknown>>();
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
  app.use('/semper/*', async (c, next) => {
    await next();
    // Offers, orders and exchange messages are per-shopper and signed: no cache may keep or replay them.
    c.header('cache-control', 'no-store');
    c.header('x-content-type-options', 'nosniff');
  });
  // Every route of every kind issues signed statements: one budget per client.
  const signing = signingRateLimit({ ...(options.signedStatementsPerMinute !== undefined ? { perMinute: options.signedStatementsPerMinute } : {}), now });

  /** The one place a kind of deal is hosted: its store view, host step, routes and timers. */
  function register<S extends { phase: string }, V extends TimedEvent, C, O extends { to: string }, E>(reg: DealKindRegistration<S, V, C, O, E>): void {
    const host = new MachineHost<S, V, C, O, E, { dealId: string }>(
      {
        machine: reg.machine,
        store: dealsOfKind(deals, reg.kind, reg.machine, reg.decode),
        startParams: (dealId) => ({ dealId }),
        context: reg.context,
        ...(options.revocation && reg.revocationRoots ? { revocation: { source: options.revocation, roots: reg.revocationRoots } } : {}),
        ...(reg.haltAfter ? { haltAfter: reg.haltAfter } : {}),
      },
      locks,
    );
    const run: RunStep<S, V, O, E> = async (dealId, event) => {
      const step = await host.step(dealId, event);
      reg.followUp?.(dealId, step, run);
      return step;
    };
    const limit = jsonBodyLimit(options.maxBodyBytes ?? reg.maxBodyBytes);
    for (const route of reg.routes) {
      app.post(route.path, signing, limit, async (c) => {
        const { dealId, event } = await route.read(c, now());
        return answer(c, await run(dealId, event));
      });
    }
    const timeout = reg.timeout;
    if (timeout) {
      timers.set(reg.kind, (dealId) =>
        run(dealId, (state) => {
          const wakeAt = reg.machine.wakeAt(state);
          const t = now();
          return wakeAt !== null && wakeAt <= t ? timeout(t) : null;
        }),
      );
    }
  }

  if (options.purchases) register(purchaseDeals(options.purchases, identity, random, isRevoked));
  if (options.exchanges) register(exchangeDeals(options.exchanges, { identity, random, isRevoked, now, log, track }));

  app.get('/semper/deals/:dealId', operatorOnly(options.operatorToken), async (c) => {
    const parsed = DealId.safeParse(c.req.param('dealId'));
    if (!parsed.success) throw new SemperError('ERR_SCHEMA', 'deal id must be 16-64 base64url characters');
    const deal = await deals.get(parsed.data);
    if (!deal) throw new SemperError('ERR_NOT_FOUND', `no deal ${parsed.data}`);
    return c.json(deal);
  });

  let ticking: Promise<void> | undefined;
  let interval: ReturnType<typeof setInterval> | undefined;
  const tick = (): Promise<void> => {
    ticking ??= (async () => {
      try {
        for (const { dealId, kind } of await deals.due(now(), DUE_PER_TICK)) {
          await timers
            .get(kind)?.(dealId)
            .catch((e: unknown) => log(`timer of ${kind} deal ${dealId}`, e));
        }
      } finally {
        ticking = undefined;
      }
    })();
    return ticking;
  };

  return {
    app,
    tick,
    start(intervalMs = 1000) {
      if (interval || timers.size === 0) return;
      interval = setInterval(() => void tick().catch((e: unknown) => log('timers', e)), intervalMs);
      interval.unref?.();
    },
    async stop() {
      if (interval) clearInterval(interval);
      interval = undefined;
      await ticking?.catch(() => undefined);
      await Promise.all([...inflight]);
    },
  };
}
