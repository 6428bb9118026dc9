/**
 * The worker's IndexedDB (through idb): deals, the evidence archive, the device key and the
 * trusted CA roots. CryptoKeys are stored as-is: structured clone keeps a non-extractable key
 * non-extractable, so nothing (the page least of all) can read the key material.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ArchiveEntry, DealRecord, DealStore } from './deal-store.js';
import { IdbRecordStore, createRecordStores } from './record-store.js';

export interface TrustedRoot {
  /** base64url SHA-256 of the DER */
  fingerprint: string;
  /** base64 DER */
  der: string;
  commonName: string;
  subject: string;
  notAfter: string;
  addedAt: number;
}

export interface DeviceKeyRecord {
  alg: 'ES256';
  pair: CryptoKeyPair;
  createdAt: number;
}

interface SemperDB extends DBSchema {
  deals: { key: string; value: DealRecord; indexes: { byCreated: number } };
  archive: { key: [string, string]; value: ArchiveEntry; indexes: { byDeal: string } };
  keys: { key: string; value: DeviceKeyRecord };
  roots: { key: string; value: TrustedRoot };
}

export type Db = IDBPDatabase<SemperDB>;

let dbPromise: Promise<Db> | undefined;

export function db(): Promise<Db> {
  dbPromise ??= openDB<SemperDB>('semper', 1, {
    upgrade(database) {
      createRecordStores(database, 'deals');
      database.createObjectStore('keys');
      database.createObjectStore('roots', { keyPath: 'fingerprint' });
    },
  });
  return dbPromise;
}

export class IdbDealStore extends IdbRecordStore<DealRecord, SemperDB> implements DealStore {
  constructor() {
    super(db, 'deals');
  }
}
