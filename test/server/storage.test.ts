import { afterEach, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { SqliteStore, type MigrationSet } from '../../server/storage/sqlite.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../../server/storage/keys.js';
import { tempDataDir } from './helpers.js';

const NOTES_V1: MigrationSet = {
  component: 'notes',
  migrations: [{ version: 1, description: 'notes', up: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)' }],
};
const NOTES_V2: MigrationSet = {
  component: 'notes',
  migrations: [
    ...NOTES_V1.migrations,
    { version: 2, description: 'note authors', up: (db) => db.exec("ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anon'") },
  ],
};

describe('SqliteStore', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const f of cleanups.splice(0)) f();
  });
  function open(schema: MigrationSet[]) {
    const tmp = tempDataDir('storage');
    cleanups.push(tmp.remove);
    const store = SqliteStore.open({ dataDir: tmp.dir, fileName: 'test.sqlite', schema });
    cleanups.unshift(() => store.close());
    return { store, dir: tmp.dir };
  }

  it('opens with WAL, synchronous=FULL (an answered commit survives power loss), foreign keys on, owner-only file', () => {
    const { store } = open([NOTES_V1]);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
  });

  it('applies each migration once and records it, and upgrades an existing file', () => {
    const { store, dir } = open([NOTES_V1]);
    expect(store.schemaVersion('notes')).toBe(1);
    store.db.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    store.close();

    const reopened = SqliteStore.open({ dataDir: dir, fileName: 'test.sqlite', schema: [NOTES_V2] });
    cleanups.unshift(() => reopened.close());
    expect(reopened.schemaVersion('notes')).toBe(2);
    expect(reopened.db.prepare('SELECT text, author FROM notes').all()).toEqual([{ text: 'kept', author: 'anon' }]);
    const rows = reopened.db.prepare("SELECT version FROM schema_version WHERE component = 'notes' ORDER BY version").all();
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
  });

  it('refuses a file written by a newer schema', () => {
    const { store, dir } = open([NOTES_V2]);
    store.close();
    expect(() => SqliteStore.open({ dataDir: dir, fileName: 'test.sqlite', schema: [NOTES_V1] })).toThrow(/version 2/);
  });

  it('rolls a failed transaction back completely', () => {
    const { store } = open([NOTES_V1]);
    expect(() =>
      store.immediate(() => {
        store.db.prepare('INSERT INTO notes (text) VALUES (?)').run('half');
        throw new Error('crash in the middle');
      }),
    ).toThrow('crash in the middle');
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM notes').get()).toEqual({ n: 0 });
    expect(store.immediate(() => store.db.prepare('INSERT INTO notes (text) VALUES (?)').run('whole').changes)).toBe(1);
  });
});

describe('persisted ES256 keys', () => {
  it('round-trip through PKCS#8 and come back non-extractable', async () => {
    const { pkcs8, keys } = await generatePersistableEs256();
    expect(keys.privateKey.extractable).toBe(false);
    const loaded = await importEs256Pkcs8(pkcs8);
    expect(loaded.privateKey.extractable).toBe(false);
    const data = new TextEncoder().encode('offer');
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, loaded.privateKey, data);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.publicKey, sig, data)).toBe(true);
    await expect(crypto.subtle.exportKey('pkcs8', loaded.privateKey)).rejects.toThrow();
  });
});
