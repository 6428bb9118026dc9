/**
 * The arbiter's decision procedure: verify the complaint, admit the evidence (refusing what is
 * malformed, tampered or foreign, evidence.ts), check that the claimant is a party of the deal,
 * then apply the one rule for the claim. A respondent the evidence does not show signing anything is
 * no refusal: the rule then finds nothing of the respondent's and says so (dismissed or undecided). Pure: time comes in `trust.now`, nothing is stored here
 * (replays are the host's: it keys verdicts by the complaint's digest).
 */
import { isSemperError } from '../errors.js';
import { admitEvidence, ArbiterRefusal, type ArbiterEvidence } from './evidence.js';
import { partiesOf } from './deal.js';
import { ARBITER_TYPES, verifyComplaint, type Claim, type VerdictBody, type VerifiedComplaint } from './statements.js';
import type { ArbiterTrust, RuleBook } from './rule.js';
import { goodsNotDelivered } from './rules/goods-not-delivered.js';
import { goodsMismatch } from './rules/goods-mismatch.js';
import { orderDenied } from './rules/order-denied.js';
import { offerDenied } from './rules/offer-denied.js';
import { paymentNotReceived } from './rules/payment-not-received.js';
import { ttpConflict } from './rules/ttp-conflict.js';
import { contractSigned } from './rules/contract-signed.js';

export const RULES: RuleBook = {
  'goods-not-delivered': goodsNotDelivered,
  'goods-mismatch': goodsMismatch,
  'order-denied': orderDenied,
  'offer-denied': offerDenied,
  'payment-not-received': paymentNotReceived,
  'ttp-conflict': ttpConflict,
  'contract-signed': contractSigned,
};

export interface Judgment {
  complaint: VerifiedComplaint;
  verdict: VerdictBody;
}

/** Verify a complaint; any failure is a refusal (malformed or tampered), never a verdict. */
export async function admitComplaint(input: unknown, trust: ArbiterTrust): Promise<VerifiedComplaint> {
  try {
    return await verifyComplaint(input, trust);
  } catch (e) {
    if (!isSemperError(e)) throw e;
    const kind = e.code === 'ERR_SCHEMA' || e.code === 'ERR_ENCODING' || e.code === 'ERR_STATEMENT_TYPE' ? 'malformed' : 'tampered';
    throw new ArbiterRefusal(kind, e.code, `${ARBITER_TYPES.complaint}: ${e.message}`);
  }
}

/** Judge a complaint on its evidence; throws ArbiterRefusal for what is not to be judged at all. */
export async function judge(complaintInput: unknown, evidence: ArbiterEvidence, trust: ArbiterTrust, rules: RuleBook = RULES): Promise<Judgment> {
  const complaint = await admitComplaint(complaintInput, trust);
  const admitted = await admitEvidence(evidence, { dealId: complaint.body.dealId, digest: complaint.body.evidence }, trust);
  const parties = partiesOf(admitted);
  const isParty = parties.has(complaint.claimant) || (complaint.claimantFingerprint !== undefined && parties.has(complaint.claimantFingerprint));
  if (!isParty)
    throw new ArbiterRefusal(
      'not-a-party',
      'ERR_FORBIDDEN',
      `the complaint is signed by key ${complaint.claimant}, which the evidence does not show as a party of deal ${complaint.body.dealId}`,
    );
  const claim: Claim = complaint.body.claim;
  const ruling = await rules[claim]({ complaint, evidence: admitted, trust });
  const verdict: VerdictBody = {
    complaint: complaint.digest,
    claim,
    decision: ruling.decision,
    rule: `${claim}/${ruling.branch}`,
    reasons: ruling.reasons.slice(0, 32).map((r) => r.slice(0, 1000)),
    ...(ruling.missing?.length ? { missing: ruling.missing.slice(0, 16).map((r) => r.slice(0, 1000)) } : {}),
    ...(ruling.remedy && ruling.decision === 'upheld' ? { remedy: ruling.remedy.slice(0, 1000) } : {}),
  };
  return { complaint, verdict };
}
