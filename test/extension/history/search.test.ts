import { describe, expect, it } from 'vitest';
import { historyRow, normalise, searchHistory, type HistoryRow } from '../../../extension/history/search.js';
import type { DealRecord } from '../../../extension/deals/records.js';

const merchant = (legalName: string) => ({
  legalName,
  certifiedOrigins: ['https://shop.example'],
  issuer: 'Semper Demo Root CA',
  certificateFingerprint: 'f'.repeat(43),
  certificateNotAfter: '2030-01-01T00:00:00.000Z',
});

function purchase(dealId: string, createdAt: string, titles: string[], phase = 'completed', shop = 'Fogra Forschungsgesellschaft Druck e.V.'): DealRecord {
  const t = Date.parse(createdAt);
  return {
    kind: 'purchase',
    dealId,
    origin: 'https://shop.example',
    createdAt: t,
    updatedAt: t + 1000,
    state: { phase, dealId } as never,
    status: phase,
    terminal: phase !== 'ordering',
    view: {
      merchant: merchant(shop),
      items: titles.map((title, i) => ({ sku: `sku-${i}`, title, quantity: 1, unitPrice: { amount: 100, currency: 'EUR' }, kind: 'digital' })),
      total: { amount: 100 * titles.length, currency: 'EUR' },
    } as never,
  };
}

function exchange(dealId: string, createdAt: string, title: string, phase = 'completed'): DealRecord {
  const t = Date.parse(createdAt);
  return {
    kind: 'exchange',
    dealId,
    origin: 'https://shop.example',
    createdAt: t,
    updatedAt: t,
    state: { phase, use: 'certified-mail' } as never,
    status: phase,
    terminal: true,
    view: { merchant: { ...merchant('Fogra Forschungsgesellschaft Druck e.V.'), keyId: 'k' }, title, use: 'certified-mail' } as never,
  };
}

function fair(dealId: string, createdAt: string, title: string, resolved: boolean): DealRecord {
  const t = Date.parse(createdAt);
  return {
    kind: 'fair-purchase',
    dealId,
    origin: 'https://other.example',
    createdAt: t,
    updatedAt: t,
    state: { phase: 'completed' } as never,
    status: 'completed',
    terminal: true,
    view: { merchant: { ...merchant('Ｍüller ＧｍｂＨ'), keyId: 'k' }, title, price: { amount: 500, currency: 'EUR' } } as never,
    result: { kind: 'finished', outcome: { status: resolved ? 'resolved' : 'completed' } as never },
  };
}

const records: DealRecord[] = [
  purchase('p1', '2026-11-01T10:00:00.000Z', ['Ink drying report', 'Colour management report', 'Ink abstract']),
  exchange('x1', '2026-11-02T10:00:00.000Z', 'Terms of trade 2026'),
  fair('f1', '2026-11-03T10:00:00.000Z', 'Ofﬁce handbook', true),
  purchase('p2', '2026-11-04T10:00:00.000Z', ['Paper sizes'], 'ordering'),
  { kind: 'wallet', dealId: 'w1', origin: 'https://bank.example', createdAt: 0, updatedAt: 0, state: {} as never, status: 'open', terminal: false },
  {
    kind: 'purchase',
    dealId: 'p0',
    origin: 'https://shop.example',
    createdAt: 1,
    updatedAt: 1,
    state: { phase: 'failed' } as never,
    status: 'failed',
    terminal: true,
  },
];
const rows = records.map(historyRow).filter((r): r is HistoryRow => r !== undefined);
const ids = (q: Parameters<typeof searchHistory>[1]) => searchHistory(rows, q).map((r) => r.dealId);

describe('history rows', () => {
  it('name the product (first item and how many more), the certified merchant and the total; purses are not deals', () => {
    expect(rows.map((r) => r.dealId)).toEqual(['p1', 'x1', 'f1', 'p2', 'p0']);
    expect(rows[0]).toMatchObject({
      kind: 'purchase',
      merchant: 'Fogra Forschungsgesellschaft Druck e.V.',
      product: 'Ink drying report',
      moreItems: 2,
      total: { amount: 300, currency: 'EUR' },
      outcome: 'completed',
      createdAt: '2026-11-01T10:00:00.000Z',
      updatedAt: '2026-11-01T10:00:01.000Z',
    });
    expect(rows[1]).toMatchObject({ kind: 'exchange', product: 'Terms of trade 2026', moreItems: 0, use: 'certified-mail' });
    expect(rows[2]).toMatchObject({ kind: 'fair-purchase', product: 'Ofﬁce handbook', total: { amount: 500, currency: 'EUR' }, outcome: 'resolved' });
    expect(rows[3]).toMatchObject({ outcome: 'open', status: 'ordering' });
    // A deal that failed before any offer verified: no merchant, no product, only the origin.
    expect(rows[4]).toEqual({
      dealId: 'p0',
      kind: 'purchase',
      origin: 'https://shop.example',
      status: 'failed',
      outcome: 'failed',
      createdAt: '1970-01-01T00:00:00.001Z',
      updatedAt: '1970-01-01T00:00:00.001Z',
      moreItems: 0,
      items: [],
    });
  });
});

describe('history search', () => {
  it('newest first, everything without a query', () => {
    expect(ids({})).toEqual(['p2', 'f1', 'x1', 'p1', 'p0']);
  });
  it('text matches item titles (any item), the shop, the origin; every word must match', () => {
    expect(ids({ text: 'colour' })).toEqual(['p1']);
    expect(ids({ text: 'INK report' })).toEqual(['p1']);
    expect(ids({ text: 'ink paper' })).toEqual([]);
    expect(ids({ text: 'fogra' })).toEqual(['p2', 'x1', 'p1']);
    expect(ids({ text: 'other.example' })).toEqual(['f1']);
    expect(ids({ text: 'shop.example' })).toEqual(['p2', 'x1', 'p1', 'p0']);
    expect(ids({ text: '   ' })).toHaveLength(5);
  });
  it('Unicode: NFKC and case folding (full-width letters, ligatures, umlauts composed or not)', () => {
    expect(normalise('Ｍüller ＧｍｂＨ')).toBe('müller gmbh');
    expect(ids({ text: 'müller gmbh' })).toEqual(['f1']);
    expect(ids({ text: 'mu\u0308ller' })).toEqual(['f1']); // decomposed ü
    expect(ids({ text: 'office' })).toEqual(['f1']); // the title has the ﬁ ligature
    expect(ids({ text: 'ＴＥＲＭＳ' })).toEqual(['x1']);
  });
  it('filters by kind, status (outcome group or exact phase) and creation time', () => {
    expect(ids({ kind: 'exchange' })).toEqual(['x1']);
    expect(ids({ kind: 'purchase', text: 'fogra' })).toEqual(['p2', 'p1']);
    expect(ids({ status: 'open' })).toEqual(['p2']);
    expect(ids({ status: 'completed' })).toEqual(['x1', 'p1']);
    expect(ids({ status: 'resolved' })).toEqual(['f1']);
    expect(ids({ status: 'ordering' })).toEqual(['p2']);
    expect(ids({ from: '2026-11-02T00:00:00.000Z' })).toEqual(['p2', 'f1', 'x1']);
    expect(ids({ from: '2026-11-02T00:00:00.000Z', to: '2026-11-03T10:00:00.000Z' })).toEqual(['f1', 'x1']);
    expect(ids({ to: '2026-11-01T09:59:59.999Z' })).toEqual(['p0']);
    expect(ids({ from: 'not a date' })).toHaveLength(5);
  });
});
