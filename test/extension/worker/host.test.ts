/**
 * The worker's one host (extension/worker/host.ts) running purchases in Node, with the real
 * shopper machine and a real merchant machine behind a fake HTTP: persistence after every step,
 * archive, settlement, stale replies, resume, per-origin caps.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../../core/crypto/index.js';
import { cryptoRandom, type TransportReply } from '../../../core/machine.js';
import { SemperError, errorToJson } from '../../../core/errors.js';
import { newMerchantDeal, stepMerchant, type CatalogItem, type MerchantContext, type MerchantDealState, type Outbound } from '../../../core/commerce/index.js';
import { STATEMENT_TYPES } from '../../../core/protocol/commerce.js';
import { MachineHost, idleAtStart, type AnyDealKind, type HttpOutbound } from '../../../extension/worker/host.js';
import { purchaseKind, MAX_ACTIVE_PER_ORIGIN, MAX_PER_ORIGIN_PER_WINDOW, RATE_WINDOW_MS } from '../../../extension/deals/purchase.js';
import { MemoryDealStore, type DealRecord, type PurchaseRecord } from '../../../extension/deals/records.js';
import { settlementOf } from '../../../extension/content/page-ports.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';

const ORIGIN = 'http://127.0.0.1:8451';
const catalog: CatalogItem[] = [
  {
    sku: 'ink-report',
    title: 'Ink report',
    unitPrice: { amount: 1200, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'Report text.' },
  },
];

let ca: TestCa;
let merchantCtx: MerchantContext;
let signer: Signer;

beforeAll(async () => {
  ca = await makeTestCa();
  const m = await ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: [ORIGIN] });
  merchantCtx = {
    identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
    lookup: (sku) => catalog.find((c) => c.sku === sku),
    offerTtlMs: 600_000,
    terms: 'Terms.',
    random: cryptoRandom,
  };
  signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
});

/**
 * A merchant behind a fake network; while `dropReplies` is set, it acts on requests but its replies
 * are lost; `cutOrders` answers of orders it stored are cut off (the connection drops: a transport
 * error without a status), `unavailable` requests fail before reaching it (503).
 */
function fakeMerchant() {
  const deals = new Map<string, MerchantDealState>();
  const calls: Outbound[] = [];
  let dropReplies = false;
  const faults = { cutOrders: 0, unavailable: 0 };
  async function handle(outbound: Outbound): Promise<TransportReply> {
    calls.push(JSON.parse(JSON.stringify(outbound)) as Outbound);
    try {
      if (outbound.path === '/semper/offer') {
        const dealId = outbound.body.dealId;
        const { state, send } = await stepMerchant(
          deals.get(dealId) ?? newMerchantDeal(dealId),
          { type: 'offer-requested', request: outbound.body, now: Date.now() },
          merchantCtx,
        );
        deals.set(dealId, state);
        return { kind: 'response', body: JSON.parse(JSON.stringify(send[0]!.body)) };
      }
      const order = outbound.body.order;
      const state = deals.get(order.dealId);
      if (!state) return { kind: 'error', error: { code: 'ERR_OFFER_UNKNOWN', message: 'no offer' } };
      const { state: next, send } = await stepMerchant(state, { type: 'order-received', order, now: Date.now() }, merchantCtx);
      deals.set(order.dealId, next);
      return { kind: 'response', body: JSON.parse(JSON.stringify(send[0]!.body)) };
    } catch (e) {
      return { kind: 'error', error: errorToJson(e) };
    }
  }
  return {
    deals,
    calls,
    faults,
    loseReplies: (on: boolean) => (dropReplies = on),
    http: async (_origin: string, outbound: HttpOutbound): Promise<TransportReply> => {
      if (outbound.path === '/semper/order' && faults.unavailable > 0) {
        faults.unavailable--;
        calls.push(JSON.parse(JSON.stringify(outbound)) as Outbound);
        return { kind: 'error', status: 503, error: { code: 'ERR_INTERNAL', message: 'the merchant has stopped' } };
      }
      const reply = handle(outbound as Outbound);
      if (outbound.path === '/semper/order' && faults.cutOrders > 0) {
        faults.cutOrders--;
        await reply;
        return { kind: 'error', error: { code: 'ERR_INTERNAL', message: `${ORIGIN} unreachable: connection reset` } };
      }
      return dropReplies ? reply.then(() => new Promise<TransportReply>(() => undefined)) : reply;
    },
  };
}

