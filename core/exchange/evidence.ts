/**
 * What the evidence of a contract-signing exchange proves — the rule an arbiter applies, and the
 * answer to Shmatikov–Mitchell's "inconsistent versions" of ASW: a cheating originator can ask the
 * TTP to abort as soon as it holds m2, get the abort token, and still complete the main protocol,
 * ending with the responder's signature *and* an abort token.
 *
 *   signed (main protocol)  m1..m4 all verify and bind to each other: m1 by the originator it
 *                           names; m2 by the responder, for h(m1), with its commitment h(nR);
 *                           m3 by the originator, revealing nO with h(nO) = m1's commitment, bound
 *                           to h(nR), carrying the originator's item as m1 describes it; m4 the
 *                           same for the responder. Whatever abort token exists.
 *   signed (resolution)     the TTP m1 names resolved this very m1 (its resolution, which carries
 *                           affidavits standing in for both signatures).
 *   not signed (abort token) neither of the above, and the TTP m1 names aborted the exchange.
 *   not signed (incomplete) nothing else: no party can show the contract.
 *
 * So an abort token proves only that the TTP issued no resolution for the exchange and never will;
 * it does not prove that no contract exists. A party holding an abort token is bound anyway if the
 * other side shows the main protocol's transcript — and the originator, who alone may abort, sends
 * m3 only if it has not aborted (parties.ts), so an honest party is never bound while holding only a
 * token. The TTP's records stay as they are (decided once, never changed): the transcript overrules
 * the token in the judgment, not at the TTP.
 */
import { SemperError, isSemperError } from '../errors.js';
import { matchItem } from '../items/match.js';
import type { RevocationCheck } from '../pki/certificates.js';
import type { WebAuthnStatementVerifier } from '../statements/verify.js';
import {
  AbortTokenBody,
  AcceptBody,
  DeliverBody,
  EXCHANGE_TYPES,
  ProposeBody,
  ResolutionBody,
  TTP_TYPES,
  type ProposeBody as ProposeBodyT,
} from './messages.js';
import { commitTo, exchangeIdOf, matchContext, sameJson, verifyFrom, type VerifyTrust } from './common.js';

/** What a party (or both) can show about one contract-signing exchange; every piece is untrusted input. */
export interface ContractEvidence {
  m1: unknown;
  m2?: unknown;
  m3?: unknown;
  m4?: unknown;
  resolution?: unknown;
  abortToken?: unknown;
  /**
   * k-of-n (docs/quorum.md): more of the TTPs' resolutions and abort tokens. For an m1 naming a TTP set
   * and quorum k, a resolution (an abort) proves something only as k of them, from distinct TTPs of the set.
   */
  resolutions?: unknown[];
  abortTokens?: unknown[];
}

export type ContractVerdict =
  | { signed: true; exchangeId: string; basis: 'main-protocol' | 'resolution' }
  | { signed: false; exchangeId: string; basis: 'abort-token' | 'incomplete'; why: string[] };

export interface JudgeTrust {
  roots: readonly string[];
  /** When the evidence is judged (epoch ms): certificates are checked at this time. */
  now: number;
  isRevoked?: RevocationCheck;
  webauthn?: WebAuthnStatementVerifier;
  /** k-of-n: the TTPs whose decisions the judge counts (default: every TTP of the set m1 names). */
  ttps?: readonly string[];
}

