/**
 * The certification authority party: one self-signed root, persisted in its database, that
 * issues certificates binding a legal name (and, for merchants, the web origins the merchant
 * serves offers from) to a public key, and keeps a register of everything it issued so anyone
 * can ask for a certificate's status.
 *
 * Storage (server/storage/database.ts, tables in schema.ts): `ca.sqlite` in the data directory by
 * default, or PostgreSQL (`databaseUrl`), where several CA processes share one register. The SQL is
 * written once for both; every table is append-only, and every exactly-once rule (a code issues one
 * certificate, a certificate is revoked once, serials unique, CRL numbers increasing) is the
 * database's, so it holds across processes.
 *
 * Shoppers register as in the SEMPER trials, where the CA handed each participant a secret
 * beforehand: the operator creates a one-time registration code for a named person
 * (`createRegistrationCode`), hands it over out of band, and the shopper's device redeems it with
 * a PKCS #10 request for its own key (`registerShopper`). The certificate names the person the
 * CA has on file for the code, never what the request says.
 *
 * Names: the CA certifies no name a shopper could mistake for another (core/text.ts
 * `checkCertifiableName`): no invisible or reordering characters (bidi overrides), no mix of
 * scripts (a Cyrillic "о" in a Latin name), no name written entirely in letters of another script
 * that look Latin. Every issuing path checks its names (`signLeaf`); registration codes are refused
 * for such a name when they are made.
 *
 * Revocation: by the operator (`revoke`) or by the holder with a statement signed by the
 * certificate's own key (`revokeByHolder`). Status is published as a signed CRL with a short
 * lifetime (`currentCrl`), reissued when it is half-way to stale or after any revocation.
 */
import { SemperError } from '../../core/errors.js';
import { encodeBase64url, sha256, utf8 } from '../../core/encoding/index.js';
import {
  newRegistrationCode,
  REGISTRATION_CODE_LENGTH,
  REVOCATION_REQUEST_TYPE,
  RevocationRequestBody,
  canonicalSerial,
  certificateToPem,
  createCrl,
  createRootCertificate,
  crlToPem,
  formatRegistrationCode,
  EKU_TIME_STAMPING,
  issueCertificate,
  normaliseRegistrationCode,
  readCertificate,
  verifyCertificationRequest,
  type CertificateInfo,
  type CertificateRole,
  type OperatorRevocationReason,
  type RevocationSource,
} from '../../core/pki/index.js';
import { crlRevocationSource } from '../host/revocation.js';
import { verifyStatement } from '../../core/statements/index.js';
import { checkCertifiableName } from '../../core/text.js';
import { sql } from 'kysely';
import { Database, type Db, firstOf, migratePostgres, rowsOf } from '../storage/database.js';
import { SqliteStore, parseStoredJson } from '../storage/sqlite.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../storage/keys.js';
import { CA_POSTGRES_MIGRATIONS, CA_SCHEMA } from './schema.js';

export const CA_DB_FILE = 'ca.sqlite';

const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;
/** Certificates start a little in the past so a verifier whose clock lags slightly still accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;

export type CertificateStatus = 'good' | 'revoked' | 'unknown';

/** One entry of the CA's register, as the HTTP API returns it. Times are RFC 3339 UTC. */
export interface CertificateRecord {
  /** Lower-case hex without leading zeros (canonicalSerial of the certificate's serialNumber). */
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
  /** When the CA revoked it (RFC 3339), null while it is good. */
  revokedAt: string | null;
  /** CRLReason name (RFC 5280 §5.3.1), null while it is good. */
  revocationReason: OperatorRevocationReason | null;
}

export interface RegistrationCodeParams {
  /** The registrant's name as the CA verified it: it becomes the certificate's CN. */
  name: string;
  /** How long the code may be redeemed (default 7 days). */
  validForMs?: number;
}

export interface ShopperRegistration {
  /** Base64 DER shopper certificate. */
  certificate: string;
  /** Leaf first, without the root. */
  chain: string[];
  name: string;
  serial: string;
}

