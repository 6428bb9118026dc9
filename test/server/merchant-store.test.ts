/**
 * The merchant kit's deal store on both engines (issue 10): the compare-and-set of the one host
 * step holds across two stores on one database (two shop processes) — of 50 concurrent first writes
 * of a deal id exactly one lands, of 50 concurrent writes at one version exactly one lands — the
 * timer query, and the verdicts stay append-only in the database itself. On PostgreSQL the
 * listing's and the timer's queries can be answered from their indexes (as the SQLite plans in
 * merchant-deal-listing.test.ts show for that engine).
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DealWrite, StoredDispute } from '../../server/merchant/index.js';
import { rowsOf } from '../../server/storage/database.js';
import { ENGINES } from '../helpers/engines.js';
import { newDealId } from './helpers.js';
import { type DealStores, dealStores } from './merchant-stores.js';

const write = (phase: string, wakeAt: number | null = null, halted = false): DealWrite => ({ kind: 'purchase', phase, wakeAt, halted, state: { phase } });

describe.each(ENGINES)('merchant deal store on %s', (engine) => {
  let stores: DealStores;
  afterEach(() => stores?.close());

  it('50 concurrent first writes of one deal id from two stores: exactly one lands', async () => {
    stores = await dealStores(engine, 'kitfirst');
    const [a, b] = [await stores.open(), await stores.open()];
    const dealId = newDealId();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).put(dealId, null, write(`offered-${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const stored = await b.get(dealId);
    expect(stored).toMatchObject({ version: 1, phase: `offered-${results.indexOf(true)}` });
  });

  it('50 concurrent writes at one version from two stores: exactly one lands, the others must re-read', async () => {
    stores = await dealStores(engine, 'kitcas');
    const [a, b] = [await stores.open(), await stores.open()];
    const dealId = newDealId();
    expect(await a.put(dealId, null, write('offered'))).toBe(true);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).put(dealId, 1, write(`step-${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.get(dealId)).toMatchObject({ version: 2, phase: `step-${results.indexOf(true)}` });
    // The next step goes on from version 2 only.
    expect(await b.put(dealId, 1, write('late'))).toBe(false);
    expect(await b.put(dealId, 2, write('next'))).toBe(true);
  });

  it('due: timers at or before now, earliest first, halted deals left out, limited', async () => {
    stores = await dealStores(engine, 'kitdue');
    const deals = await stores.open();
    const ids = Array.from({ length: 5 }, () => newDealId());
    await deals.put(ids[0]!, null, write('waiting', 300));
    await deals.put(ids[1]!, null, write('waiting', 100));
    await deals.put(ids[2]!, null, write('waiting', 200, true));
    await deals.put(ids[3]!, null, write('waiting', 900));
    await deals.put(ids[4]!, null, write('done'));
    expect(await deals.due(500, 10)).toEqual([
      { dealId: ids[1], kind: 'purchase' },
      { dealId: ids[0], kind: 'purchase' },
    ]);
    expect(await deals.due(500, 1)).toEqual([{ dealId: ids[1], kind: 'purchase' }]);
  });

  it('verdicts: kept once each, oldest first, and append-only in the database', async () => {
    stores = await dealStores(engine, 'kitverdicts');
    const deals = await stores.open();
    const dealId = newDealId();
    const verdict = (n: number): StoredDispute => ({
      dealId,
      claim: 'order-denied',
      decision: 'upheld',
      rule: `rule-${n}`,
      complaintDigest: `c${n}`,
      verdictDigest: `v${n}`,
      complaint: { n } as unknown as StoredDispute['complaint'],
      verdict: { n } as unknown as StoredDispute['verdict'],
      createdAt: '2026-11-01T10:00:00.000Z',
    });
    for (const n of [3, 1, 2, 1]) await deals.addDispute(verdict(n));
    expect((await deals.disputes(dealId)).map((d) => d.rule)).toEqual(['rule-3', 'rule-1', 'rule-2']);
    const db = deals.database.db;
    await expect(sql`UPDATE merchant_verdicts SET decision = 'dismissed'`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM merchant_verdicts`.execute(db)).rejects.toThrow(/append-only/);
    if (engine === 'postgres') await expect(sql`TRUNCATE merchant_verdicts`.execute(db)).rejects.toThrow(/append-only/);
    expect(await deals.disputes(dealId)).toHaveLength(3);
  });

  it.skipIf(engine === 'sqlite')('PostgreSQL: the listing and timer queries can be answered from their indexes', async () => {
    stores = await dealStores(engine, 'kitplans');
    const deals = await stores.open();
    for (let i = 0; i < 20; i++) await deals.put(newDealId(), null, write(i % 2 ? 'completed' : 'refused', i % 3 ? 1000 + i : null));
    const plan = (query: string) =>
      deals.database.db.connection().execute(async (conn) => {
        // A table this small is best read whole and sorted: forbid both (a plan still sorts if no
        // index gives the order), so the plan shows whether an index answers the query as written.
        await sql`SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off`.execute(conn);
        try {
          return (await rowsOf(conn, sql<{ 'QUERY PLAN': string }>`${sql.raw(`EXPLAIN ${query}`)}`)).map((r) => r['QUERY PLAN']).join('\n');
        } finally {
          await sql`RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort`.execute(conn);
        }
      });
    const phase = await plan("SELECT deal_id FROM merchant_deals WHERE phase = 'completed' ORDER BY created_at DESC, seq DESC LIMIT 10");
    expect(phase).toMatch(/merchant_deals_phase_created/);
    expect(phase).not.toMatch(/\bSort\b/);
    const all = await plan('SELECT deal_id FROM merchant_deals ORDER BY created_at DESC, seq DESC LIMIT 10');
    expect(all).toMatch(/merchant_deals_created/);
    expect(all).not.toMatch(/\bSort\b/);
    expect(
      await plan('SELECT deal_id, kind FROM merchant_deals WHERE wake_at IS NOT NULL AND wake_at <= 5000 AND halted = 0 ORDER BY wake_at LIMIT 10'),
    ).toMatch(/merchant_deals_due/);
  });
});
