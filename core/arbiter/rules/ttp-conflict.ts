/**
 * ttp-conflict (either party): the TTP gave two answers for one exchange that cannot both stand.
 * A TTP decides each exchange once (aborted, resolved, or — revocable↔revocable — revoked); its
 * signed decisions for one exchange id must therefore be of one outcome, and affidavits for the same
 * party must agree (one reveals, another says unsealable).
 *   upheld     two decisions by the same TTP key for one exchange with different outcomes;
 *   dismissed  the TTP's decisions shown agree;
 *   undecided  fewer than two decisions of the TTP for one exchange.
 * A decision counts if signed by the TTP the deal's m1 or fair offer names, or by a certified TTP.
 */
import { canonicalJson } from '../../encoding/index.js';
import { TTP_TYPES } from '../../exchange/messages.js';
import type { Admitted } from '../evidence.js';
import { AbortTokenBody, AffidavitBody, ResolutionBody, RevocationOrderBody, cite, namedTtps, parsed } from '../deal.js';
import type { Rule } from '../rule.js';

type Outcome = 'aborted' | 'resolved' | 'revoked';

interface Decision {
  a: Admitted;
  exchangeId: string;
  outcome: Outcome;
  /** affidavits: whom for and what it gave */
  affidavit?: { onBehalfOf: string; gives: string };
}

function decisionOf(a: Admitted): Decision | null {
  switch (a.statement.type) {
    case TTP_TYPES.abortToken: {
      const b = parsed(AbortTokenBody, a);
      return b ? { a, exchangeId: b.exchangeId, outcome: 'aborted' } : null;
    }
    case TTP_TYPES.resolution: {
      const b = parsed(ResolutionBody, a);
      return b ? { a, exchangeId: b.exchangeId, outcome: 'resolved' } : null;
    }
    case TTP_TYPES.revocationOrder: {
      const b = parsed(RevocationOrderBody, a);
      return b ? { a, exchangeId: b.exchangeId, outcome: 'revoked' } : null;
    }
    case TTP_TYPES.affidavit: {
      const b = parsed(AffidavitBody, a);
      return b
        ? {
            a,
            exchangeId: b.exchangeId,
            outcome: 'resolved',
            affidavit: { onBehalfOf: b.onBehalfOf, gives: canonicalJson(b.revealed ?? { unsealable: true }) },
          }
        : null;
    }
    default:
      return null;
  }
}

export const ttpConflict: Rule = async ({ evidence: ev }) => {
  const named = namedTtps(ev);
  const groups = new Map<string, Decision[]>();
  for (const a of ev.statements) {
    if (a.statement.dealId !== ev.dealId) continue;
    const d = decisionOf(a);
    if (!d || !(named.has(a.keyId) || a.chain?.leaf.role === 'ttp')) continue;
    const key = `${a.keyId}|${d.exchangeId}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  for (const decisions of groups.values()) {
    for (const x of decisions) {
      for (const y of decisions) {
        if (x === y) continue;
        const outcomes = x.outcome !== y.outcome;
        const affidavits = x.affidavit && y.affidavit && x.affidavit.onBehalfOf === y.affidavit.onBehalfOf && x.affidavit.gives !== y.affidavit.gives;
        if (!outcomes && !affidavits) continue;
        return {
          decision: 'upheld',
          branch: outcomes ? 'two-outcomes' : 'two-affidavits',
          reasons: [
            `the TTP (key ${x.a.keyId}) signed ${cite(x.a)} (${x.outcome}) and ${cite(y.a)} (${y.outcome}) for the same exchange ${x.exchangeId}: ${outcomes ? 'an exchange is decided once' : 'its affidavits for one party contradict each other'}`,
          ],
          remedy: "the TTP is liable for the loss its contradictory decisions cause; neither party should rely on this TTP's decisions for the exchange",
        };
      }
    }
  }
  const seen = [...groups.values()].flat();
  if (seen.some((d) => (groups.get(`${d.a.keyId}|${d.exchangeId}`)?.length ?? 0) >= 2))
    return {
      decision: 'dismissed',
      branch: 'consistent',
      reasons: [`the TTP's decisions agree: ${seen.map((d) => `${cite(d.a)} (${d.outcome})`).join(', ')}`],
    };
  return {
    decision: 'undecided',
    branch: 'one-decision',
    reasons: [
      seen.length ? `only one decision of the TTP per exchange: ${seen.map((d) => cite(d.a)).join(', ')}` : "no decision of the deal's TTP in the evidence",
    ],
    missing: ['two decisions signed by the TTP for the same exchange'],
  };
};
