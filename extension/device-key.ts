/**
 * The worker's key store (key-store.ts over IndexedDB, identity-db.ts). The device key of earlier
 * versions ('semper'.keys['device']) is migrated on first use and becomes the identity key, so
 * existing archives and flows keep working. `deviceSigner()` is the identity key's signer: orders
 * of non-anonymous deals are signed with it; only its public JWK and RFC 7638 key id ever leave.
 */
import type { Signer } from '../core/crypto/index.js';
import { KeyStore } from './key-store.js';
import { IdbKeyRecords, dropLegacyDeviceKey, legacyDeviceKey } from './identity-db.js';

export const keyStore = new KeyStore({
  records: new IdbKeyRecords(),
  now: () => Date.now(),
  legacyDeviceKey,
  legacyMigrated: dropLegacyDeviceKey,
});

/** The active identity key's signer (made on first use). */
export async function deviceSigner(): Promise<Signer> {
  return keyStore.signer(await keyStore.identity());
}