function makeRunner(
  store: MemoryDealStore,
  http: (origin: string, outbound: HttpOutbound) => Promise<TransportReply>,
  roots?: () => string[],
  now: () => number = () => Date.now(),
  /** Change the purchase registration (a second kind made from it, a machine that records its steps). */
  kinds: (purchase: AnyDealKind) => AnyDealKind[] = (purchase) => [purchase],
) {
  const awaiting: string[] = [];
  const settled: DealRecord[] = [];
  const released: string[] = [];
  const commits: string[] = [];
  /** The alarm of each deal, as the host last set it (deleted when cleared). */
  const alarms = new Map<string, number>();
  const origCommit = store.commit.bind(store);
  store.commit = async (record, archive) => {
    commits.push(record.status);
    return origCommit(record, archive);
  };
  const host = new MachineHost({
    store,
    kinds: kinds(
      purchaseKind({ roots: async () => (roots ? roots() : [ca.root]), signer: async () => signer, policy: async () => ({}), random: cryptoRandom }),
    ),
    transport: http,
    alarms: {
      set: (dealId, when) => void alarms.set(dealId, when),
      clear: (dealId) => void alarms.delete(dealId),
    },
    now,
    onAwaitingUser: (r) => awaiting.push(r.dealId),
    onReleased: (r) => released.push(r.dealId),
    onSettled: (r) => settled.push(r),
  });
  const runner = {
    start: (origin: string, items: { sku: string; quantity: number }[]) => host.start('purchase', origin, { items }) as Promise<PurchaseRecord>,
    confirm: (dealId: string) => host.event(dealId, { type: 'user-confirmed', now: now() }),
    reject: (dealId: string) => host.event(dealId, { type: 'user-rejected', now: now() }),
    resume: () => host.resume(),
    idle: () => host.idle(),
    /** The deal's alarm fired (chrome.alarms in the worker). */
    alarm: (dealId: string) => host.timeout(dealId),
    host,
  };
  return { runner, awaiting, settled, released, commits, alarms };
}

