/**
 * Key terms of a contract (issue 11): the few facts of a recurring agreement a shopper must not
 * miss in a long text — what it costs, for how long, whether it renews by itself, and how early
 * it must be cancelled — as structured data the merchant signs in its descriptor and both parties
 * sign in the contract body (exchange-deal.ts: ContractBody), so the trusted window can show them
 * above the full text and an arbiter can hold the merchant to them.
 *
 * The schema fixes the shape; `checkKeyTerms` the rules a shape cannot express. Both the merchant
 * (before it signs) and the shopper (before the trusted window) run it: inconsistent terms are
 * refused with ERR_CONTRACT_TERMS naming the rule, never shown.
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import { Money } from '../protocol/commerce.js';

export const PERIOD_UNITS = ['day', 'week', 'month', 'year'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

export const ContractPeriod = z.strictObject({
  count: z.number().check(z.int(), z.gte(1), z.lte(120)),
  unit: z.enum(PERIOD_UNITS),
});
export type ContractPeriod = z.infer<typeof ContractPeriod>;

export const ContractKeyTerms = z.strictObject({
  /** What the shopper pays for each term (minor units, like every price). */
  amount: Money,
  /** How long one term runs; the amount is due once per term. */
  period: ContractPeriod,
  /** What happens when a term ends: another term of the same length, or the end. */
  renewal: z.enum(['automatic', 'none']),
  /** How long before the end of a term a party must give notice to stop the renewal (only with automatic renewal). */
  notice: z.optional(ContractPeriod),
});
export type ContractKeyTerms = z.infer<typeof ContractKeyTerms>;

/** The shortest and longest a unit can be, in days, in any calendar (to compare across day/week and month/year). */
const DAYS: Record<PeriodUnit, readonly [number, number]> = {
  day: [1, 1],
  week: [7, 7],
  month: [28, 31],
  year: [365, 366],
};
const MONTHS: Partial<Record<PeriodUnit, number>> = { month: 1, year: 12 };

/** Is `notice` shorter than `term` in every calendar? Months and years compare exactly; mixed units by their day bounds. */
function shorter(notice: ContractPeriod, term: ContractPeriod): boolean {
  const nm = MONTHS[notice.unit];
  const tm = MONTHS[term.unit];
  if (nm !== undefined && tm !== undefined) return notice.count * nm < term.count * tm;
  return notice.count * DAYS[notice.unit][1] < term.count * DAYS[term.unit][0];
}

/**
 * The rules between the fields. Throws ERR_CONTRACT_TERMS naming the one broken:
 *   - automatic renewal needs a notice period (else there is no way out of the contract);
 *   - without renewal there is nothing to give notice against, so no notice period;
 *   - the notice period is shorter than a term in every calendar (else notice is due before the
 *     term has begun, and the contract in effect can never be left).
 */
export function checkKeyTerms(terms: ContractKeyTerms): void {
  if (terms.renewal === 'automatic' && !terms.notice)
    throw new SemperError('ERR_CONTRACT_TERMS', 'key terms: a contract that renews automatically must state its notice period');
  if (terms.renewal === 'none' && terms.notice) throw new SemperError('ERR_CONTRACT_TERMS', 'key terms: a contract that does not renew has no notice period');
  if (terms.notice && !shorter(terms.notice, terms.period))
    throw new SemperError('ERR_CONTRACT_TERMS', 'key terms: the notice period must be shorter than one term');
}
