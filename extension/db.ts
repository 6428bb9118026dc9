/**
 * The worker's IndexedDB (through idb): deals, the evidence archive, the device key and the
 * trusted CA roots. CryptoKeys are stored as-is: structured clone keeps a non-extractable key
 * non-extractable, so nothing (the page least of all) can read the key material.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ArchiveEntry, DealRecord, DealStore } from './deal-store.js';

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
      const deals = database.createObjectStore('deals', { keyPath: 'dealId' });
      deals.createIndex('byCreated', 'createdAt');
      const archive = database.createObjectStore('archive', { keyPath: ['dealId', 'digest'] });
      archive.createIndex('byDeal', 'dealId');
      database.createObjectStore('keys');
      database.createObjectStore('roots', { keyPath: 'fingerprint' });
    },
  });
  return dbPromise;
}

export class IdbDealStore implements DealStore {
  async get(dealId: string) {
    return (await db()).get('deals', dealId);
  }

  async create(record: DealRecord) {
    await (await db()).add('deals', record);
  }

  async commit(record: DealRecord, archive: ArchiveEntry[]) {
    const tx = (await db()).transaction(['deals', 'archive'], 'readwrite');
    const writes: Promise<unknown>[] = [tx.objectStore('deals').put(record)];
    for (const entry of archive) writes.push(tx.objectStore('archive').put(entry));
    await Promise.all([...writes, tx.done]);
  }

  async listActive() {
    return (await this.listAll()).filter((d) => !d.terminal);
  }

  async listAll() {
    return (await db()).getAllFromIndex('deals', 'byCreated');
  }

  async archiveOf(dealId: string) {
    const entries = await (await db()).getAllFromIndex('archive', 'byDeal', dealId);
    return entries.sort((a, b) => a.archivedAt - b.archivedAt);
  }
}
