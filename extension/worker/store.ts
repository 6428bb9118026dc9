/**
 * The worker's one IndexedDB database ('semper', through idb) and its typed stores:
 *
 *   deals     one record per deal of every kind (deals/records.ts), keyed by deal id
 *   archive   every statement of every deal, both directions, keyed [dealId, digest]
 *   keys      the shopper's keys by key id (non-extractable CryptoKeyPairs, stored as is:
 *             structured clone keeps them non-extractable, so nothing can read the key material)
 *   tokens    registered hardware tokens (WebAuthn credentials) by credential id
 *   settings  one record: security phrase + picture, CA URL, hardware-token threshold
 *   roots     trusted CA roots (a setting)
 *   ttps      trusted TTPs (a setting)
 *   arbiters  trusted arbiters (a setting; extension/settings/arbiter-trust.ts)
 *   tsas      trusted time-stamping authorities (a setting; extension/settings/tsa-trust.ts)
 *   meta      migration markers
 *   wallets   one purse per bank (extension/wallet/purse.ts): a deal record of kind 'wallet' whose
 *             state holds the bank's URL, its pinned key id, the account id, the account key's id
 *             (the key itself is in `keys`, purpose 'account'), the verified denomination list
 *             statement and the cashWallet machine state (coins with their keys, operations in flight)
 *
 * Versions: 1 was the first release's 'semper' (deals = purchases, archive, keys['device'],
 * roots); 2 added keys, tokens, settings, ttps, meta; 3 adds `wallets`; 4 adds `arbiters`; 5 adds `tsas`
 * and indexes the deals (active, by update, by page request) so a cold start and a page's request read
 * what they need, not the whole history (bench/archive.ts measured a cold start 4.9× slower with 1,000
 * deals). Opening the database also imports, once, the two other databases the first release kept
 * ('semper-identity', 'semper-exchange'), so an installed extension keeps its
 * keys, deals and settings (worker/migrations.ts; test/e2e/migration.test.ts runs it on a profile
 * made by that release).
 */
