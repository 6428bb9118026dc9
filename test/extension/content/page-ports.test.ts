/**
 * The worker's side of the page bridge (extension/content/page-ports.ts): the origin comes from
 * the port's sender, purchases only from top-level frames, re-attach only by the same origin.
 */
import { describe, expect, it } from 'vitest';
import type { PortResponse } from '../../../extension/content/bridge-protocol.js';
import { PagePorts, type PortLike } from '../../../extension/content/page-ports.js';
import { MemoryDealStore } from '../../../extension/deals/records.js';

import { EXT_ID, ORIGIN, deal } from '../fixtures.js';

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
  const started: { origin: string; requestKey?: string | undefined }[] = [];
  const ports = new PagePorts({
    extensionId: EXT_ID,
    version: '0.1.0',
    startPurchase: async (origin, _items, requestKey) => {
      // As the host does: a request key that started a deal of this origin finds that deal.
      const existing = requestKey ? (await store.listAll()).find((d) => d.origin === origin && d.pageRequest === requestKey) : undefined;
      if (existing) return existing;
      started.push({ origin, ...(requestKey ? { requestKey } : {}) });
      const record = deal('requesting-offer', { origin, ...(requestKey ? { pageRequest: requestKey } : {}) });
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
    ports.settle({ dealId: record.dealId, origin: record.origin, result: { kind: 'rejected' } });
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

  it('refuses exchanges and fair purchases from frames too, and ports that come from no tab', async () => {
    const started: string[] = [];
    const record = deal('requesting-offer');
    const ports = new PagePorts({
      extensionId: EXT_ID,
      version: '0.1.0',
      startPurchase: async () => {
        started.push('purchase');
        return record;
      },
      startExchange: async (_origin, use) => {
        started.push(use);
        return record;
      },
      startFairPurchase: async () => {
        started.push('fair');
        return record;
      },
      getDeal: async () => record,
    });
    const requests = [
      { type: 'request', id: 'c1', method: 'semper_certifiedMail', params: { documentId: 'letter-1' } },
      { type: 'request', id: 'c2', method: 'semper_signContract', params: { contractId: 'lease-1' } },
      { type: 'request', id: 'c3', method: 'semper_buyFair', params: { sku: 'report' } },
    ];
    // A frame another site embeds (an ad) cannot start a deal in the shopper's name.
    const framed = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/ad`, frameId: 3, tab });
    ports.connect(framed);
    for (const r of requests) await framed.send(r);
    expect(framed.posted).toEqual(
      ['c1', 'c2', 'c3'].map((id) => ({ type: 'error', id, error: expect.objectContaining({ code: 4100, data: { reason: 'ERR_PROTOCOL_STATE' } }) })),
    );
    expect(started).toEqual([]);
    // The same requests from the top-level page start their deals.
    const page = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/`, frameId: 0, tab });
    ports.connect(page);
    for (const r of requests) await page.send(r);
    expect(started).toEqual(['certified-mail', 'contract-signing', 'fair']);
    // A port of this extension that no tab sent is no page: it has no page origin to deal for.
    const noTab = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/`, frameId: 0 });
    ports.connect(noTab);
    expect(noTab.disconnected).toBe(true);
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
    expect(other.posted).toEqual([
      expect.objectContaining({ type: 'error', error: expect.objectContaining({ code: 4100, data: { reason: 'ERR_NOT_FOUND' } }) }),
    ]);
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

describe('issue 8 item 8: one purchase, one deal across a worker restart', () => {
  it("a request re-sent with its key after a restart attaches to the deal it already started, and settles with that deal's outcome", async () => {
    const store = new MemoryDealStore();
    const key = 'k0123456789abcdefghijk';
    // The first worker started the deal, then stopped before telling the page its id.
    const first = pagePorts(store);
    const before = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/p`, frameId: 0, tab });
    first.ports.connect(before);
    await before.send({ ...purchase, key });
    expect(first.started).toEqual([{ origin: ORIGIN, requestKey: key }]);
    const dealId = (before.posted[0] as { dealId: string }).dealId;
    // The new worker gets the same request again.
    const second = pagePorts(store);
    const after = new FakePort({ id: EXT_ID, origin: ORIGIN, url: `${ORIGIN}/p`, frameId: 0, tab });
    second.ports.connect(after);
    await after.send({ ...purchase, key });
    expect(second.started).toEqual([]);
    expect(after.posted).toEqual([{ type: 'deal', id: 'c1', dealId }]);
    expect(await store.listAll()).toHaveLength(1);
    second.ports.settle({ dealId, origin: ORIGIN, result: { kind: 'rejected' } });
    expect(after.posted[1]).toMatchObject({ type: 'error', id: 'c1', error: { code: 4001 } });
  });
});
