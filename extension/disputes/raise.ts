/**
 * Raising a dispute (issue 12 item 5): the worker files a complaint about one of the shopper's deals
 * with an arbiter the shopper trusts, and keeps the verdict.
 *
 *   1. the deal's evidence bundle, as "Export evidence" builds it (disputes/bundle.ts);
 *   2. a complaint (core/arbiter signComplaint) committing to that bundle's digest, signed by the key
 *      that acted in the deal — the key that signed what the shopper sent (the order, the fair
 *      purchase's start, the exchange's message): the identity key, or the origin's pseudonym for an
 *      anonymous deal — so the arbiter sees the claimant as a party;
 *   3. `POST <arbiter>/arbiter/complaints { complaint, bundle }` to the arbiter chosen from the
 *      user's trusted arbiters (settings/arbiter-trust.ts; never an address from a merchant);
 *   4. the verdict counts only if it verifies under the user's CA roots as an arbiter's
 *      (verifyVerdict), its signer's certificate is the trusted arbiter's (fingerprint), and it
 *      decides this complaint for this deal;
 *   5. complaint (sent) and verdict (received) go into the deal's archive, so the next export carries them.
 *
 * Every failure is a DisputeError naming what failed; nothing is archived unless a valid verdict came back.
 */
import { z } from '../../core/zod.js';
import {
  ARBITER_TYPES,
  signComplaint,
  verifyComplaint,
  verifyVerdict,
  type Claim,
  type ComplaintBody,
  type VerdictBody,
  type VerifiedComplaint,
} from '../../core/arbiter/statements.js';
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import type { WebAuthnSignerRef, WebAuthnStatementToSign } from '../../core/crypto/webauthn.js';
import { canonicalJson, digestJson } from '../../core/encoding/index.js';
import { SemperError, type SemperErrorCode } from '../../core/errors.js';
import { bundleToJson } from '../../core/evidence/bundle.js';
import { readCertificate } from '../../core/pki/certificates.js';
import { nowIso, Statement, statementDigest } from '../../core/statements/index.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/verify.js';
import type { ArchiveEntry, DealRecord, DealStore } from '../deals/records.js';
import type { KeyStore } from '../identity/key-store.js';
import type { IdentityService, TokenSigningRequest } from '../identity/service.js';
import type { TrustedArbiter, TrustedArbiters } from '../settings/arbiter-trust.js';
import { postJson } from '../worker/http.js';
import { dealBundle } from './bundle.js';
import { claimsFor } from './claims.js';

export type DisputeFailure = 'untrusted-arbiter' | 'arbiter-unreachable' | 'refused' | 'bad-verdict' | 'no-signing-key' | 'token-signed' | 'not-a-claim';

/** What a token-signed complaint needs from the identity service. */
export type TokenRequests = Pick<IdentityService, 'tokenStatementRequest'>;

/** A dispute that could not be raised or whose answer is not a verdict to keep; `failure` says which. */
export class DisputeError extends SemperError {
  override readonly name = 'DisputeError';
  constructor(
    readonly failure: DisputeFailure,
    code: SemperErrorCode,
    message: string,
  ) {
    super(code, message, { failure });
  }
}

export interface DisputeDeps {
  store: DealStore;
  keys: Pick<KeyStore, 'list' | 'signer'>;
  roots: { ders(): Promise<string[]> };
  arbiters: Pick<TrustedArbiters, 'find'>;
  now(): number;
  fetchImpl?: typeof fetch;
}

/** A verdict as the popup shows it. */
export interface DisputeView {
  claim: Claim;
  /** statementDigest of the complaint */
  complaint: string;
  /** statementDigest of the verdict */
  verdictDigest: string;
  decision: VerdictBody['decision'];
  rule: string;
  reasons: string[];
  missing?: string[];
  remedy?: string;
  /** The arbiter's certificate name */
  arbiter: string;
  decidedAt: string;
}

const ArbiterAnswer = z.looseObject({ verdict: Statement, id: z.string().check(z.maxLength(128)), replayed: z.boolean() });
/** A verdict and its bundle are small; complaints with goods may be large, answers never. */
const MAX_VERDICT_BYTES = 1_000_000;
const SHOPPER_SENDS = ['semper.order', 'semper.fair.start'];