export interface PublishedCrl {
  /** Base64 DER. */
  crl: string;
  pem: string;
  thisUpdate: string;
  nextUpdate: string;
  crlNumber: string;
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
  /**
   * PostgreSQL (postgres://…, SEMPER_DATABASE_URL) instead of `ca.sqlite` in `dataDir`: several CA
   * processes may share it. It then holds the root's private key, as ca.sqlite does: give it a role
   * no other party can read with.
   */
  databaseUrl?: string;
  /** Clock for validity periods; injectable for tests. */
  now?: () => number;
  commonName?: string;
  organization?: string;
  rootValidityMs?: number;
  /** Lifetime of each CRL (nextUpdate - thisUpdate); default 15 minutes. */
  crlValidityMs?: number;
  /** Validity of shopper certificates; default one year. */
  shopperValidityMs?: number;
  /**
   * Where this CA publishes its CRL (DER over HTTP), written into every certificate it issues as
   * a CRL distribution point so verifiers know where to check. Settable later with
   * `publishCrlAt` (the URL is known only once the CA listens).
   */
  crlUrl?: string;
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
  revocation_reason: string | null;
}

interface CodeRow {
  code_hash: string;
  name: string;
  expires_at: string;
  used_at: string | null;
}

/** A certificate with its revocation, if any: the one read of the register. */
const CERTIFICATE_SELECT = sql`SELECT c.serial, c.subject, c.common_name, c.role, c.origins, c.der, c.not_before, c.not_after, c.issued_at,
    r.revoked_at, r.reason AS revocation_reason
  FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial`;

interface CrlRow {
  crl_number: number;
  der: string;
  this_update: string;
  next_update: string;
  entries: number;
}

const SERIAL = /^[0-9a-f]{1,40}$/;

/**
 * How the CA names a serial everywhere (register, HTTP, CRL): lower-case hex without leading
 * zeros, core/pki `canonicalSerial`. Any case and any leading zeros are accepted on input.
 */
export function normaliseSerial(serial: string): string | undefined {
  const lower = serial.toLowerCase();
  return SERIAL.test(lower) ? canonicalSerial(lower) : undefined;
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
    revocationReason: row.revoked_at === null ? null : ((row.revocation_reason ?? 'unspecified') as OperatorRevocationReason),
  };
}

/**
 * Names are RDN values (core/pki): printable, no control characters, no surrounding spaces; and
 * nothing that could pass for another name (core/text.ts: no hidden characters, one script).
 */
function checkRegistrantName(name: string): string {
  if (typeof name !== 'string' || !/^[^\p{Cc}]{1,128}$/u.test(name) || name.trim() !== name) {
    throw new SemperError('ERR_SCHEMA', 'registrant name must be 1-128 printable characters without surrounding spaces');
  }
  return checkCertifiableName(name, 'registrant name');
}

async function hashCode(canonical: string): Promise<string> {
  return encodeBase64url(await sha256(utf8(canonical)));
}

function codeError(message: string): SemperError {
  return new SemperError('ERR_REGISTRATION_CODE', message);
}

export class CaService {
  /** DER, base64: the trust anchor shoppers configure. */
  readonly rootCertificate: string;
  readonly rootPem: string;
  /** The register (SQLite or PostgreSQL, server/storage/database.ts). */
  readonly database: Database;
  private readonly rootPrivateKey: CryptoKey;
  private readonly now: () => number;
  private readonly crlValidityMs: number;
  private readonly shopperValidityMs: number;
  private crlInFlight: Promise<void> | undefined;
  private crlUrl: string | undefined;

  private constructor(database: Database, rootCertificate: string, rootPrivateKey: CryptoKey, now: () => number, options: CaServiceOptions) {
    this.crlUrl = options.crlUrl;
    this.database = database;
    this.rootCertificate = rootCertificate;
    this.rootPem = certificateToPem(rootCertificate);
    this.rootPrivateKey = rootPrivateKey;
    this.now = now;
    this.crlValidityMs = options.crlValidityMs ?? 15 * MINUTE_MS;
    this.shopperValidityMs = options.shopperValidityMs ?? 365 * DAY_MS;
    if (!(this.crlValidityMs >= 2000)) throw new SemperError('ERR_SCHEMA', 'crlValidityMs must be at least 2 seconds (CRL times have second precision)');
  }

