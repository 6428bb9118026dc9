/**
 * The certification authority party: one self-signed root, persisted in `ca.sqlite`, that
 * issues certificates binding a legal name (and, for merchants, the web origins the merchant
 * serves offers from) to a public key, and keeps a register of everything it issued so anyone
 * can ask for a certificate's status.
 */
import { SemperError } from '../../core/errors.js';
import { certificateToPem, createRootCertificate, issueCertificate, readCertificate, type CertificateRole } from '../../core/pki/index.js';
import { SqliteStore, parseStoredJson, type MigrationSet } from '../storage/sqlite.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../storage/keys.js';

export const CA_DB_FILE = 'ca.sqlite';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so a verifier whose clock lags slightly still accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;

const CA_SCHEMA: MigrationSet = {
  component: 'ca',
  migrations: [
    {
      version: 1,
      description: 'root key and certificate register',
      up: `
        CREATE TABLE ca_root (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          private_key_pkcs8 BLOB NOT NULL,
          certificate TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE certificates (
          serial TEXT PRIMARY KEY,
          subject TEXT NOT NULL,
          common_name TEXT NOT NULL,
          role TEXT NOT NULL,
          origins TEXT NOT NULL,
          der TEXT NOT NULL UNIQUE,
          not_before TEXT NOT NULL,
          not_after TEXT NOT NULL,
          issued_at TEXT NOT NULL,
          revoked_at TEXT
        );
      `,
    },
  ],
};

export type CertificateStatus = 'good' | 'revoked' | 'unknown';

/** One entry of the CA's register, as the HTTP API returns it. Times are RFC 3339 UTC. */
export interface CertificateRecord {
  /** Lower-case hex, as in the certificate's serialNumber. */
  serial: string;
  subject: string;
  commonName: string;
  role: CertificateRole;
  origins: string[];
  /** DER, base64 (RFC 4648 §4). */
  certificate: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  /** Always null until revocation is implemented; the column exists so the status answer is honest. */
  revokedAt: string | null;
}

export interface MerchantEnrolment {
  /** The merchant's legal name: subject CN and O. */
  legalName: string;
  /** Bare web origins (scheme://host[:port]) the merchant serves offers from. */
  origins: string[];
  publicKey: CryptoKey;
  validityMs?: number;
}

export interface CaServiceOptions {
  dataDir: string;
  /** Clock for validity periods; injectable for tests. */
  now?: () => number;
  commonName?: string;
  organization?: string;
  rootValidityMs?: number;
}

interface CertificateRow {
  serial: string;
  subject: string;
  common_name: string;
  role: string;
  origins: string;
  der: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  revoked_at: string | null;
}

const SERIAL = /^[0-9a-f]{1,40}$/;

export function normaliseSerial(serial: string): string | undefined {
  const lower = serial.toLowerCase();
  return SERIAL.test(lower) ? lower : undefined;
}

function toRecord(row: CertificateRow): CertificateRecord {
  const origins = parseStoredJson(row.origins, 'certificate origins');
  return {
    serial: row.serial,
    subject: row.subject,
    commonName: row.common_name,
    role: row.role as CertificateRole,
    origins: Array.isArray(origins) ? origins.filter((o): o is string => typeof o === 'string') : [],
    certificate: row.der,
    notBefore: row.not_before,
    notAfter: row.not_after,
    issuedAt: row.issued_at,
    revokedAt: row.revoked_at,
  };
}

export class CaService {
  /** DER, base64: the trust anchor shoppers configure. */
  readonly rootCertificate: string;
  readonly rootPem: string;
  private readonly store: SqliteStore;
  private readonly rootPrivateKey: CryptoKey;
  private readonly now: () => number;

  private constructor(store: SqliteStore, rootCertificate: string, rootPrivateKey: CryptoKey, now: () => number) {
    this.store = store;
    this.rootCertificate = rootCertificate;
    this.rootPem = certificateToPem(rootCertificate);
    this.rootPrivateKey = rootPrivateKey;
    this.now = now;
  }

