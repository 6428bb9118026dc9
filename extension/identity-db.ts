/**
 * The worker's IndexedDB for the shopper's identity, kept in its own database ('semper-identity')
 * so its schema versions independently of the deals database (db.ts):
 *   keys      StoredKey by keyId (non-extractable CryptoKeyPairs, stored as is)
 *   tokens    registered hardware tokens (WebAuthn credentials) by credentialId
 *   settings  one record: security phrase + picture, CA URL, hardware-token threshold
 * The security phrase lives only here: it is shown by Semper's own pages and never sent anywhere.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { db as dealsDb } from './db.js';
import type { KeyRecords, StoredKey } from './key-store.js';
import type { SettingsRecords, ShopperSettings, StoredToken, TokenRecords } from './identity-service.js';

interface IdentityDB extends DBSchema {
  keys: { key: string; value: StoredKey; indexes: { byPurpose: string } };
  tokens: { key: string; value: StoredToken };
  settings: { key: string; value: ShopperSettings };
}

const SETTINGS_KEY = 'shopper';
let dbPromise: Promise<IDBPDatabase<IdentityDB>> | undefined;

function identityDb(): Promise<IDBPDatabase<IdentityDB>> {
  dbPromise ??= openDB<IdentityDB>('semper-identity', 1, {
    upgrade(database) {
      const keys = database.createObjectStore('keys', { keyPath: 'keyId' });
      keys.createIndex('byPurpose', 'purpose');
      database.createObjectStore('tokens', { keyPath: 'credentialId' });
      database.createObjectStore('settings');
    },
  });
  return dbPromise;
}

export class IdbKeyRecords implements KeyRecords {
  async list() {
    return (await identityDb()).getAll('keys');
  }
  async get(keyId: string) {
    return (await identityDb()).get('keys', keyId);
  }
  async add(key: StoredKey) {
    try {
      await (await identityDb()).add('keys', key);
      return true;
    } catch (e) {
      if (e instanceof DOMException && e.name === 'ConstraintError') return false;
      throw e;
    }
  }
  async putAll(keys: StoredKey[]) {
    const tx = (await identityDb()).transaction('keys', 'readwrite');
    await Promise.all([...keys.map((k) => tx.store.put(k)), tx.done]);
  }
}

export class IdbTokenRecords implements TokenRecords {
  async list() {
    return (await identityDb()).getAll('tokens');
  }
  async get(credentialId: string) {
    return (await identityDb()).get('tokens', credentialId);
  }
  async put(token: StoredToken) {
    await (await identityDb()).put('tokens', token);
  }
  async delete(credentialId: string) {
    const database = await identityDb();
    const existing = await database.get('tokens', credentialId);
    if (!existing) return false;
    await database.delete('tokens', credentialId);
    return true;
  }
}

export class IdbSettingsRecords implements SettingsRecords {
  async get() {
    return (await (await identityDb()).get('settings', SETTINGS_KEY)) ?? {};
  }
  async put(settings: ShopperSettings) {
    await (await identityDb()).put('settings', settings, SETTINGS_KEY);
  }
}

/** The device key device-key.ts used to keep in 'semper'.keys['device'] (before the key store). */
const LEGACY_DEVICE_KEY = 'device';

export async function legacyDeviceKey(): Promise<{ pair: CryptoKeyPair; createdAt: number } | undefined> {
  const record = await (await dealsDb()).get('keys', LEGACY_DEVICE_KEY);
  return record ? { pair: record.pair, createdAt: record.createdAt } : undefined;
}

/** Once migrated, the key lives only in the key store. */
export async function dropLegacyDeviceKey(): Promise<void> {
  await (await dealsDb()).delete('keys', LEGACY_DEVICE_KEY);
}
