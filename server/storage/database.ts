/**
 * One storage layer, two engines (issue 10): a party's SQL is written once with kysely and runs on
 * embedded SQLite (better-sqlite3, the default: one file under the data directory) or on
 * PostgreSQL (`pg`, chosen by `SEMPER_DATABASE_URL=postgres://…`), where several stateless
 * processes of a party share one database.
 *
 * What differs between the engines stays in this file:
 *  - transactions: `write(fn)` is BEGIN IMMEDIATE on SQLite (the write lock up front, so two
 *    writers never both read the old value; one connection, kysely's mutex serialises the
 *    process) and SERIALIZABLE on PostgreSQL, retried on SQLSTATE 40001 (serialization failure)
 *    and 40P01 (deadlock), so `fn` must be replayable: it reads and writes the database and
 *    computes, nothing else. Under SERIALIZABLE every committed set of transactions has the
 *    effect of some one-at-a-time order, so a check inside `fn` ("the coin is not spent", "the
 *    balance covers it") still holds when it commits, as on SQLite.
 *  - DDL: column types (BLOB/BYTEA, INTEGER/BIGINT) and the append-only triggers.
 *  - numbers: PostgreSQL's BIGINT, NUMERIC (SUM) and COUNT come back as JavaScript numbers here
 *    (every amount and time this program stores is a safe integer), as SQLite gives them.
 */
import { type Dialect, Kysely, PostgresDialect, type RawBuilder, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { SemperError } from '../../core/errors.js';
import type { SqliteDatabase } from './sqlite.js';

export type Engine = 'sqlite' | 'postgres';

/** Rows are typed per query (sql<Row>`…`); the builder is not given a schema type. */
// biome-ignore lint/suspicious/noExplicitAny: kysely's schema parameter; every query names its row type.
export type Db = Kysely<any>;

/** The environment variable that puts a party on PostgreSQL. */
export const DATABASE_URL_ENV = 'SEMPER_DATABASE_URL';

const INT8 = 20;
const NUMERIC = 1700;

/** A pool whose BIGINT and NUMERIC columns read as numbers (only safe integers are ever stored). */
export function postgresPool(url: string, max = 10): pg.Pool {
  const toNumber = (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new SemperError('ERR_INTERNAL', `a stored number is not a safe integer: ${text}`);
    return n;
  };
  return new pg.Pool({
    connectionString: url,
    max,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 || oid === NUMERIC ? toNumber : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  });
}

export function isPostgresUrl(url: string | undefined): url is string {
  return typeof url === 'string' && /^postgres(ql)?:\/\//.test(url);
}

export interface DatabaseOptions {
  /** Retries of a serialization failure or deadlock before it is reported (PostgreSQL). */
  retries?: number;
}

export interface WriteOptions {
  /**
   * PostgreSQL only (SQLite has one writer). 'read committed' is for a transaction whose every
   * exactly-once rule is a UNIQUE or PRIMARY KEY constraint and that checks nothing else it read
   * (the bank's deposit: the spent-coin primary key): SERIALIZABLE's page-level predicate locks
   * would abort most of many concurrent such transactions for nothing.
   */
  isolation?: 'serializable' | 'read committed';
}

export class Database {
  readonly engine: Engine;
  readonly db: Db;
  private readonly retries: number;
  private readonly closeEngine: () => Promise<void>;

  private constructor(engine: Engine, dialect: Dialect, closeEngine: () => Promise<void>, options: DatabaseOptions = {}) {
    this.engine = engine;
    this.db = new Kysely({ dialect });
    this.retries = options.retries ?? 100;
    this.closeEngine = closeEngine;
  }

  /** Over an open better-sqlite3 connection (its migrations already applied, server/storage/sqlite.ts); closing closes it. */
  static sqlite(connection: SqliteDatabase, options?: DatabaseOptions): Database {
    return new Database('sqlite', new SqliteDialect({ database: connection }), async () => undefined, options);
  }

  static postgres(url: string, options?: DatabaseOptions & { poolSize?: number }): Database {
    if (!isPostgresUrl(url)) throw new SemperError('ERR_INTERNAL', `${DATABASE_URL_ENV} must be a postgres:// or postgresql:// URL`);
    const pool = postgresPool(url, options?.poolSize);
    return new Database('postgres', new PostgresDialect({ pool }), async () => undefined, options);
  }

  /**
   * A write transaction (see the module comment). The transaction's own executor is handed to
   * `fn`: every statement of the transaction must go through it (on SQLite `this.db` would wait
   * for the connection `fn` holds).
   */
  async write<T>(fn: (tx: Db) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    if (this.engine === 'sqlite') {
      return this.db.connection().execute(async (conn) => {
        await sql`BEGIN IMMEDIATE`.execute(conn);
        try {
          const out = await fn(conn);
          await sql`COMMIT`.execute(conn);
          return out;
        } catch (e) {
          await sql`ROLLBACK`.execute(conn);
          throw e;
        }
      });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db
          .transaction()
          .setIsolationLevel(options.isolation ?? 'serializable')
          .execute(fn);
      } catch (e) {
        if (!isRetryable(e) || attempt >= this.retries) throw e;
        // Jitter, growing with the attempts, so that the same transactions do not collide again at once.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
      }
    }
  }

  /** A read-only snapshot (several queries that must agree: the bank's invariants). */
  async read<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.engine === 'sqlite') {
      return this.db.connection().execute(async (conn) => {
        await sql`BEGIN DEFERRED`.execute(conn);
        try {
          return await fn(conn);
        } finally {
          await sql`COMMIT`.execute(conn);
        }
      });
    }
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        await sql`SET TRANSACTION READ ONLY`.execute(tx);
        return fn(tx);
      });
  }

  /** A JSON text column's top-level string field (SQL fragment; `column` and `key` are constants of the caller's). */
  jsonField(column: string, key: string): RawBuilder<string> {
    if (!/^[a-z_.]+$/.test(column) || !/^[A-Za-z]+$/.test(key)) throw new SemperError('ERR_INTERNAL', 'jsonField takes plain names');
    return this.engine === 'sqlite' ? sql.raw(`json_extract(${column}, '$.${key}')`) : sql.raw(`(${column}::jsonb ->> '${key}')`);
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.closeEngine();
  }
}

