/**
 * The merchant kit's side of disputes (issue 12 item 5): the operator files a complaint about one of
 * the shop's deals with the arbiter the kit is configured with, and the kit keeps the verdict.
 *
 *   bundle     the deal's evidence bundle from its stored state (`merchantBundle`; the evidence
 *              route exports the same one)
 *   complaint  signed with the merchant's certified signing key (its chain attached), so the arbiter
 *              sees the signer of the deal's certified offer
 *   arbiter    `POST <arbiter>/arbiter/complaints { complaint, bundle }`; the verdict counts only if it
 *              verifies under the configured roots as an arbiter's, is signed under exactly the
 *              configured arbiter certificate, and decides this complaint about this deal
 *   store      complaint and verdict kept with the deal (`merchant_verdicts`, deals.ts schema 4)
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import { z } from 'zod';
import { signComplaint, verifyVerdict, type Claim, type VerdictBody } from '../../core/arbiter/statements.js';
import type { MerchantIdentity } from '../../core/commerce/merchant.js';
import { digestJson } from '../../core/encoding/index.js';
import { SemperError, type SemperErrorCode } from '../../core/errors.js';
import { buildBundle, bundleToJson, collectStatements, roleOf, type EvidenceBundle } from '../../core/evidence/index.js';
import { fingerprintOf } from '../../core/pki/index.js';
import { Statement, statementDigest } from '../../core/statements/index.js';
import type { DealKind, StoredDeal } from './deals.js';

/** The arbiter a kit files its disputes with: where, its certificate (role arbiter), and the roots its verdicts must chain to. */
export interface KitArbiter {
  url: string;
  /** base64 DER of the arbiter's certificate: only verdicts signed under it count. */
  certificate: string;
  roots: readonly string[];
  /** The HTTP client (tests inject an in-process arbiter); default the global fetch. */
  fetch?: typeof fetch;
}

/** A verdict the kit keeps with its deal. */
export interface StoredDispute {
  dealId: string;
  claim: Claim;
  decision: VerdictBody['decision'];
  rule: string;
  complaintDigest: string;
  verdictDigest: string;
  complaint: Statement<unknown>;
  verdict: Statement<unknown>;
  createdAt: string;
}

/** What a merchant can claim about a deal of each kind (core/arbiter: the shopper's claims are the shopper's). */
export const MERCHANT_CLAIMS: Record<DealKind, readonly Claim[]> = {
  purchase: ['order-denied', 'payment-not-received'],
  'fair-purchase': ['order-denied', 'payment-not-received', 'ttp-conflict'],
  exchange: ['contract-signed', 'ttp-conflict'],
};

export const DisputeRequest = z.strictObject({ claim: z.string().min(1).max(64), statement: z.string().max(2000).optional() });

const ArbiterAnswer = z.looseObject({ verdict: Statement, id: z.string().max(128), replayed: z.boolean() });
const ArbiterError = z.looseObject({ error: z.looseObject({ code: z.string().max(64), message: z.string().max(4096) }) });
const ARBITER_TIMEOUT_MS = 20_000;
const MAX_ANSWER_BYTES = 1_000_000;

/** The deal's evidence bundle: every signed statement in its stored state, and the complaints and verdicts kept with it. */
export async function merchantBundle(
  deal: StoredDeal,
  exporter: string,
  now: number,
  disputes: readonly StoredDispute[] = [],
  stamps?: StatementStamps,
): Promise<EvidenceBundle> {
  const { statements } = await collectStatements([deal.state, disputes.map((d) => [d.complaint, d.verdict])], deal.dealId);
  if (statements.length === 0) throw new SemperError('ERR_NOT_FOUND', `deal ${deal.dealId} holds no signed statement yet`);
  return buildBundle({
    deal: { id: deal.dealId, kind: deal.kind, exporter },
    statements: statements.map((statement) => ({ statement, role: roleOf(statement) })),
    ...(stamps ? { timestamps: await stamps.tokensFor(statements) } : {}),
    now,
  });
}

/** A dispute that failed: `status` is what the kit answers its operator with. */
export class KitDisputeError extends SemperError {
  constructor(
    code: SemperErrorCode,
    message: string,
    readonly status: 400 | 403 | 409 | 422 | 502 | 503,
  ) {
    super(code, message);
  }
}

