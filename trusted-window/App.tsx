/**
 * The TINGUIN: shows ONLY the view the worker verified (getPendingOffer), never anything a page
 * said, and asks the user to confirm or decline. Closing the window declines.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { VerifiedOfferView } from '../core/commerce/view.js';
import { callOperation } from '../extension/operations-client.js';
import { formatDateTime, formatMoney, paymentMethodLabel, t } from '../extension/ui/i18n.js';
import { Decision } from './Decision.js';
import { TrustedHeader } from './identity.js';

type Phase = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; view: VerifiedOfferView; busy?: 'confirm' | 'decline' };

/**
 * Confirm only becomes clickable a moment after the offer is shown, so a click or key press
 * aimed at the page cannot land on it as the window pops up.
 */
export const CONFIRM_ARM_DELAY_MS = 700;

export function App({ dealId }: { dealId: string | null }) {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [armed, setArmed] = useState(false);
  const declineRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!dealId) {
      setPhase({ kind: 'error', message: 'no deal' });
      return;
    }
    callOperation('getPendingOffer', { dealId }).then(
      ({ view, status }) => setPhase({ kind: 'ready', view, ...(status === 'ordering' ? { busy: 'confirm' as const } : {}) }),
      (e: unknown) => setPhase({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, [dealId]);

  useEffect(() => {
    if (phase.kind !== 'ready') return;
    declineRef.current?.focus();
    const timer = setTimeout(() => setArmed(true), CONFIRM_ARM_DELAY_MS);
    return () => clearTimeout(timer);
  }, [phase.kind]);

  if (phase.kind === 'loading') return <main class="tw" aria-busy="true"><Brand /><p role="status">{t('twLoading')}</p></main>;
  if (phase.kind === 'error') {
    return (
      <main class="tw">
        <Brand />
        <p role="alert" class="error" id="tw-error">{t('twError', phase.message)}</p>
      </main>
    );
  }

  const { view, busy } = phase;

  return (
    <main class="tw" aria-labelledby="tw-heading">
      <Brand />
      <h1 id="tw-heading">{t('twHeading')}</h1>
      <p class="note">{t('twTrustNote')}</p>

      <section class="panel merchant" aria-labelledby="tw-merchant-label">
        <h2 id="tw-merchant-label">{t('twMerchant')}</h2>
        <p class="merchant-name" id="merchant-name">{view.merchant.legalName}</p>
        <dl>
          {view.merchant.organization && view.merchant.organization !== view.merchant.legalName ? (
            <>
              <dt>{t('twOrganization')}</dt>
              <dd>{view.merchant.organization}</dd>
            </>
          ) : null}
          <dt>{t('twCertifiedOrigins')}</dt>
          <dd id="certified-origins">{view.merchant.certifiedOrigins.join(', ')}</dd>
          <dt>{t('twIssuer')}</dt>
          <dd id="issuer">{view.merchant.issuer}</dd>
          <dt>{t('twCertValidUntil')}</dt>
          <dd>{formatDateTime(view.merchant.certificateNotAfter)}</dd>
          <dt>{t('twFingerprint')}</dt>
          <dd class="mono">{view.merchant.certificateFingerprint}</dd>
        </dl>
      </section>

      <section class="panel" aria-labelledby="tw-requested-by">
        <h2 id="tw-requested-by">{t('twRequestedBy')}</h2>
        <p class="origin mono" id="requesting-origin">{view.origin}</p>
      </section>

      <section class="panel" aria-labelledby="tw-items">
        <h2 id="tw-items">{t('twItems')}</h2>
        <p class="note" id="tw-items-source">{t('twItemsSource')}</p>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('twColItem')}</th>
              <th scope="col" class="num">{t('twColQuantity')}</th>
              <th scope="col" class="num">{t('twColUnitPrice')}</th>
              <th scope="col" class="num">{t('twColAmount')}</th>
            </tr>
          </thead>
          <tbody>
            {view.items.map((item) => (
              <tr key={item.sku}>
                <td>{item.title}</td>
                <td class="num">{item.quantity}</td>
                <td class="num">{formatMoney(item.unitPrice)}</td>
                <td class="num">{formatMoney({ amount: item.unitPrice.amount * item.quantity, currency: item.unitPrice.currency })}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr class="total">
              <th scope="row" colSpan={3}>{t('twTotal')}</th>
              <td class="num" id="total">{formatMoney(view.total)}</td>
            </tr>
          </tfoot>
        </table>
        <dl>
          <dt>{t('twExpires')}</dt>
          <dd id="expires">{formatDateTime(view.expiresAt)}</dd>
          <dt>{t('twPayment')}</dt>
          <dd id="payment-method">{view.paymentMethods.map(paymentMethodLabel).join(', ')}</dd>
        </dl>
      </section>

      <section class="panel terms" aria-labelledby="tw-terms">
        <h2 id="tw-terms">{t('twTerms')}</h2>
        {view.terms ? <pre class="terms-text">{view.terms}</pre> : <p class="note">{t('twNoTerms')}</p>}
      </section>

      {/* How the order is signed (device key, pseudonym, hardware token) and the decision itself. */}
      <Decision view={view} dealId={dealId!} armed={armed} declineRef={declineRef} {...(busy ? { initialBusy: busy } : {})} />
    </main>
  );
}

/** The header of every trusted-window screen, with the shopper's security phrase and picture. */
function Brand() {
  return <TrustedHeader />;
}