/** The key id of a statement's signer, and the chain if it signed with a certificate. */
async function signerOf(statement: Statement<unknown>): Promise<{ keyId: string; chain?: string[] } | undefined> {
  const ref = statement.signature.signer;
  if (ref.kind === 'jwk') return { keyId: await jwkThumbprint(ref.jwk) };
  if (ref.kind === 'x509') return { keyId: await jwkThumbprint((await readCertificate(ref.chain[0]!)).publicJwk), chain: ref.chain };
  return undefined;
}

/** What the shopper sent in the deal, its order or start first. */
function sentByShopper(archive: ArchiveEntry[]): ArchiveEntry[] {
  const sent = archive.filter((a) => a.direction === 'sent' && a.type !== ARBITER_TYPES.complaint);
  return sent.sort((a, b) => Number(SHOPPER_SENDS.includes(b.type)) - Number(SHOPPER_SENDS.includes(a.type)));
}

/** The security key that signed what the shopper sent (its order first), if a security key did. */
function actingToken(archive: ArchiveEntry[]): WebAuthnSignerRef | undefined {
  const signer = sentByShopper(archive)[0]?.statement.signature.signer;
  return signer?.kind === 'webauthn' ? signer : undefined;
}

/** The key of this browser that signed what the shopper sent in the deal (its order or start first). */
async function actingKey(deps: DisputeDeps, archive: ArchiveEntry[]) {
  const sent = sentByShopper(archive);
  const keys = await deps.keys.list();
  for (const entry of sent) {
    const signer = await signerOf(entry.statement);
    const key = signer && keys.find((k) => k.keyId === signer.keyId);
    if (key) {
      try {
        return { signer: await deps.keys.signer(key), ...(signer.chain ? { chain: signer.chain } : {}) };
      } catch (e) {
        throw new DisputeError(
          'no-signing-key',
          'ERR_KEY',
          `the key that signed this deal cannot sign any more: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
  }
  throw new DisputeError('no-signing-key', 'ERR_KEY', 'no key of this browser signed anything in this deal, so the arbiter would not see you as a party');
}

async function arbiterCertificateFingerprint(verdict: Statement<unknown>): Promise<{ fingerprint: string; commonName: string }> {
  const ref = verdict.signature.signer;
  if (ref.kind !== 'x509') throw new DisputeError('bad-verdict', 'ERR_CERT_UNTRUSTED', 'the verdict is not signed with a certificate');
  const info = await readCertificate(ref.chain[0]!);
  return { fingerprint: info.fingerprint, commonName: info.commonName };
}

/** The verdict in plain fields, for the popup (the verdict statement was verified before it was archived). */
export async function disputeView(verdict: Statement<unknown>): Promise<DisputeView> {
  const body = verdict.body as VerdictBody;
  const { commonName } = await arbiterCertificateFingerprint(verdict);
  return {
    claim: body.claim,
    complaint: body.complaint,
    verdictDigest: await statementDigest(verdict),
    decision: body.decision,
    rule: body.rule,
    reasons: body.reasons,
    ...(body.missing ? { missing: body.missing } : {}),
    ...(body.remedy ? { remedy: body.remedy } : {}),
    arbiter: commonName,
    decidedAt: verdict.issuedAt,
  };
}

export interface DisputeInput {
  dealId: string;
  claim: Claim;
  arbiter: string;
  statement?: string;
}

interface PreparedDispute {
  arbiter: TrustedArbiter;
  record: DealRecord;
  archive: ArchiveEntry[];
  /** The bundle exactly as it travels: the complaint commits to the digest of these bytes' JSON. */
  bundle: unknown;
  body: ComplaintBody;
}

/** Everything a complaint needs before it is signed; the bundle as of `now` (the complaint's issuedAt). */
async function prepareDispute(deps: DisputeDeps, input: DisputeInput, now: number): Promise<PreparedDispute> {
  const arbiter: TrustedArbiter | undefined = await deps.arbiters.find(input.arbiter);
  if (!arbiter)
    throw new DisputeError('untrusted-arbiter', 'ERR_CERT_UNTRUSTED', `${input.arbiter} is not one of your trusted arbiters (add it in the settings first)`);
  const { record, bundle: built } = await dealBundle(deps.store, input.dealId, now);
  if (!claimsFor(record.kind).includes(input.claim)) {
    throw new DisputeError('not-a-claim', 'ERR_SCHEMA', `a shopper cannot claim ${input.claim} about a ${record.kind}`);
  }
  if (!record.terminal)
    throw new DisputeError('not-a-claim', 'ERR_PROTOCOL_STATE', `deal ${input.dealId} is still under way: raise a dispute once it has finished`);
  const bundle = JSON.parse(bundleToJson(built)) as unknown;
  const body: ComplaintBody = {
    claim: input.claim,
    dealId: input.dealId,
    evidence: await digestJson(bundle),
    ...(input.statement ? { statement: input.statement } : {}),
  };
  return { arbiter, record, archive: await deps.store.archiveOf(input.dealId), bundle, body };
}

/** Raise a dispute about a deal one of this browser's keys signed (the identity key or a pseudonym). */
export async function raiseDispute(deps: DisputeDeps, input: DisputeInput): Promise<DisputeView> {
  const now = deps.now();
  const prepared = await prepareDispute(deps, input, now);
  if (actingToken(prepared.archive)) {
    throw new DisputeError(
      'token-signed',
      'ERR_WEBAUTHN',
      'this deal was signed with a security key: the complaint must be signed with it too (disputes.complaintToSign)',
    );
  }
  const { signer, chain } = await actingKey(deps, prepared.archive);
  const complaint = await signComplaint(prepared.body, signer, now, chain ? { chain } : {});
  return fileComplaint(deps, prepared, complaint, now);
}

/** How the complaint about a deal is signed: by this browser's key (disputes.raise), or by the security key that signed the deal. */
export type ComplaintSigning = { signer: 'device' } | ({ signer: 'token' } & Omit<TokenSigningRequest, 'order'> & { complaint: WebAuthnStatementToSign });

/** How long a complaint handed to the security key stays good to file: the bundle it names is rebuilt as of its issuedAt. */
export const TOKEN_COMPLAINT_TTL_MS = 10 * 60_000;

/**
 * For a deal a security key signed: the complaint that key must sign, with the ceremony's challenge
 * (the same token, since the arbiter takes as a party only a key the evidence shows acting).
 */
export async function complaintToSign(deps: DisputeDeps, identity: TokenRequests, input: DisputeInput): Promise<ComplaintSigning> {
  // Who signs comes from the archive alone: a device-signed deal goes on to disputes.raise, which builds the bundle.
  const token = actingToken(await deps.store.archiveOf(input.dealId));
  if (!token) return { signer: 'device' };
  const now = deps.now();
  const prepared = await prepareDispute(deps, input, now);
  const unsigned = { type: ARBITER_TYPES.complaint, version: 1 as const, dealId: input.dealId, issuedAt: nowIso(now), body: prepared.body };
  const { statement, ...ceremony } = await identity.tokenStatementRequest(unsigned, token);
  return { signer: 'token', complaint: statement, ...ceremony };
}

/**
 * File a complaint the security key signed (from complaintToSign). It must be exactly the complaint
 * this deal's evidence gives now — same deal, claim, words and evidence digest (the bundle rebuilt as
 * of its issuedAt), signed by the token that signed the deal — and its signature must verify here
 * before anything leaves.
 */
export async function raiseTokenSignedDispute(
  deps: DisputeDeps,
  verifier: WebAuthnStatementVerifier,
  input: DisputeInput & { complaint: Statement<unknown> },
): Promise<DisputeView> {
  const { complaint } = input;
  const now = deps.now();
  const issuedAt = Date.parse(complaint.issuedAt);
  if (!(issuedAt <= now + 60_000 && now - issuedAt <= TOKEN_COMPLAINT_TTL_MS)) {
    throw new DisputeError('not-a-claim', 'ERR_SCHEMA', 'the signed complaint is too old or from the future: sign it again');
  }
  const prepared = await prepareDispute(deps, input, issuedAt);
  const token = actingToken(prepared.archive);
  if (!token) throw new DisputeError('no-signing-key', 'ERR_WEBAUTHN', 'this deal was not signed with a security key');
  if (
    complaint.type !== ARBITER_TYPES.complaint ||
    complaint.version !== 1 ||
    complaint.dealId !== input.dealId ||
    canonicalJson(complaint.body) !== canonicalJson(prepared.body)
  ) {
    throw new DisputeError(
      'not-a-claim',
      'ERR_EVIDENCE_FOREIGN',
      "the signed complaint is not this deal's complaint as asked (claim, words or evidence differ)",
    );
  }
  let verified: VerifiedComplaint;
  try {
    verified = await verifyComplaint(complaint, { roots: await deps.roots.ders(), now, webauthn: verifier });
  } catch (e) {
    throw new DisputeError(
      'no-signing-key',
      e instanceof SemperError ? e.code : 'ERR_SIGNATURE_INVALID',
      `the signed complaint does not verify: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  // The arbiter takes as a party only a key the evidence shows acting: the deal's token, nothing else.
  if (complaint.signature.signer.kind !== 'webauthn' || verified.claimant !== (await jwkThumbprint(token.jwk))) {
    throw new DisputeError('no-signing-key', 'ERR_WEBAUTHN', 'the complaint is not signed by the security key that signed this deal');
  }
  return fileComplaint(deps, prepared, verified.statement as Statement<ComplaintBody>, now);
}

/** Send a signed complaint with its bundle to the arbiter, check the verdict, archive both. */
async function fileComplaint(deps: DisputeDeps, prepared: PreparedDispute, complaint: Statement<ComplaintBody>, now: number): Promise<DisputeView> {
  const { arbiter, record, bundle } = prepared;
  const input = { dealId: prepared.body.dealId, claim: prepared.body.claim };
  const complaintDigest = await statementDigest(complaint);
  const reply = await postJson(
    arbiter.url,
    '/arbiter/complaints',
    { complaint, bundle },
    {
      maxResponseBytes: MAX_VERDICT_BYTES,
      ...(deps.fetchImpl ? { fetchImpl: deps.fetchImpl } : {}),
    },
  );
  if (reply.kind === 'error') {
    if (!('status' in reply))
      throw new DisputeError('arbiter-unreachable', 'ERR_INTERNAL', `the arbiter at ${arbiter.url} could not be reached: ${reply.error.message}`);
    throw new DisputeError('refused', (reply.error.code as SemperErrorCode) ?? 'ERR_INTERNAL', `the arbiter refused the complaint: ${reply.error.message}`);
  }
  const answer = ArbiterAnswer.safeParse(reply.body);
  if (!answer.success) throw new DisputeError('bad-verdict', 'ERR_SCHEMA', 'the arbiter did not answer with a verdict');
  const verdict = answer.data.verdict;
  try {
    await verifyVerdict(verdict, { roots: await deps.roots.ders(), now: deps.now() });
  } catch (e) {
    throw new DisputeError(
      'bad-verdict',
      e instanceof SemperError ? e.code : 'ERR_SIGNATURE_INVALID',
      `the verdict does not verify: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const signedBy = await arbiterCertificateFingerprint(verdict);
  if (signedBy.fingerprint !== arbiter.fingerprint) {
    throw new DisputeError('untrusted-arbiter', 'ERR_CERT_UNTRUSTED', `the verdict is signed by "${signedBy.commonName}", not by the arbiter you chose`);
  }
  const body = verdict.body as VerdictBody;
  if (verdict.dealId !== input.dealId || body.complaint !== complaintDigest || body.claim !== input.claim) {
    throw new DisputeError('bad-verdict', 'ERR_EVIDENCE_FOREIGN', 'the verdict decides another complaint than the one filed');
  }
  // The complaint when it was signed, the verdict when it came back (always after: the archive is read in this order).
  await deps.store.commit(record, [
    {
      dealId: input.dealId,
      direction: 'sent',
      type: ARBITER_TYPES.complaint,
      statement: complaint as Statement<unknown>,
      digest: complaintDigest,
      archivedAt: now,
    },
    {
      dealId: input.dealId,
      direction: 'received',
      type: ARBITER_TYPES.verdict,
      statement: verdict,
      digest: await statementDigest(verdict),
      archivedAt: Math.max(deps.now(), now + 1),
    },
  ]);
  return disputeView(verdict);
}

/** The disputes of a deal: each archived verdict with the complaint it decides. */
export async function listDisputes(store: DealStore, dealId: string): Promise<DisputeView[]> {
  const archive = await store.archiveOf(dealId);
  const complaints = new Set(archive.filter((a) => a.type === ARBITER_TYPES.complaint).map((a) => a.digest));
  const views: DisputeView[] = [];
  for (const entry of archive) {
    if (entry.type !== ARBITER_TYPES.verdict) continue;
    if (complaints.has((entry.statement.body as VerdictBody).complaint)) views.push(await disputeView(entry.statement));
  }
  return views;
}