describe('the host running purchases', () => {
  it('runs a purchase to completion, persisting every step and archiving every statement', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const { runner, awaiting, settled, commits } = makeRunner(store, merchant.http);
    const record = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    expect(record.dealId).toMatch(/^[A-Za-z0-9_-]{32}$/); // 24 random bytes
    expect(record.state.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes
    await runner.idle();
    expect(awaiting).toEqual([record.dealId]);
    const waiting = await store.get(record.dealId);
    expect(waiting?.status).toBe('awaiting-confirmation');
    expect(waiting?.view?.merchant.legalName).toBe('Fogra Forschungsgesellschaft Druck e.V.');

    await runner.confirm(record.dealId);
    await runner.idle();
    expect(commits).toEqual(['awaiting-confirmation', 'ordering', 'completed']);
    expect(settled).toHaveLength(1);
    const done = settled[0]!;
    expect(done.result).toMatchObject({ kind: 'finished', outcome: { dealId: record.dealId, status: 'completed' } });
    expect(settlementOf(done.result!)).toMatchObject({ ok: true, result: { status: 'completed' } });
    const archive = await store.archiveOf(record.dealId);
    expect(archive.map((a) => [a.type, a.direction])).toEqual([
      [STATEMENT_TYPES.offer, 'received'],
      [STATEMENT_TYPES.order, 'sent'],
      [STATEMENT_TYPES.confirmation, 'received'],
      [STATEMENT_TYPES.delivery, 'received'],
    ]);
    // Every stored state is plain JSON.
    const stored = await store.get(record.dealId);
    expect(JSON.parse(JSON.stringify(stored))).toEqual(stored);
  });

  it('declining settles with 4001; confirming twice is refused', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const { runner, settled } = makeRunner(store, merchant.http);
    const { dealId } = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    await runner.reject(dealId);
    await expect(runner.confirm(dealId)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    expect(settled.map((r) => r.result)).toEqual([{ kind: 'rejected' }]);
    expect(settlementOf(settled[0]!.result!)).toMatchObject({ ok: false, error: { code: 4001 } });
    expect(merchant.calls.map((c) => c.path)).toEqual(['/semper/offer']); // no order was ever sent
  });

  it('an untrusted merchant fails the deal with 4100 and its reason, and is never shown', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const other = await makeTestCa('Some Other Root');
    const { runner, awaiting, settled } = makeRunner(store, merchant.http, () => [other.root]);
    await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    expect(awaiting).toEqual([]);
    expect(settled[0]!.result).toMatchObject({ kind: 'failed', error: { code: 'ERR_CERT_UNTRUSTED' } });
    expect(settlementOf(settled[0]!.result!)).toMatchObject({ ok: false, error: { code: 4100, data: { reason: 'ERR_CERT_UNTRUSTED' } } });
  });

  it('transport errors and host failures end the deal with a typed error', async () => {
    const store = new MemoryDealStore();
    const { runner, settled } = makeRunner(store, async () => ({ kind: 'error', error: { code: 'ERR_INTERNAL', message: 'merchant unreachable' } }));
    await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    expect(settlementOf(settled[0]!.result!)).toMatchObject({ ok: false, error: { code: -32603, data: { reason: 'ERR_INTERNAL' } } });
  });

  it('after a restart, resumes: re-announces deals awaiting the user and re-sends pending orders', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const first = makeRunner(store, merchant.http);
    const { dealId } = await first.runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await first.runner.idle();
    merchant.loseReplies(true); // the order reaches the merchant, but the worker "dies" before the reply
    await first.runner.confirm(dealId);
    // The merchant acts on the order (its answer is lost with the "dying" worker).
    for (let i = 0; i < 500 && merchant.deals.get(dealId)?.phase !== 'confirmed'; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await store.get(dealId))?.status).toBe('ordering');
    // The order is a send to redo: a worker start must load the host for it (extension/worker/main-script.ts startWorker).
    expect((await store.get(dealId))?.idle).toBe(false);
    expect(merchant.deals.get(dealId)?.phase).toBe('confirmed');

    // A new worker on the same storage.
    merchant.loseReplies(false);
    const second = makeRunner(store, merchant.http);
    const resumed = await second.runner.resume();
    expect(resumed.map((r) => r.dealId)).toEqual([dealId]);
    await second.runner.idle();
    expect((await store.get(dealId))?.status).toBe('completed');
    // The order went out twice (original + resend); the merchant answered the resend with the
    // same confirmation, and the deal completed once.
    expect(merchant.calls.filter((c) => c.path === '/semper/order')).toHaveLength(2);
    expect(second.settled.map((r) => r.dealId)).toEqual([dealId]);

    const third = makeRunner(new MemoryDealStore(), merchant.http);
    expect(await third.runner.resume()).toEqual([]);
  });

  it('stores whether a worker start has anything to do for a deal: a timer, a send to redo, an offer awaiting the user', () => {
    type S = { dealId: string; phase: string; wake?: number; sends?: number; done?: boolean };
    const machine = {
      isTerminal: (s: S) => s.done === true,
      wakeAt: (s: S) => s.wake ?? null,
      pendingSends: (s: S) => Array.from({ length: s.sends ?? 0 }, () => ({ to: 'merchant', path: '/x', body: {} }) as never),
    };
    const state = (extra: Partial<S>): S => ({ dealId: 'deal-0001-abcdefghijkl', phase: 'open', ...extra });
    expect(idleAtStart(machine, state({}))).toBe(true);
    expect(idleAtStart(machine, state({ wake: 5 }))).toBe(false);
    expect(idleAtStart(machine, state({ sends: 1 }))).toBe(false);
    expect(idleAtStart(machine, state({ phase: 'awaiting-confirmation' }))).toBe(false);
    expect(idleAtStart(machine, state({ done: true, sends: 1 }))).toBe(true);
  });

  it('after a restart, a deal whose offer expired while it awaited the user ends (ERR_OFFER_EXPIRED) instead of reopening its window', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const first = makeRunner(store, merchant.http);
    const { dealId } = await first.runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await first.runner.idle();
    const expiresAt = Date.parse((await store.get(dealId))!.view!.expiresAt);
    // Before expiry a restart re-announces it; after expiry it is ended and settled.
    const early = makeRunner(store, merchant.http, undefined, () => expiresAt - 1000);
    await early.runner.resume();
    expect(early.awaiting).toEqual([dealId]);
    const late = makeRunner(store, merchant.http, undefined, () => expiresAt + 1000);
    await late.runner.resume();
    await late.runner.idle();
    expect(late.awaiting).toEqual([]);
    const ended = await store.get(dealId);
    expect(ended?.status).toBe('failed');
    expect(ended?.result).toMatchObject({ kind: 'failed', error: { code: 'ERR_OFFER_EXPIRED' } });
    expect(late.settled.map((r) => r.dealId)).toEqual([dealId]);
    expect(merchant.calls.filter((c) => c.path === '/semper/order')).toHaveLength(0);
  });

  it('drops a reply the state no longer expects', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const { runner } = makeRunner(store, merchant.http);
    const { dealId } = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    const before = await store.get(dealId);
    // A second, late offer reply (e.g. after a resend) must not move the deal.
    const late = makeRunner(store, async () => ({ kind: 'response', body: { offer: 'garbage' } }));
    await late.runner.resume(); // the deal awaits the user: nothing to resend
    await late.runner.idle();
    expect(await store.get(dealId)).toEqual(before);
  });

  it(`allows at most ${MAX_ACTIVE_PER_ORIGIN} unfinished deals per origin`, async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const { runner } = makeRunner(store, merchant.http);
    for (let i = 0; i < MAX_ACTIVE_PER_ORIGIN; i++) await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await expect(runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }])).rejects.toBeInstanceOf(SemperError);
    await expect(runner.start('https://other.example', [{ sku: 'ink-report', quantity: 1 }])).resolves.toBeDefined();
    await runner.idle();
  });
});

