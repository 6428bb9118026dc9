/**
 * The TTP's records, on embedded SQLite (the default) or PostgreSQL (server/storage/database.ts),
 * as the state store of its machine (core/exchange
 * ttp.ts, run by the one host step, server/host/step.ts). One row per exchange, keyed by the
 * exchange id (PRIMARY KEY, so UNIQUE): a decision is inserted only if the exchange has none, and
 * the row is never updated or deleted (triggers refuse both). Whatever raced, the first row wins:
 * the loser's insert reports false, and the host steps again on the winner's record and answers
 * with it. The row is on disk (WAL, synchronous=FULL) before the answer leaves, so nothing decided
 * is lost across a restart. On PostgreSQL the same holds for any number of TTP processes sharing
 * the database: the insert is one statement, `INSERT … ON CONFLICT DO NOTHING RETURNING`, the
 * primary key decides which process's decision stands, and the others read it back.
 *
 * The SQL is written once (kysely, TTP_SQL below); on SQLite the writer thread runs the compiled
 * insert on its own connection.
 *
 * Group commit with bounded latency: the inserts are committed by a writer thread (worker_threads,
 * its own connection to the file), so the fsync never holds the event loop, where the TTP verifies
 * and signs meanwhile. While one transaction commits, new decisions queue; the next transaction
 * takes all of them (at most MAX_BATCH) as soon as the previous one is on disk. So a decision waits
 * for at most the commit in flight and its own, and no `put` resolves (no answer leaves) before its
 * row is committed. An in-memory database (tests) has no file a second connection could open: it
 * commits on the event loop, each turn's decisions in one transaction.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite from 'better-sqlite3';
import type { Insertable, Kysely } from 'kysely';
import { SemperError } from '../../core/errors.js';
import { parseTtpRecord, type TtpRecord, type TtpState } from '../../core/exchange/ttp.js';
import type { StateStore, StoredState } from '../host/step.js';
import { appendOnlyPostgres, Database, migratePostgres } from '../storage/database.js';
import { openSqliteFile } from '../storage/sqlite.js';

/** Any store of TTP states: the host writes a state only when it holds a new decision. */
export interface TtpRecordStore extends StateStore<TtpState> {
  /**
   * Bind the store to the TTP key whose decisions it keeps (the first key to claim it), or throw
   * ERR_KEY for another key: two TTPs of one k-of-n set on one database would each answer with
   * the other's decisions, so their independence is checked where it could silently be lost.
   */
  claim?(keyId: string): Promise<void>;
  close?(): void | Promise<void>;
}

interface TtpTables {
  /** One row: the key of the TTP whose decisions these are. */
  ttp_owner: { id: number; key_id: string };
  ttp_exchanges: {
    exchange_id: string;
    deal_id: string;
    protocol: string;
    decision: string;
    decided_at: number;
    decided_by: string;
    record: string;
  };
}

type ExchangeRow = Insertable<TtpTables['ttp_exchanges']>;

