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
import { MachineHost, type HttpOutbound } from '../../../extension/worker/host.js';
import { purchaseKind, MAX_ACTIVE_PER_ORIGIN } from '../../../extension/deals/purchase.js';
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

/** A merchant behind a fake network; while `dropReplies` is set, it acts on requests but its replies are lost. */
function fakeMerchant() {
  const deals = new Map<string, MerchantDealState>();
  const calls: Outbound[] = [];
  let dropReplies = false;
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
    loseReplies: (on: boolean) => (dropReplies = on),
    http: (_origin: string, outbound: HttpOutbound): Promise<TransportReply> => {
      const reply = handle(outbound as Outbound);
      return dropReplies ? reply.then(() => new Promise<TransportReply>(() => undefined)) : reply;
    },
  };
}

function makeRunner(
  store: MemoryDealStore,
  http: (origin: string, outbound: HttpOutbound) => Promise<TransportReply>,
  roots?: () => string[],
  now: () => number = () => Date.now(),
) {
  const awaiting: string[] = [];
  const settled: DealRecord[] = [];
  const commits: string[] = [];
  const origCommit = store.commit.bind(store);
  store.commit = async (record, archive) => {
    commits.push(record.status);
    return origCommit(record, archive);
  };
  const host = new MachineHost({
    store,
    kinds: [purchaseKind({ roots: async () => (roots ? roots() : [ca.root]), signer: async () => signer, policy: async () => ({}), random: cryptoRandom })],
    transport: http,
    alarms: { set: () => undefined, clear: () => undefined },
    now,
    onAwaitingUser: (r) => awaiting.push(r.dealId),
    onSettled: (r) => settled.push(r),
  });
  const runner = {
    start: (origin: string, items: { sku: string; quantity: number }[]) => host.start('purchase', origin, { items }) as Promise<PurchaseRecord>,
    confirm: (dealId: string) => host.event(dealId, { type: 'user-confirmed', now: now() }),
    reject: (dealId: string) => host.event(dealId, { type: 'user-rejected', now: now() }),
    resume: () => host.resume(),
    idle: () => host.idle(),
  };
  return { runner, awaiting, settled, commits };
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
    await new Promise((r) => setTimeout(r, 20));
    expect((await store.get(dealId))?.status).toBe('ordering');
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
