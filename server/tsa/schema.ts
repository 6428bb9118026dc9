/**
 * The TSA's tables (component `tsa` of tsa.sqlite). Both append-only (a trigger refuses UPDATE and
 * DELETE): a serial once handed out is never handed out again, and an issued token is never
 * rewritten or forgotten.
 *
 *   tsa_serials  one row per serial reserved; AUTOINCREMENT never reuses a value, even after the
 *                highest row were gone (SQLite keeps the high-water mark in sqlite_sequence), so
 *                serials stay unique across restarts (RFC 3161 §2.4.2). A serial is reserved
 *                before signing (signing is asynchronous and cannot sit inside a transaction); a
 *                crash between the two leaves a gap, never a duplicate.
 *   tsa_tokens   every token issued, with what it stamped.
 */
import { appendOnly, type Migration, type MigrationSet } from '../storage/sqlite.js';

const v1: Migration = {
  version: 1,
  description: 'tsa: serials (never reused) and issued tokens, append-only',
  up: `
    CREATE TABLE tsa_serials (
      serial INTEGER PRIMARY KEY AUTOINCREMENT,
      reserved_at INTEGER NOT NULL
    );
    CREATE TABLE tsa_tokens (
      serial INTEGER PRIMARY KEY REFERENCES tsa_serials(serial),
      gen_time TEXT NOT NULL,
      imprint TEXT NOT NULL,
      nonce TEXT,
      certificate_included INTEGER NOT NULL CHECK (certificate_included IN (0, 1)),
      token BLOB NOT NULL
    );
    CREATE INDEX tsa_tokens_by_imprint ON tsa_tokens(imprint);
    ${appendOnly('tsa_serials')}
    ${appendOnly('tsa_tokens')}
  `,
};

export const TSA_SCHEMA: MigrationSet = { component: 'tsa', migrations: [v1] };
