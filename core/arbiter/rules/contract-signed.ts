/**
 * contract-signed (either party of a contract-signing exchange): the other side is bound by the
 * contract although it holds an abort token. Applies core/exchange `judgeContractSigning` (the
 * hardening of issue 8: a valid main-protocol transcript m1..m4, or the TTP's resolution of this m1,
 * proves the contract; an abort token proves only that the TTP never resolved it):
 *   upheld     signed — by the main protocol or the resolution (whatever abort token exists);
 *   dismissed  not signed and the TTP aborted the exchange;
 *   undecided  neither: the transcript is incomplete and there is no decision of the TTP.
 */
import { isSemperError } from '../../errors.js';
import { judgeContractSigning, type ContractEvidence } from '../../exchange/evidence.js';
import { EXCHANGE_TYPES, ProposeBody, TTP_TYPES } from '../../exchange/messages.js';
import type { Admitted } from '../evidence.js';
import { cite, ofType } from '../deal.js';
import type { Rule, Ruling } from '../rule.js';

function exchangeOf(a: Admitted): string | undefined {
  const id = (a.statement.body as { exchangeId?: unknown }).exchangeId;
  return typeof id === 'string' ? id : undefined;
}

export const contractSigned: Rule = async ({ evidence: ev, trust }) => {
  const proposals = ofType(ev, [EXCHANGE_TYPES.propose], ProposeBody).filter((p) => p.body.protocol === 'contract-signing');
  if (proposals.length === 0)
    return {
      decision: 'undecided',
      branch: 'no-proposal',
      reasons: ['no contract-signing m1 for this deal in the evidence'],
      missing: ["the originator's m1"],
    };
  let best: Ruling | null = null;
  for (const m1 of proposals) {
    const id = m1.a.canonicalDigest;
    const of = (type: string, extra: (a: Admitted) => boolean = () => true) =>
      ev.statements.filter((a) => a.statement.type === type && exchangeOf(a) === id && extra(a));
    const role = (r: string) => (a: Admitted) => (a.statement.body as { role?: unknown }).role === r;
    const m2 = of(EXCHANGE_TYPES.accept)[0];
    const m3 = of(EXCHANGE_TYPES.deliver, role('originator'))[0];
    const m4 = of(EXCHANGE_TYPES.deliver, role('responder'))[0];
    const resolutions = of(TTP_TYPES.resolution);
    const abortTokens = of(TTP_TYPES.abortToken);
    const resolution = resolutions[0];
    const abortToken = abortTokens[0];
    const e: ContractEvidence = {
      m1: m1.a.statement,
      ...(m2 ? { m2: m2.statement } : {}),
      ...(m3 ? { m3: m3.statement } : {}),
      ...(m4 ? { m4: m4.statement } : {}),
      ...(resolution ? { resolution: resolution.statement } : {}),
      ...(abortToken ? { abortToken: abortToken.statement } : {}),
      // k-of-n (docs/quorum.md): a set's m1 is resolved (aborted) by k of them from distinct TTPs of its set.
      ...(m1.body.quorum ? { resolutions: resolutions.map((a) => a.statement), abortTokens: abortTokens.map((a) => a.statement) } : {}),
    };
    let v: Awaited<ReturnType<typeof judgeContractSigning>>;
    try {
      v = await judgeContractSigning(e, trust);
    } catch (err) {
      if (!isSemperError(err)) throw err;
      best ??= { decision: 'dismissed', branch: 'no-contract', reasons: [`${cite(m1.a)} proposes no contract anyone could sign: ${err.message}`] };
      continue;
    }
    const token = abortToken ? ` The TTP's ${cite(abortToken)} does not void it: an abort token proves only that the TTP issued no resolution.` : '';
    if (v.signed) {
      const basis =
        v.basis === 'main-protocol'
          ? `the main-protocol transcript ${[m1.a, m2, m3, m4].map((x) => cite(x!)).join(', ')} verifies and binds both signatures`
          : `the TTP's ${cite(resolution!)} resolved ${cite(m1.a)}`;
      return {
        decision: 'upheld',
        branch: v.basis,
        reasons: [`the contract of ${cite(m1.a)} is signed: ${basis}.${token}`],
        remedy: 'both parties are bound by the contract',
      };
    }
    if (v.basis === 'abort-token')
      best = {
        decision: 'dismissed',
        branch: 'aborted',
        reasons: [`the TTP's ${cite(abortToken!)} aborted ${cite(m1.a)} and no transcript or resolution proves the contract: ${v.why.join('; ')}`],
      };
    else
      best ??= {
        decision: 'undecided',
        branch: 'incomplete',
        reasons: [`nothing proves or voids the contract of ${cite(m1.a)}: ${v.why.join('; ')}`],
        missing: ["m2, m3 and m4 of the exchange (the main-protocol transcript), or the TTP's resolution or abort token"],
      };
  }
  return best!;
};
