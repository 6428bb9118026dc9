/**
 * The CA's tables (component `ca`), on SQLite (`ca.sqlite`, the default) and PostgreSQL
 * (SEMPER_DATABASE_URL / SEMPER_CA_DATABASE_URL), the same columns on both. Every table is
 * append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), so what the CA
 * issued, revoked and published is never rewritten, whatever code runs against the database.
 * What changes is recorded as a new row of another table:
 *
 *  - `ca_root`: the one root key and certificate (`id = 1`; the first process to store one wins).
 *  - `certificates`: every certificate issued. `serial` is the primary key (and the DER is unique):
 *    two certificates can never share a serial, a collision fails the insert loudly.
 *  - `revocations`: at most one per certificate (primary key `serial`): the first revocation
 *    recorded stands (its time and reason); a later one, from any process, changes nothing.
 *  - `registration_codes`: SHA-256 of each one-time code, the name on file, its expiry.
 *  - `registration_code_uses`: at most one per code (primary key `code_hash`), written in the same
 *    transaction as the certificate it issued (`certificate_serial`, unique): a code issues at most
 *    one certificate, whatever the number of concurrent requests or processes.
 *  - `crls`: every CRL the CA published; `crl_number` is the primary key and a CRL is stored only
 *    if its number exceeds every stored one (in a serializable write), so the numbers strictly
 *    increase and the current CRL is the one with the highest.
 *
 * Version 3 (SQLite) moved the mutable columns of version 2 (certificates.revoked_at,
 * registration_codes.used_at, the one-row `crl`) into these append-only tables. PostgreSQL starts
 * at the version-3 layout.
 */
import { appendOnlyPostgres, type PostgresMigration } from '../storage/database.js';
import { appendOnly, type MigrationSet, type SqliteDatabase } from '../storage/sqlite.js';

/** The version-3 layout; PostgreSQL gets it through postgresDdl. `der` is unique on SQLite here, by its digest on PostgreSQL. */
const V3_TABLES = `
  CREATE TABLE certificates (
    serial TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    common_name TEXT NOT NULL,
    role TEXT NOT NULL,
    origins TEXT NOT NULL,
    der TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    issued_at TEXT NOT NULL
  );
  CREATE TABLE revocations (
    serial TEXT PRIMARY KEY REFERENCES certificates (serial),
    revoked_at TEXT NOT NULL,
    reason TEXT NOT NULL
  );
  -- Only SHA-256 of each code is stored: 80 random bits make a slow hash unnecessary, and
  -- a leaked database does not reveal codes that are still unused.
  CREATE TABLE registration_codes (
    code_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE TABLE registration_code_uses (
    code_hash TEXT PRIMARY KEY REFERENCES registration_codes (code_hash),
    certificate_serial TEXT NOT NULL UNIQUE REFERENCES certificates (serial),
    used_at TEXT NOT NULL
  );
  CREATE TABLE crls (
    crl_number INTEGER PRIMARY KEY,
    der TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    -- How many revoked certificates it lists: revocations only ever add, so the newest CRL is
    -- current iff this equals the number of revocations now.
    entries INTEGER NOT NULL
  );`;

const ROOT_TABLE = `
  CREATE TABLE ca_root (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    private_key_pkcs8 BLOB NOT NULL,
    certificate TEXT NOT NULL,
    created_at TEXT NOT NULL
  );`;

export const CA_APPEND_ONLY = ['ca_root', 'certificates', 'revocations', 'registration_codes', 'registration_code_uses', 'crls'] as const;

/**
 * Version 2 → 3 on SQLite: the tables are rebuilt (SQLite drops no column a foreign key names) and
 * their rows moved. A code marked used without a certificate (a crash between the claim and the
 * issue of version 2, which would have given the code back) stays unused.
 */
function toAppendOnly(db: SqliteDatabase): void {
  db.exec(`
    ALTER TABLE registration_codes RENAME TO registration_codes_v2;
    ALTER TABLE certificates RENAME TO certificates_v2;
    ALTER TABLE crl RENAME TO crl_v2;
    ${V3_TABLES.replace('der TEXT NOT NULL,', 'der TEXT NOT NULL UNIQUE,')}
    INSERT INTO certificates (serial, subject, common_name, role, origins, der, not_before, not_after, issued_at)
      SELECT serial, subject, common_name, role, origins, der, not_before, not_after, issued_at FROM certificates_v2 ORDER BY rowid;
    INSERT INTO revocations (serial, revoked_at, reason)
      SELECT serial, revoked_at, COALESCE(revocation_reason, 'unspecified') FROM certificates_v2 WHERE revoked_at IS NOT NULL ORDER BY rowid;
    INSERT INTO registration_codes (code_hash, name, created_at, expires_at)
      SELECT code_hash, name, created_at, expires_at FROM registration_codes_v2 ORDER BY rowid;
    INSERT INTO registration_code_uses (code_hash, certificate_serial, used_at)
      SELECT code_hash, certificate_serial, used_at FROM registration_codes_v2
      WHERE used_at IS NOT NULL AND certificate_serial IS NOT NULL ORDER BY rowid;
    INSERT INTO crls (crl_number, der, this_update, next_update, entries)
      SELECT crl_number, der, this_update, next_update, entries FROM crl_v2;
    DROP TABLE registration_codes_v2;
    DROP TABLE crl_v2;
    DROP TABLE certificates_v2;
    ${CA_APPEND_ONLY.map(appendOnly).join('\n')}`);
}

export const CA_SCHEMA: MigrationSet = {
  component: 'ca',
  migrations: [
    {
      version: 1,
      description: 'root key and certificate register',
      up: `${ROOT_TABLE}
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
    {
      version: 2,
      description: 'shopper registration codes, revocation reasons, the current CRL',
      up: `
        -- Serials become canonical (no leading zero digits), as the CRL and the extension name them.
        UPDATE certificates SET serial = ltrim(serial, '0') WHERE serial GLOB '0?*' AND ltrim(serial, '0') <> '';
        CREATE TABLE registration_codes (
          code_hash TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL,
          used_at TEXT,
          certificate_serial TEXT REFERENCES certificates (serial)
        );
        ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;
        CREATE TABLE crl (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          crl_number INTEGER NOT NULL,
          der TEXT NOT NULL,
          this_update TEXT NOT NULL,
          next_update TEXT NOT NULL,
          entries INTEGER NOT NULL
        );
      `,
    },
    {
      version: 3,
      description: 'append-only register: revocations, code uses and every published CRL in tables of their own',
      up: toAppendOnly,
    },
  ],
};

/** SQLite's INTEGER is 64-bit, PostgreSQL's is not; BLOB is BYTEA. */
function postgresDdl(sqlite: string): string {
  return sqlite.replace(/\bINTEGER\b/g, 'BIGINT').replace(/\bBLOB\b/g, 'BYTEA');
}

export const CA_POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'ca: root, append-only register of certificates, revocations, registration codes and their uses, CRLs (SQLite schema version 3)',
    up: `${postgresDdl(ROOT_TABLE)}
      ${postgresDdl(V3_TABLES)}
      -- A btree entry has a size limit a long certificate could exceed: the DER is unique by its digest.
      CREATE UNIQUE INDEX certificates_der ON certificates (sha256(decode(der, 'base64')));
      ${CA_APPEND_ONLY.map(appendOnlyPostgres).join('\n')}`,
  },
];
