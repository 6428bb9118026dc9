/**
 * The worker's hosts in Node: the trusted-window queue, the page ports (origin from the sender,
 * top-level frames only, re-attach), the operation API's access checks, merchant HTTP, locales.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ShopperState } from '../../core/commerce/shopper.js';
import type { VerifiedOfferView } from '../../core/commerce/view.js';
import type { PortResponse } from '../../extension/bridge-protocol.js';
import { MemoryDealStore, type DealRecord, type DealStatus } from '../../extension/deal-store.js';
import { MemoryExchangeStore } from '../../extension/exchange-store.js';
import { postToMerchant } from '../../extension/merchant-http.js';
import { handleOperation, type OperationDeps } from '../../extension/operation-handlers.js';
import { PagePorts, type PortLike } from '../../extension/page-ports.js';
import { TrustedWindowManager, type CurrentWindow } from '../../extension/trusted-window-manager.js';
import { KeyStore, MemoryKeyRecords } from '../../extension/key-store.js';
import { IdentityService, MemorySettingsRecords, MemoryTokenRecords } from '../../extension/identity-service.js';

const EXT_ID = 'ogebgngddklbcapdihmjkemgigajimlo';
const BASE = `chrome-extension://${EXT_ID}/`;
const ORIGIN = 'https://shop.example';

let seq = 0;
function deal(status: DealStatus, extra: Partial<DealRecord> = {}): DealRecord {
  seq++;
  const dealId = `deal-${String(seq).padStart(4, '0')}-abcdefghijkl`;
  return {
    dealId,
    origin: ORIGIN,
    createdAt: seq,
    updatedAt: seq,
    state: { phase: status } as unknown as ShopperState,
    status,
    terminal: status === 'completed' || status === 'failed' || status === 'rejected',
    ...extra,
  };
}

function windowHarness(store: MemoryDealStore) {
  const open = new Map<number, string>();
  let nextId = 100;
  let session: CurrentWindow | undefined;
  const closedByUser: string[] = [];
  const manager = new TrustedWindowManager({
    store,
    windows: {
      open: async (dealId) => {
        const id = nextId++;
        open.set(id, dealId);
        return id;
      },
      close: async (id) => void open.delete(id),
      exists: async (id) => open.has(id),
      focus: async () => undefined,
    },
    session: { get: async () => session, set: async (v) => void (session = v) },
    onUserClosed: (dealId) => closedByUser.push(dealId),
  });
  return { manager, open, closedByUser, session: () => session };
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
    await store.commit({ ...a, status: 'completed', terminal: true }, []);
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
    await store.commit({ ...a, status: 'ordering' }, []);
    await store.create(deal('awaiting-confirmation'));
    await w.manager.pump();
    expect([...w.open.values()]).toEqual([a.dealId]);
  });

  it('the user closing the window declines that deal', async () => {
    const store = new MemoryDealStore();
    const a = deal('awaiting-confirmation');
    await store.create(a);
    const w = windowHarness(store);
    await w.manager.pump();
    const { windowId } = w.session()!;
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
});

class FakePort implements PortLike {
  readonly posted: PortResponse[] = [];
  disconnected = false;
  private listeners: ((m: unknown) => void)[] = [];
  private disconnectListeners: (() => void)[] = [];
  constructor(
    readonly sender: chrome.runtime.MessageSender,
    readonly name = 'semper-page/1',
  ) {}
  postMessage(m: PortResponse) {
    this.posted.push(m);
  }
  onMessage = { addListener: (l: (m: unknown) => void) => void this.listeners.push(l) };
  onDisconnect = { addListener: (l: () => void) => void this.disconnectListeners.push(l) };
  disconnect() {
    this.disconnected = true;
  }
  async send(m: unknown) {
    for (const l of this.listeners) l(m);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function pagePorts(store: MemoryDealStore) {
  const started: { origin: string }[] = [];
  const ports = new PagePorts({
    extensionId: EXT_ID,
    version: '0.1.0',
    startPurchase: async (origin) => {
      started.push({ origin });
      const record = deal('requesting-offer', { origin });
      await store.create(record);
      return record;
    },
    getDeal: (id) => store.get(id),
  });
  return { ports, started };
}

const tab = { id: 1, windowId: 1 } as chrome.tabs.Tab;
const purchase = { type: 'request', id: 'c1', method: 'semper_purchase', params: { items: [{ sku: 'a', quantity: 1 }] } };

describe('page ports', () => {
  it('takes the origin from the sender and tells the page the deal id', async () => {
    const store = new MemoryDealStore();
    const { ports, started } = pagePorts(store);
    const port = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/p`, frameId: 0, tab });
    ports.connect(port);
    await port.send(purchase);
    expect(started).toEqual([{ origin: ORIGIN }]);
    expect(port.posted[0]).toMatchObject({ type: 'deal', id: 'c1' });
    const dealId = (port.posted[0] as { dealId: string }).dealId;
    const record = (await store.get(dealId))!;
    ports.settle({ ...record, status: 'rejected', terminal: true, result: { kind: 'rejected' } });
    expect(port.posted[1]).toMatchObject({ type: 'error', id: 'c1', error: { code: 4001 } });
  });

  it('refuses purchases from frames, and connections without a web origin', async () => {
    const store = new MemoryDealStore();
    const { ports, started } = pagePorts(store);
    const framed = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/ad`, frameId: 3, tab });
    ports.connect(framed);
    await framed.send(purchase);
    expect(framed.posted).toEqual([expect.objectContaining({ type: 'error', error: expect.objectContaining({ code: 4100 }) })]);
    const plainHttp = new FakePort({ id: EXT_ID, url: 'http://shop.example/', frameId: 0, tab });
    ports.connect(plainHttp);
    expect(plainHttp.disconnected).toBe(true);
    const otherExtension = new FakePort({ id: 'someoneelse', origin: ORIGIN, frameId: 0, tab });
    ports.connect(otherExtension);
    expect(otherExtension.disconnected).toBe(true);
    expect(started).toEqual([]);
  });

  it('re-attaches only to deals of the same origin, and answers finished deals at once', async () => {
    const store = new MemoryDealStore();
    const { ports } = pagePorts(store);
    const finished = deal('completed', {
      result: { kind: 'finished', outcome: { dealId: 'x', status: 'completed', orderId: 'o', delivered: [] } },
    });
    await store.create(finished);
    const same = new FakePort({ id: EXT_ID, origin: ORIGIN, frameId: 0, tab });
    ports.connect(same);
    await same.send({ type: 'attach', id: 'c9', dealId: finished.dealId });
    expect(same.posted).toEqual([{ type: 'result', id: 'c9', result: { dealId: 'x', status: 'completed', orderId: 'o', delivered: [] } }]);
    const other = new FakePort({ id: EXT_ID, origin: 'https://evil.example', frameId: 0, tab });
    ports.connect(other);
    await other.send({ type: 'attach', id: 'c9', dealId: finished.dealId });
    expect(other.posted).toEqual([expect.objectContaining({ type: 'error', error: expect.objectContaining({ code: 4100, data: { reason: 'ERR_NOT_FOUND' } }) })]);
  });

  it('answers malformed and unknown requests with typed errors', async () => {
    const { ports } = pagePorts(new MemoryDealStore());
    const port = new FakePort({ id: EXT_ID, origin: ORIGIN, frameId: 0, tab });
    ports.connect(port);
    await port.send({ type: 'request', id: 'c1', method: 'semper_purchase', params: { items: 'all' } });
    await port.send({ type: 'request', id: 'c2', method: 'semper_steal' });
    await port.send({ type: 'bogus', id: 'c3' });
    await port.send('not even an object');
    expect(port.posted.map((m) => (m.type === 'error' ? m.error.code : m.type))).toEqual([-32602, 4200, -32602]);
  });
});

const view = { merchant: { legalName: 'Shop' }, total: { amount: 1, currency: 'EUR' } } as unknown as VerifiedOfferView;

function opDeps(store: MemoryDealStore, current?: CurrentWindow): OperationDeps & { confirmed: string[] } {
  const confirmed: string[] = [];
  return {
    confirmed,
    extensionId: EXT_ID,
    extensionBase: BASE,
    store,
    runner: {
      confirm: async (id) => {
        confirmed.push(id);
        return { ...(await store.get(id))!, status: 'ordering' };
      },
      reject: async (id) => ({ ...(await store.get(id))!, status: 'rejected' }),
      submitSignedOrder: async (id) => ({ ...(await store.get(id))!, status: 'ordering' }),
    },
    currentWindow: async () => current,
    signer: async () => {
      throw new Error('not needed');
    },
    roots: { add: async () => Promise.reject(new Error('no')), list: async () => [], remove: async () => false },
    identity: identityDeps(),
    exchange: {
      store: new MemoryExchangeStore(),
      runner: { confirm: async () => Promise.reject(new Error('no')), reject: async () => Promise.reject(new Error('no')) },
      ttps: { add: async () => Promise.reject(new Error('no')), list: async () => [], remove: async () => false },
    },
  };
}

function identityDeps(): OperationDeps['identity'] {
  const keys = new KeyStore({ records: new MemoryKeyRecords(), now: () => Date.now() });
  let challenges: { challenge: string; expiresAt: number }[] = [];
  const service = new IdentityService({
    keys,
    tokens: new MemoryTokenRecords(),
    settings: new MemorySettingsRecords(),
    roots: async () => [],
    fetch: () => Promise.reject(new Error('no network in this test')),
    now: () => Date.now(),
    randomId: () => 'x'.repeat(43),
    extensionOrigin: `chrome-extension://${EXT_ID}`,
    challenges: { get: async () => challenges, set: async (v) => void (challenges = v) },
  });
  return { service, keys, openWindow: async () => undefined, now: () => Date.now() };
}

describe('operation API access', () => {
  it('is closed to content scripts and other extensions', async () => {
    const deps = opDeps(new MemoryDealStore());
    expect(await handleOperation({ op: 'listDeals', request: {} }, { id: EXT_ID, url: 'https://shop.example/' }, deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'listDeals', request: {} }, { id: 'x', url: `${BASE}popup/index.html` }, deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'listDeals', request: {} }, { id: EXT_ID, url: `${BASE}popup/index.html` }, deps)).toEqual({ ok: true, response: { deals: [] } });
  });

  it('validates requests', async () => {
    const deps = opDeps(new MemoryDealStore());
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html` };
    expect(await handleOperation({ op: 'dropTables', request: {} }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
    expect(await handleOperation({ op: 'getDeal', request: { dealId: 1 } }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
    expect(await handleOperation({ op: 'listDeals', request: { all: true } }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
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
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, tw(8), deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: b.dealId } }, tw(7), deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'getPendingOffer', request: { dealId: a.dealId } }, tw(7), deps)).toMatchObject({ ok: true, response: { view } });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: a.dealId } }, tw(7), deps)).toEqual({ ok: true, response: { status: 'ordering' } });
    expect(deps.confirmed).toEqual([a.dealId]);
  });
});

describe('merchant HTTP', () => {
  const outbound = { kind: 'http', to: 'merchant', path: '/semper/offer', body: { dealId: 'abcdefghijklmnop', nonce: 'n', items: [] } } as never;
  const respond = (status: number, body: string) => (async () => new Response(body, { status, headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch;

  it('posts JSON to the page origin without cookies or redirects', async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const fake = (async (url: URL, init: RequestInit) => {
      seen = { url: String(url), init };
      return new Response('{"offer":1}', { status: 200 });
    }) as unknown as typeof fetch;
    expect(await postToMerchant(ORIGIN, outbound, fake)).toEqual({ kind: 'response', body: { offer: 1 } });
    expect(seen?.url).toBe(`${ORIGIN}/semper/offer`);
    expect(seen?.init).toMatchObject({ method: 'POST', credentials: 'omit', redirect: 'error' });
  });

  it('turns merchant errors, bad JSON and network failures into typed errors', async () => {
    expect(await postToMerchant(ORIGIN, outbound, respond(409, '{"error":{"code":"ERR_REPLAY","message":"seen"}}'))).toEqual({ kind: 'error', status: 409, error: { code: 'ERR_REPLAY', message: 'seen' } });
    expect(await postToMerchant(ORIGIN, outbound, respond(500, 'oops'))).toMatchObject({ kind: 'error', error: { code: 'ERR_SCHEMA' } });
    expect(await postToMerchant(ORIGIN, outbound, respond(502, '{}'))).toMatchObject({ kind: 'error', error: { code: 'ERR_INTERNAL' } });
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect(await postToMerchant(ORIGIN, outbound, down)).toMatchObject({ kind: 'error', error: { code: 'ERR_INTERNAL' } });
  });
});

describe('locales', () => {
  const load = (lang: string) => JSON.parse(readFileSync(`_locales/${lang}/messages.json`, 'utf8')) as Record<string, { message: string; placeholders?: object }>;
  it('English and German have the same keys and placeholders', () => {
    const en = load('en');
    const de = load('de');
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en)) {
      expect(Boolean(de[key]!.placeholders), key).toBe(Boolean(en[key]!.placeholders));
      expect(de[key]!.message.length, key).toBeGreaterThan(0);
    }
  });

  it('every key the pages use exists', () => {
    const en = load('en');
    const sources = ['trusted-window/App.tsx', 'popup/App.tsx', 'extension/ui/i18n.ts', 'trusted-window/main.tsx', 'popup/main.tsx'].map((f) => readFileSync(f, 'utf8')).join('\n');
    const used = new Set([...sources.matchAll(/\bt\('([A-Za-z]+)'/g), ...sources.matchAll(/: '((?:status|tw|pop)[A-Za-z]+)'/g), ...sources.matchAll(/localiseDocument\('([A-Za-z]+)'\)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(30);
    for (const key of used) expect(en[key], key).toBeDefined();
    const manifest = readFileSync('manifest.json', 'utf8');
    for (const m of manifest.matchAll(/__MSG_([A-Za-z]+)__/g)) expect(en[m[1]!], m[1]).toBeDefined();
  });
});
