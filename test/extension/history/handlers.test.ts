/** history.search and history.timeline over a store (the handlers; the filtering and the timeline themselves have their own tests). */
import { describe, expect, it } from 'vitest';
import { MemoryDealStore, type DealRecord } from '../../../extension/deals/records.js';
import { historyHandlers } from '../../../extension/operations/handlers/history.js';
import { startHandlers } from '../../../extension/operations/handlers/start.js';
import type { OperationContext } from '../../../extension/operations/context.js';
import { OPERATIONS } from '../../../extension/operations/table.js';
import { countScanVisits, deal } from '../fixtures.js';

const view = (titles: string[]) =>
  ({
    merchant: { legalName: 'Fogra Forschungsgesellschaft Druck e.V.' },
    items: titles.map((title) => ({ title })),
    total: { amount: 1200, currency: 'EUR' },
  }) as never;

async function storeWith(...records: DealRecord[]): Promise<OperationContext> {
  const store = new MemoryDealStore();
  for (const r of records) await store.create(r);
  return { store } as unknown as OperationContext;
}

describe('history operations', () => {
  it('search: every deal kind but purses, newest first, filtered', async () => {
    const a = deal('completed', { view: view(['Ink report', 'Paper sizes']) });
    const b = deal('failed');
    const purse: DealRecord = {
      kind: 'wallet',
      dealId: 'purse-1',
      origin: 'https://bank.example',
      createdAt: 99,
      updatedAt: 99,
      state: {} as never,
      status: 'open',
      terminal: false,
    };
    const ctx = await storeWith(a, b, purse);
    const all = await startHandlers['history.search']({}, ctx);
    expect(all.deals.map((d) => d.dealId)).toEqual([b.dealId, a.dealId]);
    expect(all.deals[1]).toMatchObject({ product: 'Ink report', moreItems: 1, merchant: 'Fogra Forschungsgesellschaft Druck e.V.' });
    expect((await startHandlers['history.search']({ text: 'paper' }, ctx)).deals.map((d) => d.dealId)).toEqual([a.dealId]);
    expect((await startHandlers['history.search']({ status: 'failed' }, ctx)).deals.map((d) => d.dealId)).toEqual([b.dealId]);
  });

  it('search pages: newest first by creation then id, a page stops the walk, `after` continues exactly where it stopped', async () => {
    // 7 deals, three of them created in the same millisecond (the order among them is by id).
    const made = Array.from({ length: 7 }, (_, i) => deal('completed', { createdAt: 1_000 + (i < 3 ? 0 : i) }));
    const store = new MemoryDealStore();
    for (const r of made) await store.create(r);
    const visited = countScanVisits(store);
    const ctx = { store } as unknown as OperationContext;
    const expected = [...made].sort((a, b) => b.createdAt - a.createdAt || (a.dealId < b.dealId ? 1 : -1)).map((d) => d.dealId);
    const first = await startHandlers['history.search']({ limit: 2 }, ctx);
    expect(first.deals.map((d) => d.dealId)).toEqual(expected.slice(0, 2));
    expect(visited()).toBe(3); // the page and the one match that shows there is more
    const pages = [first.deals.map((d) => d.dealId)];
    let next = first.next;
    while (next) {
      const page = await startHandlers['history.search']({ limit: 2, after: next }, ctx);
      pages.push(page.deals.map((d) => d.dealId));
      next = page.next;
    }
    expect(pages.flat()).toEqual(expected);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    // The last page has no `next`; a page that ends exactly at the last match has none either.
    expect((await startHandlers['history.search']({ limit: 7 }, ctx)).next).toBeUndefined();
    expect((await startHandlers['history.search']({ limit: 6 }, ctx)).next).toEqual({ createdAt: 1_000, dealId: expected[5] });
    // Filters apply before the page is cut; the date range bounds the walk.
    expect((await startHandlers['history.search']({ from: new Date(1_005).toISOString(), limit: 50 }, ctx)).deals.map((d) => d.dealId)).toEqual(
      expected.slice(0, 2),
    );
  });

  it('timeline: the deal and its (here empty) events; a purse or an unknown id is not found', async () => {
    const a = deal('completed', { view: view(['Ink report']) });
    const purse: DealRecord = {
      kind: 'wallet',
      dealId: 'purse-1',
      origin: 'https://bank.example',
      createdAt: 99,
      updatedAt: 99,
      state: {} as never,
      status: 'open',
      terminal: false,
    };
    const ctx = await storeWith(a, purse);
    expect(await historyHandlers['history.timeline']({ dealId: a.dealId }, ctx)).toMatchObject({
      deal: { dealId: a.dealId, product: 'Ink report' },
      parties: ['shopper', 'merchant'],
      events: [],
    });
    await expect(historyHandlers['history.timeline']({ dealId: 'purse-1' }, ctx)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(historyHandlers['history.timeline']({ dealId: 'nope' }, ctx)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('the request schema: known kinds, ISO instants, bounded text, nothing else', () => {
    const schema = OPERATIONS['history.search'].request;
    expect(
      schema.safeParse({ text: 'ink', kind: 'exchange', status: 'open', from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999+01:00' }).success,
    ).toBe(true);
    expect(schema.safeParse({ kind: 'wallet' }).success).toBe(false);
    expect(schema.safeParse({ from: '2026-11-01' }).success).toBe(false);
    expect(schema.safeParse({ text: 'x'.repeat(201) }).success).toBe(false);
    expect(schema.safeParse({ sql: '1' }).success).toBe(false);
    expect(schema.safeParse({ limit: 20, after: { createdAt: 5, dealId: 'deal-0001-abcdefghijkl' } }).success).toBe(true);
    expect(schema.safeParse({ limit: 0 }).success).toBe(false);
    expect(schema.safeParse({ limit: 201 }).success).toBe(false);
    expect(schema.safeParse({ after: { createdAt: 5 } }).success).toBe(false);
    expect(schema.safeParse({ after: { createdAt: 5, dealId: 'x' } }).success).toBe(false);
  });
});
