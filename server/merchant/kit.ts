/**
 * The merchant kit: one Hono sub-app any Node web shop mounts on its own origin to speak Semper
 * (docs/contracts.md), and the host of the merchant's machines. Every kind of deal is a core
 * machine registered here (registration.ts) with the one host step (server/host/step.ts) over the
 * one deal store (deals.ts); its routes only read the envelope, run one step and answer with
 * what the machine sends to the shopper.
 *
 *   purchases (purchases.ts)        POST /semper/offer, POST /semper/order
 *   exchange deals (exchanges.ts)   POST /semper/exchange/descriptor, POST /semper/exchange/messages
 *   fair purchases (fair-purchases.ts) POST /semper/fair/offer, POST /semper/fair/messages
 *   operator                        GET  /semper/deals?kind=&phase=&from=&to=&limit= → deals newest first, without state (bearer token)
 *                                   GET  /semper/deals/:dealId → the stored deal of any kind (bearer token)
 *                                   GET  /semper/deals/:dealId/evidence[?format=tar] → its evidence bundle (bearer token)
 *                                   POST /semper/deals/:dealId/dispute { claim, statement? } → the arbiter's verdict, kept (bearer token,
 *                                        required: closed without a configured one; disputes.ts)
 *                                   GET  /semper/deals/:dealId/disputes → the verdicts kept with the deal (bearer token)
 *   errors                          { error: { code, message } }
 *
 * Every POST reads its body through the one JSON edge (http/json.ts: Content-Type, a size bound per
 * route, nesting) and its route's schema before anything counts it; every POST issues signed
 * statements, so all of them share one budget (http/rate-limit.ts SigningBudget): a request about a
 * deal the kit holds counts against that deal, one that would open a deal against the client's
 * address. Kinds with timers (exchange deals) are woken by `tick()`, which `start()`
 * runs periodically. A deal halted by a test fault answers 503 and runs no timers.
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import { Hono, type Context } from 'hono';
import { SemperError } from '../../core/errors.js';
import type { MerchantIdentity } from '../../core/commerce/merchant.js';
import { cryptoRandom, type RandomSource } from '../../core/machine.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import { DealId } from '../../core/protocol/commerce.js';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBody, readJson } from '../http/json.js';
import { operatorOnly } from '../http/operator.js';
import { evidenceDownload } from '../../core/evidence/index.js';
import { DisputeRequest, fileDispute, KitDisputeError, merchantBundle, type KitArbiter } from './disputes.js';
import { SigningBudget } from '../http/rate-limit.js';
import { KeyedLock } from '../host/keyed-lock.js';
import { MachineHost, type HostStep, type TimedEvent } from '../host/step.js';
import { DealListQuery, dealsOfKind, type DealKind, type MerchantDealStore } from './deals.js';
import { exchangeDeals, type ExchangeOptions } from './exchanges.js';
import { fairPurchaseDeals, type FairPurchaseOptions } from './fair-purchases.js';
import { purchaseDeals, type PurchaseOptions } from './purchases.js';
import type { DealKindRegistration, KitEnv, RunStep } from './registration.js';

export { catalogFromItems, type MerchantCatalog, type PurchaseOptions } from './purchases.js';
export type { ExchangeFaults, ExchangeOptions } from './exchanges.js';
export type { FairPurchaseFaults, FairPurchaseOptions } from './fair-purchases.js';

export interface MerchantKitOptions {
  identity: MerchantIdentity;
  deals: MerchantDealStore;
  /** Purchases (offer → order); absent: the kit has no purchase routes. */
  purchases?: PurchaseOptions;
  /** Exchange deals; absent: the kit has no exchange routes and no timers. */
  exchanges?: ExchangeOptions;
  /** Fair purchases (goods for money through the fair exchange); absent: no such routes. */
  fairPurchases?: FairPurchaseOptions;
  /** Revocation status for certificates in what shoppers and the TTP send (prepared before each step). */
  revocation?: RevocationSource;
  /** Requests opening a deal (offers, descriptors) each client address may make per minute; requests about a deal the kit holds count against that deal. */
  signedStatementsPerMinute?: number;
  /** Requests per minute about one deal (default http/rate-limit.ts DEFAULT_SIGNED_STATEMENTS_PER_DEAL_PER_MINUTE). */
  signedStatementsPerDealPerMinute?: number;
  /** If set, `GET /semper/deals/:dealId` requires `Authorization: Bearer <token>`. */
  operatorToken?: string;
  /** Largest accepted POST body, for every route (default: KIT_ROUTE_BODY_LIMITS, else the kind's own bound). */
  maxBodyBytes?: number;
  /** Clock; injectable so tests can let offers expire and timers fall due. */
  now?: () => number;
  /** Offer, order and descriptor ids, exchange nonces (default: the platform CSPRNG). */
  random?: RandomSource;
  /** Where the kit reports what no request is waiting for (refused TTP answers, unreachable TTP). */
  log?: (what: string, e: unknown) => void;
  /** The arbiter the operator files complaints with (POST /semper/deals/:dealId/dispute); may also be set later (`setArbiter`). */
  arbiter?: KitArbiter;
  /** Time stamps over the orders the kit accepts (server/storage/statement-stamps.ts); their tokens go into its evidence. */
  stamps?: StatementStamps;
}

