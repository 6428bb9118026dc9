/** history.search and history.timeline over a store (the handlers; the filtering and the timeline themselves have their own tests). */
import { describe, expect, it } from 'vitest';
import { MemoryDealStore, type DealRecord } from '../../../extension/deals/records.js';
import { historyHandlers } from '../../../extension/operations/handlers/history.js';
import type { OperationContext } from '../../../extension/operations/context.js';
import { OPERATIONS } from '../../../extension/operations/table.js';
import { deal } from '../fixtures.js';

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
    const all = await historyHandlers['history.search']({}, ctx);
    expect(all.deals.map((d) => d.dealId)).toEqual([b.dealId, a.dealId]);
    expect(all.deals[1]).toMatchObject({ product: 'Ink report', moreItems: 1, merchant: 'Fogra Forschungsgesellschaft Druck e.V.' });
    expect((await historyHandlers['history.search']({ text: 'paper' }, ctx)).deals.map((d) => d.dealId)).toEqual([a.dealId]);
    expect((await historyHandlers['history.search']({ status: 'failed' }, ctx)).deals.map((d) => d.dealId)).toEqual([b.dealId]);
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
  });
});
