/**
 * The shopper's guarantee policy (docs/quorum.md, "The shopper's choice"): which of the TTPs it
 * trusts may guarantee an exchange, and how many of them must agree (k of n, k > n/2). Absent,
 * an exchange is guaranteed by the one TTP the merchant names, as before.
 *
 * The merchant's descriptor may list the TTPs it accepts and its own quorum (`DescriptorBody.quorum`).
 * The exchange's set is the merchant's TTPs that are also in the policy (in the merchant's order),
 * its k the larger of the two quorums. Each side so keeps its own guarantee: an outcome counts only
 * with at least its own k decisions, all from TTPs it chose. When fewer than k TTPs are left, no set
 * satisfies both and the exchange is refused (ERR_TTP) before anything is shown or signed.
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import { MAX_QUORUM_TTPS } from '../exchange/types.js';

const Fingerprint = z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'certificate fingerprint'));

/** The stored setting: fingerprints of trusted TTPs' certificates and the quorum k. */
export const TtpPolicy = z
  .strictObject({
    ttps: z.array(Fingerprint).check(z.minLength(1), z.maxLength(MAX_QUORUM_TTPS)),
    k: z.number().check(z.int(), z.gte(1), z.lte(MAX_QUORUM_TTPS)),
  })
  .check(
    z.superRefine((p, ctx) => {
      if (new Set(p.ttps).size !== p.ttps.length) ctx.addIssue({ code: 'custom', message: 'a TTP named twice would count twice towards the quorum' });
      if (2 * p.k <= p.ttps.length) ctx.addIssue({ code: 'custom', message: `k=${p.k} of n=${p.ttps.length} is not more than half` });
      if (p.k > p.ttps.length) ctx.addIssue({ code: 'custom', message: `k=${p.k} decisions from only ${p.ttps.length} TTPs can never be reached` });
    }),
  );
export type TtpPolicy = z.infer<typeof TtpPolicy>;

/** How many malicious TTPs a k-of-n set tolerates when all decide (docs/quorum.md rule 2: 2k ≥ n + f + 1). */
export function maliciousTolerated(k: number, n: number): number {
  return Math.max(0, 2 * k - n - 1);
}

/** One TTP the merchant offers, as far as the choice needs it (the certificate already verified). */
export interface OfferedTtp {
  keyId: string;
  /** The shopper's trust entry for it (fingerprint of the certificate it trusts), or null if it trusts it not. */
  fingerprint: string | null;
}

/**
 * The exchange's TTPs (indexes into `offered`, the merchant's order) and k: the offered TTPs the shopper
 * trusts and its policy names, k = max(policy k, merchant k). Throws ERR_TTP naming the shortfall.
 */
export function chooseTtpSet(offered: readonly OfferedTtp[], merchantK: number, policy: TtpPolicy): { chosen: number[]; k: number } {
  const chosen = offered.flatMap((t, i) => (t.fingerprint !== null && policy.ttps.includes(t.fingerprint) ? [i] : []));
  const k = Math.max(policy.k, merchantK);
  if (chosen.length < k) {
    throw new SemperError(
      'ERR_TTP',
      `guarantee policy: ${k} of the TTPs you chose must agree, but the merchant accepts only ${chosen.length} of them (it offers ${offered.length} TTP${offered.length === 1 ? '' : 's'})`,
      { k, usable: chosen.length, offered: offered.length },
    );
  }
  // k > n/2 follows from the policy (k > |policy|/2 ≥ |chosen|/2); checked again so no caller can break it.
  if (2 * k <= chosen.length) throw new SemperError('ERR_TTP', `guarantee policy: k=${k} of ${chosen.length} TTPs is not more than half`);
  return { chosen, k };
}
