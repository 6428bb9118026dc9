/**
 * The merchant kit's deal store on each engine (issue 10): the shop's SQLite file, or a PostgreSQL
 * schema of the run's cluster (test/helpers/engines.ts). each `open` gives another store on the same
 * database — another shop process — and everything opened is closed by `close`.
 */
import { MERCHANT_DEALS_SCHEMA, openPostgresMerchantDeals, SqliteMerchantDealStore, type SqlMerchantDealStore } from '../../server/merchant/index.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { type EngineName, pgSchema } from '../helpers/engines.js';
import { tempDataDir } from './helpers.js';

export interface DealStores {
  open(clock?: () => number): Promise<SqlMerchantDealStore>;
  /** The SQLite file of the first store opened (SQLite only: query plans, direct SQL). */
  readonly sqlite: SqliteStore | undefined;
  close(): Promise<void>;
}

export async function dealStores(engine: EngineName, label = 'kit'): Promise<DealStores> {
  const opened: { close(): unknown }[] = [];
  let open: DealStores['open'];
  let sqlite: SqliteStore | undefined;
  const tmp = tempDataDir(`${label}-${engine}`);
  if (engine === 'sqlite') {
    open = async (clock) => {
      const file = SqliteStore.open({ dataDir: tmp.dir, fileName: 'shop.sqlite', schema: [MERCHANT_DEALS_SCHEMA] });
      sqlite ??= file;
      opened.push(file);
      return new SqliteMerchantDealStore(file, clock);
    };
  } else {
    const url = await pgSchema(label.replace(/[^a-z]/g, '') || 'kit');
    open = async (clock) => {
      const store = await openPostgresMerchantDeals(url, clock);
      opened.push(store);
      return store;
    };
  }
  const stores: DealStores = {
    open,
    get sqlite() {
      return sqlite;
    },
    close: async () => {
      for (const o of opened.splice(0).reverse()) await o.close();
      tmp.remove();
    },
  };
  return stores;
}