  /** Open the CA's database; on the very first start create the root key and certificate, later load them. */
  static async open(options: CaServiceOptions): Promise<CaService> {
    const now = options.now ?? Date.now;
    let database: Database;
    if (options.databaseUrl) {
      database = Database.postgres(options.databaseUrl);
      try {
        await migratePostgres(database, 'ca', CA_POSTGRES_MIGRATIONS);
      } catch (e) {
        await database.close();
        throw e;
      }
    } else {
      database = Database.sqlite(SqliteStore.open({ dataDir: options.dataDir, fileName: CA_DB_FILE, schema: [CA_SCHEMA] }).db);
    }
    try {
      const loadRoot = () =>
        firstOf(database.db, sql<{ private_key_pkcs8: Buffer; certificate: string }>`SELECT private_key_pkcs8, certificate FROM ca_root WHERE id = 1`);
      let row = await loadRoot();
      if (!row) {
        // Extractable only so it can be stored as PKCS#8 (see storage/keys.ts); the key the CA
        // signs with afterwards is a non-extractable re-import.
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
        await database.write(async (tx) => {
          // If another process created the root meanwhile, keep theirs: a CA has exactly one root.
          const inserted = await rowsOf(
            tx,
            sql<{ id: number }>`INSERT INTO ca_root (id, private_key_pkcs8, certificate, created_at)
              VALUES (1, ${Buffer.from(generated.pkcs8)}, ${certificate}, ${new Date(t).toISOString()}) ON CONFLICT (id) DO NOTHING RETURNING id`,
          );
          if (inserted.length === 1) await insertCertificate(tx, info.serialNumber, info, 'ca', certificate, new Date(t).toISOString());
        });
        row = await loadRoot();
        if (!row) throw new SemperError('ERR_INTERNAL', 'CA root was not stored');
      }
      const keys = await importEs256Pkcs8(new Uint8Array(row.private_key_pkcs8));
      const rootInfo = await readCertificate(row.certificate);
      if (rootInfo.publicJwk.kty !== 'EC' || !('y' in rootInfo.publicJwk)) throw new SemperError('ERR_KEY', 'CA root is not an ES256 certificate');
      const derived = await crypto.subtle.exportKey('jwk', keys.publicKey);
      if (derived.x !== rootInfo.publicJwk.x || derived.y !== rootInfo.publicJwk.y) {
        throw new SemperError('ERR_KEY', 'stored CA private key does not match the stored root certificate');
      }
      return new CaService(database, row.certificate, keys.privateKey, now, options);
    } catch (e) {
      await database.close();
      throw e;
    }
  }

  /** From now on, certificates name `url` as their CRL distribution point (RFC 5280 §4.2.1.13). */
  publishCrlAt(url: string): void {
    this.crlUrl = url;
  }

  /**
   * Sign a leaf certificate: backdated a little for clock skew, never outliving the root
   * (RFC 5280 §6.1.3), naming this CA's CRL. Every issuing path goes through here.
   */
  private async signLeaf(p: {
    role: 'merchant' | 'ttp' | 'bank' | 'shopper' | 'tsa' | 'arbiter';
    commonName: string;
    extendedKeyUsages?: string[];
    /** Name the common name as the organization (O) too: merchants and TTPs are organisations. */
    asOrganization?: boolean;
    origins?: string[];
    publicKey: CryptoKey;
    validityMs: number;
  }): Promise<{ der: string; info: CertificateInfo; serial: string }> {
    // The one name a leaf carries (as CN, and as O for organisations): checked here for every path.
    checkCertifiableName(p.commonName, 'common name');
    const t = this.now();
    const rootInfo = await readCertificate(this.rootCertificate);
    const der = await issueCertificate({
      issuerCertificate: this.rootCertificate,
      issuerPrivateKey: this.rootPrivateKey,
      subjectPublicKey: p.publicKey,
      commonName: p.commonName,
      ...(p.asOrganization ? { organization: p.commonName } : {}),
      role: p.role,
      ...(p.origins ? { origins: p.origins } : {}),
      ...(this.crlUrl ? { crlUrls: [this.crlUrl] } : {}),
      ...(p.extendedKeyUsages ? { extendedKeyUsages: p.extendedKeyUsages } : {}),
      notBefore: new Date(t - BACKDATE_MS),
      notAfter: new Date(Math.min(t + p.validityMs, rootInfo.notAfter.getTime())),
    });
    const info = await readCertificate(der);
    const serial = normaliseSerial(info.serialNumber);
    if (!serial) throw new SemperError('ERR_INTERNAL', `issued certificate has an unexpected serial ${info.serialNumber}`);
    return { der, info, serial };
  }

