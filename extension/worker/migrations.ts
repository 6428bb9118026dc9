/**
 * From the first release's storage to the one database (worker/store.ts). That release kept three
 * IndexedDB databases:
 *
 *   'semper' v1           deals (purchase records), archive, keys['device'] (the pre-key-store
 *                         device key, out-of-line), roots
 *   'semper-identity' v1  keys (the key store), tokens, settings['shopper']
 *   'semper-exchange' v1  exchanges (exchange-deal records with their own fields), archive, ttps
 *
 * 'semper' is upgraded in place to version 2 (upgradeFromFirstRelease, inside the versionchange
 * transaction). The other two are read after the upgrade and written into 'semper' in ONE
 * transaction together with a marker (importLegacyDatabases); only after that commits are they
 * deleted. A crash before the commit leaves everything as it was and the import runs again; a
 * crash after it leaves at most old databases to delete. The old shapes are declared here and
 * nowhere else.
 */
import { openDB, type IDBPDatabase } from 'idb';
import type { PublicJwk } from '../../core/crypto/jwk.js';
import type { DescriptorBody, ExchangeAgreement, ExchangeDealState, ExchangeUse, VerifiedExchangeView } from '../../core/commerce/index.js';
import type { ErrorInfo } from '../../core/commerce/shopper.js';
import type { ExchangeState } from '../../core/exchange/index.js';
import type { ExchangeOutcomeForPage } from '../../core/protocol/provider.js';
import type { Statement } from '../../core/statements/index.js';
import type { ArchiveEntry, ExchangeRecord, PurchaseRecord } from '../deals/records.js';
import type { StoredKey } from '../identity/key-store.js';
import type { ShopperSettings, StoredToken } from '../identity/service.js';
import type { TrustedTtp } from '../settings/ttp-trust.js';
import type { SemperDatabase, UpgradeTransaction } from './store.js';

export const LEGACY_IDENTITY_DB = 'semper-identity';
export const LEGACY_EXCHANGE_DB = 'semper-exchange';
const META_IMPORTED = 'legacyImported';

export interface LegacyDeviceKey {
  pair: CryptoKeyPair;
  createdAt: number;
}

/** The stores version 2 adds to a version-1 database (all of them to a new one); `keys` changes shape. */
export function createStores(database: SemperDatabase, oldVersion: number): void {
  if (oldVersion < 1) {
    database.createObjectStore('deals', { keyPath: 'dealId' }).createIndex('byCreated', 'createdAt');
    database.createObjectStore('archive', { keyPath: ['dealId', 'digest'] }).createIndex('byDeal', 'dealId');
    database.createObjectStore('roots', { keyPath: 'fingerprint' });
  }
  database.createObjectStore('keys', { keyPath: 'keyId' }).createIndex('byPurpose', 'purpose');
  database.createObjectStore('tokens', { keyPath: 'credentialId' });
  database.createObjectStore('settings');
  database.createObjectStore('ttps', { keyPath: 'fingerprint' });
  database.createObjectStore('meta');
}

/** Version 3: the purses (worker/store.ts `wallets`), keyed by purse id, listed oldest first. */
export function createWalletStores(database: SemperDatabase): void {
  database.createObjectStore('wallets', { keyPath: 'dealId' }).createIndex('byCreated', 'createdAt');
}

/** Version 4: the trusted arbiters (a setting like the TTPs), keyed by certificate fingerprint. */
export function createArbiterStore(database: SemperDatabase): void {
  database.createObjectStore('arbiters', { keyPath: 'fingerprint' });
}

/** Version 5: the trusted time-stamping authorities (a setting like the arbiters), keyed by certificate fingerprint. */
export function createTsaStore(database: SemperDatabase): void {
  database.createObjectStore('tsas', { keyPath: 'fingerprint' });
}

/**
 * 'semper' v1 → v2, inside the versionchange transaction (only requests on `tx` may be awaited):
 * purchase records get their kind; the device key leaves the out-of-line `keys` store for `meta`
 * (the key store takes it from there on first use); the new stores are created.
 */
