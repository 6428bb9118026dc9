/**
 * What the arbiter judges on, and the refusals that come before any judging.
 *
 * The core reads `ArbiterEvidence` — the deal, its statements (untrusted input) and attachments
 * (bytes named by their SHA-256) — so that any bundle format can feed it through a small adapter
 * (`evidenceFromBundle` reads the evidence bundle of core/evidence; the lead can swap in its
 * `verifyBundle`). Admission (`admitEvidence`) verifies everything before a rule looks at it and
 * refuses the whole submission, with the reason, when it is:
 *   malformed  not the evidence shape, a statement that is not an envelope (cut mid-JSON, schema);
 *   tampered   a statement whose signature or certificate does not verify, an attachment whose bytes
 *              do not hash to the digest it is filed under;
 *   foreign    a statement for another deal, evidence for another deal than the complaint's, or
 *              evidence other than the evidence the complaint committed to (its digest).
 * A statement nested in a verified one (m1 in a TTP resolution, the bank's proof in m2, the goods-key
 * statement in m3) is admitted only if it verifies on its own; if it does not, it is left out (its
 * container's signer vouched for carrying it, not for its truth) — never a reason to refuse.
 */
import { z } from '../zod.js';
import { SemperError, isSemperError, type SemperErrorCode } from '../errors.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import { decodeBase64url, digestJson, encodeBase64url, sha256 } from '../encoding/index.js';
import type { ValidatedChain } from '../pki/certificates.js';
import { canonicalStatementDigest, statementDigest, verifyStatement, type Statement } from '../statements/index.js';
import { EvidenceBundle } from '../evidence/bundle.js';
import { verifyBundle } from '../evidence/verify.js';
import { verifyRfc3161Timestamp } from '../evidence/timestamps.js';
import type { StatementTrust } from './statements.js';

export const REFUSALS = ['malformed', 'tampered', 'foreign', 'not-a-party'] as const;
export type Refusal = (typeof REFUSALS)[number];
const REFUSAL_STATUS: Record<Refusal, number> = { malformed: 400, tampered: 403, foreign: 422, 'not-a-party': 403 };

/** A submission the arbiter will not judge; `refusal` says which kind, the message why. */
export class ArbiterRefusal extends SemperError {
  override readonly name = 'ArbiterRefusal';
  constructor(
    readonly refusal: Refusal,
    code: SemperErrorCode,
    message: string,
  ) {
    // The HTTP status travels with the refusal (server/http/errors.ts reads details.httpStatus).
    super(code, `${refusal}: ${message}`, { refusal, httpStatus: REFUSAL_STATUS[refusal] });
  }
}

export function isArbiterRefusal(e: unknown): e is ArbiterRefusal {
  return e instanceof ArbiterRefusal;
}

export interface Attachment {
  /** base64url SHA-256 of the decoded data */
  digest: string;
  mediaType: string;
  /** base64 (standard or url alphabet) */
  data: string;
}

export interface ArbiterEvidence {
  dealId: string;
  statements: unknown[];
  attachments: Attachment[];
  /** What a complaint commits to: the digest of the evidence as submitted (`makeEvidence`, `evidenceFromBundle`). */
  digest: string;
}

const MAX_STATEMENTS = 256;
const MAX_ATTACHMENTS = 32;
const b64any = z.string().check(z.regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'base64'));

const AttachmentSchema = z.strictObject({
  digest: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256')),
  mediaType: z.string().check(z.minLength(1), z.maxLength(100)),
  data: b64any.check(z.maxLength(8_000_000)),
});

const EvidenceParts = z.strictObject({
  dealId: z.string().check(z.minLength(8), z.maxLength(128)),
  statements: z.array(z.unknown()).check(z.maxLength(MAX_STATEMENTS)),
  attachments: z._default(z.array(AttachmentSchema).check(z.maxLength(MAX_ATTACHMENTS)), []),
});

function malformed(what: string, issues: { path: PropertyKey[]; message: string }[]): never {
  const issue = issues[0];
  throw new ArbiterRefusal('malformed', 'ERR_SCHEMA', `${what}: ${issue ? `${issue.path.map(String).join('.') || '$'}: ${issue.message}` : 'malformed'}`);
}

