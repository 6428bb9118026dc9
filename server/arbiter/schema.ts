/**
 * The arbiter's tables in `arbiter.sqlite` (beside its identity, server/identity/party-identity.ts).
 * Verdicts are append-only: a decision, once signed and handed out, is evidence in its own right,
 * so the database refuses to change or delete one (triggers), and a complaint is decided once (its
 * digest is the primary key: a replay finds the stored verdict).
 */
import type { MigrationSet } from '../storage/sqlite.js';

export const ARBITER_DB_FILE = 'arbiter.sqlite';

export const ARBITER_SCHEMA: MigrationSet = {
  component: 'arbiter',
  migrations: [
    {
      version: 1,
      description: 'verdicts, one per complaint, append-only',
      up: `
        CREATE TABLE verdicts (
          complaint_digest TEXT PRIMARY KEY,
          verdict_id TEXT NOT NULL UNIQUE,
          deal_id TEXT NOT NULL,
          claim TEXT NOT NULL,
          decision TEXT NOT NULL CHECK (decision IN ('upheld', 'dismissed', 'undecided')),
          claimant TEXT NOT NULL,
          evidence_digest TEXT NOT NULL,
          complaint TEXT NOT NULL,
          verdict TEXT NOT NULL,
          decided_at TEXT NOT NULL
        );
        CREATE INDEX verdicts_deal ON verdicts (deal_id);
        CREATE TRIGGER verdicts_no_update BEFORE UPDATE ON verdicts
          BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;
        CREATE TRIGGER verdicts_no_delete BEFORE DELETE ON verdicts
          BEGIN SELECT RAISE(ABORT, 'verdicts are append-only'); END;
      `,
    },
  ],
};
