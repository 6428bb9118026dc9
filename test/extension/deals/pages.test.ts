/**
 * The popup's lists (listDeals, listExchanges, listFairPurchases) are pages of the deals store
 * walked newest first (extension/deals/pages.ts): each kind only, `after` continues exactly where a
 * page stopped, and the archive is never read whole (listAll would throw here).
 */
import { describe, expect, it } from 'vitest';
import { MemoryDealStore, type DealRecord } from '../../../extension/deals/records.js';
import { DEAL_PAGE } from '../../../extension/deals/pages.js';
import { startHandlers } from '../../../extension/operations/handlers/start.js';
import type { OperationContext } from '../../../extension/operations/context.js';
import { OPERATIONS } from '../../../extension/operations/table.js';
import { countScanVisits, deal } from '../fixtures.js';

function other(kind: 'exchange' | 'fair-purchase', createdAt: number, i: number): DealRecord {
  const dealId = `${kind === 'exchange' ? 'xchg' : 'fair'}-${String(i).padStart(4, '0')}-abcdefghijkl`;
  const state = kind === 'exchange' ? { phase: 'completed', use: 'certified-mail', dealId } : { phase: 'completed', dealId };
  return { kind, dealId, origin: 'https://shop.example', createdAt, updatedAt: createdAt, state, status: 'completed', terminal: true } as unknown as DealRecord;
}

async function archive(): Promise<{ ctx: OperationContext; visits: () => number; byKind: Record<string, string[]> }> {
  const store = new MemoryDealStore();
  const byKind: Record<string, DealRecord[]> = { purchase: [], exchange: [], 'fair-purchase': [] };
  // 130 deals, kinds interleaved, several in the same millisecond (then ordered by id).
  for (let i = 0; i < 130; i++) {
    const createdAt = 10_000 + Math.floor(i / 3);
    const r = i % 5 === 1 ? other('exchange', createdAt, i) : i % 5 === 3 ? other('fair-purchase', createdAt, i) : deal('completed', { createdAt });
    byKind[r.kind]!.push(r);
    await store.create(r);
  }
  store.listAll = () => Promise.reject(new Error('the whole archive was read'));
  const visits = countScanVisits(store);
  const newest = (rs: DealRecord[]) => [...rs].sort((a, b) => b.createdAt - a.createdAt || (a.dealId < b.dealId ? 1 : -1)).map((r) => r.dealId);
  return {
    ctx: { store } as unknown as OperationContext,
    visits,
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, rs]) => [k, newest(rs)])),
  };
}

/** Every page of one list, following `next`. */
async function allPages(first: (after?: { createdAt: number; dealId: string }) => Promise<{ ids: string[]; next?: { createdAt: number; dealId: string } }>) {
  const pages: string[][] = [];
  let next: { createdAt: number; dealId: string } | undefined;
  do {
    const page = await first(next);
    pages.push(page.ids);
    next = page.next;
  } while (next);
  return pages;
}

describe('the popup lists are pages, newest first, one kind each', () => {
  it('purchases: 50 at a time, then exactly the rest; the walk stops one purchase past the page', async () => {
    const { ctx, visits, byKind } = await archive();
    expect(byKind.purchase).toHaveLength(78);
    const first = await startHandlers.listDeals({}, ctx);
    expect(first.deals.map((d) => d.dealId)).toEqual(byKind.purchase!.slice(0, DEAL_PAGE));
    // 50 purchases and the 51st that shows there is more, and the other kinds between them: not the 130.
    expect(visits()).toBeLessThan(90);
    const pages = await allPages(async (after) => {
      const r = await startHandlers.listDeals(after ? { after } : {}, ctx);
      return { ids: r.deals.map((d) => d.dealId), ...(r.next ? { next: r.next } : {}) };
    });
    expect(pages.map((p) => p.length)).toEqual([50, 28]);
    expect(pages.flat()).toEqual(byKind.purchase);
  });

  it('exchanges and fair purchases: their own kind only, in the same order, paged by `limit`', async () => {
    const { ctx, byKind } = await archive();
    const exchanges = await allPages(async (after) => {
      const r = await startHandlers.listExchanges({ limit: 10, ...(after ? { after } : {}) }, ctx);
      return { ids: r.exchanges.map((x) => x.dealId), ...(r.next ? { next: r.next } : {}) };
    });
    expect(exchanges.map((p) => p.length)).toEqual([10, 10, 6]);
    expect(exchanges.flat()).toEqual(byKind.exchange);
    const fair = await allPages(async (after) => {
      const r = await startHandlers.listFairPurchases({ limit: 26, ...(after ? { after } : {}) }, ctx);
      return { ids: r.purchases.map((x) => x.dealId), ...(r.next ? { next: r.next } : {}) };
    });
    // A page that ends exactly at the last one has no `next`.
    expect(fair).toEqual([byKind['fair-purchase']]);
  });

  it('the request: an optional bounded limit and a position, nothing else', () => {
    for (const op of ['listDeals', 'listExchanges', 'listFairPurchases'] as const) {
      const schema = OPERATIONS[op].request;
      expect(schema.safeParse({}).success).toBe(true);
      expect(schema.safeParse({ limit: 20, after: { createdAt: 5, dealId: 'deal-0001-abcdefghijkl' } }).success).toBe(true);
      expect(schema.safeParse({ limit: 0 }).success).toBe(false);
      expect(schema.safeParse({ limit: 201 }).success).toBe(false);
      expect(schema.safeParse({ after: { createdAt: 5 } }).success).toBe(false);
      expect(schema.safeParse({ kind: 'purchase' }).success).toBe(false);
    }
  });
});