  /** Sign and record a merchant, TTP or bank certificate (in-process only: no HTTP route reaches this). */
  private async issueRecorded(p: Parameters<CaService['signLeaf']>[0] & { role: 'merchant' | 'ttp' | 'bank' | 'tsa' | 'arbiter' }): Promise<CertificateRecord> {
    const { der, info, serial } = await this.signLeaf(p);
    await this.database.write((tx) => insertCertificate(tx, serial, info, p.role, der, new Date(this.now()).toISOString()));
    const record = await this.getCertificate(serial);
    if (!record) throw new SemperError('ERR_INTERNAL', 'issued certificate was not recorded');
    return record;
  }

  /**
   * Issue a merchant certificate. In-process only: this slice has no authenticated enrolment
   * protocol, so there is deliberately no HTTP route that reaches this method.
   */
  issueMerchantCertificate(enrolment: MerchantEnrolment): Promise<CertificateRecord> {
    return this.issueRecorded({
      role: 'merchant',
      commonName: enrolment.legalName,
      asOrganization: true,
      origins: enrolment.origins,
      publicKey: enrolment.publicKey,
      validityMs: enrolment.validityMs ?? 365 * DAY_MS,
    });
  }

  /** Issue a TTP certificate (role ttp, no origins) for the marketplace's own TTP. In-process only. */
  issueTtpCertificate(params: { commonName: string; publicKey: CryptoKey; validityMs?: number }): Promise<CertificateRecord> {
    return this.issueRecorded({
      role: 'ttp',
      commonName: params.commonName,
      asOrganization: true,
      publicKey: params.publicKey,
      validityMs: params.validityMs ?? 365 * DAY_MS,
    });
  }

  /**
   * Issue a time-stamping authority's certificate (role tsa) with extendedKeyUsage id-kp-timeStamping
   * marked critical, as RFC 3161 §2.3 requires and OpenSSL's `ts -verify` checks. In-process only.
   */
  issueTsaCertificate(params: { commonName: string; publicKey: CryptoKey; validityMs?: number }): Promise<CertificateRecord> {
    return this.issueRecorded({
      role: 'tsa',
      commonName: params.commonName,
      asOrganization: true,
      extendedKeyUsages: [EKU_TIME_STAMPING],
      publicKey: params.publicKey,
      validityMs: params.validityMs ?? 365 * DAY_MS,
    });
  }

  /** Issue an arbiter's certificate (role arbiter): what verdicts are checked against. In-process only. */
  issueArbiterCertificate(params: { commonName: string; publicKey: CryptoKey; validityMs?: number }): Promise<CertificateRecord> {
    return this.issueRecorded({
      role: 'arbiter',
      commonName: params.commonName,
      asOrganization: true,
      publicKey: params.publicKey,
      validityMs: params.validityMs ?? 365 * DAY_MS,
    });
  }

  /** Issue a bank certificate (role bank, no origins) for the marketplace's own bank: what wallets check its key list against. In-process only. */
  issueBankCertificate(params: { commonName: string; publicKey: CryptoKey; validityMs?: number }): Promise<CertificateRecord> {
    return this.issueRecorded({
      role: 'bank',
      commonName: params.commonName,
      asOrganization: true,
      publicKey: params.publicKey,
      validityMs: params.validityMs ?? 365 * DAY_MS,
    });
  }