/** Evidence from its parts; its digest is over exactly these parts (canonical JSON). */
export async function makeEvidence(parts: { dealId: string; statements: unknown[]; attachments?: Attachment[] }): Promise<ArbiterEvidence> {
  const parsed = EvidenceParts.safeParse(parts);
  if (!parsed.success) malformed('evidence', parsed.error.issues);
  return { ...parsed.data, digest: await digestJson(parsed.data) };
}

/** The evidence bundle as core/evidence exports it (only what the arbiter reads; the rest is carried, not trusted). */
/**
 * Evidence from an evidence bundle (core/evidence, `semper.evidence/1`): its statements and
 * attachments, its digest over the whole bundle as submitted (what the claimant's complaint names).
 * The bundle must be one (the strict schema: anything else is malformed) and, given the arbiter's
 * trust, must pass `verifyBundle` as a whole — every statement's signature and chain at its signing
 * time, its OpenSSL artefacts equal to what the statement implies, the CRLs it carries (a
 * certificate revoked before it signed), its time stamps naming statements in it, every attachment
 * its digest — or it is refused as tampered (foreign: statements of another deal).
 */
export async function evidenceFromBundle(bundle: unknown, trust?: { roots: readonly string[]; now: number }): Promise<ArbiterEvidence> {
  const parsed = EvidenceBundle.safeParse(bundle);
  if (!parsed.success) malformed('bundle', parsed.error.issues);
  if (trust) {
    const report = await verifyBundle(parsed.data, { roots: trust.roots, now: new Date(trust.now), verifyTimestamp: verifyRfc3161Timestamp });
    if (!report.ok) {
      const first = report.problems[0] ?? report.statements.flatMap((s) => s.problems.map((p) => ({ ...p, message: `statement ${s.index}: ${p.message}` })))[0];
      const code = (first?.code ?? 'ERR_SIGNATURE_INVALID') as SemperErrorCode;
      const foreign = first?.check === 'deal' || code === 'ERR_EVIDENCE_FOREIGN';
      throw new ArbiterRefusal(foreign ? 'foreign' : 'tampered', foreign ? 'ERR_EVIDENCE_FOREIGN' : code, `bundle: ${first?.message ?? 'does not verify'}`);
    }
  }
  let digest: string;
  try {
    digest = await digestJson(bundle);
  } catch (e) {
    if (!isSemperError(e)) throw e;
    throw new ArbiterRefusal('malformed', 'ERR_SCHEMA', `bundle: ${e.message}`);
  }
  return {
    dealId: parsed.data.deal.id,
    statements: parsed.data.statements.map((s) => s.statement),
    attachments: parsed.data.attachments,
    digest,
  };
}

/** One verified statement, as the rules see it. */
export interface Admitted {
  statement: Statement;
  /** statementDigest: how reasons name it. */
  digest: string;
  /** The digest with the signature in canonical form (exchange ids are these). */
  canonicalDigest: string;
  /** The signer's key id (RFC 7638). */
  keyId: string;
  chain?: ValidatedChain;
  userVerified?: boolean;
  /** Found inside another admitted statement, not submitted on its own. */
  nested: boolean;
}

export interface AdmittedEvidence {
  dealId: string;
  statements: Admitted[];
  /** Attachment bytes by their (checked) digest. */
  attachments: Map<string, { mediaType: string; bytes: Uint8Array<ArrayBuffer> }>;
}

function looksLikeStatement(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'type' in v && 'signature' in v && 'body' in v && 'issuedAt' in v;
}

function nestedCandidates(value: unknown, out: unknown[], depth = 0): void {
  if (depth > 8 || typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) nestedCandidates(v, out, depth + 1);
    return;
  }
  for (const v of Object.values(value)) {
    if (looksLikeStatement(v)) out.push(v);
    nestedCandidates(looksLikeStatement(v) ? (v as { body: unknown }).body : v, out, depth + 1);
  }
}

/**
 * Verify one statement the way evidence is verified: the signer's certificate at the time the
 * statement says it was issued (a certificate that expired since still proves what it signed
 * then), never later than the judging time; revocation as the arbiter's checker says now.
 */
