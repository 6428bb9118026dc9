/**
 * A small typed layer over better-sqlite3 that every Node party uses for its own database file
 * (`ca.sqlite`, `shop.sqlite`, ...). One file per party keeps the parties' trust separate: no
 * party can read or corrupt another's records by accident.
 *
 * Durability: WAL journal with `synchronous=FULL`: the WAL is synced to disk before a commit
 * returns, so what a party has answered survives a process crash, an OS crash and power loss. With
 * NORMAL an OS crash could take the last commits back after their answers had left: a deposited
 * coin unspent again (a double spend the bank had refused), a certificate or time-stamp serial
 * issued twice, a verdict gone. Foreign keys are on because SQLite leaves them off.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SemperError } from '../../core/errors.js';

export type SqliteDatabase = Database.Database;

/**
 * SQL for two triggers that make `table` append-only: the database itself refuses UPDATE and
 * DELETE on it, whatever code runs against the file (ledgers, issued tokens, verdicts).
 */
export function appendOnly(table: string): string {
  return `
    CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;
    CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;`;
}

export interface Migration {
  /** 1, 2, 3, ... within its component: applied in order, each exactly once. */
  version: number;
  description: string;
  up: string | ((db: SqliteDatabase) => void);
}

/**
 * The migrations of one component sharing the file (e.g. the merchant kit's deal tables and the
 * demo shop's identity tables both live in shop.sqlite). Each component counts its own versions,
 * so modules can evolve their tables independently.
 */
export interface MigrationSet {
  component: string;
  migrations: readonly Migration[];
}

export interface OpenOptions {
  /** Directory the database file lives in; created (mode 0700) if missing. */
  dataDir: string;
  /** File name inside dataDir, e.g. `shop.sqlite`. */
  fileName: string;
  schema: readonly MigrationSet[];
}

/**
 * A connection to a party's SQLite file with the settings every Node party's file has (the module
 * comment says why): WAL, synchronous=FULL, foreign keys on, a busy timeout. Set on every open:
 * better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so a file already in WAL mode would
 * otherwise reopen at NORMAL. (The card acquirer, which stands for an outside company and imports
 * nothing of Semper's, and the TTP's writer thread set the same themselves.)
 */
export function openSqliteFile(path: string): SqliteDatabase {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Two processes on one file (e.g. a test and an operator's CLI) wait instead of failing at once.
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export class SqliteStore {
  readonly path: string;
  readonly db: SqliteDatabase;

  private constructor(path: string, db: SqliteDatabase) {
    this.path = path;
    this.db = db;
  }

  static open(options: OpenOptions): SqliteStore {
    if (!/^[A-Za-z0-9._-]+\.sqlite$/.test(options.fileName)) {
      throw new SemperError('ERR_INTERNAL', `database file name must be a plain *.sqlite name, not ${options.fileName}`);
    }
    // Party databases hold private keys (see ca/service.ts): keep them readable by this user only.
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const path = join(options.dataDir, options.fileName);
    const db = openSqliteFile(path);
    try {
      chmodSync(path, 0o600);
      const store = new SqliteStore(path, db);
      store.migrate(options.schema);
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** The highest applied migration of a component, 0 if none. */
  schemaVersion(component: string): number {
    const row = this.db.prepare<[string], { version: number | null }>('SELECT MAX(version) AS version FROM schema_version WHERE component = ?').get(component);
    return row?.version ?? 0;
  }

  private migrate(schema: readonly MigrationSet[]): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
      component TEXT NOT NULL,
      version INTEGER NOT NULL,
      description TEXT NOT NULL,
      applied_at TEXT NOT NULL,
      PRIMARY KEY (component, version)
    )`);
    const record = this.db.prepare<[string, number, string, string]>(
      'INSERT INTO schema_version (component, version, description, applied_at) VALUES (?, ?, ?, ?)',
    );
    for (const set of schema) {
      const sorted = [...set.migrations].sort((a, b) => a.version - b.version);
      sorted.forEach((m, i) => {
        if (m.version !== i + 1) {
          throw new SemperError('ERR_INTERNAL', `${set.component} migrations must be numbered 1..n without gaps (found ${m.version} at position ${i + 1})`);
        }
      });
      const current = this.schemaVersion(set.component);
      if (current > sorted.length) {
        // A newer program wrote this file; running older code on it could misread its records.
        throw new SemperError('ERR_INTERNAL', `${this.path}: ${set.component} schema is at version ${current}, this program knows only ${sorted.length}`);
      }
      for (const m of sorted.slice(current)) {
        // Each migration and its version row commit together, so a crash never leaves a half-migrated file.
        this.immediate(() => {
          if (typeof m.up === 'string') this.db.exec(m.up);
          else m.up(this.db);
          record.run(set.component, m.version, m.description, new Date().toISOString());
        });
      }
    }
  }

  /**
   * Run `fn` in a write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so two
   * writers never both read the old value and then collide on upgrade). `fn` must be
   * synchronous; an exception rolls everything back.
   */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A read-only snapshot transaction (BEGIN DEFERRED). */
  read<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Does the file have this table? (Migrations that absorb another component's tables ask.) */
export function hasTable(db: SqliteDatabase, name: string): boolean {
  return db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)!.n > 0;
}

/**
 * Inside a migration that moved another component's tables into its own: record one more
 * version of that component ("superseded"), so that an older program, which knows only the old
 * versions, refuses the file instead of re-creating the old tables empty (e.g. a fresh key).
 * Nothing happens for a component the file never had.
 */
export function supersedeComponent(db: SqliteDatabase, component: string, description: string): void {
  const row = db.prepare<[string], { version: number | null }>('SELECT MAX(version) AS version FROM schema_version WHERE component = ?').get(component);
  if (!row?.version) return;
  db.prepare('INSERT INTO schema_version (component, version, description, applied_at) VALUES (?, ?, ?, ?)').run(
    component,
    row.version + 1,
    description,
    new Date().toISOString(),
  );
}

/** Parse JSON stored by this program; a corrupt row is an internal error, not bad input. */
export function parseStoredJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SemperError('ERR_INTERNAL', `stored ${what} is not JSON`);
  }
}