export async function upgradeFromFirstRelease(database: SemperDatabase, tx: UpgradeTransaction): Promise<void> {
  let cursor = await tx.objectStore('deals').openCursor();
  while (cursor) {
    const value = cursor.value as Omit<PurchaseRecord, 'kind'> & { kind?: string };
    if (value.kind === undefined) await cursor.update({ ...value, kind: 'purchase' } as PurchaseRecord);
    cursor = await cursor.continue();
  }
  const legacyKeys = tx.objectStore('keys') as unknown as { get(key: string): Promise<{ pair: CryptoKeyPair; createdAt: number } | undefined> };
  const device = await legacyKeys.get('device');
  database.deleteObjectStore('keys');
  createStores(database, 1);
  if (device) await tx.objectStore('meta').put({ pair: device.pair, createdAt: device.createdAt } satisfies LegacyDeviceKey, 'legacyDeviceKey');
}

/** An exchange deal as the first release stored it ('semper-exchange'.exchanges). */
interface FirstReleaseExchange {
  dealId: string;
  origin: string;
  use: ExchangeUse;
  documentId: string;
  nonce: string;
  shopperKeyId: string;
  createdAt: number;
  updatedAt: number;
  status: string;
  terminal: boolean;
  descriptor?: Statement<DescriptorBody>;
  view?: VerifiedExchangeView;
  agreement?: ExchangeAgreement;
  exchange?: ExchangeState;
  result?: { kind: 'finished'; outcome: ExchangeOutcomeForPage } | { kind: 'failed'; error: ErrorInfo } | { kind: 'rejected' };
  lastProblem?: ErrorInfo;
}

/** The first release's exchange record as a record of the exchange-deal machine. */
export function exchangeRecordFrom(old: FirstReleaseExchange, keys: ReadonlyMap<string, PublicJwk>): ExchangeRecord {
  const common = {
    dealId: old.dealId,
    origin: old.origin,
    use: old.use,
    documentId: old.documentId,
    nonce: old.nonce,
    shopperKeyId: old.shopperKeyId,
    startedAt: old.createdAt,
  };
  const agreed = old.descriptor && old.view && old.agreement ? { descriptor: old.descriptor, view: old.view, agreement: old.agreement } : undefined;
  const endedAt = old.updatedAt;
  const failed = (error: ErrorInfo): ExchangeDealState => ({
    ...common,
    ...agreed,
    ...(old.exchange ? { exchange: old.exchange } : {}),
    phase: 'failed',
    error,
    endedAt,
  });
  let state: ExchangeDealState;
  const jwk = keys.get(old.shopperKeyId);
  switch (old.status) {
    case 'requesting-descriptor':
      state = jwk
        ? { ...common, phase: 'requesting-descriptor' } // re-sent as today's request: no key (issue 8, item 6)
        : failed({ code: 'ERR_KEY', message: 'the key of this exchange was not found when Semper was updated' });
      break;
    case 'awaiting-confirmation':
      state = agreed ? { ...common, ...agreed, phase: 'awaiting-confirmation' } : failed({ code: 'ERR_INTERNAL', message: 'incomplete record' });
      break;
    case 'exchanging':
      state =
        agreed && old.exchange
          ? { ...common, ...agreed, phase: 'exchanging', exchange: old.exchange, ...(old.lastProblem ? { lastProblem: old.lastProblem } : {}) }
          : failed({ code: 'ERR_INTERNAL', message: 'incomplete record' });
      break;
    case 'completed':
    case 'resolved':
    case 'aborted':
      state =
        agreed && old.exchange && old.result?.kind === 'finished'
          ? {
              ...common,
              ...agreed,
              phase: old.status,
              exchange: old.exchange,
              outcome: old.result.outcome,
              endedAt,
              ...(old.lastProblem ? { lastProblem: old.lastProblem } : {}),
            }
          : failed({ code: 'ERR_INTERNAL', message: 'incomplete record' });
      break;
    case 'rejected':
      state = { ...common, ...agreed, phase: 'rejected', endedAt };
      break;
    default:
      state = failed(old.result?.kind === 'failed' ? old.result.error : { code: 'ERR_INTERNAL', message: `unknown status ${old.status}` });
  }
  const terminal = state.phase !== 'requesting-descriptor' && state.phase !== 'awaiting-confirmation' && state.phase !== 'exchanging';
  const result = state.phase === 'failed' && !old.result ? { kind: 'failed' as const, error: state.error } : old.result;
  return {
    kind: 'exchange',
    dealId: old.dealId,
    origin: old.origin,
    createdAt: old.createdAt,
    updatedAt: old.updatedAt,
    state,
    status: state.phase,
    terminal,
    ...(old.view ? { view: old.view } : {}),
    ...(result ? { result } : {}),
    ...(old.lastProblem ? { problem: old.lastProblem } : {}),
  };
}

