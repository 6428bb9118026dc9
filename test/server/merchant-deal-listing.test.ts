/**
 * The merchant kit's deal listing for its operator: GET /semper/deals?kind=&phase=&from=&to=&limit=
 * (operator token; parameters schema-checked), newest first, over the SQLite store's version-5
 * indexes (creation time; phase and creation time), the PostgreSQL store's (merchant-store.test.ts
 * has their plans) and the memory store alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  catalogFromItems,
  createMerchantKit,
  MERCHANT_DEALS_SCHEMA,
  MemoryMerchantDealStore,
  type MerchantDealStore,
  SqliteMerchantDealStore,
} from '../../server/merchant/index.js';
import { DealListQuery, type DealListing } from '../../server/merchant/deals.js';
import { PRODUCTS, SHOP_TERMS } from '../../server/shop/catalog.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { ENGINES } from '../helpers/engines.js';
import { makeTestCa } from '../helpers/pki.js';
import { dealStores } from './merchant-stores.js';

const TOKEN = 'listing-operator-token';
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T10:00:00.000Z');

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'semper-kit-listing-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Four deals a day apart: purchase completed, exchange responding, purchase refused, fair purchase completed. */
async function fill(store: MerchantDealStore, clock: { now: number }): Promise<void> {
  const deals: [string, 'purchase' | 'exchange' | 'fair-purchase', string][] = [
    ['deal-aaaaaaaaaaaaaaaa', 'purchase', 'completed'],
    ['deal-bbbbbbbbbbbbbbbb', 'exchange', 'responding'],
    ['deal-cccccccccccccccc', 'purchase', 'refused'],
    ['deal-dddddddddddddddd', 'fair-purchase', 'completed'],
  ];
  for (const [i, [id, kind, phase]] of deals.entries()) {
    clock.now = T0 + i * DAY;
    expect(await store.put(id, null, { kind, phase, wakeAt: null, halted: false, state: { phase } })).toBe(true);
  }
}

const ids = (listing: DealListing[]) => listing.map((d) => d.dealId.slice(5, 6));

function sqliteStore(dir = tempDir(), schema = MERCHANT_DEALS_SCHEMA) {
  const sqlite = SqliteStore.open({ dataDir: dir, fileName: 'shop.sqlite', schema: [schema] });
  cleanup.push(() => sqlite.close());
  return sqlite;
}

describe('merchant deal listing', () => {
  for (const kind of [...ENGINES, 'memory'] as const) {
    it(`${kind}: newest first; by kind, phase, creation time; limited`, async () => {
      const clock = { now: T0 };
      let store: MerchantDealStore;
      if (kind === 'memory') store = new MemoryMerchantDealStore(() => clock.now);
      else {
        const stores = await dealStores(kind, 'kitlisting');
        cleanup.push(() => stores.close());
        store = await stores.open(() => clock.now);
      }
      await fill(store, clock);
      const list = (q: Record<string, unknown>) => store.list!(DealListQuery.parse(q));
      expect(ids(await list({}))).toEqual(['d', 'c', 'b', 'a']);
      expect(ids(await list({ kind: 'purchase' }))).toEqual(['c', 'a']);
      expect(ids(await list({ phase: 'completed' }))).toEqual(['d', 'a']);
      expect(ids(await list({ from: new Date(T0 + DAY).toISOString(), to: new Date(T0 + 2 * DAY).toISOString() }))).toEqual(['c', 'b']);
      // Bounds with an offset mean the same instant.
      expect(ids(await list({ from: '2026-11-02T11:00:00.000+01:00' }))).toEqual(['d', 'c', 'b']);
      expect(ids(await list({ limit: '2' }))).toEqual(['d', 'c']);
      // Created in the same millisecond: the later write is listed first.
      expect(await store.put('deal-eeeeeeeeeeeeeeee', null, { kind: 'purchase', phase: 'offered', wakeAt: null, halted: false, state: {} })).toBe(true);
      expect(ids(await list({ limit: '3' }))).toEqual(['e', 'd', 'c']);
      expect((await list({ kind: 'exchange' }))[0]).toEqual({
        dealId: 'deal-bbbbbbbbbbbbbbbb',
        kind: 'exchange',
        phase: 'responding',
        halted: false,
        createdAt: new Date(T0 + DAY).toISOString(),
        updatedAt: new Date(T0 + DAY).toISOString(),
      });
    });
  }

  it('schema version 5 adds the indexes to an installed version-4 shop, its deals kept; the phase query uses its index', async () => {
    const dir = tempDir();
    const v4 = { ...MERCHANT_DEALS_SCHEMA, migrations: MERCHANT_DEALS_SCHEMA.migrations.filter((m) => m.version <= 4) };
    const old = SqliteStore.open({ dataDir: dir, fileName: 'shop.sqlite', schema: [v4] });
    const clock = { now: T0 };
    await fill(new SqliteMerchantDealStore(old, () => clock.now), clock);
    expect(old.schemaVersion('merchant')).toBe(4);
    old.close();
    const sqlite = sqliteStore(dir);
    expect(sqlite.schemaVersion('merchant')).toBe(5);
    expect(ids(await new SqliteMerchantDealStore(sqlite).list(DealListQuery.parse({})))).toEqual(['d', 'c', 'b', 'a']);
    const plan = (sql: string) =>
      sqlite.db
        .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all()
        .map((r) => r.detail)
        .join('; ');
    expect(plan("SELECT deal_id FROM merchant_deals WHERE phase = 'completed' ORDER BY created_at DESC LIMIT 10")).toMatch(/merchant_deals_phase_created/);
    expect(plan('SELECT deal_id FROM merchant_deals ORDER BY created_at DESC LIMIT 10')).toMatch(/merchant_deals_created/);
  });

  it('GET /semper/deals: operator only; unknown or malformed parameters are refused (400 ERR_SCHEMA)', async () => {
    const ca = await makeTestCa();
    const m = await ca.issue({ commonName: 'Listing Shop GmbH', role: 'merchant', origins: ['https://shop.example'] });
    const clock = { now: T0 };
    const deals = new SqliteMerchantDealStore(sqliteStore(), () => clock.now);
    await fill(deals, clock);
    const kit = createMerchantKit({
      identity: { signer: m.signer, chain: m.chain, origin: 'https://shop.example' },
      deals,
      purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
      operatorToken: TOKEN,
    });
    const get = (query: string, token: string | null = TOKEN) =>
      kit.app.request(`/semper/deals${query}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get('', null)).status).toBe(401);
    expect((await get('', 'wrong')).status).toBe(401);
    const ok = await get('?kind=purchase&phase=refused');
    expect(ok.status).toBe(200);
    expect(ids(((await ok.json()) as { deals: DealListing[] }).deals)).toEqual(['c']);
    for (const bad of ['?kind=wallet', '?limit=0', '?limit=501', '?limit=ten', '?from=2026-11-01', "?phase=x'%20OR%201=1", '?sort=asc']) {
      const res = await get(bad);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_SCHEMA');
    }
  });
});
