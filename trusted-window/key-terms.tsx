/**
 * A contract's key terms (core/commerce/contract-terms.ts) as the trusted window shows them: one
 * line at a glance, and a panel above the full text. Everything here is from the verified view:
 * the merchant signed these terms, and checkKeyTerms refused any that contradict each other.
 */
import type { ContractKeyTerms, ContractPeriod } from '../core/commerce/contract-terms.js';
import { formatMoney, type MessageKey, t, uiLocale } from '../extension/ui/i18n.js';

/** "12 months", "12 Monate", "1 year": the browser's own plural rules for the UI language. */
export function formatPeriod(period: ContractPeriod, locale = uiLocale()): string {
  return new Intl.NumberFormat(locale, { style: 'unit', unit: period.unit, unitDisplay: 'long' }).format(period.count);
}

const PER_UNIT: Record<ContractPeriod['unit'], MessageKey> = { day: 'xwPerDay', week: 'xwPerWeek', month: 'xwPerMonth', year: 'xwPerYear' };

/** "€240.00 per year", "240,00 € alle 12 Monate". */
export function feeText(terms: ContractKeyTerms): string {
  const amount = formatMoney(terms.amount);
  return terms.period.count === 1 ? t(PER_UNIT[terms.period.unit], amount) : t('xwPerPeriod', amount, formatPeriod(terms.period));
}

/** The at-a-glance line: fee, and whether and how the contract renews. */
export function keyTermsGlance(terms: ContractKeyTerms): string {
  return terms.renewal === 'automatic' && terms.notice
    ? t('xwTermsGlanceAuto', feeText(terms), formatPeriod(terms.notice))
    : t('xwTermsGlanceOnce', feeText(terms), formatPeriod(terms.period));
}

export function KeyTermsPanel({ terms }: { terms: ContractKeyTerms }) {
  return (
    <section class="key-terms" aria-labelledby="key-terms-heading" id="key-terms">
      <h3 id="key-terms-heading">{t('xwKeyTerms')}</h3>
      <dl>
        <dt>{t('xwTermsFee')}</dt>
        <dd id="key-terms-fee">{feeText(terms)}</dd>
        <dt>{t('xwTermsTerm')}</dt>
        <dd id="key-terms-term">{formatPeriod(terms.period)}</dd>
        <dt>{t('xwTermsRenewal')}</dt>
        <dd id="key-terms-renewal">{terms.renewal === 'automatic' ? t('xwTermsRenewsAuto', formatPeriod(terms.period)) : t('xwTermsNoRenewal')}</dd>
        {terms.notice ? (
          <>
            <dt>{t('xwTermsNotice')}</dt>
            <dd id="key-terms-notice">{t('xwTermsNoticeBefore', formatPeriod(terms.notice))}</dd>
          </>
        ) : null}
      </dl>
      <p class="note">{t('xwKeyTermsNote')}</p>
    </section>
  );
}
