/**
 * Where the merchant kit keeps its deals, of every kind, in one table: per deal its kind
 * (purchase, exchange), the machine's JSON state, the columns the host queries (phase, when its
 * timer is due, whether a test fault halted it) and a version counter for the compare-and-set of
 * the one host step (server/host/step.ts). A new kind of deal is one more value of `kind`.
 *
 * The SQL implementation (SqlMerchantDealStore) is what the demo shop uses, written once with
 * kysely for both engines of server/storage/database.ts: embedded SQLite (the shop's file, the
 * default) or PostgreSQL (SEMPER_DATABASE_URL), which several shop processes may share. Every
 * write is one statement, so it is atomic on both engines without a transaction: the first write of
 * a deal is `INSERT … ON CONFLICT (deal_id) DO NOTHING` (the primary key decides which of two
 * concurrent first writes stands), every later one a compare-and-set `UPDATE … WHERE version = ?`
 * (on PostgreSQL a concurrent UPDATE waits for the row and then re-checks the version, so of two
 * writers at one version exactly one succeeds). Verdicts are append-only by trigger on both.
 * The memory store is for kits mounted in tests and in hosts that keep nothing. Another host can
 * implement the interface over its own database.
 *
 * Schema history (component 'merchant'): version 1 is the purchase table of the first release;
 * version 2 makes it the table of every kind and moves the exchange deals of the release after
 * it (`merchant_exchanges`, component 'merchant-exchange') into it, so an installed shop keeps
 * its deals; version 3 admits the kind 'fair-purchase' (goods for money, fair-purchase.ts);
 * version 4 adds `merchant_verdicts`, the arbiter's verdicts on the merchant's complaints
 * (disputes.ts), append-only like the arbiter's own; version 5 indexes the deals by creation time
 * and by phase and creation time, for the operator's listing (`GET /semper/deals`, DealListQuery).
 * PostgreSQL starts at the version-5 layout (MERCHANT_POSTGRES_MIGRATIONS), with an identity column
 * `seq` where SQLite orders by its rowid.
 */
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import type { Machine } from '../../core/machine.js';
import type { StateStore, StoredState } from '../host/step.js';
import type { StoredDispute } from './disputes.js';
import { sql } from 'kysely';
import { appendOnlyPostgres, Database, firstOf, migratePostgres, type PostgresMigration, rowsOf } from '../storage/database.js';
import { hasTable, parseStoredJson, supersedeComponent, type MigrationSet, type SqliteDatabase, type SqliteStore } from '../storage/sqlite.js';

export const DEAL_KINDS = ['purchase', 'exchange', 'fair-purchase'] as const;
export type DealKind = (typeof DEAL_KINDS)[number];

export interface StoredDeal<S = unknown> {
  dealId: string;
  kind: DealKind;
  phase: string;
  state: S;
  /** Incremented on every write: the compare-and-set token. */
  version: number;
  /** A test fault stopped this deal: it takes no more events and runs no timers. */
  halted: boolean;
  /** When the deal's timer is due (epoch ms), null if it has none. */
  wakeAt: number | null;
  createdAt: string;
  updatedAt: string;
}

/** What a write stores: the state and the columns derived from it. */
export interface DealWrite {
  kind: DealKind;
  phase: string;
  wakeAt: number | null;
  halted: boolean;
  state: unknown;
}

/**
 * The operator's listing of deals (GET /semper/deals?kind=&phase=&from=&to=&limit=): newest first,
 * by kind, by the machine's phase, created within [from, to]; at most `limit` (default 100, ≤ 500).
 * Nothing but these parameters (a query string is text: the limit is read as a number).
 */
