/**
 * Deterministic simulation of one purchase (core/commerce: `purchaseShopper`, `purchaseMerchant`)
 * over the same simulated network as the exchanges (sim.ts): the shopper's worker S, the
 * merchant kit M, and the user at the trusted window. Hosts do what the real ones do:
 *   S  persists the state before anything leaves (IndexedDB in the extension), shows a verified
 *      offer, sends the machine's requests and feeds every transport answer back as a `reply`
 *      event; answers for a finished deal are ignored; its alarm delivers `timeout` at
 *      `wakeAt(state)`; after a crash it restarts from the persisted JSON and re-sends
 *      `pendingSends(state)` (a request in flight when the worker died is lost with it, and so is
 *      its answer), reopening the window if the deal still awaits the user.
 *   M  keeps one state per deal id (a new id starts at `newMerchantDeal`), steps the request's
 *      event, stores the new state, then answers with `send[0].body`; a refusal (SemperError) is
 *      an error answer and changes nothing. A crash breaks the connection: the shopper's
 *      request fails.
 *   the user confirms or declines while the offer is shown, or lets it expire.
 * Network (sim.ts): requests and responses may be lost (the shopper's fetch then fails: a
 * transport error, delivered within REQUEST_TIMEOUT_MS), duplicated, delayed and reordered;
 * the network may answer a request with a recorded response (replay); time may jump (a slow user,
 * a late alarm). One crash of S or M, before it persisted its step or after persisting but before
 * sending.
 *
 * After the run the oracle checks, from what crossed the wire and what was persisted:
 *   merchant    it confirmed at most one order for the deal (and issued one confirmation), and
 *               only an order the shopper signed, for the offer that order accepts, an offer
 *               it issued for this deal, at that offer's total;
 *   completion  if the shopper completed, the merchant confirmed exactly the shopper's order and
 *               the shopper holds the confirmation and delivery the merchant issued; the goods are
 *               the offer's digital items, each matching its digest and the merchant's good, and
 *               each what the offer committed to (content digest, media type, title);
 *   mismatch    a shopper that ended in delivery-mismatch holds the merchant's own delivery for its
 *               order, and that delivery is not what the offer committed to;
 *   binding     a shopper whose order the merchant confirmed never reports the deal failed, except
 *               at its answer deadline (ERR_ORDER_UNANSWERED): the order is retried until answered;
 *   shown       every offer the shopper showed is one the merchant issued for this deal and
 *               nonce, verifies (chain, role, signature) at the time shown, was not expired, and
 *               the view says what the offer says;
 *   declined    a deal the user declined sent no order;
 *   timeliness  the shopper terminated.
 */
import { SemperError, errorToJson, isSemperError } from '../../core/errors.js';
import { generateKeyPair, type Signer } from '../../core/crypto/index.js';
import { canonicalJson } from '../../core/encoding/index.js';
import { seededRandom, type TransportReply } from '../../core/machine.js';
import { statementDigest, verifyStatement, type Statement } from '../../core/statements/index.js';
import {
  digestDelivered,
  newMerchantDeal,
  purchaseShopper,
  stepMerchant,
  stepShopper,
  type CatalogItem,
  type MerchantContext,
  type MerchantDealState,
  type MerchantEvent,
  type MerchantStep,
  type OrderReply,
  type Outbound,
  type ShopperContext,
  type ShopperEvent,
  type ShopperState,
  type ShopperStep,
} from '../../core/commerce/index.js';
import type { VerifiedOfferView } from '../../core/commerce/view.js';
import type { ConfirmationBody, DeliveredGood, OfferBody, OrderBody, RequestedItem } from '../../core/protocol/commerce.js';
import { T0 } from './fixtures.js';
import { assertPlainJson, Persisted, runSchedule, SimNet, type Budget, type CrashSpec, type Driver, type Wire } from './sim.js';
import { makeTestCa } from '../helpers/pki.js';

export const ORIGIN = 'https://fogra.example';
export const OFFER_TTL_MS = 60_000;
/** The worker's fetch gives up after this long (extension/worker/http.ts). */
export const REQUEST_TIMEOUT_MS = 20_000;
/** How far the scheduler's `delay` move moves the clock (a slow user, a late alarm, a slow network). */
export const DELAY_MS = 40_000;
/** Order retries in the simulation: the production back-off, over an answer window short enough for a run's step budget. */
export const ORDER_RETRY_SIM = { firstMs: 2_000, maxMs: 20_000, answerWindowMs: 3 * 60_000 };

