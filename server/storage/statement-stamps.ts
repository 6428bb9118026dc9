/**
 * RFC 3161 time stamps over a party's own signed statements (issue 12: "requested for what
 * matters"): each statement the party decides with (a TTP's resolution, abort or affidavit) is
 * stamped right after it is answered — off the answer's path, so a slow or absent TSA never delays
 * or fails a decision — and the token is kept, once per statement, in the party's own
 * `<name>-timestamps.sqlite` (append-only). Evidence exports put the tokens in the bundle's
 * `timestamps` (`of` = the statement's digest), where `verifyBundle` checks them and then checks the
 * signer's chain at the token's genTime rather than at the signer's own `issuedAt` claim.
 *
 * A stamp that fails (TSA down, refused) is logged and the statement stays unstamped: its evidence
 * is then dated by the signer alone, and `semper verify` says so.
 */
import { decodeBase64url, encodeBase64 } from '../../core/encoding/index.js';
import { statementDigest, type Statement } from '../../core/statements/index.js';
import type { Timestamper } from '../../core/timestamp/index.js';
import { appendOnly, type MigrationSet, SqliteStore } from './sqlite.js';

const schema = (component: string): MigrationSet => ({
  component,
  migrations: [
    {
      version: 1,
      description: 'RFC 3161 tokens over this party’s statements, one per statement, append-only',
      up: `CREATE TABLE statement_stamps (
             statement_digest TEXT PRIMARY KEY,
             token TEXT NOT NULL,
             stamped_at TEXT NOT NULL
           );
           ${appendOnly('statement_stamps')}`,
    },
  ],
});

export class StatementStamps {
  private readonly pending = new Set<Promise<void>>();

  private constructor(
    private readonly store: SqliteStore,
    private readonly timestamper: Timestamper,
    private readonly now: () => number,
    private readonly onError: (e: unknown) => void,
  ) {}

  static open(options: {
    dataDir: string;
    /** The party's name: the file is `<party>-timestamps.sqlite`. */
    party: string;
    timestamper: Timestamper;
    now?: () => number;
    onError?: (e: unknown) => void;
  }): StatementStamps {
    const store = SqliteStore.open({
      dataDir: options.dataDir,
      fileName: `${options.party}-timestamps.sqlite`,
      schema: [schema(`${options.party}-timestamps`)],
    });
    return new StatementStamps(
      store,
      options.timestamper,
      options.now ?? Date.now,
      options.onError ?? ((e) => console.warn('[semper] time stamp:', e instanceof Error ? e.message : e)),
    );
  }

  /** Stamp a statement (once), without delaying the caller. */
  stampLater(statement: Statement<unknown>): void {
    const job = this.stamp(statement).catch(this.onError);
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  /** Stamp a statement unless it has a token; resolves once the token is stored. */
  async stamp(statement: Statement<unknown>): Promise<void> {
    const of = await statementDigest(statement);
    if (this.tokenOf(of)) return;
    const token = await this.timestamper.stamp(decodeBase64url(of));
    this.store.db
      .prepare('INSERT INTO statement_stamps (statement_digest, token, stamped_at) VALUES (?, ?, ?) ON CONFLICT (statement_digest) DO NOTHING')
      .run(of, encodeBase64(token), new Date(this.now()).toISOString());
  }

  tokenOf(of: string): string | undefined {
    return this.store.db.prepare<[string], { token: string }>('SELECT token FROM statement_stamps WHERE statement_digest = ?').get(of)?.token;
  }

  /** The bundle's `timestamps` entries for these statements (those that have a token). */
  async tokensFor(statements: readonly Statement<unknown>[]): Promise<{ of: string; token: string }[]> {
    const out: { of: string; token: string }[] = [];
    for (const s of statements) {
      const of = await statementDigest(s);
      const token = this.tokenOf(of);
      if (token) out.push({ of, token });
    }
    return out;
  }

  /** Every stamp requested so far has been stored or has failed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.idle();
    this.store.close();
  }
}