  /**
   * A one-time code for `name` (the person the operator verified), valid for `validForMs`.
   * Returned once, as XXXX-XXXX-XXXX-XXXX; only its SHA-256 is stored.
   */
  async createRegistrationCode(params: RegistrationCodeParams): Promise<string> {
    const name = checkRegistrantName(params.name);
    const validForMs = params.validForMs ?? 7 * DAY_MS;
    if (!(validForMs > 0)) throw new SemperError('ERR_SCHEMA', 'validForMs must be positive');
    const t = this.now();
    const code = newRegistrationCode();
    const hash = await hashCode(code);
    await this.database.write((tx) =>
      sql`INSERT INTO registration_codes (code_hash, name, created_at, expires_at)
        VALUES (${hash}, ${name}, ${new Date(t).toISOString()}, ${new Date(t + validForMs).toISOString()})`.execute(tx),
    );
    return formatRegistrationCode(code);
  }

  /**
   * If `code` (as typed) is one this CA issued (used, expired or not), a key naming it for rate
   * limits (its stored hash); otherwise undefined. Only a shopper who was handed the code knows it.
   */
  async registrationCodeKey(code: string): Promise<string | undefined> {
    const canonical = normaliseRegistrationCode(code);
    if (!canonical) return undefined;
    const hash = await hashCode(canonical);
    const row = await firstOf(this.database.db, sql<{ code_hash: string }>`SELECT code_hash FROM registration_codes WHERE code_hash = ${hash}`);
    return row?.code_hash;
  }

  /**
   * Redeem a registration code with a PKCS #10 request: the request must prove possession of an
   * ES256 or Ed25519 key; the code must be known, unexpired and unused. The certificate is signed
   * first and recorded together with the code's use in one write transaction, which checks the code
   * again: of any number of concurrent redemptions, in this process or another on the same
   * database, exactly one records its certificate (the primary key of `registration_code_uses`
   * decides) and every other is refused and its certificate discarded unpublished. A refusal
   * never consumes the code. The certificate's CN is the name on file for the code; role
   * shopper; valid one year (never beyond the root).
   */
  async registerShopper(request: { registrationCode: string; csr: string }): Promise<ShopperRegistration> {
    const canonical = normaliseRegistrationCode(request.registrationCode);
    if (!canonical) throw codeError(`a registration code is ${REGISTRATION_CODE_LENGTH} characters like XXXX-XXXX-XXXX-XXXX`);
    // Check the request before touching the code: a broken CSR must not burn a valid code.
    const csr = await verifyCertificationRequest(request.csr);
    const hash = await hashCode(canonical);
    const t = this.now();
    const at = new Date(t).toISOString();
    // Refused early (no signature made) when the code cannot be redeemed; checked again when recorded.
    const code = redeemable(await this.codeRow(this.database.db, hash), t);
    const { der, info, serial } = await this.signLeaf({
      role: 'shopper',
      commonName: code.name,
      publicKey: csr.publicKey,
      validityMs: this.shopperValidityMs,
    });
    // Another redemption may have recorded its use since the check above: decided here, in the
    // transaction (the primary key of registration_code_uses is the database's own last word).
    await this.database.write(async (tx) => {
      redeemable(await this.codeRow(tx, hash), t);
      await insertCertificate(tx, serial, info, 'shopper', der, at);
      await sql`INSERT INTO registration_code_uses (code_hash, certificate_serial, used_at) VALUES (${hash}, ${serial}, ${at})`.execute(tx);
    });
    return { certificate: der, chain: [der], name: code.name, serial };
  }

  private codeRow(q: Db, hash: string): Promise<CodeRow | undefined> {
    return firstOf(
      q,
      sql<CodeRow>`SELECT c.code_hash, c.name, c.expires_at, u.used_at FROM registration_codes c
        LEFT JOIN registration_code_uses u ON u.code_hash = c.code_hash WHERE c.code_hash = ${hash}`,
    );
  }