describe('the host against a page that starts too much', () => {
  it(`lets a site start at most ${MAX_PER_ORIGIN_PER_WINDOW} deals a window of time, finished or not; another site is not held back`, async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    let t = Date.now();
    const { runner } = makeRunner(store, merchant.http, undefined, () => t);
    // Each declined at once, so the cap on unfinished deals is never reached: only the rate is.
    for (let i = 0; i < MAX_PER_ORIGIN_PER_WINDOW; i++) {
      const { dealId } = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
      await runner.idle();
      await runner.reject(dealId);
      t += 10;
    }
    await expect(runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }])).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    await expect(runner.start('https://other.example', [{ sku: 'ink-report', quantity: 1 }])).resolves.toBeDefined();
    t += RATE_WINDOW_MS;
    await expect(runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }])).resolves.toBeDefined();
    await runner.idle();
  });

  it('a page request key that started one kind of deal does not answer for another kind', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    // A second kind, made from the purchase's registration: only its name differs.
    const { runner } = makeRunner(store, merchant.http, undefined, undefined, (purchase) => [purchase, { ...purchase, kind: 'exchange' }]);
    const key = 'key-a-0123456789abcdefgh';
    const purchase = await runner.host.start('purchase', ORIGIN, { items: [{ sku: 'ink-report', quantity: 1 }] }, { pageRequest: key });
    await expect(runner.host.start('exchange', ORIGIN, { items: [{ sku: 'ink-report', quantity: 1 }] }, { pageRequest: key })).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
    expect((await store.listAll()).map((d) => d.dealId)).toEqual([purchase.dealId]);
    await runner.idle();
  });

  it("the user's decision on a deal that has ended is refused by the host, before any machine sees it", async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const seen: string[] = [];
    // A machine that records every event it is given after the deal ended (the host's check is for every kind).
    const recording = (purchase: AnyDealKind): AnyDealKind[] => [
      {
        ...purchase,
        machine: {
          ...purchase.machine,
          step: (state, event, ctx) => {
            if (purchase.machine.isTerminal(state)) seen.push(event.type);
            return purchase.machine.step(state, event, ctx);
          },
        },
      },
    ];
    const { runner } = makeRunner(store, merchant.http, undefined, undefined, recording);
    const { dealId } = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    await runner.reject(dealId);
    await expect(runner.confirm(dealId)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    await expect(runner.reject(dealId)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    expect(seen).toEqual([]);
    expect((await store.get(dealId))?.status).toBe('rejected');
  });
});

