/**
 * Where the merchant kit keeps its per-deal state machine states. The kit only needs three
 * operations; the SQLite implementation below is what the demo shop uses, another host can
 * implement the interface over its own database.
 */
import { SemperError } from '../../core/errors.js';
import type { MerchantDealState } from '../../core/commerce/merchant.js';
import { parseStoredJson, type MigrationSet, type SqliteStore } from '../storage/sqlite.js';

export interface StoredDeal {
  dealId: string;
  state: MerchantDealState;
  /** Incremented on every update: the compare-and-set token of `updateDeal`. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface MerchantDealStore {
  /** Store a new deal; false (and nothing written) if the deal id is already taken. */
  insertDeal(dealId: string, state: MerchantDealState): Promise<boolean>;
  getDeal(dealId: string): Promise<StoredDeal | undefined>;
  /** Replace the state iff it is still at `expectedVersion`; false if someone else updated it first. */
  updateDeal(dealId: string, expectedVersion: number, state: MerchantDealState): Promise<boolean>;
}

export const MERCHANT_SCHEMA: MigrationSet = {
  component: 'merchant',
  migrations: [
    {
      version: 1,
      description: 'merchant deal states',
      up: `
        CREATE TABLE merchant_deals (
          deal_id TEXT PRIMARY KEY,
          phase TEXT NOT NULL,
          offer_digest TEXT NOT NULL,
          order_digest TEXT,
          state TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX merchant_deals_order ON merchant_deals (order_digest) WHERE order_digest IS NOT NULL;
      `,
    },
  ],
};

interface DealRow {
  deal_id: string;
  state: string;
  version: number;
  created_at: string;
  updated_at: string;
}

function decodeState(row: DealRow): MerchantDealState {
  const value = parseStoredJson(row.state, `state of deal ${row.deal_id}`);
  // Our own rows, but a hand-edited or truncated file must not be acted on as if it were sound.
  if (
    typeof value !== 'object' ||
    value === null ||
    !('phase' in value) ||
    (value.phase !== 'offered' && value.phase !== 'confirmed') ||
    !('dealId' in value) ||
    value.dealId !== row.deal_id
  ) {
    throw new SemperError('ERR_INTERNAL', `stored state of deal ${row.deal_id} is not a merchant deal state`);
  }
  return value as MerchantDealState;
}

function orderDigestOf(state: MerchantDealState): string | null {
  return state.phase === 'confirmed' ? state.orderDigest : null;
}

/** The merchant kit's tables in a party's SQLite file (the file must include MERCHANT_SCHEMA). */
export class SqliteMerchantDealStore implements MerchantDealStore {
  constructor(
    private readonly store: SqliteStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async insertDeal(dealId: string, state: MerchantDealState): Promise<boolean> {
    const at = new Date(this.clock()).toISOString();
    return this.store.immediate(() => {
      const result = this.store.db
        .prepare(
          `INSERT INTO merchant_deals (deal_id, phase, offer_digest, order_digest, state, version, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (deal_id) DO NOTHING`,
        )
        .run(dealId, state.phase, state.offerDigest, orderDigestOf(state), JSON.stringify(state), at, at);
      return result.changes === 1;
    });
  }

  async getDeal(dealId: string): Promise<StoredDeal | undefined> {
    const row = this.store.db
      .prepare<[string], DealRow>('SELECT deal_id, state, version, created_at, updated_at FROM merchant_deals WHERE deal_id = ?')
      .get(dealId);
    if (!row) return undefined;
    return { dealId: row.deal_id, state: decodeState(row), version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  async updateDeal(dealId: string, expectedVersion: number, state: MerchantDealState): Promise<boolean> {
    if (state.dealId !== dealId) throw new SemperError('ERR_INTERNAL', 'state belongs to another deal');
    const at = new Date(this.clock()).toISOString();
    return this.store.immediate(() => {
      const result = this.store.db
        .prepare(
          `UPDATE merchant_deals SET phase = ?, order_digest = ?, state = ?, version = version + 1, updated_at = ?
           WHERE deal_id = ? AND version = ?`,
        )
        .run(state.phase, orderDigestOf(state), JSON.stringify(state), at, dealId, expectedVersion);
      return result.changes === 1;
    });
  }
}
