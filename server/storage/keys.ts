/**
 * Persisting a party's ES256 signing key in its SQLite file.
 *
 * Why extractable at all: in the browser a non-extractable CryptoKey survives restarts in
 * IndexedDB, but Node's WebCrypto has no persistent key store, so a server party's key must be
 * exported once (PKCS#8) to be written to disk. The key is generated extractable only for that
 * export; every key this module hands back for use is re-imported *non-extractable*, so no code
 * path after start-up can read it out again. A production deployment would keep it in an HSM or
 * KMS instead of a 0600 file.
 */
import { generateKeyPair } from '../../core/crypto/index.js';
import { SemperError } from '../../core/errors.js';

const ES256_IMPORT: EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };

export interface PersistableKeyPair {
  /** For use: private key non-extractable. */
  keys: CryptoKeyPair;
  /** For the database: PKCS#8 DER of the private key. */
  pkcs8: Uint8Array;
}

/** A fresh ES256 key pair plus its PKCS#8 export for storage. */
export async function generatePersistableEs256(): Promise<PersistableKeyPair> {
  const generated = await generateKeyPair('ES256', true);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', generated.privateKey));
  return { pkcs8, keys: await importEs256Pkcs8(pkcs8) };
}

/** Load a stored PKCS#8 key: private half non-extractable, public half derived from it (one source of truth). */
export async function importEs256Pkcs8(pkcs8: Uint8Array): Promise<CryptoKeyPair> {
  const der = new Uint8Array(pkcs8); // own ArrayBuffer (a Node Buffer may be a view into a shared pool)
  let jwk: JsonWebKey;
  try {
    // Imported extractable only long enough to read the public point (x, y) out of it.
    const transient = await crypto.subtle.importKey('pkcs8', der, ES256_IMPORT, true, ['sign']);
    jwk = await crypto.subtle.exportKey('jwk', transient);
  } catch (e) {
    throw new SemperError('ERR_KEY', `stored signing key is not an ES256 PKCS#8 key (${e instanceof Error ? e.message : String(e)})`);
  }
  const privateKey = await crypto.subtle.importKey('pkcs8', der, ES256_IMPORT, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true }, ES256_IMPORT, true, ['verify']);
  return { privateKey, publicKey };
}
