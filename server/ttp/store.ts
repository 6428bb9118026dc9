/**
 * The TTP's records in SQLite (better-sqlite3), as the state store of its machine (core/exchange
 * ttp.ts, run by the one host step, server/host/step.ts). One row per exchange, keyed by the
 * exchange id (PRIMARY KEY, so UNIQUE): a decision is inserted only if the exchange has none, and
 * the row is never updated or deleted (triggers refuse both). Whatever raced, the first row wins:
 * the loser's insert reports false, and the host steps again on the winner's record and answers
 * with it. The row is on disk (WAL, synchronous=FULL) before the answer leaves, so nothing decided
 * is lost across a restart.
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
import Database from 'better-sqlite3';
import { SemperError } from '../../core/errors.js';
import { parseTtpRecord, type TtpRecord, type TtpState } from '../../core/exchange/ttp.js';
import type { StateStore, StoredState } from '../host/step.js';

interface Row {
  record: string;
}

/** Any store of TTP states: the host writes a state only when it holds a new decision. */
export type TtpRecordStore = StateStore<TtpState>;

/** Most decisions in one transaction: bounds a commit's time, and so every decision's wait. */
const MAX_BATCH = 256;

type Row7 = [string, string, string, string, number, string, string];

const rowOf = (r: TtpRecord): Row7 => [r.exchangeId, r.dealId, r.protocol, r.decision, r.decidedAt, r.decidedBy, JSON.stringify(r)];

/** The writer thread: one connection, one IMMEDIATE transaction per batch, the insert results back. */
const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
const insert = db.prepare(workerData.insert);
const tx = db.transaction((rows) => rows.map((row) => insert.run(...row).changes === 1));
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

export class SqliteTtpStore implements TtpRecordStore {
  private readonly db: Database.Database;
  private readonly selectStmt: Database.Statement<[string], Row>;
  private readonly insertStmt: Database.Statement<[string, string, string, string, number, string, string]>;
  private readonly insertTx: Database.Transaction<(records: TtpRecord[]) => boolean[]>;
  private pending: Pending[] = [];
  /** The writer thread (file databases), the batch it is committing, and whether a flush is scheduled. */
  private readonly writer: Worker | null;
  private inFlight: { id: number; batch: Pending[] } | null = null;
  private batches = 0;
  private scheduled = false;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
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
    `);
    this.selectStmt = this.db.prepare<[string], Row>('SELECT record FROM ttp_exchanges WHERE exchange_id = ?');
    const insert =
      'INSERT INTO ttp_exchanges (exchange_id, deal_id, protocol, decision, decided_at, decided_by, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (exchange_id) DO NOTHING';
    this.insertStmt = this.db.prepare(insert);
    this.insertTx = this.db.transaction((records: TtpRecord[]) => records.map((r) => this.insertStmt.run(...rowOf(r)).changes === 1));
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
  record(exchangeId: string): TtpRecord | null {
    const row = this.selectStmt.get(exchangeId);
    return row ? parseTtpRecord(JSON.parse(row.record)) : null;
  }

  async get(exchangeId: string): Promise<StoredState<TtpState> | undefined> {
    const record = this.record(exchangeId);
    // A decided exchange never changes again: one version.
    return record ? { state: { exchangeId, record }, version: 1 } : undefined;
  }

  put(exchangeId: string, expectedVersion: number | null, state: TtpState): Promise<boolean> {
    if (expectedVersion !== null) return Promise.reject(new SemperError('ERR_INTERNAL', 'a TTP decision never changes'));
    const { record } = state;
    if (!record || record.exchangeId !== exchangeId) return Promise.reject(new SemperError('ERR_INTERNAL', `no decision for exchange ${exchangeId} to store`));
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
      this.writer.postMessage({ id: this.inFlight.id, rows: batch.map((p) => rowOf(p.record)) });
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

  counts(): { aborted: number; resolved: number } {
    const rows = this.db.prepare<[], { decision: string; n: number }>('SELECT decision, COUNT(*) AS n FROM ttp_exchanges GROUP BY decision').all();
    const out = { aborted: 0, resolved: 0 };
    for (const r of rows) if (r.decision === 'aborted' || r.decision === 'resolved') out[r.decision] = r.n;
    return out;
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