export const CATALOG: CatalogItem[] = [
  {
    sku: 'colour-report',
    title: 'Colour management report',
    unitPrice: { amount: 1250, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'ISO 12647 in practice.' },
  },
  {
    sku: 'ink-abstract',
    title: 'Ink abstract',
    unitPrice: { amount: 300, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'Abstract.' },
  },
  {
    sku: 'printed-atlas',
    title: 'Printed colour atlas',
    unitPrice: { amount: 9900, currency: 'EUR' },
    kind: 'physical',
    good: { mediaType: 'text/plain', content: '(shipped)' },
  },
];
export const ITEMS: RequestedItem[] = [
  { sku: 'colour-report', quantity: 2 },
  { sku: 'printed-atlas', quantity: 1 },
  { sku: 'ink-abstract', quantity: 1 },
];

export interface PurchaseWorld {
  root: string;
  merchant: { signer: Signer; chain: string[]; commonName: string };
  shopper: Signer;
  shopperCtx(seed: number): ShopperContext;
  merchantCtx(seed: number): MerchantContext;
}

/** Keys and certificates (Ed25519: signatures are deterministic, so a run replays exactly). Built once per test file. */
export async function makePurchaseWorld(): Promise<PurchaseWorld> {
  const ca = await makeTestCa('Semper Purchase Sim Root', T0);
  const commonName = 'Fogra Forschungsgesellschaft Druck e.V.';
  const m = await ca.issue({ commonName, role: 'merchant', origins: [ORIGIN], keys: await generateKeyPair('EdDSA') });
  const s = await ca.issue({ commonName: 'A Shopper', role: 'shopper', keys: await generateKeyPair('EdDSA') });
  return {
    root: ca.root,
    merchant: { signer: m.signer, chain: m.chain, commonName },
    shopper: s.signer,
    shopperCtx: (seed) => ({ random: seededRandom(seed), roots: [ca.root], signer: s.signer, orderRetry: ORDER_RETRY_SIM }),
    merchantCtx: (seed) => ({
      identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
      lookup: (sku) => CATALOG.find((c) => c.sku === sku),
      offerTtlMs: OFFER_TTL_MS,
      terms: 'Digital goods, no returns.',
      random: seededRandom(seed),
    }),
  };
}

export type PurchaseNode = 'S' | 'M';
export type ShopperStepFn = (state: ShopperState, event: ShopperEvent, ctx: ShopperContext) => Promise<ShopperStep>;
export type MerchantStepFn = (state: MerchantDealState, event: MerchantEvent, ctx: MerchantContext) => Promise<MerchantStep>;
export type PurchaseCrashSpec = CrashSpec<PurchaseNode>;

export interface PurchaseSimOptions {
  world: PurchaseWorld;
  /** Scheduler choices; absent = FIFO. When they run out the scheduler continues FIFO. */
  choices?: readonly number[];
  crash?: PurchaseCrashSpec;
  /** What the user does under the FIFO scheduler (default: confirms). */
  user?: 'confirm' | 'reject' | 'wait';
  /** FIFO: how long the user looks at the offer before deciding (ms). */
  userThinksMs?: number;
  /** Every request reaches the merchant this long after it was sent (ms; default 0). */
  requestLatencyMs?: number;
  /** Deterministic faults for base schedules: lose every request / response of these paths. */
  lose?: { requests?: readonly string[]; responses?: readonly string[] /** only the first this many of them (default: all) */; times?: number };
  /** Broken variants: replace a party's step function. */
  steps?: { S?: ShopperStepFn; M?: MerchantStepFn };
  /** The network may answer the shopper's requests with recorded responses (these, and this run's). */
  replay?: boolean;
  replayPool?: readonly unknown[];
  /** Budgets for the random scheduler; `delays`: clock jumps of DELAY_MS. */
  budget?: Partial<Budget> & { delays?: number };
  items?: RequestedItem[];
  maxSteps?: number;
  seed?: number;
}

