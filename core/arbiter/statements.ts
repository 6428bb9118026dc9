/**
 * The arbiter's two statements, in the one envelope (core/statements):
 *
 *   semper.arbiter.complaint  claimant → arbiter   { claim, dealId, respondent?, evidence, statement? }
 *   semper.arbiter.verdict    arbiter → anyone     { complaint, claim, decision, rule, reasons, missing?, remedy? }
 *
 * A complaint commits to the evidence it is filed with (`evidence`: the digest of the submitted
 * evidence, evidence.ts), so evidence cannot be swapped under a complaint and one complaint is
 * decided once (the arbiter keys its verdicts by the complaint's digest). A verdict names the
 * complaint by digest and is signed with the arbiter's certificate (role arbiter).
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import type { Signer } from '../crypto/keys.js';
import { Digest } from '../items/schema.js';
import type { RevocationCheck } from '../pki/certificates.js';
import { nowIso, signStatement, statementDigest, verifyStatement, type Statement } from '../statements/index.js';
import type { WebAuthnStatementVerifier } from '../statements/verify.js';
import { parseBody } from '../commerce/common.js';

export const ARBITER_TYPES = {
  complaint: 'semper.arbiter.complaint',
  verdict: 'semper.arbiter.verdict',
} as const;

/** What a claimant can ask the arbiter to decide (one rule module each, rules/). */
export const CLAIMS = [
  'goods-not-delivered',
  'goods-mismatch',
  'order-denied',
  'offer-denied',
  'payment-not-received',
  'ttp-conflict',
  'contract-signed',
] as const;
export const Claim = z.enum(CLAIMS);
export type Claim = z.infer<typeof Claim>;

export const DECISIONS = ['upheld', 'dismissed', 'undecided'] as const;
export const Decision = z.enum(DECISIONS);
export type Decision = z.infer<typeof Decision>;

const DealIdText = z.string().check(z.minLength(8), z.maxLength(128));

export const ComplaintBody = z.strictObject({
  claim: Claim,
  dealId: DealIdText,
  /** Whom the complaint is against: a key id (RFC 7638 thumbprint) or a certificate fingerprint. */
  respondent: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /** The digest of the evidence filed with this complaint (evidence.ts `evidenceDigest`). */
  evidence: Digest,
  /** The claimant's own words; shown, never judged. */
  statement: z.optional(z.string().check(z.maxLength(2000))),
});
export type ComplaintBody = z.infer<typeof ComplaintBody>;

export const VerdictBody = z.strictObject({
  /** statementDigest of the complaint decided. */
  complaint: Digest,
  claim: Claim,
  decision: Decision,
  /** The rule (and branch) that decided: `<claim>/<branch>`. */
  rule: z.string().check(z.regex(/^[a-z-]+\/[a-z-]+$/, 'rule id')),
  /** Plain words; each names the statement (by digest) that decided it. */
  reasons: z.array(z.string().check(z.minLength(1), z.maxLength(1000))).check(z.minLength(1), z.maxLength(32)),
  /** undecided: what evidence would decide it. */
  missing: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(1000))).check(z.maxLength(16))),
  /** upheld: what the respondent owes. */
  remedy: z.optional(z.string().check(z.maxLength(1000))),
});
export type VerdictBody = z.infer<typeof VerdictBody>;

export interface StatementTrust {
  roots: readonly string[];
  now: number;
  isRevoked?: RevocationCheck;
  webauthn?: WebAuthnStatementVerifier;
}

/** The complaint a claimant signs (device key, certificate or hardware token). */
export function signComplaint(
  body: ComplaintBody,
  signer: Signer,
  now: number,
  options: { chain?: readonly string[] } = {},
): Promise<Statement<ComplaintBody>> {
  return signStatement<ComplaintBody>(
    { type: ARBITER_TYPES.complaint, version: 1, dealId: body.dealId, issuedAt: nowIso(now), body },
    signer,
    options.chain?.length ? { signerRef: { kind: 'x509', chain: [...options.chain] } } : {},
  );
}

export interface VerifiedComplaint {
  statement: Statement<ComplaintBody>;
  body: ComplaintBody;
  /** The claimant's key id (RFC 7638). */
  claimant: string;
  /** The claimant's certificate fingerprint, if it signed with a certificate. */
  claimantFingerprint?: string;
  digest: string;
}

/** Verify a complaint: envelope, signature, body; its envelope's deal is the body's. */
export async function verifyComplaint(input: unknown, trust: StatementTrust): Promise<VerifiedComplaint> {
  const v = await verifyStatement<ComplaintBody>(input, {
    types: [ARBITER_TYPES.complaint],
    trust: { roots: trust.roots, now: new Date(trust.now), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) },
    ...(trust.webauthn ? { webauthn: trust.webauthn } : {}),
  });
  const body = parseBody(ComplaintBody, v.statement.body, 'complaint');
  if (v.statement.dealId !== body.dealId) throw new SemperError('ERR_SCHEMA', 'complaint: the envelope names another deal than the body');
  if (Date.parse(v.statement.issuedAt) > trust.now + 5 * 60_000) throw new SemperError('ERR_SCHEMA', 'complaint: issued in the future');
  return {
    statement: { ...v.statement, body },
    body,
    claimant: await jwkThumbprint(v.signerJwk),
    ...(v.chain ? { claimantFingerprint: v.chain.leaf.fingerprint } : {}),
    digest: await statementDigest(v.statement),
  };
}

/** The arbiter signs a verdict with its certificate chain. */
export async function signVerdict(body: VerdictBody, dealId: string, signer: Signer, chain: readonly string[], now: number): Promise<Statement<VerdictBody>> {
  const parsed = parseBody(VerdictBody, body, 'verdict');
  return signStatement<VerdictBody>({ type: ARBITER_TYPES.verdict, version: 1, dealId, issuedAt: nowIso(now), body: parsed }, signer, {
    signerRef: { kind: 'x509', chain: [...chain] },
  });
}

/** Verify a verdict: signed by a certificate of role arbiter chaining to a trusted root. */
export async function verifyVerdict(input: unknown, trust: StatementTrust): Promise<{ statement: Statement<VerdictBody>; body: VerdictBody; arbiter: string }> {
  const v = await verifyStatement(input, {
    types: [ARBITER_TYPES.verdict],
    requireCertificate: true,
    trust: { roots: trust.roots, now: new Date(trust.now), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) },
  });
  if (v.chain?.leaf.role !== 'arbiter') throw new SemperError('ERR_CERT_UNTRUSTED', `verdict signed by a ${v.chain?.leaf.role ?? 'non-arbiter'} certificate`);
  const body = parseBody(VerdictBody, v.statement.body, 'verdict');
  return { statement: { ...v.statement, body }, body, arbiter: v.chain.leaf.commonName };
}