  /** Open the CA's database; on the very first start create the root key and certificate, later load them. */
  static async open(options: CaServiceOptions): Promise<CaService> {
    const now = options.now ?? Date.now;
    const store = SqliteStore.open({ dataDir: options.dataDir, fileName: CA_DB_FILE, schema: [CA_SCHEMA] });
    try {
      const loadRoot = () =>
        store.db.prepare<[], { private_key_pkcs8: Buffer; certificate: string }>('SELECT private_key_pkcs8, certificate FROM ca_root WHERE id = 1').get();
      let row = loadRoot();
      if (!row) {
        // Extractable only so it can be written to ca.sqlite as PKCS#8 (see storage/keys.ts);
        // the key the CA signs with afterwards is a non-extractable re-import.
        const generated = await generatePersistableEs256();
        const t = now();
        const certificate = await createRootCertificate({
          commonName: options.commonName ?? 'Semper Demo Root CA',
          organization: options.organization ?? 'Semper Marketplace',
          keys: generated.keys,
          notBefore: new Date(t - BACKDATE_MS),
          notAfter: new Date(t + (options.rootValidityMs ?? 10 * 365 * DAY_MS)),
        });
        const info = await readCertificate(certificate);
        store.immediate(() => {
          // If another process created the root meanwhile, keep theirs: a CA has exactly one root.
          const inserted = store.db
            .prepare('INSERT INTO ca_root (id, private_key_pkcs8, certificate, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
            .run(Buffer.from(generated.pkcs8), certificate, new Date(t).toISOString());
          if (inserted.changes === 1) insertCertificate(store, info.serialNumber, info, 'ca', certificate, new Date(t).toISOString());
        });
        row = loadRoot();
        if (!row) throw new SemperError('ERR_INTERNAL', 'CA root was not stored');
      }
      const keys = await importEs256Pkcs8(row.private_key_pkcs8);
      const rootInfo = await readCertificate(row.certificate);
      if (rootInfo.publicJwk.kty !== 'EC' || !('y' in rootInfo.publicJwk)) throw new SemperError('ERR_KEY', 'CA root is not an ES256 certificate');
      const derived = await crypto.subtle.exportKey('jwk', keys.publicKey);
      if (derived.x !== rootInfo.publicJwk.x || derived.y !== rootInfo.publicJwk.y) {
        throw new SemperError('ERR_KEY', 'stored CA private key does not match the stored root certificate');
      }
      return new CaService(store, row.certificate, keys.privateKey, now);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /**
   * Issue a merchant certificate. In-process only: this slice has no authenticated enrolment
   * protocol, so there is deliberately no HTTP route that reaches this method.
   */
  async issueMerchantCertificate(enrolment: MerchantEnrolment): Promise<CertificateRecord> {
    const t = this.now();
    const rootInfo = await readCertificate(this.rootCertificate);
    const wanted = t + (enrolment.validityMs ?? 365 * DAY_MS);
    // A certificate cannot outlive its issuer (RFC 5280 §6.1.3): cut it at the root's end.
    const notAfter = new Date(Math.min(wanted, rootInfo.notAfter.getTime()));
    const der = await issueCertificate({
      issuerCertificate: this.rootCertificate,
      issuerPrivateKey: this.rootPrivateKey,
      subjectPublicKey: enrolment.publicKey,
      commonName: enrolment.legalName,
      organization: enrolment.legalName,
      role: 'merchant',
      origins: enrolment.origins,
      notBefore: new Date(t - BACKDATE_MS),
      notAfter,
    });
    const info = await readCertificate(der);
    const serial = normaliseSerial(info.serialNumber);
    if (!serial) throw new SemperError('ERR_INTERNAL', `issued certificate has an unexpected serial ${info.serialNumber}`);
    this.store.immediate(() => insertCertificate(this.store, serial, info, 'merchant', der, new Date(t).toISOString()));
    const record = this.getCertificate(serial);
    if (!record) throw new SemperError('ERR_INTERNAL', 'issued certificate was not recorded');
    return record;
  }

  getCertificate(serial: string): CertificateRecord | undefined {
    const key = normaliseSerial(serial);
    if (!key) return undefined;
    const row = this.store.db.prepare<[string], CertificateRow>('SELECT * FROM certificates WHERE serial = ?').get(key);
    return row ? toRecord(row) : undefined;
  }

  /** Revocation status only (like OCSP's certStatus): an expired certificate is still 'good' here. */
  status(serial: string): CertificateStatus {
    const record = this.getCertificate(serial);
    if (!record) return 'unknown';
    return record.revokedAt === null ? 'good' : 'revoked';
  }

  close(): void {
    this.store.close();
  }
}

function insertCertificate(
  store: SqliteStore,
  serial: string,
  info: Awaited<ReturnType<typeof readCertificate>>,
  role: CertificateRole,
  der: string,
  issuedAt: string,
): void {
  const key = normaliseSerial(serial);
  if (!key) throw new SemperError('ERR_INTERNAL', `certificate has an unexpected serial ${serial}`);
  // A random 127-bit serial colliding is practically impossible; if it happens the UNIQUE key
  // makes the insert fail loudly rather than overwrite another certificate's record.
  store.db
    .prepare(
      `INSERT INTO certificates (serial, subject, common_name, role, origins, der, not_before, not_after, issued_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
    )
    .run(key, info.subject, info.commonName, role, JSON.stringify(info.origins), der, info.notBefore.toISOString(), info.notAfter.toISOString(), issuedAt);
}