async function verifyOne(input: unknown, trust: StatementTrust, nested: boolean): Promise<Admitted> {
  const issuedAt = looksLikeStatement(input) && typeof input.issuedAt === 'string' ? Date.parse(input.issuedAt) : Number.NaN;
  const at = Number.isFinite(issuedAt) ? Math.min(issuedAt, trust.now) : trust.now;
  if (Number.isFinite(issuedAt) && issuedAt > trust.now + 5 * 60_000) throw new SemperError('ERR_SIGNATURE_INVALID', 'a statement issued in the future');
  const v = await verifyStatement(input, {
    trust: { roots: trust.roots, now: new Date(at), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) },
    ...(trust.webauthn ? { webauthn: trust.webauthn } : {}),
  });
  const statement = v.statement as Statement;
  return {
    statement,
    digest: await statementDigest(statement),
    canonicalDigest: await canonicalStatementDigest(statement),
    keyId: await jwkThumbprint(v.signerJwk),
    ...(v.chain ? { chain: v.chain } : {}),
    ...(v.userVerified !== undefined ? { userVerified: v.userVerified } : {}),
    nested,
  };
}

function toBase64url(data: string): string {
  return data.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Admit the evidence for a complaint about `dealId` that committed to `committedDigest` (see the file comment). */
export async function admitEvidence(evidence: ArbiterEvidence, expected: { dealId: string; digest: string }, trust: StatementTrust): Promise<AdmittedEvidence> {
  const parts = EvidenceParts.safeParse({ dealId: evidence.dealId, statements: evidence.statements, attachments: evidence.attachments });
  if (!parts.success) malformed('evidence', parts.error.issues);
  if (evidence.digest !== expected.digest)
    throw new ArbiterRefusal('foreign', 'ERR_EVIDENCE_FOREIGN', 'the evidence submitted is not the evidence the complaint committed to (digest)');
  if (evidence.dealId !== expected.dealId)
    throw new ArbiterRefusal('foreign', 'ERR_EVIDENCE_FOREIGN', `the evidence is for deal ${evidence.dealId}, the complaint for ${expected.dealId}`);

  const admitted: Admitted[] = [];
  const seen = new Set<string>();
  for (const [i, input] of evidence.statements.entries()) {
    let a: Admitted;
    try {
      a = await verifyOne(input, trust, false);
    } catch (e) {
      if (!isSemperError(e)) throw e;
      const kind: Refusal = e.code === 'ERR_SCHEMA' || e.code === 'ERR_ENCODING' ? 'malformed' : 'tampered';
      throw new ArbiterRefusal(kind, e.code, `statement ${i}: ${e.message}`);
    }
    if (a.statement.dealId !== expected.dealId)
      throw new ArbiterRefusal('foreign', 'ERR_EVIDENCE_FOREIGN', `statement ${i} (${a.statement.type}, ${a.digest}) is for deal ${a.statement.dealId}`);
    if (seen.has(a.digest)) continue;
    seen.add(a.digest);
    admitted.push(a);
  }
  // Nested statements: admitted when they verify on their own (breadth-first over what was admitted).
  for (let i = 0; i < admitted.length; i++) {
    const found: unknown[] = [];
    nestedCandidates(admitted[i]!.statement.body, found);
    for (const input of found) {
      try {
        const a = await verifyOne(input, trust, true);
        if (seen.has(a.digest)) continue;
        seen.add(a.digest);
        admitted.push(a);
      } catch (e) {
        if (!isSemperError(e)) throw e;
      }
    }
  }

  const attachments = new Map<string, { mediaType: string; bytes: Uint8Array<ArrayBuffer> }>();
  for (const [i, att] of parts.data.attachments.entries()) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = decodeBase64url(toBase64url(att.data));
    } catch {
      throw new ArbiterRefusal('malformed', 'ERR_SCHEMA', `attachment ${i}: not base64`);
    }
    if (encodeBase64url(await sha256(bytes)) !== att.digest)
      throw new ArbiterRefusal('tampered', 'ERR_SIGNATURE_INVALID', `attachment ${i}: its bytes do not hash to ${att.digest}`);
    attachments.set(att.digest, { mediaType: att.mediaType, bytes });
  }
  return { dealId: expected.dealId, statements: admitted, attachments };
}
