/**
 * The exchange deals' IndexedDB (through idb), a database of its own ('semper-exchange'):
 *   exchanges  one record per exchange deal (exchange-store.ts), keyed by deal id
 *   archive    every statement of an exchange, both directions, keyed [dealId, digest]
 *   ttps       the TTPs the user trusts (a setting, like the CA roots in 'semper')
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ArchiveEntry } from './deal-store.js';
import type { ExchangeDealRecord, ExchangeStore } from './exchange-store.js';
import { IdbRecordStore, createRecordStores } from './record-store.js';

export interface TrustedTtp {
  /** base64url SHA-256 of the certificate DER (given directly, or computed from the certificate) */
  fingerprint: string;
  /** base64 DER, when the certificate itself was added */
  der?: string;
  /** RFC 7638 thumbprint of the certified key (with the certificate) */
  keyId?: string;
  commonName?: string;
  notAfter?: string;
  /** Where this browser reaches the TTP: scheme://host[:port] */
  url: string;
  addedAt: number;
}

interface ExchangeDB extends DBSchema {
  exchanges: { key: string; value: ExchangeDealRecord; indexes: { byCreated: number } };
  archive: { key: [string, string]; value: ArchiveEntry; indexes: { byDeal: string } };
  ttps: { key: string; value: TrustedTtp };
}

let dbPromise: Promise<IDBPDatabase<ExchangeDB>> | undefined;

export function exchangeDb(): Promise<IDBPDatabase<ExchangeDB>> {
  dbPromise ??= openDB<ExchangeDB>('semper-exchange', 1, {
    upgrade(database) {
      createRecordStores(database, 'exchanges');
      database.createObjectStore('ttps', { keyPath: 'fingerprint' });
    },
  });
  return dbPromise;
}

export class IdbExchangeStore extends IdbRecordStore<ExchangeDealRecord, ExchangeDB> implements ExchangeStore {
  constructor() {
    super(exchangeDb, 'exchanges');
  }
}

export async function listTtps(): Promise<TrustedTtp[]> {
  return (await exchangeDb()).getAll('ttps');
}

export async function putTtp(ttp: TrustedTtp): Promise<void> {
  await (await exchangeDb()).put('ttps', ttp);
}

export async function deleteTtp(fingerprint: string): Promise<boolean> {
  const database = await exchangeDb();
  if (!(await database.get('ttps', fingerprint))) return false;
  await database.delete('ttps', fingerprint);
  return true;
}
