/**
 * Where the merchant kit keeps its exchange deals: per deal the signed descriptor it issued and
 * the responder machine's JSON state (core/exchange), replaced after every step with a
 * compare-and-set on a version counter, like merchant deals (store.ts).
 */
import { SemperError } from '../../core/errors.js';
import type { ExchangeState } from '../../core/exchange/index.js';
import type { DescriptorBody, ExchangeUse } from '../../core/commerce/exchange-deal.js';
import type { Statement } from '../../core/statements/index.js';
import { parseStoredJson, type MigrationSet, type SqliteStore } from '../storage/sqlite.js';

export interface StoredExchange {
  dealId: string;
  use: ExchangeUse;
  descriptor: Statement<DescriptorBody>;
  state: ExchangeState;
  /** A test fault stopped this exchange: the merchant answers nothing more and runs no timers. */
  stopped: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface MerchantExchangeStore {
  insert(dealId: string, use: ExchangeUse, descriptor: Statement<DescriptorBody>, state: ExchangeState): Promise<boolean>;
  get(dealId: string): Promise<StoredExchange | undefined>;
  /** Replace the state iff still at `expectedVersion`. */
  update(dealId: string, expectedVersion: number, state: ExchangeState, stopped?: boolean): Promise<boolean>;
  /** Unfinished, not stopped exchanges whose timer is due at `now`. */
  due(now: number): Promise<string[]>;
}

export const MERCHANT_EXCHANGE_SCHEMA: MigrationSet = {
  component: 'merchant-exchange',
  migrations: [
    {
      version: 1,
      description: 'merchant exchange deals (descriptor + responder state)',
      up: `
        CREATE TABLE merchant_exchanges (
          deal_id TEXT PRIMARY KEY,
          use TEXT NOT NULL,
          phase TEXT NOT NULL,
          exchange_id TEXT,
          wake_at INTEGER,
          stopped INTEGER NOT NULL DEFAULT 0,
          descriptor TEXT NOT NULL,
          state TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX merchant_exchanges_due ON merchant_exchanges (wake_at) WHERE phase <> 'done' AND stopped = 0;
      `,
    },
  ],
};

interface Row {
  deal_id: string;
  use: string;
  descriptor: string;
  state: string;
  stopped: number;
  version: number;
  created_at: string;
  updated_at: string;
}

function decode(row: Row): StoredExchange {
  const state = parseStoredJson(row.state, `exchange state of deal ${row.deal_id}`) as ExchangeState;
  const descriptor = parseStoredJson(row.descriptor, `descriptor of deal ${row.deal_id}`) as Statement<DescriptorBody>;
  if (!state || typeof state !== 'object' || state.v !== 1 || state.dealId !== row.deal_id || state.role !== 'responder') {
    throw new SemperError('ERR_INTERNAL', `stored exchange of deal ${row.deal_id} is not a responder state`);
  }
  if (row.use !== 'certified-mail' && row.use !== 'contract-signing') throw new SemperError('ERR_INTERNAL', `stored exchange of deal ${row.deal_id} has an unknown use`);
  return {
    dealId: row.deal_id,
    use: row.use,
    descriptor,
    state,
    stopped: row.stopped === 1,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class SqliteMerchantExchangeStore implements MerchantExchangeStore {
  constructor(
    private readonly store: SqliteStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async insert(dealId: string, use: ExchangeUse, descriptor: Statement<DescriptorBody>, state: ExchangeState): Promise<boolean> {
    const at = new Date(this.clock()).toISOString();
    return this.store.immediate(() => {
      const result = this.store.db
        .prepare(
          `INSERT INTO merchant_exchanges (deal_id, use, phase, exchange_id, wake_at, stopped, descriptor, state, version, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 0, ?, ?, 1, ?, ?) ON CONFLICT (deal_id) DO NOTHING`,
        )
        .run(dealId, use, state.phase, state.exchangeId, state.wakeAt, JSON.stringify(descriptor), JSON.stringify(state), at, at);
      return result.changes === 1;
    });
  }

  async get(dealId: string): Promise<StoredExchange | undefined> {
    const row = this.store.db
      .prepare<[string], Row>('SELECT deal_id, use, descriptor, state, stopped, version, created_at, updated_at FROM merchant_exchanges WHERE deal_id = ?')
      .get(dealId);
    return row ? decode(row) : undefined;
  }

  async update(dealId: string, expectedVersion: number, state: ExchangeState, stopped = false): Promise<boolean> {
    if (state.dealId !== dealId) throw new SemperError('ERR_INTERNAL', 'state belongs to another deal');
    const at = new Date(this.clock()).toISOString();
    return this.store.immediate(() => {
      const result = this.store.db
        .prepare(
          `UPDATE merchant_exchanges SET phase = ?, exchange_id = ?, wake_at = ?, stopped = ?, state = ?, version = version + 1, updated_at = ?
           WHERE deal_id = ? AND version = ?`,
        )
        .run(state.phase, state.exchangeId, state.wakeAt, stopped ? 1 : 0, JSON.stringify(state), at, dealId, expectedVersion);
      return result.changes === 1;
    });
  }

  async due(now: number): Promise<string[]> {
    return this.store.db
      .prepare<[number], { deal_id: string }>("SELECT deal_id FROM merchant_exchanges WHERE phase <> 'done' AND stopped = 0 AND wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at LIMIT 100")
      .all(now)
      .map((r) => r.deal_id);
  }
}