export interface MerchantKit {
  readonly app: Hono;
  /** The body bound of each POST route (bytes). */
  readonly bodyLimits: Readonly<Record<string, number>>;
  /** Deliver every due timer once (exchange deals). */
  tick(): Promise<void>;
  /** Run `tick` every `intervalMs` (unref'd: it never keeps a process alive). */
  start(intervalMs?: number): void;
  /** Stop the timers and wait for TTP requests under way. */
  stop(): Promise<void>;
  /** Configure the arbiter after the kit was made (the marketplace starts its arbiter after the shop). */
  setArbiter(arbiter: KitArbiter): void;
}

const DUE_PER_TICK = 100;

/**
 * Body bounds of the routes whose schema needs little: an offer request is a deal id, a nonce and
 * at most 20 (sku, quantity) pairs; a descriptor request a deal id, a nonce, a use, a document id
 * and at most a public key. Other routes take their kind's bound (an order with a certificate chain
 * or a WebAuthn assertion: 64 KiB; an exchange message that may carry a document: 256 KiB).
 */
export const KIT_ROUTE_BODY_LIMITS: Readonly<Record<string, number>> = {
  '/semper/offer': 8 * 1024,
  '/semper/exchange/descriptor': 8 * 1024,
  '/semper/fair/offer': 8 * 1024,
};

