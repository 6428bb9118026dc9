/**
 * The TTP's sealing key (core/crypto/seal.ts): an ECDH P-256 key of its own, never the signing key.
 * Givers seal secrets to it (a fair purchase's goods key), so it must survive restarts as long as
 * any box sealed to it can still reach the TTP: it is kept (PKCS#8) in the TTP's identity file,
 * table `sealing_key` (component 'ttp-sealing-key'), and re-imported non-extractable for use — as
 * server/storage/keys.ts does with signing keys, and for the same reason (Node's WebCrypto has no
 * persistent key store).
 */
import { SemperError } from '../../core/errors.js';
import type { MigrationSet, SqliteStore } from '../storage/sqlite.js';

const ECDH: EcKeyImportParams = { name: 'ECDH', namedCurve: 'P-256' };

export const SEALING_KEY_SCHEMA: MigrationSet = {
  component: 'ttp-sealing-key',
  migrations: [
    {
      version: 1,
      description: "the TTP's ECDH P-256 sealing key (PKCS#8)",
      up: (db) => db.exec('CREATE TABLE sealing_key (id INTEGER PRIMARY KEY CHECK (id = 1), private_key_pkcs8 BLOB NOT NULL, created_at TEXT NOT NULL)'),
    },
  ],
};

/** Import a stored sealing key: private half non-extractable, public half derived from it. */
export async function importSealingPkcs8(pkcs8: Uint8Array): Promise<CryptoKeyPair> {
  const der = new Uint8Array(pkcs8);
  let jwk: JsonWebKey;
  try {
    const transient = await crypto.subtle.importKey('pkcs8', der, ECDH, true, ['deriveBits']);
    jwk = await crypto.subtle.exportKey('jwk', transient);
  } catch (e) {
    throw new SemperError('ERR_KEY', `stored sealing key is not an ECDH P-256 PKCS#8 key (${e instanceof Error ? e.message : String(e)})`);
  }
  const privateKey = await crypto.subtle.importKey('pkcs8', der, ECDH, false, ['deriveBits']);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, ECDH, true, []);
  return { privateKey, publicKey };
}

/** The TTP's sealing key from its identity file, made on first start. */
export async function loadSealingKey(store: SqliteStore, now: () => number = Date.now): Promise<CryptoKeyPair> {
  const row = store.db.prepare<[], { private_key_pkcs8: Uint8Array }>('SELECT private_key_pkcs8 FROM sealing_key WHERE id = 1').get();
  if (row) return importSealingPkcs8(row.private_key_pkcs8);
  const generated = (await crypto.subtle.generateKey(ECDH, true, ['deriveBits'])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', generated.privateKey));
  store.db.prepare('INSERT INTO sealing_key (id, private_key_pkcs8, created_at) VALUES (1, ?, ?)').run(pkcs8, new Date(now()).toISOString());
  return importSealingPkcs8(pkcs8);
}
