/**
 * Every party's database commits with synchronous=FULL — on the first open and when a file already
 * in WAL mode is opened again. The second case is the trap: better-sqlite3 is built with
 * SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so a connection to an existing WAL file starts at NORMAL, and a
 * power cut could then take back commits whose answers had left (a deposit, a charge, a refund).
 * Each store is opened twice on one file and asked.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AcquirerService } from '../../server/acquirer/service.js';
import { CardAdapterService } from '../../server/payment-adapter/service.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { tempDataDir, testShopper } from './helpers.js';

const FULL = 2;
const synchronous = (db: Database.Database): unknown => db.pragma('synchronous', { simple: true });

describe('database durability on reopen', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const f of cleanups.splice(0)) f();
  });
  function dir(): string {
    const tmp = tempDataDir('durability');
    cleanups.push(tmp.remove);
    return tmp.dir;
  }

  it('better-sqlite3 itself reopens a WAL file at NORMAL (why every store sets FULL on each open)', () => {
    const file = join(dir(), 'plain.sqlite');
    const first = new Database(file);
    first.pragma('journal_mode = WAL');
    first.exec('CREATE TABLE t (x)');
    first.close();
    const again = new Database(file);
    cleanups.unshift(() => again.close());
    expect(synchronous(again)).toBe(1);
  });

  it('SqliteStore (CA, bank, TSA, arbiter, merchant kit, identities, time stamps; openSqliteFile under it): FULL on first open and on reopen', () => {
    const dataDir = dir();
    const schema = [{ component: 'notes', migrations: [{ version: 1, description: 'notes', up: 'CREATE TABLE notes (id INTEGER PRIMARY KEY)' }] }];
    const first = SqliteStore.open({ dataDir, fileName: 'party.sqlite', schema });
    expect(synchronous(first.db)).toBe(FULL);
    first.close();
    const again = SqliteStore.open({ dataDir, fileName: 'party.sqlite', schema });
    cleanups.unshift(() => again.close());
    expect(synchronous(again.db)).toBe(FULL);
  });

  it('the card acquirer and the card adapter: FULL on first open and on reopen', async () => {
    const d = dir();
    const operator = await testShopper();
    const adapterOf = () => new CardAdapterService({ file: join(d, 'adapter.sqlite'), operator, acquirerName: 'test', merchants: new Map() });
    for (const open of [() => new AcquirerService({ file: join(d, 'acquirer.sqlite') }), adapterOf]) {
      const first = open();
      expect(synchronous(first.db)).toBe(FULL);
      first.close();
      const again = open();
      cleanups.unshift(() => again.close());
      expect(synchronous(again.db)).toBe(FULL);
    }
  });
});
