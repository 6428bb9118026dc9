/**
 * k-of-n TTPs (docs/quorum.md): an exchange may name a set of n independent TTPs and a quorum k;
 * an outcome (abort, resolution, revocation, final word) then stands only with k matching signed
 * decisions of distinct TTPs of the set for that exchange. Each TTP decides exactly once, as a lone
 * TTP does (ttp.ts); the parties ask all of them and count.
 *
 * The rules, each checked where it can be broken:
 *   - k > n/2 and k ≤ n, each TTP named once, m1's `ttp` is the set's first (m1, start, every TTP);
 *   - every TTP of the set is one the party trusts (start, m1): the fault bound below counts the
 *     TTPs that may sign both ways, and a TTP the party does not trust must be counted as one;
 *   - a decision counts only if signed by a TTP of the set, for this exchange, and each TTP at most
 *     once towards one outcome (a repeated decision is never a second vote).
 *
 * Why this is consistent: two conflicting quorums A and B of one set of n have at least 2k − n
 * TTPs in common, and each of those signed both outcomes. Honest TTPs decide once, but may decide
 * differently from one another (requests race), so the guarantee is: no two conflicting outcomes
 * both reach a quorum as long as fewer than 2k − d TTPs sign both ways, d being the number of TTPs
 * that decided the exchange at all (d ≤ n). For f TTPs that may be malicious, choose k ≥ (n+f+1)/2.
 */
import { SemperError } from '../errors.js';
import { TTP_TYPES } from './messages.js';
import { sameJson } from './common.js';
import type { TtpDecisionHeld, TtpQuorum, TtpRef } from './types.js';

/** Throws ERR_TTP unless the set and k follow the quorum rules (ttp: what m1's `ttp` names). */
export function assertQuorum(quorum: TtpQuorum, ttp: TtpRef): void {
  const n = quorum.ttps.length;
  if (2 * quorum.k <= n)
    throw new SemperError('ERR_TTP', `quorum rule: k=${quorum.k} of n=${n} is not more than half, so two conflicting outcomes could both reach a quorum`);
  if (quorum.k > n) throw new SemperError('ERR_TTP', `quorum rule: k=${quorum.k} decisions from only ${n} TTPs can never be reached`);
  if (new Set(quorum.ttps.map((t) => t.keyId)).size !== n)
    throw new SemperError('ERR_TTP', 'quorum rule: a TTP named twice in the set would count twice towards the quorum');
  if (!sameJson(quorum.ttps[0], ttp)) throw new SemperError('ERR_TTP', "quorum rule: m1's TTP is the first TTP of the set");
}

/** Throws ERR_TTP unless every TTP of the set is among the trusted ones. */
export function assertTrustedSet(quorum: TtpQuorum, trusted: readonly string[]): void {
  for (const t of quorum.ttps)
    if (!trusted.includes(t.keyId))
      throw new SemperError('ERR_TTP', `TTP ${t.keyId} of the exchange's set is not among the TTPs this party trusts: every TTP of the set must be`);
}

/** The outcome a TTP's signed answer decides (a final resolution of revocable↔revocable counts apart). */
export function decisionOutcome(statement: { type: string; body: unknown }): TtpDecisionHeld['outcome'] {
  switch (statement.type) {
    case TTP_TYPES.abortToken:
      return 'aborted';
    case TTP_TYPES.revocationOrder:
      return 'revoked';
    default:
      return (statement.body as { final?: unknown }).final === true ? 'final' : 'resolved';
  }
}

/**
 * Count one more decision: each TTP counts at most once towards each outcome (a repeated or re-signed
 * decision adds nothing). A TTP that signed two outcomes is counted for both — its signatures exist,
 * anyone it answered can show them, so counting them changes no quorum that could form; refusing
 * them would only let one malicious TTP stall an honest party. `conflict` is its earlier decision of
 * the other outcome (evidence against it); `quorum` the decisions of the new one's outcome once they
 * reach k (null before).
 */
export function holdDecision(
  held: readonly TtpDecisionHeld[],
  decision: TtpDecisionHeld,
  k: number,
): { held: TtpDecisionHeld[]; added: boolean; conflict: TtpDecisionHeld | null; quorum: TtpDecisionHeld[] | null } {
  const conflict = held.find((d) => d.ttp === decision.ttp && d.outcome !== decision.outcome) ?? null;
  if (held.some((d) => d.ttp === decision.ttp && d.outcome === decision.outcome)) return { held: [...held], added: false, conflict, quorum: null };
  const next = [...held, decision];
  const same = next.filter((d) => d.outcome === decision.outcome);
  return { held: next, added: true, conflict, quorum: same.length >= k ? same : null };
}