/** The answer to the shopper's request: what the step sent to the shopper. */
function answer<S, O extends { to: string }, E>(c: Context, step: HostStep<S, O, E>): Response {
  // A halted merchant (test fault) behaves like one that crashed: no answer worth reading.
  if (step.kind === 'halted') return errorResponse(c, 'ERR_INTERNAL', 'the merchant has stopped (test fault)', 503);
  const reply = step.kind === 'stepped' ? step.send.find((o): o is O & { body: object } => o.to === 'shopper' && 'body' in o) : undefined;
  if (!reply) throw new SemperError('ERR_INTERNAL', 'the step had no answer for the shopper');
  return c.json(reply.body);
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
  const bodyLimits: Record<string, number> = {};
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
  app.use('/semper/*', async (c, next) => {
    await next();
    // Offers, orders and exchange messages are per-shopper and signed: no cache may keep or replay them.
    c.header('cache-control', 'no-store');
    c.header('x-content-type-options', 'nosniff');
  });
  // Every route of every kind issues signed statements: one budget, counted after the request passed its checks.
  const budget = new SigningBudget({
    ...(options.signedStatementsPerMinute !== undefined ? { perMinute: options.signedStatementsPerMinute } : {}),
    ...(options.signedStatementsPerDealPerMinute !== undefined ? { perDealPerMinute: options.signedStatementsPerDealPerMinute } : {}),
    now,
  });

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
    for (const route of reg.routes) {
      const maxBytes = options.maxBodyBytes ?? KIT_ROUTE_BODY_LIMITS[route.path] ?? reg.maxBodyBytes;
      bodyLimits[route.path] = maxBytes;
      app.post(route.path, jsonBody({ maxBytes }, route.path), async (c) => {
        const { dealId, event } = await route.read(c, now());
        // Counted only now that the request passed its checks; against its deal if the kit holds it.
        const refused = budget.charge(c, (await deals.get(dealId)) ? dealId : undefined);
        if (refused) return refused;
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

  const env: KitEnv = { identity, random, isRevoked, now, log, track, ...(options.stamps ? { stamps: options.stamps } : {}) };
  if (options.purchases) register(purchaseDeals(options.purchases, env));
  if (options.exchanges) register(exchangeDeals(options.exchanges, env));
  if (options.fairPurchases) register(fairPurchaseDeals(options.fairPurchases, env));

  const storedDeal = async (id: string) => {
    const parsed = DealId.safeParse(id);
    if (!parsed.success) throw new SemperError('ERR_SCHEMA', 'deal id must be 16-64 base64url characters');
    const deal = await deals.get(parsed.data);
    if (!deal) throw new SemperError('ERR_NOT_FOUND', `no deal ${parsed.data}`);
    return deal;
  };

  // The operator's listing: newest first, by kind, phase and creation time (deals.ts DealListQuery).
  app.get('/semper/deals', operatorOnly(options.operatorToken), async (c) => {
    const query = DealListQuery.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      return errorResponse(c, 'ERR_SCHEMA', `deal listing: ${issue ? `${issue.path.join('.') || 'query'}: ${issue.message}` : 'malformed'}`);
    }
    if (!deals.list) return errorResponse(c, 'ERR_NOT_FOUND', 'this kit keeps no listable deals');
    return c.json({ deals: await deals.list(query.data) });
  });
  app.get('/semper/deals/:dealId', operatorOnly(options.operatorToken), async (c) => c.json(await storedDeal(c.req.param('dealId'))));

  // The deal's evidence bundle (core/evidence, README "Checking evidence with OpenSSL only"): every
  // statement of this deal in its stored state; `?format=tar` for the recipe's files. Operator only,
  // like the deal itself: it holds what the shopper ordered and, for exchanges, the items.
  app.get('/semper/deals/:dealId/evidence', operatorOnly(options.operatorToken), async (c) => {
    const deal = await storedDeal(c.req.param('dealId'));
    const bundle = await merchantBundle(deal, `merchant kit ${identity.origin}`, now(), (await deals.disputes?.(deal.dealId)) ?? [], options.stamps);
    const file = await evidenceDownload(bundle, c.req.query('format') === 'tar' ? 'tar' : 'json');
    return c.body(file.body, 200, { 'content-type': file.mediaType, 'content-disposition': `attachment; filename="${file.fileName}"` });
  });

  // A dispute (disputes.ts): the deal's bundle, a complaint signed by the merchant's certified key,
  // the configured arbiter's verdict, checked and kept with the deal. Operator only, and closed when
  // no operator token is configured (it makes the merchant sign); it counts against the deal's
  // signing budget too.
  let arbiter = options.arbiter;
  app.post('/semper/deals/:dealId/dispute', operatorOnly(options.operatorToken, { required: true }), jsonBody({ maxBytes: 8 * 1024 }, 'dispute'), async (c) => {
    const request = await readJson(c, DisputeRequest, 'dispute');
    const deal = await storedDeal(c.req.param('dealId'));
    const refused = budget.charge(c, deal.dealId);
    if (refused) return refused;
    try {
      const { dispute, replayed } = await fileDispute({
        deal,
        claim: request.claim,
        ...(request.statement ? { statement: request.statement } : {}),
        identity,
        arbiter,
        now,
        disputes: (await deals.disputes?.(deal.dealId)) ?? [],
        ...(options.stamps ? { stamps: options.stamps } : {}),
      });
      await deals.addDispute?.(dispute);
      return c.json({ dispute, replayed, kept: deals.addDispute !== undefined });
    } catch (e) {
      if (e instanceof KitDisputeError) return errorResponse(c, e.code, e.message, e.status);
      throw e;
    }
  });
  app.get('/semper/deals/:dealId/disputes', operatorOnly(options.operatorToken), async (c) => {
    const deal = await storedDeal(c.req.param('dealId'));
    return c.json({ disputes: (await deals.disputes?.(deal.dealId)) ?? [] });
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
    bodyLimits,
    tick,
    start(intervalMs = 1000) {
      if (interval || timers.size === 0) return;
      interval = setInterval(() => void tick().catch((e: unknown) => log('timers', e)), intervalMs);
      interval.unref?.();
    },
    setArbiter(next) {
      arbiter = next;
    },
    async stop() {
      if (interval) clearInterval(interval);
      interval = undefined;
      await ticking?.catch(() => undefined);
      await Promise.all([...inflight]);
    },
  };
}