export async function fileDispute(input: {
  deal: StoredDeal;
  claim: string;
  statement?: string;
  identity: MerchantIdentity;
  arbiter: KitArbiter | undefined;
  now: () => number;
  /** Verdicts already kept with the deal: filed again as evidence. */
  disputes?: readonly StoredDispute[];
  /** The kit's time stamps: their tokens go into the bundle. */
  stamps?: StatementStamps;
}): Promise<{ dispute: StoredDispute; replayed: boolean }> {
  const { deal, identity, arbiter } = input;
  if (!arbiter) throw new KitDisputeError('ERR_INTERNAL', 'this merchant kit has no arbiter configured (option arbiter)', 503);
  if (!(MERCHANT_CLAIMS[deal.kind] as readonly string[]).includes(input.claim)) {
    throw new KitDisputeError(
      'ERR_SCHEMA',
      `a merchant cannot claim ${input.claim} about a ${deal.kind} (claims: ${MERCHANT_CLAIMS[deal.kind].join(', ')})`,
      400,
    );
  }
  const claim = input.claim as Claim;
  const now = input.now();
  const bundle = JSON.parse(bundleToJson(await merchantBundle(deal, `merchant kit ${identity.origin}`, now, input.disputes, input.stamps))) as unknown;
  const complaint = await signComplaint(
    { claim, dealId: deal.dealId, evidence: await digestJson(bundle), ...(input.statement ? { statement: input.statement } : {}) },
    identity.signer,
    now,
    { chain: identity.chain },
  );
  const complaintDigest = await statementDigest(complaint);
  let response: Response;
  try {
    response = await (arbiter.fetch ?? fetch)(new URL('/arbiter/complaints', arbiter.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ complaint, bundle }),
      redirect: 'error',
      signal: AbortSignal.timeout(ARBITER_TIMEOUT_MS),
    });
  } catch (e) {
    throw new KitDisputeError('ERR_INTERNAL', `the arbiter at ${arbiter.url} could not be reached: ${e instanceof Error ? e.message : String(e)}`, 502);
  }
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES) throw new KitDisputeError('ERR_SCHEMA', 'the arbiter answered with too much', 502);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new KitDisputeError('ERR_SCHEMA', `the arbiter's answer (HTTP ${response.status}) is not JSON`, 502);
  }
  if (!response.ok) {
    const refusal = ArbiterError.safeParse(body);
    throw new KitDisputeError(
      (refusal.data?.error.code as SemperErrorCode | undefined) ?? 'ERR_INTERNAL',
      `the arbiter refused the complaint: ${refusal.data?.error.message ?? `HTTP ${response.status}`}`,
      422,
    );
  }
  const answer = ArbiterAnswer.safeParse(body);
  if (!answer.success) throw new KitDisputeError('ERR_SCHEMA', 'the arbiter did not answer with a verdict', 502);
  const verdict = answer.data.verdict;
  try {
    await verifyVerdict(verdict, { roots: arbiter.roots, now: input.now() });
  } catch (e) {
    throw new KitDisputeError(
      e instanceof SemperError ? e.code : 'ERR_SIGNATURE_INVALID',
      `the verdict does not verify: ${e instanceof Error ? e.message : String(e)}`,
      502,
    );
  }
  const signer = verdict.signature.signer;
  if (signer.kind !== 'x509' || (await fingerprintOf(signer.chain[0]!)) !== (await fingerprintOf(arbiter.certificate))) {
    throw new KitDisputeError('ERR_CERT_UNTRUSTED', 'the verdict is not signed by the configured arbiter', 502);
  }
  const v = verdict.body as VerdictBody;
  if (verdict.dealId !== deal.dealId || v.complaint !== complaintDigest || v.claim !== claim) {
    throw new KitDisputeError('ERR_EVIDENCE_FOREIGN', 'the verdict decides another complaint than the one filed', 502);
  }
  return {
    dispute: {
      dealId: deal.dealId,
      claim,
      decision: v.decision,
      rule: v.rule,
      complaintDigest,
      verdictDigest: await statementDigest(verdict),
      complaint: complaint as Statement<unknown>,
      verdict,
      createdAt: new Date(input.now()).toISOString(),
    },
    replayed: answer.data.replayed,
  };
}