/** Why an optional piece of evidence proves nothing (null: it proves what it should). */
async function why(check: () => Promise<void>): Promise<string | null> {
  try {
    await check();
    return null;
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
}

function fail(message: string): never {
  throw new SemperError('ERR_SIGNATURE_INVALID', message);
}

async function mainProtocol(m1: ProposeBodyT, exchangeId: string, e: ContractEvidence, trust: VerifyTrust, now: number): Promise<void> {
  if (e.m2 === undefined || e.m3 === undefined || e.m4 === undefined) throw new SemperError('ERR_PROTOCOL_STATE', 'the transcript lacks m2, m3 or m4');
  const m2 = await verifyFrom(e.m2, [EXCHANGE_TYPES.accept], [m1.responder.keyId], AcceptBody, trust, now);
  if (m2.body.exchangeId !== exchangeId) fail('m2 names another exchange');
  if (!m2.body.commitment) fail('m2 carries no commitment');
  const deliveries = [
    { input: e.m3, role: 'originator', by: m1.originator.keyId, commitment: m1.commitment, peerCommitment: m2.body.commitment, gives: m1.originatorGives },
    { input: e.m4, role: 'responder', by: m1.responder.keyId, commitment: m2.body.commitment, peerCommitment: m1.commitment, gives: m1.responderGives },
  ] as const;
  for (const d of deliveries) {
    const name = d.role === 'originator' ? 'm3' : 'm4';
    const v = await verifyFrom(d.input, [EXCHANGE_TYPES.deliver], [d.by], DeliverBody, trust, now);
    if (v.body.exchangeId !== exchangeId) fail(`${name} names another exchange`);
    if (v.body.role !== d.role) fail(`${name} claims the role ${v.body.role}`);
    if (!v.body.nonce || (await commitTo(v.body.nonce)) !== d.commitment) fail(`${name} does not reveal the nonce committed to`);
    if (v.body.peerCommitment !== d.peerCommitment) fail(`${name} is not bound to the other side's commitment`);
    const m = await matchItem(v.body.item, d.gives, matchContext(trust, now));
    if (!m.ok) fail(`${name} does not carry the item m1 describes: ${m.reason}`);
  }
}

/** The distinct TTPs whose pieces check out (each counted once, however many it signed), and why the others do not. */
async function decisionsOf(pieces: unknown[], kind: string, check: (piece: unknown) => Promise<string>): Promise<{ by: Set<string>; why: string[] }> {
  const by = new Set<string>();
  const whys: string[] = [];
  for (const piece of pieces) {
    if (piece === undefined) continue;
    const problem = await why(async () => {
      by.add(await check(piece));
    });
    if (problem) whys.push(`${kind}: ${problem}`);
  }
  return { by, why: whys };
}

/** Judge what the evidence proves (see the file comment). Throws only if m1 itself is not a valid contract-signing proposal. */
export async function judgeContractSigning(e: ContractEvidence, judge: JudgeTrust): Promise<ContractVerdict> {
  const trust: VerifyTrust = {
    roots: judge.roots,
    ...(judge.isRevoked ? { isRevoked: judge.isRevoked } : {}),
    ...(judge.webauthn ? { webauthn: judge.webauthn } : {}),
  };
  const now = judge.now;
  const m1 = await verifyFrom(e.m1, [EXCHANGE_TYPES.propose], null, ProposeBody, trust, now);
  if (m1.keyId !== m1.body.originator.keyId) fail('m1 is not signed by the originator it names');
  if (m1.body.protocol !== 'contract-signing' || !m1.body.commitment) throw new SemperError('ERR_PROTOCOL_STATE', 'm1 does not propose contract signing');
  const exchangeId = await exchangeIdOf(m1.statement);
  const ttpKey = m1.body.ttp.keyId;
  const reasons: string[] = [];

  const main = await why(() => mainProtocol(m1.body, exchangeId, e, trust, now));
  if (main === null) return { signed: true, exchangeId, basis: 'main-protocol' };
  reasons.push(`main protocol: ${main}`);

  /** A resolution of this very m1 by one of `keyIds`: its signer. */
  const resolutionBy = async (input: unknown, keyIds: readonly string[]): Promise<string> => {
    const v = await verifyFrom(input, [TTP_TYPES.resolution], keyIds, ResolutionBody, trust, now);
    if (v.body.exchangeId !== exchangeId || v.body.protocol !== 'contract-signing') fail('the resolution is for another exchange');
    if (!sameJson(v.body.m1, m1.statement)) fail('the resolution resolves another m1');
    return v.keyId;
  };
  /** An abort token for this exchange by one of `keyIds`: its signer. */
  const abortTokenBy = async (input: unknown, keyIds: readonly string[]): Promise<string> => {
    const v = await verifyFrom(input, [TTP_TYPES.abortToken], keyIds, AbortTokenBody, trust, now);
    if (v.body.exchangeId !== exchangeId || v.body.protocol !== 'contract-signing') fail('the abort token is for another exchange');
    return v.keyId;
  };

  const quorum = m1.body.quorum;
  if (quorum) {
    // k-of-n: k decisions of one kind from distinct TTPs of the set (the ones the judge counts), for this very m1.
    const set = quorum.ttps.map((t) => t.keyId).filter((t) => !judge.ttps || judge.ttps.includes(t));
    const resolved = await decisionsOf([e.resolution, ...(e.resolutions ?? [])], 'resolution', (p) => resolutionBy(p, set));
    if (resolved.by.size >= quorum.k) return { signed: true, exchangeId, basis: 'resolution' };
    reasons.push(...resolved.why, `resolutions from ${resolved.by.size} TTPs of the set the judge counts, ${quorum.k} needed`);
    const aborted = await decisionsOf([e.abortToken, ...(e.abortTokens ?? [])], 'abort token', (p) => abortTokenBy(p, set));
    if (aborted.by.size >= quorum.k) return { signed: false, exchangeId, basis: 'abort-token', why: reasons };
    reasons.push(...aborted.why, `abort tokens from ${aborted.by.size} TTPs of the set the judge counts, ${quorum.k} needed`);
    return { signed: false, exchangeId, basis: 'incomplete', why: reasons };
  }

  if (e.resolution !== undefined) {
    const r = await why(async () => {
      await resolutionBy(e.resolution, [ttpKey]);
    });
    if (r === null) return { signed: true, exchangeId, basis: 'resolution' };
    reasons.push(`resolution: ${r}`);
  }

  if (e.abortToken !== undefined) {
    const a = await why(async () => {
      await abortTokenBy(e.abortToken, [ttpKey]);
    });
    if (a === null) return { signed: false, exchangeId, basis: 'abort-token', why: reasons };
    reasons.push(`abort token: ${a}`);
  }
  return { signed: false, exchangeId, basis: 'incomplete', why: reasons };
}