/** The rows of a query written once with kysely's `sql` tag. */
export async function rowsOf<R>(q: Db, query: RawBuilder<R>): Promise<R[]> {
  return (await query.execute(q)).rows;
}

/** The first row, or undefined. */
export async function firstOf<R>(q: Db, query: RawBuilder<R>): Promise<R | undefined> {
  return (await query.execute(q)).rows[0];
}

/** SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected: the transaction may simply run again. */
export function isRetryable(e: unknown): boolean {
  const code = errorCode(e);
  return code === '40001' || code === '40P01';
}

/** A UNIQUE or PRIMARY KEY violation on either engine. */
export function isUniqueViolation(e: unknown): boolean {
  const code = errorCode(e);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/**
 * PostgreSQL DDL for making `table` append-only: a trigger refuses UPDATE and DELETE, as the
 * SQLite triggers of appendOnly (sqlite.ts) do. TRUNCATE is refused too (PostgreSQL has it).
 */
export function appendOnlyPostgres(table: string): string {
  return `
    CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION semper_append_only();
    CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION semper_append_only();`;
}

/** The one trigger function appendOnlyPostgres uses (created by migratePostgres). */
const APPEND_ONLY_FUNCTION = `
  CREATE OR REPLACE FUNCTION semper_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
  END $$;`;

export interface PostgresMigration {
  version: number;
  description: string;
  up: string;
}

/**
 * Apply a component's PostgreSQL migrations in order, each with its version row in one
 * transaction. Several processes starting at once: an advisory lock lets one migrate while the
 * others wait, then find the versions applied.
 */
export async function migratePostgres(database: Database, component: string, migrations: readonly PostgresMigration[]): Promise<void> {
  if (database.engine !== 'postgres') throw new SemperError('ERR_INTERNAL', 'migratePostgres runs on PostgreSQL only');
  await database.db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(hashtext('semper-migrations'))`.execute(conn);
    try {
      await sql
        .raw(`${APPEND_ONLY_FUNCTION}
          CREATE TABLE IF NOT EXISTS schema_version (
            component TEXT NOT NULL,
            version INTEGER NOT NULL,
            description TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            PRIMARY KEY (component, version)
          );`)
        .execute(conn);
      const row = await sql<{ v: number | null }>`SELECT MAX(version) AS v FROM schema_version WHERE component = ${component}`.execute(conn);
      const current = row.rows[0]?.v ?? 0;
      if (current > migrations.length)
        throw new SemperError('ERR_INTERNAL', `${component} schema is at version ${current}, this program knows only ${migrations.length}`);
      for (const m of migrations.slice(current)) {
        if (m.version !== migrations.indexOf(m) + 1) throw new SemperError('ERR_INTERNAL', `${component} migrations must be numbered 1..n`);
        await conn.transaction().execute(async (tx) => {
          await sql.raw(m.up).execute(tx);
          await sql`INSERT INTO schema_version (component, version, description, applied_at) VALUES (${component}, ${m.version}, ${m.description}, ${new Date().toISOString()})`.execute(
            tx,
          );
        });
      }
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtext('semper-migrations'))`.execute(conn);
    }
  });
}