describe('issue 8 item 7: the host retries an order whose answer was lost', () => {
  /** A clock the test moves. */
  function clock(start = Date.now()) {
    let t = start;
    return {
      now: () => t,
      set(v: number) {
        t = v;
      },
    };
  }

  it('the connection is cut after the merchant stored the order: the deal is not failed, the alarm sends the same order again, it completes; one order at the merchant', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const c = clock();
    const { runner, settled, released, alarms, commits } = makeRunner(store, merchant.http, undefined, c.now);
    const { dealId } = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    merchant.faults.cutOrders = 1;
    await runner.confirm(dealId);
    await runner.idle();
    // The merchant holds the order; the shopper's deal waits for its answer, not failed, the page not settled.
    expect(merchant.deals.get(dealId)?.phase).toBe('confirmed');
    const waiting = await store.get(dealId);
    expect(waiting?.status).toBe('retrying-order');
    expect(waiting?.terminal).toBe(false);
    expect(waiting?.result).toBeUndefined();
    expect(settled).toEqual([]);
    // The trusted window is let go (the deal runs on without it; the popup says it waits for the merchant).
    expect(released).toEqual([dealId]);
    const due = alarms.get(dealId)!;
    expect(due).toBe(c.now() + 2_000);
    // An early alarm sends nothing.
    await runner.alarm(dealId);
    await runner.idle();
    expect(merchant.calls.filter((o) => o.path === '/semper/order')).toHaveLength(1);
    // The alarm at wakeAt: the persisted order again; the merchant answers it identically.
    c.set(due);
    await runner.alarm(dealId);
    await runner.idle();
    const orders = merchant.calls.filter((o) => o.path === '/semper/order');
    expect(orders).toHaveLength(2);
    expect(orders[1]).toEqual(orders[0]);
    const done = await store.get(dealId);
    expect(done?.status).toBe('completed');
    expect(settled.map((r) => r.dealId)).toEqual([dealId]);
    expect(settled[0]!.result).toMatchObject({ kind: 'finished', outcome: { status: 'completed' } });
    expect(alarms.has(dealId)).toBe(false);
    expect(commits).toEqual(['awaiting-confirmation', 'ordering', 'retrying-order', 'retrying-order', 'completed']);
    // One order at the merchant: the one this browser signed, confirmed once.
    const confirmed = merchant.deals.get(dealId);
    expect(confirmed?.phase === 'confirmed' && confirmed.order).toEqual((orders[0]!.body as { order: unknown }).order);
  });

  it('a merchant unavailable for a while (503): retried with back-off; a worker restart in between waits for the alarm, then sends', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const c = clock();
    const first = makeRunner(store, merchant.http, undefined, c.now);
    const { dealId } = await first.runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await first.runner.idle();
    merchant.faults.unavailable = 2;
    await first.runner.confirm(dealId);
    await first.runner.idle();
    const due1 = first.alarms.get(dealId)!;
    c.set(due1);
    await first.runner.alarm(dealId);
    await first.runner.idle();
    const due2 = first.alarms.get(dealId)!;
    expect(due2 - due1).toBe(4_000); // doubled
    expect(merchant.deals.get(dealId)?.phase).toBe('offered'); // nothing reached it yet
    // The worker restarts before the next attempt: nothing is sent early, the alarm is re-armed.
    const second = makeRunner(store, merchant.http, undefined, c.now);
    await second.runner.resume();
    await second.runner.idle();
    expect(merchant.calls.filter((o) => o.path === '/semper/order')).toHaveLength(2);
    expect(second.alarms.get(dealId)).toBe(due2);
    // The alarm after the restart: sent, confirmed, completed.
    c.set(due2);
    await second.runner.resume();
    await second.runner.idle();
    expect((await store.get(dealId))?.status).toBe('completed');
    expect(merchant.calls.filter((o) => o.path === '/semper/order')).toHaveLength(3);
    expect(second.settled.map((r) => r.dealId)).toEqual([dealId]);
  });

  it("the merchant's own error answer to the order (4xx with its code) ends the deal with that code", async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const c = clock();
    const { runner, settled } = makeRunner(store, merchant.http, undefined, c.now);
    const { dealId } = await runner.start(ORIGIN, [{ sku: 'ink-report', quantity: 1 }]);
    await runner.idle();
    // The user confirms after the offer expired at the merchant but not yet for the shopper's clock skew: the merchant refuses.
    const refusing = makeRunner(
      store,
      async (_o, outbound) =>
        outbound.path === '/semper/order'
          ? { kind: 'error', status: 410, error: { code: 'ERR_OFFER_EXPIRED', message: 'offer expired' } }
          : merchant.http(_o, outbound),
      undefined,
      c.now,
    );
    await refusing.runner.confirm(dealId);
    await refusing.runner.idle();
    const ended = await store.get(dealId);
    expect(ended?.status).toBe('failed');
    expect(ended?.result).toMatchObject({ kind: 'failed', error: { code: 'ERR_OFFER_EXPIRED' } });
    expect(refusing.settled.map((r) => r.dealId)).toEqual([dealId]);
    expect(settled).toEqual([]);
  });
});

