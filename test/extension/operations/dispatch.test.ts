/**
 * The operation API's access checks (extension/operations/dispatch.ts): extension pages only,
 * requests validated against the one table, deal-window operations only from that deal's window.
 */
import { NO_PAYMENTS } from '../../../extension/payments/service.js';
import { describe, expect, it } from 'vitest';
import type { ShopperState } from '../../../core/commerce/shopper.js';
import type { VerifiedOfferView } from '../../../core/commerce/view.js';
import { MemoryDealStore, type PurchaseRecord } from '../../../extension/deals/records.js';
import { handleOperation, type DispatchDeps } from '../../../extension/operations/dispatch.js';
import type { CurrentWindow } from '../../../extension/worker/trusted-window-manager.js';
import { KeyStore, MemoryKeyRecords } from '../../../extension/identity/key-store.js';
import { IdentityService, MemorySettingsRecords, MemoryTokenRecords } from '../../../extension/identity/service.js';
import { TrustRoots } from '../../../extension/settings/trust-roots.js';
import { TrustedTtps } from '../../../extension/settings/ttp-trust.js';

import { BASE, EXT_ID, deal } from '../fixtures.js';

const view = { merchant: { legalName: 'Shop' }, total: { amount: 1, currency: 'EUR' } } as unknown as VerifiedOfferView;

/** Settings over no storage: these tests never reach them. */
const unused = { list: async () => [], get: async () => undefined, put: async () => Promise.reject(new Error('no')), delete: async () => false };

function opDeps(store: MemoryDealStore, current?: CurrentWindow): DispatchDeps & { confirmed: string[] } {
  const confirmed: string[] = [];
  const keys = new KeyStore({ records: new MemoryKeyRecords(), now: () => Date.now() });
  let challenges: { challenge: string; expiresAt: number }[] = [];
  const identity = new IdentityService({
    keys,
    tokens: new MemoryTokenRecords(),
    settings: new MemorySettingsRecords(),
    roots: async () => [],
    fetch: () => Promise.reject(new Error('no network in this test')),
    now: () => Date.now(),
    randomId: () => 'x'.repeat(43),
    extensionOrigin: `chrome-extension://${EXT_ID}`,
    challenges: {
      get: async () => challenges,
      set: async (v) => {
        challenges = v;
      },
    },
  });
  return {
    confirmed,
    extensionId: EXT_ID,
    extensionBase: BASE,
    currentWindow: async () => current,
    store,
    // The host's side is tested in worker/host.test.ts; here only who may call.
    host: {
      event: async (id, event) => {
        if (event.type === 'user-confirmed') confirmed.push(id);
        const record = (await store.get(id)) as PurchaseRecord;
        return { ...record, state: { ...record.state, phase: 'ordering' } as ShopperState, status: 'ordering' };
      },
    },
    keys,
    identity,
    payments: NO_PAYMENTS,
    roots: new TrustRoots(unused),
    ttps: new TrustedTtps(unused),
    openWindow: async () => undefined,
    now: () => Date.now(),
  };
}

describe('operation API access', () => {
  it('is closed to content scripts and other extensions', async () => {
    const deps = opDeps(new MemoryDealStore());
    expect(await handleOperation({ op: 'listDeals', request: {} }, { id: EXT_ID, url: 'https://shop.example/' }, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'listDeals', request: {} }, { id: 'x', url: `${BASE}popup/index.html` }, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'listDeals', request: {} }, { id: EXT_ID, url: `${BASE}popup/index.html` }, deps)).toEqual({
      ok: true,
      response: { deals: [] },
    });
  });

  it('validates requests', async () => {
    const deps = opDeps(new MemoryDealStore());
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html` };
    expect(await handleOperation({ op: 'dropTables', request: {} }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
    expect(await handleOperation({ op: 'getDeal', request: { dealId: 1 } }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
    expect(await handleOperation({ op: 'listDeals', request: { all: true } }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
  });

  it('keeps the trusted-window operations (registering a security key) to the trusted window page', async () => {
    const deps = opDeps(new MemoryDealStore());
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html` };
    const trustedWindow = { id: EXT_ID, url: `${BASE}trusted-window/index.html?view=token` };
    expect(await handleOperation({ op: 'tokens.beginRegistration', request: {} }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'tokens.beginRegistration', request: {} }, trustedWindow, deps)).toMatchObject({
      ok: true,
      response: { options: { challenge: 'x'.repeat(43) } },
    });
  });

  it('lets only the trusted window showing the deal confirm it', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation', { view });
    const b = deal('awaiting-confirmation', { view });
    await store.create(a);
    await store.create(b);
    const deps = opDeps(store, { dealId: a.dealId, windowId: 7 });
    const tw = (windowId: number) => ({ id: EXT_ID, url: `${BASE}trusted-window/index.html?deal=${a.dealId}`, tab: { windowId } as chrome.tabs.Tab });
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html`, tab: { windowId: 7 } as chrome.tabs.Tab };
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, popup, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, tw(8), deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: b.dealId } }, tw(7), deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'getPendingOffer', request: { dealId: a.dealId } }, tw(7), deps)).toMatchObject({ ok: true, response: { view } });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, tw(7), deps)).toEqual({ ok: true, response: { status: 'ordering' } });
    expect(deps.confirmed).toEqual([a.dealId]);
  });

  it("a confirmation in the deal's window keeps it for the result; a decline, a refused confirmation or a forbidden caller does not", async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation', { view });
    await store.create(a);
    const kept: [string, boolean][] = [];
    const deps = { ...opDeps(store, { dealId: a.dealId, windowId: 7 }), keepForResult: async (id: string, keep: boolean) => void kept.push([id, keep]) };
    const tw = { id: EXT_ID, url: `${BASE}trusted-window/index.html?deal=${a.dealId}`, tab: { windowId: 7 } as chrome.tabs.Tab };
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html`, tab: { windowId: 7 } as chrome.tabs.Tab };
    await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, popup, deps);
    expect(kept).toEqual([]);
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, tw, deps)).toMatchObject({ ok: true });
    expect(kept).toEqual([[a.dealId, true]]);
    // The host refuses the next confirmation: the window is the offer's again.
    const refusing = { ...deps, host: { event: async () => Promise.reject(new Error('refused')) } };
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, tw, refusing)).toMatchObject({ ok: false });
    expect(kept.slice(1)).toEqual([
      [a.dealId, true],
      [a.dealId, false],
    ]);
    await handleOperation({ op: 'rejectDeal', request: { dealId: a.dealId } }, tw, deps);
    expect(kept.at(-1)).toEqual([a.dealId, false]);
  });
});