  /**
   * Revoke a certificate this CA issued (operator action). Idempotent: revoking a revoked
   * certificate returns the original record unchanged — the first revocation recorded stands,
   * whichever process recorded it. The CRL is reissued before returning.
   */
  async revoke(serial: string, reason: OperatorRevocationReason = 'unspecified'): Promise<CertificateRecord> {
    const key = normaliseSerial(serial);
    const record = key ? await this.getCertificate(key) : undefined;
    if (!key || !record) throw new SemperError('ERR_NOT_FOUND', `no certificate with serial ${serial}`);
    if (record.role === 'ca') throw new SemperError('ERR_SCHEMA', 'the CA root is not revoked through its own CRL: distrust it instead');
    await this.database.write((tx) =>
      sql`INSERT INTO revocations (serial, revoked_at, reason) VALUES (${key}, ${new Date(this.now()).toISOString()}, ${reason})
        ON CONFLICT (serial) DO NOTHING`.execute(tx),
    );
    await this.currentCrl();
    return (await this.getCertificate(key))!;
  }

  /**
   * Revocation requested by the holder: a `semper.ca.revocation-request` statement signed by the
   * certificate's own key (signer `{kind:'x509', chain:[certificate]}`), whose chain validates to
   * this CA's root now, and whose body names that very certificate's serial.
   */
  async revokeByHolder(statement: unknown): Promise<CertificateRecord> {
    const verified = await verifyStatement(statement, {
      types: [REVOCATION_REQUEST_TYPE],
      requireCertificate: true,
      trust: { roots: [this.rootCertificate], now: new Date(this.now()) },
    });
    const parsed = RevocationRequestBody.safeParse(verified.statement.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SemperError('ERR_SCHEMA', `revocation request: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}`);
    }
    // The chain ends at this CA's root, which issues no CA certificates: a CA leaf is the root itself,
    // and revoke() refuses the root. A serial this CA never recorded is refused there too (ERR_NOT_FOUND).
    const leaf = verified.chain!.leaf;
    if (canonicalSerial(parsed.data.serial) !== canonicalSerial(leaf.serialNumber)) {
      throw new SemperError(
        'ERR_SIGNATURE_INVALID',
        `a revocation request must be signed by the key of the certificate it revokes (signed by serial ${leaf.serialNumber.toLowerCase()}, names ${parsed.data.serial.toLowerCase()})`,
      );
    }
    return this.revoke(leaf.serialNumber, parsed.data.reason);
  }