describe('issue 8 item 8: a page request starts at most one deal', () => {
  it('starting again with the same page request key (a content script re-sending after a worker restart) gives the deal it started; caps are not spent', async () => {
    const store = new MemoryDealStore();
    const merchant = fakeMerchant();
    const { runner } = makeRunner(store, merchant.http);
    const start = (origin: string, key: string) =>
      runner.host.start('purchase', origin, { items: [{ sku: 'ink-report', quantity: 1 }] }, { pageRequest: key }) as Promise<PurchaseRecord>;
    const a = await start(ORIGIN, 'key-a-0123456789abcdefgh');
    const again = await start(ORIGIN, 'key-a-0123456789abcdefgh');
    expect(again.dealId).toBe(a.dealId);
    expect((await store.listAll()).map((d) => d.dealId)).toEqual([a.dealId]);
    // The cap counts deals, not requests: the repeats do not use it up.
    for (let i = 0; i < MAX_ACTIVE_PER_ORIGIN + 2; i++) await start(ORIGIN, 'key-a-0123456789abcdefgh');
    const b = await start(ORIGIN, 'key-b-0123456789abcdefgh');
    expect(b.dealId).not.toBe(a.dealId);
    // A key is bound to the origin that used it: another origin cannot reach the deal with it.
    const other = await start('https://other.example', 'key-a-0123456789abcdefgh');
    expect(other.dealId).not.toBe(a.dealId);
    await runner.idle();
    expect(merchant.calls.filter((c) => c.path === '/semper/offer')).toHaveLength(3);
  });
});