export interface PurchaseSimResult {
  violations: string[];
  /** The shopper's last persisted state (null: its deal never got persisted). */
  shopper: ShopperState | null;
  /** The merchant's stored state of the shopper's deal (null: none). */
  merchant: MerchantDealState | null;
  /** events processed per node (for enumerating crash points) */
  steps: Record<PurchaseNode, number>;
  /** every body the merchant answered with (for a later run's replay pool) */
  responses: unknown[];
  /** offers shown to the user (including re-shows after a restart) */
  shown: number;
  trace: string[];
}

type RequestPayload = { kind: 'request'; inc: number; sent: Outbound };
type ResponsePayload = { kind: 'response'; inc: number; sent: Outbound; reply: TransportReply; replayed?: boolean };
type Payload = RequestPayload | ResponsePayload;

type Move = { kind: 'user'; decision: 'confirm' | 'reject' } | { kind: 'delay' } | { kind: 'replay'; body: unknown };

export async function simulatePurchase(opts: PurchaseSimOptions): Promise<PurchaseSimResult> {
  const w = opts.world;
  const seed = opts.seed ?? 0;
  const maxSteps = opts.maxSteps ?? 200;
  const net = new SimNet<PurchaseNode>({ t0: T0, nodes: ['S', 'M'], choices: opts.choices, crash: opts.crash, budget: opts.budget });
  let delays = opts.budget?.delays ?? 2;
  const stepS = opts.steps?.S ?? stepShopper;
  const stepM = opts.steps?.M ?? stepMerchant;
  const shopperCtx = w.shopperCtx(seed * 2 + 21);
  const merchantCtx = w.merchantCtx(seed * 2 + 22);

  // --- what the oracle looks at ------------------------------------------------------------------
  /** orders that left the shopper's worker */
  const sentOrders: Statement<OrderBody>[] = [];
  /** offers and confirmations the merchant persisted (nothing leaves it unpersisted) */
  const offersIssued: Statement<OfferBody>[] = [];
  const confirmationsIssued: Statement<ConfirmationBody>[] = [];
  const responses: unknown[] = [];
  const shown: { view: VerifiedOfferView; at: number }[] = [];

  // --- the shopper's worker ----------------------------------------------------------------------
  const S = new Persisted<ShopperState>();
  /** bumped by every restart: answers to an earlier incarnation's requests are lost with it */
  let inc = 0;
  const M = new Map<string, Persisted<MerchantDealState>>();

  const shopperState = (): ShopperState | null => (S.exists ? S.load() : null);
  let lossesLeft = opts.lose?.times ?? Number.POSITIVE_INFINITY;
  const loseOne = (): boolean => lossesLeft-- > 0;

  function transportError(req: { inc: number; sent: Outbound }, why: string): void {
    const payload: ResponsePayload = {
      kind: 'response',
      inc: req.inc,
      sent: req.sent,
      reply: { kind: 'error', error: { code: 'ERR_INTERNAL', message: `${ORIGIN} unreachable: ${why}` } },
    };
    net.send('M', 'S', payload, { droppable: false, deliverBy: net.now + REQUEST_TIMEOUT_MS, label: `transport error (${req.sent.path})` });
  }

  function sendRequest(o: Outbound): void {
    const payload: RequestPayload = { kind: 'request', inc, sent: o };
    if (o.path === '/semper/order') sentOrders.push(o.body.order);
    if (opts.lose?.requests?.includes(o.path) && loseOne()) {
      net.log(`S→M ${o.path} (lost by base schedule)`);
      transportError(payload, 'request lost');
      return;
    }
    net.send('S', 'M', payload, { droppable: true, label: o.path });
  }

  function show(view: VerifiedOfferView): void {
    shown.push({ view, at: net.now });
  }

  async function restartShopper(): Promise<void> {
    inc++;
    if (!S.exists) {
      net.log('S restarts: no deal was persisted (the page is told it failed)');
      return;
    }
    const state = S.load();
    net.log(`S restarts in phase ${state.phase}`);
    // The window reopens for a deal that still awaits the user; one whose offer expired meanwhile
    // is ended by its alarm (the timeout at wakeAt) instead.
    const due = purchaseShopper.wakeAt(state);
    if (state.phase === 'awaiting-confirmation' && (due === null || due > net.now)) show(state.view);
    for (const o of purchaseShopper.pendingSends(state)) sendRequest(o);
  }

  async function applyShopper(res: ShopperStep, crash: PurchaseCrashSpec | null): Promise<void> {
    assertPlainJson(res);
    if (crash?.mode === 'before-persist') {
      net.log('S CRASH before persisting');
      return restartShopper();
    }
    S.save(res.state);
    for (const e of res.effects) {
      if (e.kind === 'show-offer') show(e.view);
      if (e.kind === 'failed') net.log(`S failed: ${e.error.code} ${e.error.message}`);
      if (e.kind === 'finished') net.log('S completed');
      if (e.kind === 'rejected') net.log('S: the user declined');
    }
    if (crash?.mode === 'before-send') {
      net.log('S CRASH after persisting, before sending');
      return restartShopper();
    }
    for (const o of res.send) sendRequest(o);
  }

  /** One event for the shopper's machine, the way the worker's host runs it. */
  async function shopperEvent(event: ShopperEvent): Promise<void> {
    const state = shopperState();
    if (!state) return;
    if (purchaseShopper.isTerminal(state)) {
      net.log(`S ignores ${event.type} (deal ${state.phase})`);
      return;
    }
    const crash = net.step('S');
    let res: ShopperStep;
    try {
      res = await stepS(state, event, shopperCtx);
    } catch (e) {
      if (!isSemperError(e)) throw e;
      net.log(`S refuses ${event.type}: ${e.code} ${e.message}`);
      if (crash) {
        net.log(`S CRASH (${crash.mode}) while refusing`);
        await restartShopper();
      }
      return;
    }
    await applyShopper(res, crash);
  }

  // --- the merchant kit --------------------------------------------------------------------------
  function answer(req: RequestPayload, reply: TransportReply): void {
    if (opts.lose?.responses?.includes(req.sent.path) && loseOne()) {
      net.log(`M→S answer to ${req.sent.path} (lost by base schedule)`);
      transportError(req, 'response lost');
      return;
    }
    const label = reply.kind === 'error' ? `error ${reply.error.code} (${req.sent.path})` : `answer (${req.sent.path})`;
    net.send('M', 'S', { kind: 'response', inc: req.inc, sent: req.sent, reply } satisfies ResponsePayload, { droppable: true, label });
  }

  async function merchantRequest(req: RequestPayload): Promise<void> {
    const crash = net.step('M');
    const body = req.sent.body as unknown as Record<string, unknown>;
    const isOffer = req.sent.path === '/semper/offer';
    const dealId = isOffer ? body.dealId : (body.order as { dealId?: unknown } | undefined)?.dealId;
    const event: MerchantEvent = isOffer
      ? { type: 'offer-requested', request: body, now: net.now }
      : { type: 'order-received', order: body.order, now: net.now };
    let reply: TransportReply;
    try {
      if (typeof dealId !== 'string') throw new SemperError('ERR_SCHEMA', 'no deal id');
      const row = M.get(dealId);
      const res = await stepM(row ? row.load() : newMerchantDeal(dealId), event, merchantCtx);
      assertPlainJson(res);
      if (crash?.mode === 'before-persist') {
        net.log(`M CRASH before persisting (${req.sent.path})`);
        transportError(req, 'connection reset');
        return;
      }
      const stored = row ?? new Persisted<MerchantDealState>();
      stored.save(res.state);
      M.set(dealId, stored);
      if (res.state.phase !== 'new') offersIssued.push(res.state.offer);
      if (res.state.phase === 'confirmed') confirmationsIssued.push(res.state.reply.confirmation);
      if (crash?.mode === 'before-send') {
        net.log(`M CRASH after persisting, before answering (${req.sent.path})`);
        transportError(req, 'connection reset');
        return;
      }
      const out = res.send[0];
      if (!out) throw new Error('the merchant machine answered nothing');
      responses.push(out.body);
      net.log(`M ${req.sent.path} → ${'offer' in out.body ? 'offer' : 'confirmation + delivery'} (deal ${res.state.phase})`);
      reply = { kind: 'response', body: JSON.parse(JSON.stringify(out.body)) as unknown };
    } catch (e) {
      if (!isSemperError(e)) throw e;
      if (crash) {
        net.log(`M CRASH (${crash.mode}) while refusing ${req.sent.path}`);
        transportError(req, 'connection reset');
        return;
      }
      net.log(`M refuses ${req.sent.path}: ${e.code} ${e.message}`);
      reply = { kind: 'error', status: 400, error: errorToJson(e) };
    }
    answer(req, reply);
  }

  // --- the scheduler's view ----------------------------------------------------------------------
  const replayPool = (): unknown[] => [...(opts.replayPool ?? []), ...responses].slice(-8);
  const driver: Driver<PurchaseNode, Move> = {
    async deliver(wire: Wire<PurchaseNode>) {
      const payload = JSON.parse(wire.json) as Payload;
      if (payload.kind === 'request') {
        if (opts.requestLatencyMs) net.now = Math.max(net.now, wire.sentAt + opts.requestLatencyMs);
        net.log(`S→M ${wire.label}`);
        return merchantRequest(payload);
      }
      if (payload.inc !== inc) {
        net.log(`M→S ${wire.label}: lost (the worker that sent the request was restarted)`);
        return;
      }
      net.log(`M→S ${wire.label}${payload.replayed ? ' (replayed by the network)' : ''}`);
      await shopperEvent({ type: 'reply', sent: payload.sent, reply: payload.reply, now: net.now });
    },
    dropped(wire) {
      // A lost request or answer: the worker's fetch fails (an extra, replayed answer is just gone).
      const payload = JSON.parse(wire.json) as Payload;
      if (payload.kind === 'request' || !payload.replayed) transportError(payload, payload.kind === 'request' ? 'request lost' : 'response lost');
    },
    nextTimer() {
      const s = shopperState();
      return s && !purchaseShopper.isTerminal(s) ? purchaseShopper.wakeAt(s) : null;
    },
    async fireTimers() {
      const s = shopperState();
      const due = s ? purchaseShopper.wakeAt(s) : null;
      if (due !== null && due <= net.now) {
        net.log('S alarm: timeout');
        await shopperEvent({ type: 'timeout', now: net.now });
      }
    },
    crashable() {
      const s = shopperState();
      return s && !purchaseShopper.isTerminal(s) ? ['S', 'M'] : ['M'];
    },
    moves() {
      const moves: Move[] = [];
      const s = shopperState();
      if (s?.phase === 'awaiting-confirmation') moves.push({ kind: 'user', decision: 'confirm' }, { kind: 'user', decision: 'reject' });
      if (delays > 0) moves.push({ kind: 'delay' });
      if (opts.replay && net.budget.injections > 0 && s && purchaseShopper.pendingSends(s).length > 0)
        moves.push(...replayPool().map((body) => ({ kind: 'replay' as const, body })));
      return moves;
    },
    isProgress: (move) => move.kind === 'user',
    fifoMove() {
      if (shopperState()?.phase !== 'awaiting-confirmation') return null;
      const decision = opts.user ?? 'confirm';
      return decision === 'wait' ? null : { kind: 'user', decision };
    },
    async perform(move) {
      switch (move.kind) {
        case 'user':
          if (opts.userThinksMs && !opts.choices) net.now += opts.userThinksMs;
          net.log(`user ${move.decision === 'confirm' ? 'confirms' : 'declines'} in the trusted window`);
          return shopperEvent(move.decision === 'confirm' ? { type: 'user-confirmed', now: net.now } : { type: 'user-rejected', now: net.now });
        case 'delay':
          delays--;
          net.now += DELAY_MS;
          net.log(`clock jumps ${DELAY_MS} ms`);
          return;
        case 'replay': {
          net.budget.injections--;
          const s = shopperState()!;
          const sent = purchaseShopper.pendingSends(s)[0]!;
          net.send('M', 'S', { kind: 'response', inc, sent, reply: { kind: 'response', body: move.body }, replayed: true } satisfies ResponsePayload, {
            droppable: true,
            label: `recorded answer (${sent.path})`,
          });
          return;
        }
      }
    },
  };

  // --- start ------------------------------------------------------------------------------------
  {
    const crash = net.step('S');
    const res = await purchaseShopper.start({ origin: ORIGIN, items: opts.items ?? ITEMS, now: net.now }, shopperCtx);
    net.log(`S starts deal ${res.state.dealId}`);
    await applyShopper(res, crash);
  }

  // --- run --------------------------------------------------------------------------------------
  await runSchedule(net, driver, maxSteps);

  // --- oracle -----------------------------------------------------------------------------------
  const violations: string[] = [];
  const shopper = shopperState();
  const dealId = shopper?.dealId ?? null;
  const merchant = dealId ? (M.get(dealId)?.load() ?? null) : null;
  const canon = (v: unknown) => canonicalJson(v);

  if (shopper && !purchaseShopper.isTerminal(shopper))
    violations.push(`timeliness: the shopper did not terminate (phase ${shopper.phase}) within ${maxSteps} steps`);

  // The merchant: at most one order per deal, only an order the shopper signed, for an offer it issued.
  const ordersSigned = new Map<string, Statement<OrderBody>>();
  for (const order of sentOrders) {
    const v = await verifyStatement(order, { types: ['semper.order'] }).catch(() => null);
    if (v && canon(v.signerJwk) === canon(w.shopper.publicJwk)) ordersSigned.set(await statementDigest(order), order);
  }
  const offers = new Map<string, Statement<OfferBody>>();
  for (const offer of offersIssued) offers.set(await statementDigest(offer), offer);
  const confirmations = [...new Map(confirmationsIssued.map((c) => [canon(c), c])).values()];
  const byDeal = new Map<string, Statement<ConfirmationBody>[]>();
  for (const c of confirmations) byDeal.set(c.dealId, [...(byDeal.get(c.dealId) ?? []), c]);
  for (const [deal, cs] of byDeal) {
    const orders = new Set(cs.map((c) => c.body.orderDigest));
    if (orders.size > 1) violations.push(`merchant: confirmed ${orders.size} different orders for deal ${deal}`);
    if (cs.length > 1) violations.push(`merchant: issued ${cs.length} different confirmations for deal ${deal}`);
  }
  for (const c of confirmations) {
    const order = ordersSigned.get(c.body.orderDigest);
    if (!order) {
      violations.push('merchant: confirmed an order the shopper did not sign');
      continue;
    }
    if (c.dealId !== order.dealId) violations.push("merchant: the confirmation is for another deal than the shopper's order");
    if (c.body.offerDigest !== order.body.offerDigest) violations.push("merchant: confirmed the shopper's order for another offer than the one it accepts");
    const offer = offers.get(c.body.offerDigest);
    if (!offer || offer.dealId !== c.dealId) violations.push('merchant: the confirmation names an offer the merchant never issued for this deal');
    else if (canon(offer.body.total) !== canon(c.body.total)) violations.push("merchant: confirmed another total than the offer's");
  }

  // Completion: exactly the shopper's order, and the goods the offer promised.
  if (shopper?.phase === 'completed') {
    const orderDigest = await statementDigest(shopper.order);
    if (merchant?.phase !== 'confirmed' || merchant.orderDigest !== orderDigest) {
      violations.push("completion: the shopper completed, but the merchant did not confirm the shopper's order");
    } else if (canon(merchant.reply.confirmation) !== canon(shopper.confirmation) || canon(merchant.reply.delivery) !== canon(shopper.delivery)) {
      violations.push('completion: the shopper holds another confirmation or delivery than the merchant issued');
    }
    if (shopper.confirmation.body.orderDigest !== orderDigest || shopper.confirmation.body.offerDigest !== (await statementDigest(shopper.offer))) {
      violations.push("completion: the confirmation does not name the shopper's order and offer");
    }
    const digital = shopper.offer.body.items
      .filter((i) => i.kind === 'digital')
      .map((i) => i.sku)
      .sort();
    const goods = shopper.delivery.body.goods;
    if (canon(goods.map((g) => g.sku).sort()) !== canon(digital)) violations.push("completion: the goods are not the offer's digital items");
    for (const g of goods) {
      if ((await digestDelivered(g)) !== g.digest) violations.push(`completion: delivered "${g.title}" does not match its digest`);
      const good = CATALOG.find((c) => c.sku === g.sku)?.good;
      if (!good || !('content' in good) || g.content !== good.content) violations.push(`completion: delivered "${g.title}" is not the merchant's good`);
    }
    if (canon(shopper.outcome.delivered) !== canon(goods.map((g) => ({ sku: g.sku, title: g.title }))))
      violations.push('completion: the outcome names other goods than were delivered');
    for (const g of goods)
      if (!(await asCommitted(shopper.offer.body, g))) violations.push(`completion: delivered "${g.title}" is not what the offer committed to`);
  }

  // Mismatch: only the merchant's own delivery for this order, and only when it is not what was offered.
  if (shopper?.phase === 'delivery-mismatch') {
    if (merchant?.phase !== 'confirmed' || canon(merchant.reply.delivery) !== canon(shopper.delivery))
      violations.push("mismatch: the shopper holds another delivery than the merchant's for its order");
    const goods = shopper.delivery.body.goods;
    const digital = shopper.offer.body.items.filter((i) => i.kind === 'digital');
    const allAsCommitted =
      goods.length === digital.length &&
      digital.every((i) => goods.some((g) => g.sku === i.sku)) &&
      (await everyAsync(goods, (g) => asCommitted(shopper.offer.body, g)));
    if (allAsCommitted) violations.push('mismatch: the shopper refused a delivery that is what the offer committed to');
  }

  // Binding: a confirmed order is never behind a failed deal, unless the merchant stayed silent until the answer deadline.
  if (shopper?.phase === 'failed' && merchant?.phase === 'confirmed') {
    // A failed state keeps no order: compare with the orders that left the browser.
    const digests = new Set(await Promise.all(sentOrders.filter((o) => o.dealId === shopper.dealId).map((o) => statementDigest(o))));
    if (digests.has(merchant.orderDigest) && shopper.error.code !== 'ERR_ORDER_UNANSWERED')
      violations.push(`binding: the merchant holds the shopper's order, but the shopper reported the deal failed (${shopper.error.code})`);
  }

  // Declined: nothing signed left the browser.
  if (shopper?.phase === 'rejected' && sentOrders.length > 0) violations.push('declined: the user declined, but an order left the browser');

  // Shown: only verified offers, for this deal and nonce, as they are.
  for (const { view, at } of shown) {
    const offer = [...offers.values()].find((o) => o.body.offerId === view.offerId);
    if (!shopper || !offer || offer.dealId !== shopper.dealId || offer.body.nonce !== shopper.nonce) {
      violations.push(`shown: an offer the merchant did not issue for this deal and nonce (offer ${view.offerId})`);
      continue;
    }
    try {
      const v = await verifyStatement(offer, { types: ['semper.offer'], requireCertificate: true, trust: { roots: [w.root], now: new Date(at) } });
      if (v.chain?.leaf.role !== 'merchant' || !v.chain.leaf.origins.includes(ORIGIN))
        violations.push('shown: the offer is not certified for a merchant at the page origin');
      if (view.merchant.legalName !== v.chain?.leaf.commonName) violations.push('shown: the merchant named is not the certified one');
    } catch (e) {
      violations.push(`shown: the offer does not verify at ${at - T0}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (Date.parse(offer.body.expiresAt) <= at) violations.push('shown: an expired offer');
    const b = offer.body;
    if (view.dealId !== shopper.dealId || view.origin !== ORIGIN || b.origin !== ORIGIN) violations.push('shown: the view names another deal or origin');
    if (
      canon([view.items, view.total, view.expiresAt, view.terms, view.paymentMethods]) !== canon([b.items, b.total, b.expiresAt, b.terms, b.paymentMethods])
    ) {
      violations.push('shown: the view says something else than the offer');
    }
    const requested = new Map((opts.items ?? ITEMS).map((i) => [i.sku, i.quantity]));
    if (b.items.length !== requested.size || b.items.some((i) => requested.get(i.sku) !== i.quantity))
      violations.push('shown: an offer for other items than requested');
  }

  return { violations, shopper, merchant, steps: { ...net.steps }, responses, shown: shown.length, trace: net.trace };
}

/** Is this delivered good what the offer committed to for its item (independently of core's check)? */
async function asCommitted(offer: OfferBody, g: DeliveredGood): Promise<boolean> {
  const item = offer.items.find((i) => i.sku === g.sku && i.kind === 'digital');
  const c = item?.content;
  if (!item || !c || g.title !== item.title || g.mediaType !== c.mediaType) return false;
  if (c.kind === 'content') return (await digestDelivered(g)) === c.digest;
  return new TextEncoder().encode(g.content).length <= c.maxSize;
}

async function everyAsync<T>(xs: readonly T[], f: (x: T) => Promise<boolean>): Promise<boolean> {
  for (const x of xs) if (!(await f(x))) return false;
  return true;
}

export function describePurchase(r: PurchaseSimResult): string {
  return [...r.violations.map((v) => `VIOLATION ${v}`), ...r.trace].join('\n');
}

/** The merchant's answer bodies of a finished purchase, as replay material for another run. */
export function replayMaterial(r: PurchaseSimResult): unknown[] {
  return r.responses;
}

export type { OrderReply };
