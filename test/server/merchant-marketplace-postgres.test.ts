/**
 * `npm start` with SEMPER_DATABASE_URL (here: one schema per party, as SEMPER_CA_DATABASE_URL and
 * SEMPER_SHOP_DATABASE_URL would give): the marketplace's CA keeps its register and the shop's
 * merchant kit its deals in PostgreSQL, the identities stay in the data directory, and a restart
 * finds both. The three TTPs of the shop's k-of-n set each keep their decisions in a schema of
 * their own (SEMPER_TTP_DATABASE_URL, SEMPER_TTP2_DATABASE_URL, SEMPER_TTP3_DATABASE_URL), and a
 * second TTP given the first one's database is refused at start. Runs when the test run has PostgreSQL.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { Database, firstOf } from '../../server/storage/database.js';
import { poolKeys } from '../core/payment/helpers.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';
import { getJson, requestOffer, tempDataDir } from './helpers.js';
import { registerShopper } from './registration-helpers.js';

describe.skipIf(!ENGINES.includes('postgres'))('the marketplace with the CA and the shop on PostgreSQL', () => {
  const tmp = tempDataDir('marketplace-pg');
  let urls: { ca: string; shop: string; ttp: string; moreTtps: [string, string] };
  let market: Marketplace | undefined;
  const start = () =>
    startMarketplace({
      dataDir: tmp.dir,
      databaseUrls: urls,
      caPort: 0,
      shopPort: 0,
      bank: { keyFactory: poolKeys(0), rotation: { values: [100, 500] } },
    });
  const count = async (url: string, table: string) => {
    const db = Database.postgres(url);
    try {
      return (await firstOf(db.db, sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table)}`))!.n;
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    urls = {
      ca: await pgSchema('mca'),
      shop: await pgSchema('mshop'),
      ttp: await pgSchema('mttp'),
      moreTtps: [await pgSchema('mttp2'), await pgSchema('mttp3')],
    };
    market = await start();
  }, 120_000);

  afterAll(async () => {
    await market?.close();
    tmp.remove();
  });

  it('registers shoppers and records deals in PostgreSQL; a restart keeps the root, the register and the deals', async () => {
    const code = await market!.createRegistrationCode('Postgres Paula');
    const { res } = await registerShopper(market!.caUrl, code);
    expect(res.status).toBe(200);
    const { res: offered, dealId } = await requestOffer(market!.shopUrl);
    expect(offered.status).toBe(200);
    expect(await count(urls.ca, 'registration_code_uses')).toBe(1);
    expect(await count(urls.shop, 'merchant_deals')).toBe(1);
    const root = market!.rootCertificate;
    await market!.close();
    market = await start();
    expect(market.rootCertificate).toBe(root);
    expect((await getJson<{ status: string }>(`${market.caUrl}/ca/status/${res.json.serial}`)).json.status).toBe('good');
    // The deal is where the restarted shop reads it: an order for it is answered, not refused as unknown.
    const db = Database.postgres(urls.shop);
    try {
      expect(await firstOf(db.db, sql`SELECT phase FROM merchant_deals WHERE deal_id = ${dealId}`)).toEqual({ phase: 'offered' });
    } finally {
      await db.close();
    }
    const again = await getJson<{ phase: string }>(`${market.shopUrl}/semper/deals/${dealId}`);
    expect(again.json.phase).toBe('offered');
  });

  it('keeps each TTP of the set in its own schema, owned by its key; a second TTP on the first one’s database does not start', async () => {
    const owners = await Promise.all(
      [urls.ttp, ...urls.moreTtps].map(async (url) => {
        const db = Database.postgres(url);
        try {
          return (await firstOf(db.db, sql<{ key_id: string }>`SELECT key_id FROM ttp_owner`))?.key_id;
        } finally {
          await db.close();
        }
      }),
    );
    expect(owners).toEqual(market!.ttps.map((t) => t.keyId));
    expect(new Set(owners).size).toBe(3);

    await market!.close();
    market = undefined;
    const misconfigured = startMarketplace({
      dataDir: tmp.dir,
      databaseUrls: { ...urls, moreTtps: [urls.ttp, urls.moreTtps[1]] },
      caPort: 0,
      shopPort: 0,
      bank: { keyFactory: poolKeys(0), rotation: { values: [100, 500] } },
    });
    await expect(misconfigured).rejects.toMatchObject({ code: 'ERR_KEY', message: expect.stringContaining('every TTP needs a database of its own') });
    // Nothing was left half-open: the marketplace starts again as configured.
    market = await start();
    expect(market.ttps).toHaveLength(3);
  });
});
