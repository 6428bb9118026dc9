/**
 * `npm start` with SEMPER_DATABASE_URL (here: one schema per party, as SEMPER_CA_DATABASE_URL and
 * SEMPER_SHOP_DATABASE_URL would give): the marketplace's CA keeps its register and the shop's
 * merchant kit its deals in PostgreSQL, the identities stay in the data directory, and a restart
 * finds both. Runs when the test run has PostgreSQL.
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
  let urls: { ca: string; shop: string };
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
    urls = { ca: await pgSchema('mca'), shop: await pgSchema('mshop') };
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
});
