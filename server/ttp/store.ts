/**
 * The TTP's records in SQLite (better-sqlite3). One row per exchange, keyed by the exchange id
 * (PRIMARY KEY, so UNIQUE): a decision is inserted only if the exchange has none, inside a
 * transaction, and the row is never updated or deleted. Whatever raced, the first row wins and
 * every later request is answered from it; the row is on disk (WAL, synchronous=FULL) before
 * the answer leaves, so nothing decided is lost across a restart.
 *
 * Group commit: decisions arriving in the same turn of the event loop are inserted in one
 * transaction, so one fsync covers many decisions. No answer is released before its commit;
 * two decisions for one exchange in one batch still resolve to the first (ON CONFLICT DO NOTHING,
 * and the loser reads the winner inside the same transaction).
 */
import Database from 'better-sqlite3';
import { parseTtpRecord, type TtpRecord, type TtpRecordStore } from '../../core/exchange/ttp.js';

interface Row {
  record: string;
}

export class SqliteTtpStore implements TtpRecordStore {
  private readonly db: Database.Database;
  private readonly selectStmt: Database.Statement<[string], Row>;
  private readonly insertStmt: Database.Statement<[string, string, string, string, number, string, string]>;
  private readonly insertTx: Database.Transaction<(records: TtpRecord[]) => { record: TtpRecord; inserted: boolean }[]>;
  private pending: { record: TtpRecord; resolve: (r: { record: TtpRecord; inserted: boolean }) => void; reject: (e: unknown) => void }[] = [];

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
      records.map((record) => {
        const info = this.insertStmt.run(record.exchangeId, record.dealId, record.protocol, record.decision, record.decidedAt, record.decidedBy, JSON.stringify(record));
        if (info.changes === 1) return { record, inserted: true };
        return { record: this.get(record.exchangeId)!, inserted: false };
      }),
    );
  }

  get(exchangeId: string): TtpRecord | null {
    const row = this.selectStmt.get(exchangeId);
    return row ? parseTtpRecord(JSON.parse(row.record)) : null;
  }

  insertIfAbsent(record: TtpRecord): Promise<{ record: TtpRecord; inserted: boolean }> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ record, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    let results: { record: TtpRecord; inserted: boolean }[];
    try {
      // IMMEDIATE: take the write lock at BEGIN, so two processes sharing the file serialise here too.
      results = this.insertTx.immediate(batch.map((p) => p.record));
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
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