  /**
   * The current CRL: reissued when none exists, when half its lifetime has passed (so a fetched
   * CRL always has a useful remaining life), or when it misses a revocation. One issuance at a
   * time per process; what is served is always a stored CRL, the one with the highest number.
   */
  async currentCrl(): Promise<PublishedCrl> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = await this.storedCrlIfCurrent();
      if (stored) return stored;
      this.crlInFlight ??= this.issueCrl().finally(() => {
        this.crlInFlight = undefined;
      });
      await this.crlInFlight;
      // Loop: a revocation may have committed while that CRL was being signed.
    }
    const stored = await this.storedCrlIfCurrent();
    if (stored) return stored;
    throw new SemperError('ERR_INTERNAL', 'the CRL could not be brought up to date');
  }

  private storedCrlIfCurrent(): Promise<PublishedCrl | undefined> {
    return this.database.read(async (tx) => {
      const row = await firstOf(tx, sql<CrlRow>`SELECT crl_number, der, this_update, next_update, entries FROM crls ORDER BY crl_number DESC LIMIT 1`);
      if (!row) return undefined;
      const revoked = (await firstOf(tx, sql<{ n: number }>`SELECT COUNT(*) AS n FROM revocations`))!.n;
      const t = this.now();
      const thisUpdate = Date.parse(row.this_update);
      if (row.entries !== revoked || t >= thisUpdate + this.crlValidityMs / 2 || t < thisUpdate - BACKDATE_MS) return undefined;
      return { crl: row.der, pem: crlToPem(row.der), thisUpdate: row.this_update, nextUpdate: row.next_update, crlNumber: String(row.crl_number) };
    });
  }

  private async issueCrl(): Promise<void> {
    const snapshot = await this.database.read(async (tx) => ({
      number: ((await firstOf(tx, sql<{ n: number | null }>`SELECT MAX(crl_number) AS n FROM crls`))?.n ?? 0) + 1,
      revoked: await rowsOf(
        tx,
        sql<{ serial: string; revoked_at: string; reason: string }>`SELECT serial, revoked_at, reason FROM revocations ORDER BY revoked_at, serial`,
      ),
    }));
    // CRL times have one-second precision (RFC 5280 §5.1.2.4 UTCTime): round down.
    const t = Math.floor(this.now() / 1000) * 1000;
    const thisUpdate = new Date(t);
    const nextUpdate = new Date(t + this.crlValidityMs);
    const der = await createCrl({
      issuerCertificate: this.rootCertificate,
      issuerPrivateKey: this.rootPrivateKey,
      entries: snapshot.revoked.map((r) => ({ serial: r.serial, revokedAt: new Date(r.revoked_at), reason: r.reason as OperatorRevocationReason })),
      thisUpdate,
      nextUpdate,
      crlNumber: snapshot.number,
    });
    await this.database.write(async (tx) => {
      // cRLNumber only grows (RFC 5280 §5.2.3): a CRL whose number another process has reached
      // meanwhile is dropped unpublished (its snapshot may miss that process's revocations).
      const newest = (await firstOf(tx, sql<{ n: number | null }>`SELECT MAX(crl_number) AS n FROM crls`))?.n ?? 0;
      if (newest >= snapshot.number) return;
      await sql`INSERT INTO crls (crl_number, der, this_update, next_update, entries)
        VALUES (${snapshot.number}, ${der}, ${thisUpdate.toISOString()}, ${nextUpdate.toISOString()}, ${snapshot.revoked.length})`.execute(tx);
    });
  }

  /**
   * Revocation status from this CA's current CRL for hosts of machines (core/pki/revocation.ts):
   * `prepare` loads the CRL and verifies it as any relying party would (signature, issuer,
   * freshness at the event's time), the step's `isRevoked` answers from it without I/O. In-process
   * parties check exactly what the CA publishes.
   */
  revocationSource(): RevocationSource {
    return crlRevocationSource({ issuerCertificate: this.rootCertificate, currentCrl: async () => (await this.currentCrl()).crl });
  }

  async getCertificate(serial: string): Promise<CertificateRecord | undefined> {
    const key = normaliseSerial(serial);
    if (!key) return undefined;
    const row = await firstOf(this.database.db, sql<CertificateRow>`${CERTIFICATE_SELECT} WHERE c.serial = ${key}`);
    return row ? toRecord(row) : undefined;
  }

  /** Revocation status only (like OCSP's certStatus): an expired certificate is still 'good' here. */
  async status(serial: string): Promise<CertificateStatus> {
    const record = await this.getCertificate(serial);
    if (!record) return 'unknown';
    return record.revokedAt === null ? 'good' : 'revoked';
  }

  /** Close the database (SQLite: the file; PostgreSQL: the pool). */
  close(): Promise<void> {
    return this.database.close();
  }
}

async function insertCertificate(
  tx: Db,
  serial: string,
  info: Awaited<ReturnType<typeof readCertificate>>,
  role: CertificateRole,
  der: string,
  issuedAt: string,
): Promise<void> {
  const key = normaliseSerial(serial);
  if (!key) throw new SemperError('ERR_INTERNAL', `certificate has an unexpected serial ${serial}`);
  // A random 127-bit serial colliding is practically impossible; if it happens the primary key
  // makes the insert fail loudly rather than overwrite another certificate's record.
  await sql`INSERT INTO certificates (serial, subject, common_name, role, origins, der, not_before, not_after, issued_at)
    VALUES (${key}, ${info.subject}, ${info.commonName}, ${role}, ${JSON.stringify(info.origins)}, ${der},
      ${info.notBefore.toISOString()}, ${info.notAfter.toISOString()}, ${issuedAt})`.execute(tx);
}

/** The code's row if it can be redeemed at `t`, else the refusal that says why. */
function redeemable(row: CodeRow | undefined, t: number): CodeRow {
  if (!row) throw codeError('unknown registration code: check it, or ask the CA for a new one');
  if (Date.parse(row.expires_at) <= t) throw codeError(`this registration code expired at ${row.expires_at}`);
  if (row.used_at !== null) throw codeError('this registration code has already been used');
  return row;
}
