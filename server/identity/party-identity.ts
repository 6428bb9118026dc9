/**
 * The identity of every server party that signs as itself: one long-term ES256 key, kept in the
 * party's SQLite file, and the certificates the CA issued for it (the shop: role merchant, naming
 * its exact origin; the TTP: role ttp). Both must survive a restart: shoppers trust the TTP by
 * its key (every m1 pins it), and old statements name the certificates they were signed under.
 *
 * On start the latest stored certificate for this role (and origin) is reused if it still
 * chains to the CA root, certifies this key, names this origin and is not about to expire;
 * otherwise the party asks the CA again (same key, new certificate) and checks what came back
 * before signing anything with it. Every certificate the party ever held stays in the table.
 *
 * Schema history (component 'party-identity'): version 1 creates the tables and moves in the
 * identity of the releases before it, when the file has one (the shop's `merchant_key` /
 * `merchant_certificates`, component 'shop-identity'; the TTP's `ttp_key` / `ttp_certificates`,
 * component 'ttp-identity'), so a restarted marketplace keeps its keys and certificates.
 */
import { signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { SemperError } from '../../core/errors.js';
import { readCertificate, validateChain, type CertificateRole } from '../../core/pki/index.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../storage/keys.js';
import { hasTable, supersedeComponent, type MigrationSet, type SqliteDatabase, type SqliteStore } from '../storage/sqlite.js';

/** The legacy identity tables of each party, and how their certificate rows map to the one layout. */
const LEGACY = [
  { component: 'shop-identity', key: 'merchant_key', certificates: 'merchant_certificates', role: 'merchant', origin: 'origin', issuedAt: 'enrolled_at' },
  { component: 'ttp-identity', key: 'ttp_key', certificates: 'ttp_certificates', role: 'ttp', origin: 'NULL', issuedAt: 'issued_at' },
] as const;

function createAndMoveLegacy(db: SqliteDatabase): void {
  db.exec(`
    CREATE TABLE identity_key (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      private_key_pkcs8 BLOB NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE TABLE identity_certificates (
      serial TEXT PRIMARY KEY,
      role TEXT NOT NULL,
      origin TEXT,
      certificate TEXT NOT NULL,
      not_after TEXT NOT NULL,
      issued_at TEXT NOT NULL
    );
    CREATE INDEX identity_certificates_latest ON identity_certificates (role, origin, issued_at);
  `);
  const present = LEGACY.filter((l) => hasTable(db, l.key));
  if (present.length > 1) throw new SemperError('ERR_INTERNAL', 'this file holds the keys of two parties; move one out before upgrading');
  for (const l of present) {
    db.exec(`INSERT INTO identity_key (id, private_key_pkcs8, created_at) SELECT id, private_key_pkcs8, created_at FROM ${l.key}`);
    db.exec(`INSERT INTO identity_certificates (serial, role, origin, certificate, not_after, issued_at)
             SELECT serial, '${l.role}', ${l.origin}, certificate, not_after, ${l.issuedAt} FROM ${l.certificates} ORDER BY rowid`);
    db.exec(`DROP TABLE ${l.certificates}; DROP TABLE ${l.key};`);
    supersedeComponent(db, l.component, 'moved into identity_key / identity_certificates (party-identity version 1)');
  }
}

export const IDENTITY_SCHEMA: MigrationSet = {
  component: 'party-identity',
  migrations: [{ version: 1, description: 'party signing key and certificates (moved from the shop and TTP tables)', up: createAndMoveLegacy }],
};

export interface PartyIdentityOptions {
  /** The party's database (its schema must include IDENTITY_SCHEMA). */
  store: SqliteStore;
  role: Exclude<CertificateRole, 'ca' | 'shopper'>;
  /** Merchants: the exact origin the certificate must name. */
  origin?: string;
  /** The CA root the certificate must chain to. */
  root: string;
  /** Ask the CA for a certificate of this public key (base64 DER). */
  issue(publicKey: CryptoKey): Promise<string>;
  now?: () => number;
  /** Ask again when the stored certificate expires within this margin (default one day). */
  renewBeforeMs?: number;
}

export interface PartyIdentity {
  keys: CryptoKeyPair;
  signer: Signer;
  certificate: string;
  serial: string;
  /** True when this start obtained a new certificate. */
  enrolled: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function loadOrCreateKey(store: SqliteStore, now: number): Promise<CryptoKeyPair> {
  const load = () => store.db.prepare<[], { private_key_pkcs8: Buffer }>('SELECT private_key_pkcs8 FROM identity_key WHERE id = 1').get();
  let row = load();
  if (!row) {
    // Extractable only to be written to the file as PKCS#8 (storage/keys.ts says why).
    const generated = await generatePersistableEs256();
    store.immediate(() => {
      store.db
        .prepare('INSERT INTO identity_key (id, private_key_pkcs8, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING')
        .run(Buffer.from(generated.pkcs8), new Date(now).toISOString());
    });
    // Another process may have won the insert: whatever is stored is the key.
    row = load();
    if (!row) throw new SemperError('ERR_INTERNAL', 'the signing key was not stored');
  }
  return importEs256Pkcs8(row.private_key_pkcs8);
}

/** Is this certificate still the right one for this key, role, origin and CA? */
async function stillUsable(certificate: string, signer: Signer, options: PartyIdentityOptions, now: number, renewBeforeMs: number): Promise<boolean> {
  try {
    const { leaf } = await validateChain([certificate], { roots: [options.root], now: new Date(now) });
    if (leaf.role !== options.role || (options.origin !== undefined && !leaf.origins.includes(options.origin))) return false;
    const key = signer.publicJwk;
    if (leaf.publicJwk.kty !== 'EC' || key.kty !== 'EC' || leaf.publicJwk.x !== key.x || leaf.publicJwk.y !== key.y) return false;
    return leaf.notAfter.getTime() - now > renewBeforeMs;
  } catch {
    // Expired, or issued by a CA we no longer trust (e.g. the CA's data was reset): ask again.
    return false;
  }
}

export async function loadPartyIdentity(options: PartyIdentityOptions): Promise<PartyIdentity> {
  const { store, role } = options;
  const clock = options.now ?? Date.now;
  const origin = options.origin ?? null;
  const keys = await loadOrCreateKey(store, clock());
  const signer = await signerFromKeyPair('ES256', keys);

  const latest = store.db
    .prepare<[string, string | null], { serial: string; certificate: string }>(
      'SELECT serial, certificate FROM identity_certificates WHERE role = ? AND origin IS ? ORDER BY issued_at DESC, rowid DESC LIMIT 1',
    )
    .get(role, origin);
  if (latest && (await stillUsable(latest.certificate, signer, options, clock(), options.renewBeforeMs ?? DAY_MS))) {
    return { keys, signer, certificate: latest.certificate, serial: latest.serial, enrolled: false };
  }

  const certificate = await options.issue(keys.publicKey);
  // Check what the CA handed back before signing anything with it.
  if (!(await stillUsable(certificate, signer, options, clock(), 0))) {
    throw new SemperError('ERR_CERT_CHAIN', `the CA issued a certificate that does not certify this key as ${role}${origin ? ` for ${origin}` : ''}`);
  }
  const info = await readCertificate(certificate);
  const serial = info.serialNumber.toLowerCase();
  store.immediate(() => {
    store.db
      .prepare('INSERT INTO identity_certificates (serial, role, origin, certificate, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(serial, role, origin, certificate, info.notAfter.toISOString(), new Date(clock()).toISOString());
  });
  return { keys, signer, certificate, serial, enrolled: true };
}
