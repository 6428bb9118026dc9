/**
 * The shop's merchant identity: a long-term ES256 signing key kept in shop.sqlite and a
 * certificate from the CA naming the shop's exact origin. On start the stored certificate is
 * reused if it still chains to the CA root, names this origin, certifies this key and is not
 * about to expire; otherwise the shop enrols again (same key, new certificate). Every
 * certificate the shop ever held stays in the table: old confirmations name them.
 */
import { signerFromKeyPair } from '../../core/crypto/index.js';
import type { MerchantIdentity } from '../../core/commerce/merchant.js';
import { SemperError } from '../../core/errors.js';
import { canonicalOrigin, readCertificate, validateChain } from '../../core/pki/index.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../storage/keys.js';
import type { MigrationSet, SqliteStore } from '../storage/sqlite.js';

export const SHOP_IDENTITY_SCHEMA: MigrationSet = {
  component: 'shop-identity',
  migrations: [
    {
      version: 1,
      description: 'merchant signing key and certificates',
      up: `
        CREATE TABLE merchant_key (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          private_key_pkcs8 BLOB NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE merchant_certificates (
          serial TEXT PRIMARY KEY,
          origin TEXT NOT NULL,
          certificate TEXT NOT NULL,
          not_after TEXT NOT NULL,
          enrolled_at TEXT NOT NULL
        );
        CREATE INDEX merchant_certificates_origin ON merchant_certificates (origin, enrolled_at);
      `,
    },
  ],
};

/** What the shop needs from a CA: its root, and in-process enrolment (see CaService). */
export interface MerchantEnroller {
  readonly rootCertificate: string;
  issueMerchantCertificate(enrolment: { legalName: string; origins: string[]; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface LoadIdentityOptions {
  store: SqliteStore;
  origin: string;
  legalName: string;
  ca: MerchantEnroller;
  now?: () => number;
  /** Re-enrol when the stored certificate expires within this margin (default one day). */
  renewBeforeMs?: number;
}

export interface ShopIdentity extends MerchantIdentity {
  certificate: string;
  serial: string;
  /** True when this start obtained a new certificate. */
  enrolled: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function loadOrCreateKey(store: SqliteStore, now: number): Promise<CryptoKeyPair> {
  const load = () => store.db.prepare<[], { private_key_pkcs8: Buffer }>('SELECT private_key_pkcs8 FROM merchant_key WHERE id = 1').get();
  let row = load();
  if (!row) {
    // Extractable only to be written to shop.sqlite as PKCS#8 (storage/keys.ts says why).
    const generated = await generatePersistableEs256();
    store.immediate(() => {
      store.db
        .prepare('INSERT INTO merchant_key (id, private_key_pkcs8, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING')
        .run(Buffer.from(generated.pkcs8), new Date(now).toISOString());
    });
    row = load();
    if (!row) throw new SemperError('ERR_INTERNAL', 'merchant key was not stored');
  }
  return importEs256Pkcs8(row.private_key_pkcs8);
}

/** Is this stored certificate still the right one for this key, origin and CA? */
async function stillUsable(certificate: string, origin: string, keyJwk: { x: string; y: string }, root: string, now: number, renewBeforeMs: number): Promise<boolean> {
  try {
    const { leaf } = await validateChain([certificate], { roots: [root], now: new Date(now) });
    if (leaf.role !== 'merchant' || !leaf.origins.includes(origin)) return false;
    if (leaf.publicJwk.kty !== 'EC' || leaf.publicJwk.x !== keyJwk.x || leaf.publicJwk.y !== keyJwk.y) return false;
    return leaf.notAfter.getTime() - now > renewBeforeMs;
  } catch {
    // Expired, or issued by a CA we no longer trust (e.g. the CA's data was reset): enrol again.
    return false;
  }
}

export async function loadMerchantIdentity(options: LoadIdentityOptions): Promise<ShopIdentity> {
  const { store, legalName, ca } = options;
  const clock = options.now ?? Date.now;
  const origin = canonicalOrigin(options.origin);
  const keys = await loadOrCreateKey(store, clock());
  const signer = await signerFromKeyPair('ES256', keys);
  if (signer.publicJwk.kty !== 'EC') throw new SemperError('ERR_KEY', 'merchant key is not an EC key');
  const keyJwk = { x: signer.publicJwk.x, y: signer.publicJwk.y };

  const latest = store.db
    .prepare<[string], { serial: string; certificate: string }>(
      'SELECT serial, certificate FROM merchant_certificates WHERE origin = ? ORDER BY enrolled_at DESC, rowid DESC LIMIT 1',
    )
    .get(origin);
  if (latest && (await stillUsable(latest.certificate, origin, keyJwk, ca.rootCertificate, clock(), options.renewBeforeMs ?? DAY_MS))) {
    return { signer, chain: [latest.certificate], origin, certificate: latest.certificate, serial: latest.serial, enrolled: false };
  }

  const { certificate } = await ca.issueMerchantCertificate({ legalName, origins: [origin], publicKey: keys.publicKey });
  const info = await readCertificate(certificate);
  // Check what the CA handed back before signing anything with it.
  if (!(await stillUsable(certificate, origin, keyJwk, ca.rootCertificate, clock(), 0))) {
    throw new SemperError('ERR_CERT_CHAIN', 'the CA issued a certificate that does not certify this key for this origin');
  }
  const serial = info.serialNumber.toLowerCase();
  store.immediate(() => {
    store.db
      .prepare('INSERT INTO merchant_certificates (serial, origin, certificate, not_after, enrolled_at) VALUES (?, ?, ?, ?, ?)')
      .run(serial, origin, certificate, info.notAfter.toISOString(), new Date(clock()).toISOString());
  });
  return { signer, chain: [certificate], origin, certificate, serial, enrolled: true };
}
