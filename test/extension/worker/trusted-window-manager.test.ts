/**
 * The trusted-window queue (extension/worker/trusted-window-manager.ts): one window at a time,
 * oldest deal first, a purchase keeps its window while its order is on the way, closing it declines.
 */
import { describe, expect, it } from 'vitest';
import type { ShopperState } from '../../../core/commerce/shopper.js';
import { cryptoRandom } from '../../../core/machine.js';
import { purchaseKind } from '../../../extension/deals/purchase.js';
import { MemoryDealStore, type DealRecord } from '../../../extension/deals/records.js';
import { TrustedWindowManager, type CurrentWindow, type WindowQueueStore } from '../../../extension/worker/trusted-window-manager.js';

import { deal } from '../fixtures.js';

const purchases = purchaseKind({ roots: async () => [], signer: () => Promise.reject(new Error('unused')), policy: async () => ({}), random: cryptoRandom });

/** The queue as the background builds it: the store, and whether the deal's kind keeps the window. */
function queueOf(store: MemoryDealStore): WindowQueueStore {
  const queued = (r: DealRecord) => ({
    dealId: r.dealId,
    status: r.status,
    createdAt: r.createdAt,
    kind: r.kind,
    holdsWindow: !r.terminal && purchases.holdsWindow(r.state as ShopperState),
  });
  return {
    get: async (id) => {
      const r = await store.get(id);
      return r ? queued(r) : undefined;
    },
    listActive: async () => (await store.listActive()).map(queued),
  };
}

function windowHarness(store: MemoryDealStore) {
  const open = new Map<number, string>();
  let nextId = 100;
  let session: CurrentWindow | undefined;
  const closedByUser: string[] = [];
  /** Windows brought forward, in order. */
  const focused: number[] = [];
  const manager = new TrustedWindowManager({
    store: queueOf(store),
    windows: {
      open: async (dealId) => {
        const id = nextId++;
        open.set(id, dealId);
        return id;
      },
      close: async (id) => void open.delete(id),
      exists: async (id) => open.has(id),
      focus: async (id) => void focused.push(id),
    },
    session: {
      get: async () => session,
      set: async (v) => {
        session = v;
      },
    },
    onUserClosed: (dealId) => closedByUser.push(dealId),
  });
  return {
    manager,
    open,
    closedByUser,
    focused,
    session: () => session,
    setSession: (v: CurrentWindow | undefined) => {
      session = v;
    },
  };
}

describe('trusted window manager', () => {
  it('shows one deal at a time, oldest first; the next opens when one ends', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    const b = deal('awaiting-confirmation');
    await store.create(b);
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    await w.manager.pump();
    expect([...w.open.values()]).toEqual([a.dealId]);
    await store.commit({ ...a, state: { ...a.state, phase: 'completed' } as ShopperState, status: 'completed', terminal: true }, []);
    await w.manager.release(a.dealId);
    expect([...w.open.values()]).toEqual([b.dealId]);
    expect(w.closedByUser).toEqual([]); // closing it ourselves is not the user declining
  });

  it('keeps the window while the confirmed order is on its way', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    await store.commit({ ...a, state: { ...a.state, phase: 'ordering' } as ShopperState, status: 'ordering' }, []);
    await store.create(deal('awaiting-confirmation'));
    await w.manager.pump();
    expect([...w.open.values()]).toEqual([a.dealId]);
  });

  it('a deal confirmed in its window keeps it for the result when it ends, until a queued deal needs the window', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    await w.manager.keepForResult(a.dealId, true);
    await store.commit({ ...a, state: { ...a.state, phase: 'completed' } as ShopperState, status: 'completed', terminal: true }, []);
    await w.manager.release(a.dealId);
    await w.manager.pump();
    expect([...w.open.values()]).toEqual([a.dealId]); // the result stays
    // The user closes the result: nothing is declined (the worker's refusal of a finished deal aside, none is asked).
    const b = deal('awaiting-confirmation');
    await store.create(b);
    await w.manager.pump();
    expect([...w.open.values()]).toEqual([b.dealId]); // a deal awaiting the user takes the one window
    expect(w.closedByUser).toEqual([]);
  });

  it('a declined deal, or one whose confirmation was refused and then declined, closes its window when it ends', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    await w.manager.keepForResult(a.dealId, true);
    await w.manager.keepForResult(a.dealId, false);
    expect(w.session()?.result).toBeUndefined();
    await store.commit({ ...a, state: { ...a.state, phase: 'rejected' } as ShopperState, status: 'rejected', terminal: true }, []);
    await w.manager.release(a.dealId);
    expect([...w.open.values()]).toEqual([]);
    await w.manager.keepForResult('another-deal-0000001', true); // not the window's deal: nothing changes
    expect(w.session()).toBeUndefined();
  });

  it('the user closing the window declines that deal', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    const { windowId } = w.session()!;
    // Another window closing (the shop's, say) declines nothing and leaves the deal's window shown.
    await w.manager.windowRemoved(windowId + 1_000);
    expect(w.closedByUser).toEqual([]);
    expect(w.session()).toMatchObject({ dealId: a.dealId, windowId });
    w.open.delete(windowId);
    await w.manager.windowRemoved(windowId);
    expect(w.closedByUser).toEqual([a.dealId]);
    await w.manager.windowRemoved(12345); // some other window: ignored
    expect(w.closedByUser).toEqual([a.dealId]);
  });

  it('after a restart, notices a window that went away meanwhile', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    w.open.clear(); // closed while the worker was stopped
    await w.manager.pump();
    expect(w.closedByUser).toEqual([a.dealId]);
  });

  it('brings the open window forward only when a deal joined the queue: not on a restart, a failed or refused request, or another deal ending', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    const windowId = w.session()!.windowId;
    expect(w.session()?.queued).toEqual([a.dealId]);
    // The worker restarts (resume pumps again), and again: nothing new, the window stays where it is.
    await w.manager.pump();
    await w.manager.pump();
    // A page's request that failed: its deal is stored failed and released; it never awaited the user.
    const failed = deal('failed');
    await store.create(failed);
    await w.manager.release(failed.dealId);
    // A deal that is still asking the merchant for its offer.
    await store.create(deal('requesting-offer'));
    await w.manager.pump();
    expect(w.focused).toEqual([]);
    // A deal that now awaits the user joins the queue: the window comes forward, once.
    const b = deal('awaiting-confirmation');
    await store.create(b);
    await w.manager.pump();
    await w.manager.pump();
    expect(w.focused).toEqual([windowId]);
    expect(w.session()?.queued).toEqual([a.dealId, b.dealId]);
    expect([...w.open.values()]).toEqual([a.dealId]);
    // B is declined elsewhere (the popup) and ends: no reason to come forward.
    await store.commit({ ...b, state: { ...b.state, phase: 'rejected' } as ShopperState, status: 'rejected', terminal: true }, []);
    await w.manager.release(b.dealId);
    expect(w.focused).toEqual([windowId]);
  });

  it('a window remembered by an earlier version (no queue kept) is not brought forward for the deals already queued', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    const b = deal('awaiting-confirmation');
    await store.create(a);
    await store.create(b);
    const w = windowHarness(store);
    await w.manager.pump();
    const { dealId, windowId } = w.session()!;
    w.setSession({ dealId, windowId });
    await w.manager.pump();
    expect(w.focused).toEqual([]);
    expect(w.session()?.queued).toEqual([a.dealId, b.dealId]);
  });
});