async function existingDatabases(): Promise<Set<string>> {
  const list = await indexedDB.databases();
  return new Set(list.map((d) => d.name).filter((n): n is string => typeof n === 'string'));
}

async function readAll(name: string, stores: string[]): Promise<Record<string, unknown[]> & { settings?: ShopperSettings }> {
  const db: IDBPDatabase = await openDB(name);
  try {
    const out: Record<string, unknown[]> & { settings?: ShopperSettings } = {};
    for (const store of stores) {
      if (!db.objectStoreNames.contains(store)) continue;
      if (store === 'settings') out.settings = (await db.get(store, 'shopper')) as ShopperSettings | undefined;
      else out[store] = await db.getAll(store);
    }
    return out;
  } finally {
    db.close();
  }
}

/**
 * Import 'semper-identity' and 'semper-exchange' into 'semper' once (one transaction, with the
 * marker), then delete them. Records already in 'semper' win over imported ones with the same key.
 */
export async function importLegacyDatabases(database: SemperDatabase): Promise<void> {
  if ((await database.get('meta', META_IMPORTED)) === true) {
    // Imported already; an old database still open somewhere when it was deleted is deleted now. Every
    // start opens the database before its first answer, which need not wait for the browser's list.
    void existingDatabases()
      .then((existing) => {
        for (const name of [LEGACY_IDENTITY_DB, LEGACY_EXCHANGE_DB]) if (existing.has(name)) void deleteDatabase(name);
      })
      .catch(() => undefined);
    return;
  }
  const existing = await existingDatabases();
  const identity = existing.has(LEGACY_IDENTITY_DB) ? await readAll(LEGACY_IDENTITY_DB, ['keys', 'tokens', 'settings']) : {};
  const exchange = existing.has(LEGACY_EXCHANGE_DB) ? await readAll(LEGACY_EXCHANGE_DB, ['exchanges', 'archive', 'ttps']) : {};
  const keys = (identity.keys ?? []) as StoredKey[];
  const jwks = new Map(keys.map((k) => [k.keyId, k.publicJwk]));
  const tx = database.transaction(['deals', 'archive', 'keys', 'tokens', 'settings', 'ttps', 'meta'], 'readwrite');
  const putNew = async <S extends 'deals' | 'archive' | 'keys' | 'tokens' | 'ttps'>(store: S, key: IDBValidKey, value: unknown) => {
    const s = tx.objectStore(store);
    if ((await s.getKey(key as never)) === undefined) await s.put(value as never);
  };
  for (const k of keys) await putNew('keys', k.keyId, k);
  for (const t of (identity.tokens ?? []) as StoredToken[]) await putNew('tokens', t.credentialId, t);
  if (identity.settings && (await tx.objectStore('settings').get('shopper')) === undefined) await tx.objectStore('settings').put(identity.settings, 'shopper');
  for (const e of (exchange.exchanges ?? []) as FirstReleaseExchange[]) await putNew('deals', e.dealId, exchangeRecordFrom(e, jwks));
  for (const a of (exchange.archive ?? []) as ArchiveEntry[]) await putNew('archive', [a.dealId, a.digest], a);
  for (const t of (exchange.ttps ?? []) as TrustedTtp[]) await putNew('ttps', t.fingerprint, t);
  await tx.objectStore('meta').put(true, META_IMPORTED);
  await tx.done;
  for (const name of [LEGACY_IDENTITY_DB, LEGACY_EXCHANGE_DB]) if (existing.has(name)) void deleteDatabase(name);
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    // Best effort: a database still open elsewhere is deleted when it closes; nothing reads it again (the marker is set).
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/**
 * Version 5: the deals' indexes for what runs on every cold start and page request (active deals,
 * deals updated since the notices were read, a page request's deal), and `activeSince` written into
 * every record that is not terminal (worker/store.ts withActiveKey), inside the upgrade transaction.
 */
export async function indexDeals(tx: UpgradeTransaction): Promise<void> {
  const deals = tx.objectStore('deals');
  deals.createIndex('byActive', 'activeSince');
  deals.createIndex('byUpdated', 'updatedAt');
  deals.createIndex('byPageRequest', 'pageRequest');
  let cursor = await deals.openCursor();
  while (cursor) {
    const record = cursor.value;
    if (!record.terminal && record.activeSince === undefined) await cursor.update({ ...record, activeSince: record.createdAt });
    cursor = await cursor.continue();
  }
}