export const DealListQuery = z.strictObject({
  kind: z.enum(DEAL_KINDS).optional(),
  phase: z
    .string()
    .regex(/^[a-z][a-z-]{0,39}$/, 'a phase is lower-case words joined by "-"')
    .optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DealListQuery = z.infer<typeof DealListQuery>;

/** A deal in the operator's listing: its columns, not its state (GET /semper/deals/:dealId has that). */
export interface DealListing {
  dealId: string;
  kind: DealKind;
  phase: string;
  halted: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Stored instants are UTC ISO strings (toISOString), so they compare as text once the bounds are too. */
const utc = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso).toISOString());

export interface MerchantDealStore {
  get(dealId: string): Promise<StoredDeal | undefined>;
  /** Write iff the deal is still at `expectedVersion` (null: only if the deal id is free, the first write); false if not. */
  put(dealId: string, expectedVersion: number | null, write: DealWrite): Promise<boolean>;
  /** Deals not halted whose timer is due at `now`, earliest first, at most `limit`. */
  due(now: number, limit: number): Promise<{ dealId: string; kind: DealKind }[]>;
  /** Keep a verdict on the merchant's complaint with its deal (the same verdict again is kept once). Optional: a store without it does not keep verdicts. */
  addDispute?(dispute: StoredDispute): Promise<void>;
  /** The deal's verdicts, oldest first. */
  disputes?(dealId: string): Promise<StoredDispute[]>;
  /** The operator's listing (DealListQuery). Optional: a store without it cannot list. */
  list?(query: DealListQuery): Promise<DealListing[]>;
}

/**
 * One kind's view of the store, as the host step wants it: states of that kind only (a deal id
 * taken by another kind is a replay), validated by `decode` when read, with phase and timer
 * columns derived from the state by the kind's machine.
 */
export function dealsOfKind<S extends { phase: string }>(
  deals: MerchantDealStore,
  kind: DealKind,
  machine: Pick<Machine<S, never, never, never, never, never>, 'wakeAt' | 'isTerminal'>,
  decode: (dealId: string, value: unknown) => S,
): StateStore<S> {
  return {
    async get(dealId): Promise<StoredState<S> | undefined> {
      const deal = await deals.get(dealId);
      if (!deal) return undefined;
      if (deal.kind !== kind) throw new SemperError('ERR_REPLAY', `deal ${dealId} is already taken by a ${deal.kind} deal`);
      return { state: decode(dealId, deal.state), version: deal.version, halted: deal.halted };
    },
    put(dealId, expectedVersion, state, options) {
      const wakeAt = machine.isTerminal(state) ? null : machine.wakeAt(state);
      return deals.put(dealId, expectedVersion, { kind, phase: state.phase, wakeAt, halted: options?.halt ?? false, state });
    },
  };
}

const V1_PURCHASES = `
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
`;

const V2_ALL_KINDS = `
  CREATE TABLE merchant_deals (
    deal_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('purchase', 'exchange')),
    phase TEXT NOT NULL,
    wake_at INTEGER,
    halted INTEGER NOT NULL DEFAULT 0 CHECK (halted IN (0, 1)),
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX merchant_deals_due ON merchant_deals (wake_at) WHERE wake_at IS NOT NULL AND halted = 0;
`;

interface LegacyExchangeRow {
  deal_id: string;
  use: string;
  phase: string;
  wake_at: number | null;
  stopped: number;
  descriptor: string;
  state: string;
  version: number;
  created_at: string;
  updated_at: string;
}

function migrateToAllKinds(db: SqliteDatabase): void {
  db.exec('ALTER TABLE merchant_deals RENAME TO merchant_deals_v1');
  db.exec(V2_ALL_KINDS);
  db.exec(`INSERT INTO merchant_deals (deal_id, kind, phase, wake_at, halted, state, version, created_at, updated_at)
           SELECT deal_id, 'purchase', phase, NULL, 0, state, version, created_at, updated_at FROM merchant_deals_v1 ORDER BY rowid`);
  db.exec('DROP TABLE merchant_deals_v1');
  if (!hasTable(db, 'merchant_exchanges')) return;
  // An exchange deal's state is now the exchange-merchant machine's: the descriptor and the responder together.
  const insert = db.prepare(
    `INSERT INTO merchant_deals (deal_id, kind, phase, wake_at, halted, state, version, created_at, updated_at)
     VALUES (?, 'exchange', 'responding', ?, ?, ?, ?, ?, ?) ON CONFLICT (deal_id) DO NOTHING`,
  );
  const moved = db.prepare('DELETE FROM merchant_exchanges WHERE deal_id = ?');
  for (const row of db.prepare<[], LegacyExchangeRow>('SELECT * FROM merchant_exchanges ORDER BY rowid').all()) {
    const state = {
      phase: 'responding',
      dealId: row.deal_id,
      use: row.use,
      descriptor: parseStoredJson(row.descriptor, `descriptor of exchange ${row.deal_id}`),
      responder: parseStoredJson(row.state, `state of exchange ${row.deal_id}`),
    };
    const wakeAt = row.phase === 'done' ? null : row.wake_at;
    const result = insert.run(row.deal_id, wakeAt, row.stopped ? 1 : 0, JSON.stringify(state), row.version, row.created_at, row.updated_at);
    if (result.changes === 1) moved.run(row.deal_id);
  }
  // Purchases and exchanges had separate deal ids until now: an exchange whose id a purchase also
  // used cannot share the one table. It is kept, not lost, in a table of its own for the operator.
  const left = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM merchant_exchanges').get()!.n;
  db.exec(left === 0 ? 'DROP TABLE merchant_exchanges' : 'ALTER TABLE merchant_exchanges RENAME TO merchant_exchanges_unmigrated');
  supersedeComponent(db, 'merchant-exchange', 'exchange deals moved into merchant_deals (merchant version 2)');
}

/** SQLite cannot change a CHECK constraint: the table is rebuilt with every row, in one migration transaction. */
function admitFairPurchases(db: SqliteDatabase): void {
  db.exec('ALTER TABLE merchant_deals RENAME TO merchant_deals_v2');
  db.exec('DROP INDEX merchant_deals_due');
  db.exec(V2_ALL_KINDS.replace("CHECK (kind IN ('purchase', 'exchange'))", "CHECK (kind IN ('purchase', 'exchange', 'fair-purchase'))"));
  db.exec(`INSERT INTO merchant_deals (deal_id, kind, phase, wake_at, halted, state, version, created_at, updated_at)
           SELECT deal_id, kind, phase, wake_at, halted, state, version, created_at, updated_at FROM merchant_deals_v2 ORDER BY rowid`);
  db.exec('DROP TABLE merchant_deals_v2');
}

const V4_VERDICTS = `
  CREATE TABLE merchant_verdicts (
    verdict_digest TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL,
    claim TEXT NOT NULL,
    decision TEXT NOT NULL,
    rule TEXT NOT NULL,
    complaint_digest TEXT NOT NULL,
    complaint TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX merchant_verdicts_deal ON merchant_verdicts (deal_id);
  CREATE TRIGGER merchant_verdicts_no_update BEFORE UPDATE ON merchant_verdicts BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;
  CREATE TRIGGER merchant_verdicts_no_delete BEFORE DELETE ON merchant_verdicts BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;
`;

const V5_LISTING = `
  CREATE INDEX merchant_deals_created ON merchant_deals (created_at);
  CREATE INDEX merchant_deals_phase_created ON merchant_deals (phase, created_at);
`;

export const MERCHANT_DEALS_SCHEMA: MigrationSet = {
  component: 'merchant',
  migrations: [
    { version: 1, description: 'merchant deal states', up: V1_PURCHASES },
    { version: 2, description: 'one table for every kind of deal (purchases and exchanges)', up: migrateToAllKinds },
    { version: 3, description: 'deals of the kind fair-purchase (goods for money)', up: admitFairPurchases },
    { version: 4, description: "the arbiter's verdicts on the merchant's complaints", up: V4_VERDICTS },
    { version: 5, description: 'deals indexed by creation time, and by phase and creation time (the operator listing)', up: V5_LISTING },
  ],
};

interface DealRow {
  deal_id: string;
  kind: string;
  phase: string;
  wake_at: number | null;
  halted: number;
  state: string;
  version: number;
  created_at: string;
  updated_at: string;
}

function isKind(kind: string): kind is DealKind {
  return (DEAL_KINDS as readonly string[]).includes(kind);
}

function decodeRow(row: DealRow): StoredDeal {
  if (!isKind(row.kind)) throw new SemperError('ERR_INTERNAL', `stored deal ${row.deal_id} is of an unknown kind ${row.kind}`);
  return {
    dealId: row.deal_id,
    kind: row.kind,
    phase: row.phase,
    state: parseStoredJson(row.state, `state of deal ${row.deal_id}`),
    version: row.version,
    halted: row.halted === 1,
    wakeAt: row.wake_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The same tables on PostgreSQL, at SQLite's version 5: BIGINT for the timer and the version, `seq`
 * (an identity) where SQLite's queries use its rowid for insertion order, creation times compared
 * byte-wise (COLLATE "C": ISO instants sort as text), and the listing indexes ending in `seq` so
 * that the listing's tie-break is read from the index too.
 */
export const MERCHANT_POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'merchant: deals of every kind, the arbiter’s verdicts (append-only), the listing indexes (SQLite schema version 5)',
    up: `
      CREATE TABLE merchant_deals (
        deal_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('purchase', 'exchange', 'fair-purchase')),
        phase TEXT NOT NULL,
        wake_at BIGINT,
        halted INTEGER NOT NULL DEFAULT 0 CHECK (halted IN (0, 1)),
        state TEXT NOT NULL,
        version BIGINT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
      );
      CREATE INDEX merchant_deals_due ON merchant_deals (wake_at) WHERE wake_at IS NOT NULL AND halted = 0;
      CREATE INDEX merchant_deals_created ON merchant_deals (created_at, seq);
      CREATE INDEX merchant_deals_phase_created ON merchant_deals (phase, created_at, seq);
      CREATE TABLE merchant_verdicts (
        verdict_digest TEXT PRIMARY KEY,
        deal_id TEXT NOT NULL,
        claim TEXT NOT NULL,
        decision TEXT NOT NULL,
        rule TEXT NOT NULL,
        complaint_digest TEXT NOT NULL,
        complaint TEXT NOT NULL,
        verdict TEXT NOT NULL,
        created_at TEXT NOT NULL,
        seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
      );
      CREATE INDEX merchant_verdicts_deal ON merchant_verdicts (deal_id, seq);
      ${appendOnlyPostgres('merchant_verdicts')}`,
  },
];

const DEAL_COLUMNS = sql`deal_id, kind, phase, wake_at, halted, state, version, created_at, updated_at`;

/**
 * The merchant kit's deals in a party's database, SQLite or PostgreSQL (the module comment): the
 * SQL once, for both. Closing it closes its Database (SqliteMerchantDealStore leaves the file to
 * its owner).
 */
export class SqlMerchantDealStore implements MerchantDealStore {
  constructor(
    readonly database: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Insertion order: SQLite's rowid, PostgreSQL's identity column. */
  private get insertionOrder() {
    return sql.raw(this.database.engine === 'sqlite' ? 'rowid' : 'seq');
  }

  async get(dealId: string): Promise<StoredDeal | undefined> {
    const row = await firstOf(this.database.db, sql<DealRow>`SELECT ${DEAL_COLUMNS} FROM merchant_deals WHERE deal_id = ${dealId}`);
    return row ? decodeRow(row) : undefined;
  }

  async put(dealId: string, expectedVersion: number | null, write: DealWrite): Promise<boolean> {
    const at = new Date(this.clock()).toISOString();
    const state = JSON.stringify(write.state);
    const halted = write.halted ? 1 : 0;
    const written =
      expectedVersion === null
        ? sql<{ deal_id: string }>`INSERT INTO merchant_deals (deal_id, kind, phase, wake_at, halted, state, version, created_at, updated_at)
            VALUES (${dealId}, ${write.kind}, ${write.phase}, ${write.wakeAt}, ${halted}, ${state}, 1, ${at}, ${at})
            ON CONFLICT (deal_id) DO NOTHING RETURNING deal_id`
        : sql<{ deal_id: string }>`UPDATE merchant_deals SET phase = ${write.phase}, wake_at = ${write.wakeAt}, halted = ${halted}, state = ${state},
              version = version + 1, updated_at = ${at}
            WHERE deal_id = ${dealId} AND kind = ${write.kind} AND version = ${expectedVersion} RETURNING deal_id`;
    return (await rowsOf(this.database.db, written)).length === 1;
  }

  async due(now: number, limit: number): Promise<{ dealId: string; kind: DealKind }[]> {
    const rows = await rowsOf(
      this.database.db,
      sql<{ deal_id: string; kind: string }>`SELECT deal_id, kind FROM merchant_deals
        WHERE wake_at IS NOT NULL AND wake_at <= ${now} AND halted = 0 ORDER BY wake_at LIMIT ${limit}`,
    );
    return rows.flatMap((r) => (isKind(r.kind) ? [{ dealId: r.deal_id, kind: r.kind }] : []));
  }

  async list(query: DealListQuery): Promise<DealListing[]> {
    const where = [
      ...(query.kind ? [sql`kind = ${query.kind}`] : []),
      ...(query.phase ? [sql`phase = ${query.phase}`] : []),
      ...(query.from ? [sql`created_at >= ${utc(query.from)}`] : []),
      ...(query.to ? [sql`created_at <= ${utc(query.to)}`] : []),
    ];
    const rows = await rowsOf(
      this.database.db,
      sql<Omit<DealRow, 'state' | 'version' | 'wake_at'>>`SELECT deal_id, kind, phase, halted, created_at, updated_at FROM merchant_deals
        ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
        ORDER BY created_at DESC, ${this.insertionOrder} DESC LIMIT ${query.limit}`,
    );
    return rows.flatMap((r) =>
      isKind(r.kind) ? [{ dealId: r.deal_id, kind: r.kind, phase: r.phase, halted: r.halted === 1, createdAt: r.created_at, updatedAt: r.updated_at }] : [],
    );
  }

  async addDispute(d: StoredDispute): Promise<void> {
    await sql`INSERT INTO merchant_verdicts (verdict_digest, deal_id, claim, decision, rule, complaint_digest, complaint, verdict, created_at)
      VALUES (${d.verdictDigest}, ${d.dealId}, ${d.claim}, ${d.decision}, ${d.rule}, ${d.complaintDigest}, ${JSON.stringify(d.complaint)},
        ${JSON.stringify(d.verdict)}, ${d.createdAt})
      ON CONFLICT (verdict_digest) DO NOTHING`.execute(this.database.db);
  }

  async disputes(dealId: string): Promise<StoredDispute[]> {
    const rows = await rowsOf(
      this.database.db,
      sql<VerdictRow>`SELECT verdict_digest, deal_id, claim, decision, rule, complaint_digest, complaint, verdict, created_at
        FROM merchant_verdicts WHERE deal_id = ${dealId} ORDER BY ${this.insertionOrder}`,
    );
    return rows.map((r) => ({
      dealId: r.deal_id,
      claim: r.claim as StoredDispute['claim'],
      decision: r.decision as StoredDispute['decision'],
      rule: r.rule,
      complaintDigest: r.complaint_digest,
      verdictDigest: r.verdict_digest,
      complaint: parseStoredJson(r.complaint, `complaint of deal ${r.deal_id}`) as StoredDispute['complaint'],
      verdict: parseStoredJson(r.verdict, `verdict of deal ${r.deal_id}`) as StoredDispute['verdict'],
      createdAt: r.created_at,
    }));
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}

/**
 * The deals in a party's SQLite file (the file must include MERCHANT_DEALS_SCHEMA), over the
 * file's own connection: the file's owner closes it, `close` here does nothing.
 */
export class SqliteMerchantDealStore extends SqlMerchantDealStore {
  constructor(store: SqliteStore, clock?: () => number) {
    super(Database.sqlite(store.db), clock);
  }

  override async close(): Promise<void> {}
}

/** The deals in PostgreSQL (`postgres://…`, a schema of the URL's search_path): migrated on open; several shop processes may share it. */
export async function openPostgresMerchantDeals(url: string, clock?: () => number): Promise<SqlMerchantDealStore> {
  const database = Database.postgres(url);
  try {
    await migratePostgres(database, 'merchant', MERCHANT_POSTGRES_MIGRATIONS);
  } catch (e) {
    await database.close();
    throw e;
  }
  return new SqlMerchantDealStore(database, clock);
}

interface VerdictRow {
  verdict_digest: string;
  deal_id: string;
  claim: string;
  decision: string;
  rule: string;
  complaint_digest: string;
  complaint: string;
  verdict: string;
  created_at: string;
}

/** Deals in memory, stored as JSON text so that nothing a caller holds aliases what is stored. */
export class MemoryMerchantDealStore implements MerchantDealStore {
  private readonly deals = new Map<string, Omit<StoredDeal, 'state'> & { state: string }>();

  constructor(private readonly clock: () => number = Date.now) {}

  get size(): number {
    return this.deals.size;
  }

  async get(dealId: string): Promise<StoredDeal | undefined> {
    const deal = this.deals.get(dealId);
    return deal ? { ...deal, state: JSON.parse(deal.state) as unknown } : undefined;
  }

  async put(dealId: string, expectedVersion: number | null, write: DealWrite): Promise<boolean> {
    const existing = this.deals.get(dealId);
    const at = new Date(this.clock()).toISOString();
    if (expectedVersion === null ? existing !== undefined : existing?.kind !== write.kind || existing.version !== expectedVersion) return false;
    const { kind, phase, wakeAt, halted } = write;
    this.deals.set(dealId, {
      dealId,
      kind,
      phase,
      wakeAt,
      halted,
      state: JSON.stringify(write.state),
      version: (existing?.version ?? 0) + 1,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    });
    return true;
  }

  async due(now: number, limit: number): Promise<{ dealId: string; kind: DealKind }[]> {
    return [...this.deals.values()]
      .filter((d) => !d.halted && d.wakeAt !== null && d.wakeAt <= now)
      .sort((a, b) => a.wakeAt! - b.wakeAt!)
      .slice(0, limit)
      .map((d) => ({ dealId: d.dealId, kind: d.kind }));
  }

  async list(query: DealListQuery): Promise<DealListing[]> {
    const from = utc(query.from);
    const to = utc(query.to);
    return [...this.deals.values()]
      .filter(
        (d) =>
          (!query.kind || d.kind === query.kind) && (!query.phase || d.phase === query.phase) && (!from || d.createdAt >= from) && (!to || d.createdAt <= to),
      )
      .reverse()
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, query.limit)
      .map(({ dealId, kind, phase, halted, createdAt, updatedAt }) => ({ dealId, kind, phase, halted, createdAt, updatedAt }));
  }

  private readonly verdicts: string[] = [];

  async addDispute(d: StoredDispute): Promise<void> {
    if (!this.verdicts.some((v) => (JSON.parse(v) as StoredDispute).verdictDigest === d.verdictDigest)) this.verdicts.push(JSON.stringify(d));
  }

  async disputes(dealId: string): Promise<StoredDispute[]> {
    return this.verdicts.map((v) => JSON.parse(v) as StoredDispute).filter((d) => d.dealId === dealId);
  }
}
