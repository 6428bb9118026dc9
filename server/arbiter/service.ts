/**
 * The arbiter as a service: a complaint and its evidence bundle in, a signed verdict out, stored
 * once per complaint. The deciding is core/arbiter's (`judge`, pure); this host adds the clock, the
 * arbiter's key and certificate, revocation information fetched before judging, and the store:
 *
 *   - a complaint already decided (same digest) gets the stored verdict back, never a second
 *     decision — also when two copies race (the insert keeps the first, both answer with it);
 *   - refusals (malformed, tampered, foreign, not a party) are answered and not stored: the same
 *     submission is refused the same way again;
 *   - verdicts are never changed or deleted (schema.ts).
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import { SemperError } from '../../core/errors.js';
import type { Signer } from '../../core/crypto/index.js';
import { certificateChainsIn, type RevocationSource } from '../../core/pki/revocation.js';
import { certificateToPem } from '../../core/pki/index.js';
import { statementDigest, type Statement } from '../../core/statements/index.js';
import { evidenceFromBundle, judge, signVerdict, type ArbiterTrust, type VerdictBody } from '../../core/arbiter/index.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/verify.js';
import { parseStoredJson, type SqliteStore } from '../storage/sqlite.js';

export interface ArbiterServiceOptions {
  store: SqliteStore;
  signer: Signer;
  /** The arbiter's certificate chain (leaf first, role arbiter). */
  chain: readonly string[];
  /** CA roots the arbiter trusts for every certified signer in the evidence. */
  roots: readonly string[];
  /** Banks and payment adapters whose payment proofs count (key ids). */
  paymentIssuers?: readonly string[];
  revocation?: RevocationSource;
  webauthn?: WebAuthnStatementVerifier;
  clock?: () => number;
  /** Time stamps over the verdicts (server/storage/statement-stamps.ts), requested once each is stored. */
  stamps?: StatementStamps;
}

export interface StoredVerdict {
  id: string;
  verdict: Statement<VerdictBody>;
  complaintDigest: string;
}

interface Row {
  complaint_digest: string;
  verdict_id: string;
  verdict: string;
}

export class ArbiterService {
  private readonly clock: () => number;

  constructor(private readonly options: ArbiterServiceOptions) {
    this.clock = options.clock ?? Date.now;
  }

  get keyId(): string {
    return this.options.signer.keyId;
  }

  get certificateChain(): readonly string[] {
    return this.options.chain;
  }

  info(): { keyId: string; certificate: string; pem: string; chain: string[] } {
    const certificate = this.options.chain[0]!;
    return { keyId: this.keyId, certificate, pem: certificateToPem(certificate), chain: [...this.options.chain] };
  }

  /** Decide a complaint on its bundle (or return the verdict it already has). */
  async file(complaint: unknown, bundle: unknown): Promise<StoredVerdict & { replayed: boolean }> {
    // The digest a valid complaint will have (its statementDigest): a replay is found before any work.
    const digest = await this.digestOf(complaint);
    const stored = this.byComplaint(digest);
    if (stored) return { ...stored, replayed: true };

    const now = this.clock();
    const trust: ArbiterTrust = {
      roots: this.options.roots,
      now,
      ...(this.options.paymentIssuers ? { paymentIssuers: this.options.paymentIssuers } : {}),
      ...(this.options.webauthn ? { webauthn: this.options.webauthn } : {}),
    };
    const evidence = await evidenceFromBundle(bundle, { roots: this.options.roots, now });
    if (this.options.revocation) {
      await this.options.revocation.prepare([...certificateChainsIn(complaint), ...certificateChainsIn(evidence.statements)], this.options.roots, now);
      trust.isRevoked = this.options.revocation.isRevoked;
    }
    const { complaint: verified, verdict } = await judge(complaint, evidence, trust);
    const signed = await signVerdict(verdict, verified.body.dealId, this.options.signer, this.options.chain, now);
    const id = await statementDigest(signed);
    const { store } = this.options;
    store.immediate(() => {
      store.db
        .prepare(
          `INSERT INTO verdicts (complaint_digest, verdict_id, deal_id, claim, decision, claimant, evidence_digest, complaint, verdict, decided_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (complaint_digest) DO NOTHING`,
        )
        .run(
          verified.digest,
          id,
          verified.body.dealId,
          verdict.claim,
          verdict.decision,
          verified.claimant,
          verified.body.evidence,
          JSON.stringify(verified.statement),
          JSON.stringify(signed),
          new Date(now).toISOString(),
        );
    });
    // Whatever is stored is the decision (a racing copy of the same complaint may have been first).
    const kept = this.byComplaint(verified.digest);
    if (!kept) throw new SemperError('ERR_INTERNAL', 'the verdict was not stored');
    if (kept.id === id) this.options.stamps?.stampLater(signed);
    return { ...kept, replayed: kept.id !== id };
  }

  /** The RFC 3161 token over a verdict (base64 DER), once the TSA has stamped it. */
  timestampOf(verdictId: string): string | undefined {
    return this.options.stamps?.tokenOf(verdictId);
  }

  /** A verdict by its id (the verdict's digest) or by the digest of the complaint it decides. */
  verdict(id: string): StoredVerdict | undefined {
    const row = this.options.store.db
      .prepare<[string, string], Row>('SELECT complaint_digest, verdict_id, verdict FROM verdicts WHERE verdict_id = ? OR complaint_digest = ?')
      .get(id, id);
    return row ? toStored(row) : undefined;
  }

  /** How many verdicts are stored (operator, tests). */
  count(): number {
    return this.options.store.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM verdicts').get()!.n;
  }

  close(): void {
    this.options.store.close();
  }

  private byComplaint(digest: string | null): StoredVerdict | undefined {
    if (digest === null) return undefined;
    const row = this.options.store.db
      .prepare<[string], Row>('SELECT complaint_digest, verdict_id, verdict FROM verdicts WHERE complaint_digest = ?')
      .get(digest);
    return row ? toStored(row) : undefined;
  }

  private async digestOf(complaint: unknown): Promise<string | null> {
    try {
      return await statementDigest(complaint as Statement);
    } catch {
      return null; // not even JSON the digest can be taken of: judge() refuses it with the reason
    }
  }
}

function toStored(row: Row): StoredVerdict {
  return { id: row.verdict_id, complaintDigest: row.complaint_digest, verdict: parseStoredJson(row.verdict, 'verdict') as Statement<VerdictBody> };
}