/** The queries, once, for both engines. */
const TTP_SQL = {
  insert: (db: Kysely<TtpTables>, row: ExchangeRow) =>
    db
      .insertInto('ttp_exchanges')
      .values(row)
      .onConflict((oc) => oc.column('exchange_id').doNothing())
      .returning('exchange_id'),
  select: (db: Kysely<TtpTables>, exchangeId: string) => db.selectFrom('ttp_exchanges').select('record').where('exchange_id', '=', exchangeId),
  claim: (db: Kysely<TtpTables>, keyId: string) =>
    db
      .insertInto('ttp_owner')
      .values({ id: 1, key_id: keyId })
      .onConflict((oc) => oc.column('id').doNothing()),
  owner: (db: Kysely<TtpTables>) => db.selectFrom('ttp_owner').select('key_id').where('id', '=', 1),
  counts: (db: Kysely<TtpTables>) =>
    db
      .selectFrom('ttp_exchanges')
      .select(['decision', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('decision'),
};

const rowOf = (r: TtpRecord): ExchangeRow => ({
  exchange_id: r.exchangeId,
  deal_id: r.dealId,
  protocol: r.protocol,
  decision: r.decision,
  decided_at: r.decidedAt,
  decided_by: r.decidedBy,
  record: JSON.stringify(r),
});

/** The row's values in the order of the compiled insert's parameters (the writer thread binds them). */
const COLUMNS = ['exchange_id', 'deal_id', 'protocol', 'decision', 'decided_at', 'decided_by', 'record'] as const;
const valuesOf = (r: TtpRecord): unknown[] => {
  const row = rowOf(r);
  return COLUMNS.map((c) => row[c]);
};

const SQLITE_DDL = `
  CREATE TABLE IF NOT EXISTS ttp_exchanges (
    exchange_id TEXT PRIMARY KEY NOT NULL,
    deal_id     TEXT NOT NULL,
    protocol    TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('aborted', 'resolved')),
    decided_at  INTEGER NOT NULL,
    decided_by  TEXT NOT NULL,
    record      TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER IF NOT EXISTS ttp_exchanges_immutable BEFORE UPDATE ON ttp_exchanges
    BEGIN SELECT RAISE(ABORT, 'a TTP decision never changes'); END;
  CREATE TRIGGER IF NOT EXISTS ttp_exchanges_kept BEFORE DELETE ON ttp_exchanges
    BEGIN SELECT RAISE(ABORT, 'a TTP decision is never deleted'); END;
  CREATE TABLE IF NOT EXISTS ttp_owner (
    id     INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    key_id TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER IF NOT EXISTS ttp_owner_immutable BEFORE UPDATE ON ttp_owner
    BEGIN SELECT RAISE(ABORT, 'a TTP database never changes hands'); END;
  CREATE TRIGGER IF NOT EXISTS ttp_owner_kept BEFORE DELETE ON ttp_owner
    BEGIN SELECT RAISE(ABORT, 'a TTP database never changes hands'); END;`;

const POSTGRES_MIGRATIONS = [
  {
    version: 1,
    description: 'ttp: one decision per exchange, never updated or deleted',
    up: `
      CREATE TABLE ttp_exchanges (
        exchange_id TEXT PRIMARY KEY NOT NULL,
        deal_id     TEXT NOT NULL,
        protocol    TEXT NOT NULL,
        decision    TEXT NOT NULL CHECK (decision IN ('aborted', 'resolved')),
        decided_at  BIGINT NOT NULL,
        decided_by  TEXT NOT NULL,
        record      TEXT NOT NULL
      );
      ${appendOnlyPostgres('ttp_exchanges')}`,
  },
  {
    version: 2,
    description: 'ttp: the key whose decisions these are (one row, never changed)',
    up: `
      CREATE TABLE ttp_owner (
        id     INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
        key_id TEXT NOT NULL
      );
      ${appendOnlyPostgres('ttp_owner')}`,
  },
];

/** The first key to claim a TTP database owns it; any other is refused (TtpRecordStore.claim). */
async function claimFor(db: Kysely<TtpTables>, keyId: string): Promise<void> {
  await TTP_SQL.claim(db, keyId).execute();
  const owner = (await TTP_SQL.owner(db).executeTakeFirst())?.key_id;
  if (owner !== keyId) {
    throw new SemperError(
      'ERR_KEY',
      `this TTP database keeps the decisions of TTP key ${owner ?? '(none)'}, not of ${keyId}: every TTP needs a database of its own (docs/quorum.md)`,
    );
  }
}

/** Most decisions in one transaction: bounds a commit's time, and so every decision's wait. */
const MAX_BATCH = 256;

/** The writer thread: one connection, one IMMEDIATE transaction per batch, the insert results back. */
const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
const insert = db.prepare(workerData.insert);
const tx = db.transaction((rows) => rows.map((row) => insert.all(...row).length === 1));
parentPort.on('message', ({ id, rows }) => {
  try {
    parentPort.postMessage({ id, inserted: tx.immediate(rows) });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  record: TtpRecord;
  resolve: (inserted: boolean) => void;
  reject: (e: unknown) => void;
}

function checkPut(exchangeId: string, expectedVersion: number | null, state: TtpState): TtpRecord {
  if (expectedVersion !== null) throw new SemperError('ERR_INTERNAL', 'a TTP decision never changes');
  const { record } = state;
  if (!record || record.exchangeId !== exchangeId) throw new SemperError('ERR_INTERNAL', `no decision for exchange ${exchangeId} to store`);
  return record;
}

const stored = (exchangeId: string, text: string | undefined): StoredState<TtpState> | undefined =>
  // A decided exchange never changes again: one version.
  text === undefined ? undefined : { state: { exchangeId, record: parseTtpRecord(JSON.parse(text)) }, version: 1 };

function countsOf(rows: { decision: string; n: number | string | bigint }[]): { aborted: number; resolved: number } {
  const out = { aborted: 0, resolved: 0 };
  for (const r of rows) if (r.decision === 'aborted' || r.decision === 'resolved') out[r.decision] = Number(r.n);
  return out;
}

export class SqliteTtpStore implements TtpRecordStore {
  private readonly db: BetterSqlite.Database;
  private readonly kysely: Kysely<TtpTables>;
  private readonly insertStmt: BetterSqlite.Statement<unknown[]>;
  private readonly selectStmt: BetterSqlite.Statement<[string], { record: string }>;
  private readonly insertTx: BetterSqlite.Transaction<(records: TtpRecord[]) => boolean[]>;
  private pending: Pending[] = [];
  /** The writer thread (file databases), the batch it is committing, and whether a flush is scheduled. */
  private readonly writer: Worker | null;
  private inFlight: { id: number; batch: Pending[] } | null = null;
  private batches = 0;
  private scheduled = false;

  constructor(path: string) {
    this.db = openSqliteFile(path);
    this.db.exec(SQLITE_DDL);
    this.kysely = Database.sqlite(this.db).db as Kysely<TtpTables>;
    // The one insert, compiled for SQLite: both this connection and the writer thread run it.
    const insert = TTP_SQL.insert(this.kysely, rowOf(PLACEHOLDER)).compile().sql;
    this.insertStmt = this.db.prepare(insert);
    // The one select, compiled once and prepared once: a lookup per request stays a cached statement.
    this.selectStmt = this.db.prepare(TTP_SQL.select(this.kysely, '').compile().sql);
    this.insertTx = this.db.transaction((records: TtpRecord[]) => records.map((r) => this.insertStmt.all(...valuesOf(r)).length === 1));
    this.writer =
      path === ':memory:' || path === ''
        ? null
        : new Worker(WRITER, { eval: true, workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path, insert } });
    if (this.writer) {
      this.writer.unref();
      this.writer.on('message', (m: { id: number; inserted?: boolean[]; error?: string }) => this.committed(m));
      this.writer.on('error', (e) => {
        this.failInFlight(e);
        for (const p of this.pending.splice(0)) p.reject(e);
      });
    }
  }

  /** The exchange's decision, or null if it has none. */
  async record(exchangeId: string): Promise<TtpRecord | null> {
    return (await this.get(exchangeId))?.state.record ?? null;
  }

  async get(exchangeId: string): Promise<StoredState<TtpState> | undefined> {
    return stored(exchangeId, this.selectStmt.get(exchangeId)?.record);
  }

  claim(keyId: string): Promise<void> {
    return claimFor(this.kysely, keyId);
  }

  put(exchangeId: string, expectedVersion: number | null, state: TtpState): Promise<boolean> {
    let record: TtpRecord;
    try {
      record = checkPut(exchangeId, expectedVersion, state);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      this.schedule();
    });
  }

  /** The next batch goes when this turn's decisions are queued, and only once the previous one is on disk. */
  private schedule(): void {
    if (this.scheduled || this.inFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.pending.length === 0) return;
    const batch = this.pending.splice(0, MAX_BATCH);
    if (this.writer) {
      this.inFlight = { id: ++this.batches, batch };
      // Keep the process alive while a decision waits for its commit (and only then).
      this.writer.ref();
      this.writer.postMessage({ id: this.inFlight.id, rows: batch.map((p) => valuesOf(p.record)) });
      return;
    }
    let inserted: boolean[];
    try {
      // IMMEDIATE: take the write lock at BEGIN, so two processes sharing the file serialise here too.
      inserted = this.insertTx.immediate(batch.map((p) => p.record));
    } catch (e) {
      for (const p of batch) p.reject(e);
      this.schedule();
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(inserted[i] === true);
    this.schedule();
  }

  private committed(m: { id: number; inserted?: boolean[]; error?: string }): void {
    const flight = this.inFlight;
    if (!flight || flight.id !== m.id) return;
    this.inFlight = null;
    this.writer?.unref();
    if (m.inserted) for (const [i, p] of flight.batch.entries()) p.resolve(m.inserted[i] === true);
    else for (const p of flight.batch) p.reject(new SemperError('ERR_INTERNAL', `TTP decisions not committed: ${m.error ?? 'unknown error'}`));
    // Straight on with what queued meanwhile: its decisions waited for this commit already.
    this.flush();
  }

  private failInFlight(e: unknown): void {
    const flight = this.inFlight;
    this.inFlight = null;
    this.writer?.unref();
    for (const p of flight?.batch ?? []) p.reject(e);
  }

  async counts(): Promise<{ aborted: number; resolved: number }> {
    return countsOf(await TTP_SQL.counts(this.kysely).execute());
  }

  close(): void {
    // A batch still with the writer is not known to be on disk: its answers never leave.
    if (this.writer) {
      this.failInFlight(new SemperError('ERR_INTERNAL', 'the TTP store closed before these decisions were committed'));
      void this.writer.terminate();
    }
    // What is queued commits here, on this connection, as it always did.
    const queued = this.pending.splice(0);
    if (queued.length) {
      try {
        const inserted = this.insertTx.immediate(queued.map((p) => p.record));
        for (const [i, p] of queued.entries()) p.resolve(inserted[i] === true);
      } catch (e) {
        for (const p of queued) p.reject(e);
      }
    }
    this.db.close();
  }
}

/** Only to compile the insert: its values are never bound. */
const PLACEHOLDER: TtpRecord = {
  exchangeId: '',
  dealId: '',
  protocol: '',
  decision: 'aborted',
  decidedAt: 0,
  decidedBy: '',
} as unknown as TtpRecord;

/**
 * The TTP's records in PostgreSQL: any number of TTP processes share them. Each decision is one
 * autocommitted `INSERT … ON CONFLICT DO NOTHING RETURNING`: the row that lands first is the
 * decision; a later insert returns nothing, and its process answers with the stored row (the
 * host steps again on it). PostgreSQL commits concurrent inserts together (its own group commit),
 * and the answer leaves only after the commit.
 */
export class PostgresTtpStore implements TtpRecordStore {
  private readonly database: Database;
  private readonly kysely: Kysely<TtpTables>;
  private readonly ready: Promise<void>;

  constructor(url: string, options: { poolSize?: number } = {}) {
    this.database = Database.postgres(url, options);
    this.kysely = this.database.db as Kysely<TtpTables>;
    this.ready = migratePostgres(this.database, 'ttp', POSTGRES_MIGRATIONS);
    // Reported by the first get/put that awaits it.
    this.ready.catch(() => undefined);
  }

  async record(exchangeId: string): Promise<TtpRecord | null> {
    return (await this.get(exchangeId))?.state.record ?? null;
  }

  async get(exchangeId: string): Promise<StoredState<TtpState> | undefined> {
    await this.ready;
    const row = await TTP_SQL.select(this.kysely, exchangeId).executeTakeFirst();
    return stored(exchangeId, row?.record);
  }

  async claim(keyId: string): Promise<void> {
    await this.ready;
    await claimFor(this.kysely, keyId);
  }

  async put(exchangeId: string, expectedVersion: number | null, state: TtpState): Promise<boolean> {
    const record = checkPut(exchangeId, expectedVersion, state);
    await this.ready;
    const inserted = await TTP_SQL.insert(this.kysely, rowOf(record)).execute();
    return inserted.length === 1;
  }

  async counts(): Promise<{ aborted: number; resolved: number }> {
    await this.ready;
    return countsOf(await TTP_SQL.counts(this.kysely).execute());
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.database.close();
  }
}

/** Where a TTP keeps its decisions: a SQLite file (or ':memory:') or a PostgreSQL URL. */
export type TtpStoreLocation = { path: string } | { url: string };

export function openTtpStore(location: TtpStoreLocation): SqliteTtpStore | PostgresTtpStore {
  return 'url' in location ? new PostgresTtpStore(location.url) : new SqliteTtpStore(location.path);
}
