/**
 * The TTP's records in SQLite (better-sqlite3), as the state store of its machine (core/exchange
 * ttp.ts, run by the one host step, server/host/step.ts). One row per exchange, keyed by the
 * exchange id (PRIMARY KEY, so UNIQUE): a decision is inserted only if the exchange has none, and
 * the row is never updated or deleted (triggers refuse both). Whatever raced, the first row wins:
 * the loser's insert reports false, and the host steps again on the winner's record and answers
 * with it. The row is on disk (WAL, synchronous=FULL) before the answer leaves, so nothing decided
 * is lost across a restart.
 *
 * Group commit: decisions arriving in the same turn of the event loop are inserted in one
 * transaction, so one fsync covers many decisions; no `put` resolves before its commit.
 */
import Database from 'better-sqlite3';
import { SemperError } from '../../core/errors.js';
import { parseTtpRecord, type TtpRecord, type TtpState } from '../../core/exchange/ttp.js';
import type { StateStore, StoredState } from '../host/step.js';

interface Row {
  record: string;
}

/** Any store of TTP states: the host writes a state only when it holds a new decision. */
export type TtpRecordStore = StateStore<TtpState>;

export class SqliteTtpStore implements TtpRecordStore {
  private readonly db: Database.Database;
  private readonly selectStmt: Database.Statement<[string], Row>;
  private readonly insertStmt: Database.Statement<[string, string, string, string, number, string, string]>;
  private readonly insertTx: Database.Transaction<(records: TtpRecord[]) => boolean[]>;
  private pending: { record: TtpRecord; resolve: (inserted: boolean) => void; reject: (e: unknown) => void }[] = [];

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
    this.insertStmt = this.db.prepare(
      'INSERT INTO ttp_exchanges (exchange_id, deal_id, protocol, decision, decided_at, decided_by, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (exchange_id) DO NOTHING',
    );
    this.insertTx = this.db.transaction((records: TtpRecord[]) =>
      records.map((r) => this.insertStmt.run(r.exchangeId, r.dealId, r.protocol, r.decision, r.decidedAt, r.decidedBy, JSON.stringify(r)).changes === 1),
    );
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
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ record, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    let inserted: boolean[];
    try {
      // IMMEDIATE: take the write lock at BEGIN, so two processes sharing the file serialise here too.
      inserted = this.insertTx.immediate(batch.map((p) => p.record));
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(inserted[i] === true);
  }

  counts(): { aborted: number; resolved: number } {
    const rows = this.db.prepare<[], { decision: string; n: number }>('SELECT decision, COUNT(*) AS n FROM ttp_exchanges GROUP BY decision').all();
    const out = { aborted: 0, resolved: 0 };
    for (const r of rows) if (r.decision === 'aborted' || r.decision === 'resolved') out[r.decision] = r.n;
    return out;
  }

  close(): void {
    if (this.pending.length) this.flush();
    this.db.close();
  }
}