import { openDB, unwrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { type InstantRange, walkNewestFirst } from './newest-walk.js';
import type { KeyRecords, StoredKey } from '../identity/key-store.js';
import type { SettingsRecords, ShopperSettings, StoredToken, TokenRecords } from '../identity/service.js';
import type { TrustedRoot } from '../settings/trust-roots.js';
import type { TrustedTtp } from '../settings/ttp-trust.js';
import type { CardRecords, CardWallet } from '../payments/card-payments.js';
import type { TrustedArbiter } from '../settings/arbiter-trust.js';
import type { TrustedTsa } from '../settings/tsa-trust.js';
import { byArchivedAt, type ArchiveEntry, type CreatedRange, type DealRecord, type DealStore, inCreatedRange, type WalletRecord } from '../deals/records.js';
import {
  createArbiterStore,
  createStores,
  createTsaStore,
  createWalletStores,
  importLegacyDatabases,
  indexDeals,
  upgradeFromFirstRelease,
  type LegacyDeviceKey,
} from './migrations.js';

export const DB_NAME = 'semper';
export const DB_VERSION = 5;

export interface SemperDB extends DBSchema {
  deals: { key: string; value: DealRecord; indexes: { byCreated: number; byActive: number; byUpdated: number; byPageRequest: string } };
  archive: { key: [string, string]; value: ArchiveEntry; indexes: { byDeal: string } };
  keys: { key: string; value: StoredKey; indexes: { byPurpose: string } };
  tokens: { key: string; value: StoredToken };
  settings: { key: string; value: ShopperSettings };
  roots: { key: string; value: TrustedRoot };
  ttps: { key: string; value: TrustedTtp };
  meta: { key: string; value: unknown };
  wallets: { key: string; value: WalletRecord; indexes: { byCreated: number } };
  arbiters: { key: string; value: TrustedArbiter };
  tsas: { key: string; value: TrustedTsa };
}

export type SemperDatabase = IDBPDatabase<SemperDB>;
export type UpgradeTransaction = IDBPTransaction<SemperDB, StoreNames<SemperDB>[], 'versionchange'>;

const SETTINGS_KEY = 'shopper';
export const META_LEGACY_DEVICE_KEY = 'legacyDeviceKey';

let dbPromise: Promise<SemperDatabase> | undefined;

/**
 * Every write of this database waits for the disk: readwrite transactions are opened with IndexedDB's
 * `durability: 'strict'`, whose complete event fires only after the OS flushed them. Chromium's
 * default has been `relaxed` since version 121 (complete once the OS has the bytes, flushed seconds
 * later), and what the worker writes is acted on at once: a deal's state is persisted before its
 * message leaves (an order signed, coins spent), coins the bank has debited are stored, a key the CA
 * certifies is kept. A power cut must not take those back. Set on the database object itself, so
 * idb's shortcuts (`db.put`, `db.add`, `db.delete`) and every explicit transaction get it alike;
 * IDBDatabase.prototype.transaction is looked up at each call (the e2e test observes it there).
 */
function strictWrites(database: SemperDatabase): void {
  const raw = unwrap(database) as IDBDatabase;
  raw.transaction = function (this: IDBDatabase, storeNames: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
    return IDBDatabase.prototype.transaction.call(this, storeNames, mode, mode === 'readwrite' ? { ...options, durability: 'strict' } : options);
  };
}

/** The database, upgraded and with the first release's other databases imported. */
export function semperDb(): Promise<SemperDatabase> {
  dbPromise ??= (async () => {
    const database = await openDB<SemperDB>(DB_NAME, DB_VERSION, {
      async upgrade(db, oldVersion, _newVersion, tx) {
        if (oldVersion === 1) await upgradeFromFirstRelease(db, tx);
        else if (oldVersion < 2) createStores(db, oldVersion);
        if (oldVersion < 3) createWalletStores(db);
        if (oldVersion < 4) createArbiterStore(db);
        if (oldVersion < 5) {
          createTsaStore(db);
          await indexDeals(tx);
        }
      },
    });
    strictWrites(database);
    await importLegacyDatabases(database);
    return database;
  })();
  dbPromise.catch(() => {
    dbPromise = undefined;
  });
  return dbPromise;
}

/** The record as the deals store keeps it: `activeSince` while not terminal (the byActive index), none after. */
export function withActiveKey(record: DealRecord): DealRecord {
  const { activeSince: _dropped, ...rest } = record;
  return record.terminal ? (rest as DealRecord) : ({ ...rest, activeSince: record.createdAt } as DealRecord);
}

const notPurses = (records: DealRecord[]) => records.filter((r) => r.kind !== 'wallet');

/** IndexedDB 3.0's batch read in either direction (Chromium 141+; not yet in lib.dom's types). */
interface GetAllRecords {
  getAllRecords(options: {
    query?: IDBKeyRange | null;
    count?: number;
    direction?: IDBCursorDirection;
  }): IDBRequest<{ key: IDBValidKey; primaryKey: IDBValidKey; value: unknown }[]>;
}

function idbRequest<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** DealStore.keepTimestamp over the one archive (deals' and purses' statements alike): read and written in one transaction. */
async function keepArchivedTimestamp(dealId: string, digest: string, token: string): Promise<boolean> {
  const tx = (await semperDb()).transaction('archive', 'readwrite');
  const entry = await tx.store.get([dealId, digest]);
  if (entry && entry.timestamp === undefined) await tx.store.put({ ...entry, timestamp: token });
  await tx.done;
  return entry !== undefined;
}

export class IdbDealStore implements DealStore {
  async get(dealId: string) {
    const record = await (await semperDb()).get('deals', dealId);
    // A purse is not a deal of the pages': its id never finds it here (it lives in `wallets`).
    return record?.kind === 'wallet' ? undefined : record;
  }
  async create(record: DealRecord) {
    await (await semperDb()).add('deals', withActiveKey(record));
  }
  async commit(record: DealRecord, archive: ArchiveEntry[]) {
    const tx = (await semperDb()).transaction(['deals', 'archive'], 'readwrite');
    await Promise.all([tx.objectStore('deals').put(withActiveKey(record)), ...archive.map((entry) => tx.objectStore('archive').put(entry)), tx.done]);
  }
  async listActive() {
    return notPurses(await (await semperDb()).getAllFromIndex('deals', 'byActive'));
  }
  async listAll() {
    return (await semperDb()).getAllFromIndex('deals', 'byCreated');
  }
  async listCreatedSince(t: number) {
    return notPurses(await (await semperDb()).getAllFromIndex('deals', 'byCreated', IDBKeyRange.lowerBound(t, true)));
  }
  async listUpdatedSince(t: number) {
    return notPurses(await (await semperDb()).getAllFromIndex('deals', 'byUpdated', IDBKeyRange.lowerBound(t, true)));
  }
  async findByPageRequest(pageRequest: string) {
    const record = await (await semperDb()).getFromIndex('deals', 'byPageRequest', pageRequest);
    return record?.kind === 'wallet' ? undefined : record;
  }
  async archiveOf(dealId: string) {
    return (await (await semperDb()).getAllFromIndex('archive', 'byDeal', dealId)).sort(byArchivedAt);
  }
  keepTimestamp(dealId: string, digest: string, token: string) {
    return keepArchivedTimestamp(dealId, digest, token);
  }
  async scanNewestFirst(range: CreatedRange, visit: (record: DealRecord) => boolean) {
    const index = unwrap((await semperDb()).transaction('deals').store.index('byCreated')) as IDBIndex & Partial<GetAllRecords>;
    if (typeof index.getAllRecords === 'function') {
      const getAllRecords = index.getAllRecords.bind(index);
      const keyRange = (r: InstantRange) =>
        r.lower !== undefined
          ? IDBKeyRange.bound(r.lower, r.upper ?? Number.POSITIVE_INFINITY, false, r.upperOpen === true)
          : r.upper !== undefined
            ? IDBKeyRange.upperBound(r.upper, r.upperOpen === true)
            : null;
      return walkNewestFirst(
        {
          newest: async (r, count) => (await idbRequest(getAllRecords({ query: keyRange(r), count, direction: 'prev' }))).map((x) => x.value as DealRecord),
          at: (instant) => idbRequest(index.getAll(IDBKeyRange.only(instant))) as Promise<DealRecord[]>,
        },
        range,
        visit,
      );
    }
    // Without getAllRecords (Firefox before it has it): one cursor step per deal.
    const lower = range.from;
    const upper = Math.min(range.to ?? Number.POSITIVE_INFINITY, range.after?.createdAt ?? Number.POSITIVE_INFINITY);
    if (lower !== undefined && lower > upper) return;
    const keys = lower !== undefined ? IDBKeyRange.bound(lower, upper) : upper !== Number.POSITIVE_INFINITY ? IDBKeyRange.upperBound(upper) : undefined;
    // 'prev' on byCreated: newest first, and within one instant by descending id (the primary key).
    let cursor = await (await semperDb()).transaction('deals').store.index('byCreated').openCursor(keys, 'prev');
    while (cursor) {
      const record = cursor.value;
      if (record.kind !== 'wallet' && inCreatedRange(record, range) && !visit(record)) return;
      cursor = await cursor.continue();
    }
  }
}

/** The purses ('wallets'): the same record shape and archive as deals, in their own store. */
export class IdbWalletStore implements DealStore {
  async get(dealId: string) {
    return (await semperDb()).get('wallets', dealId);
  }
  async create(record: DealRecord) {
    if (record.kind !== 'wallet') throw new Error(`a ${record.kind} is not a purse`);
    await (await semperDb()).add('wallets', record);
  }
  async commit(record: DealRecord, archive: ArchiveEntry[]) {
    if (record.kind !== 'wallet') throw new Error(`a ${record.kind} is not a purse`);
    const tx = (await semperDb()).transaction(['wallets', 'archive'], 'readwrite');
    await Promise.all([tx.objectStore('wallets').put(record), ...archive.map((entry) => tx.objectStore('archive').put(entry)), tx.done]);
  }
  async listActive() {
    // A handful of purses, one per bank: no index needed.
    return (await this.listAll()).filter((d) => !d.terminal);
  }
  async listAll() {
    return (await semperDb()).getAllFromIndex('wallets', 'byCreated');
  }
  async listCreatedSince(t: number) {
    return (await this.listAll()).filter((d) => d.createdAt > t);
  }
  async listUpdatedSince(t: number) {
    return (await this.listAll()).filter((d) => d.updatedAt > t);
  }
  async findByPageRequest() {
    return undefined;
  }
  async archiveOf(dealId: string) {
    return (await (await semperDb()).getAllFromIndex('archive', 'byDeal', dealId)).sort(byArchivedAt);
  }
  keepTimestamp(dealId: string, digest: string, token: string) {
    return keepArchivedTimestamp(dealId, digest, token);
  }
  async scanNewestFirst() {
    // Purses are not deals: the history never lists them.
  }
}

export class IdbKeyRecords implements KeyRecords {
  async list() {
    return (await semperDb()).getAll('keys');
  }
  async get(keyId: string) {
    return (await semperDb()).get('keys', keyId);
  }
  async add(key: StoredKey) {
    try {
      await (await semperDb()).add('keys', key);
      return true;
    } catch (e) {
      if (e instanceof DOMException && e.name === 'ConstraintError') return false;
      throw e;
    }
  }
  async putAll(keys: StoredKey[]) {
    const tx = (await semperDb()).transaction('keys', 'readwrite');
    await Promise.all([...keys.map((k) => tx.store.put(k)), tx.done]);
  }
}

/** The device key the first release kept in 'semper'.keys['device'] (kept aside by the upgrade until the key store takes it). */
export async function legacyDeviceKey(): Promise<LegacyDeviceKey | undefined> {
  return (await (await semperDb()).get('meta', META_LEGACY_DEVICE_KEY)) as LegacyDeviceKey | undefined;
}

/** Once the key store holds it, the legacy key lives only there. */
export async function dropLegacyDeviceKey(): Promise<void> {
  await (await semperDb()).delete('meta', META_LEGACY_DEVICE_KEY);
}

export class IdbTokenRecords implements TokenRecords {
  async list() {
    return (await semperDb()).getAll('tokens');
  }
  async get(credentialId: string) {
    return (await semperDb()).get('tokens', credentialId);
  }
  async put(token: StoredToken) {
    await (await semperDb()).put('tokens', token);
  }
  async delete(credentialId: string) {
    return deleteIfPresent('tokens', credentialId);
  }
}

export class IdbSettingsRecords implements SettingsRecords {
  async get() {
    return (await (await semperDb()).get('settings', SETTINGS_KEY)) ?? {};
  }
  async put(settings: ShopperSettings) {
    await (await semperDb()).put('settings', settings, SETTINGS_KEY);
  }
}

/** A setting kept as a list keyed by fingerprint (trusted roots, trusted TTPs). */
export interface FingerprintRecords<T extends { fingerprint: string }> {
  list(): Promise<T[]>;
  get(fingerprint: string): Promise<T | undefined>;
  put(value: T): Promise<void>;
  delete(fingerprint: string): Promise<boolean>;
}

async function deleteIfPresent(store: 'tokens' | 'roots' | 'ttps' | 'arbiters' | 'tsas', key: string): Promise<boolean> {
  const tx = (await semperDb()).transaction(store, 'readwrite');
  const existing = await tx.store.get(key);
  if (existing) await tx.store.delete(key);
  await tx.done;
  return existing !== undefined;
}

function fingerprintRecords<S extends 'roots' | 'ttps' | 'arbiters' | 'tsas'>(store: S): FingerprintRecords<SemperDB[S]['value']> {
  return {
    list: async () => (await semperDb()).getAll(store),
    get: async (fingerprint) => (await semperDb()).get(store, fingerprint),
    put: async (value) => {
      await (await semperDb()).put(store, value);
    },
    delete: (fingerprint) => deleteIfPresent(store, fingerprint),
  };
}

export const rootRecords: FingerprintRecords<TrustedRoot> = fingerprintRecords('roots');
export const ttpRecords: FingerprintRecords<TrustedTtp> = fingerprintRecords('ttps');

/** The saved card and its payments (extension/payments/card-payments.ts): one record in `meta`, so no schema change. */
export const META_CARD_WALLET = 'cardWallet';
export const cardRecords: CardRecords = {
  get: async () => (await (await semperDb()).get('meta', META_CARD_WALLET)) as CardWallet | undefined,
  put: async (wallet) => {
    await (await semperDb()).put('meta', wallet, META_CARD_WALLET);
  },
};
/** The guarantee policy (extension/settings/ttp-trust.ts): one record in `meta`, so no schema change. */
export const META_TTP_POLICY = 'ttpPolicy';
export const ttpPolicyRecord = {
  get: async (): Promise<unknown> => (await semperDb()).get('meta', META_TTP_POLICY),
  put: async (value: unknown): Promise<void> => {
    await (await semperDb()).put('meta', value, META_TTP_POLICY);
  },
  delete: async (): Promise<void> => {
    await (await semperDb()).delete('meta', META_TTP_POLICY);
  },
};
export const arbiterRecords: FingerprintRecords<TrustedArbiter> = fingerprintRecords('arbiters');
export const tsaRecords: FingerprintRecords<TrustedTsa> = fingerprintRecords('tsas');
