/**
 * The TINGUIN: shows ONLY the view the worker verified (getPendingOffer), never anything a page
 * said, and asks the user to confirm or decline. Closing the window declines.
 */
import type { VerifiedOfferView } from '../core/commerce/view.js';
import { callOperation } from '../extension/operations/client.js';
import { formatDateTime, formatMoney, paymentMethodLabel, t } from '../extension/ui/i18n.js';
import { SafeText } from '../extension/ui/safe-text.js';
import { AtAGlance, MerchantPanel, NotReady, RequestedByPanel, SummaryMerchant, SummaryTotal, TermsPanel, usePendingDeal } from './components.js';
import { Decision } from './Decision.js';
import { TrustedHeader } from './identity.js';

export function App({ dealId }: { dealId: string | null }) {
  const { phase, armed, declineRef } = usePendingDeal<VerifiedOfferView>(dealId, (id) =>
    callOperation('getPendingOffer', { dealId: id }).then(({ view, status }) => ({ view, ...(status === 'ordering' ? { busy: 'confirm' as const } : {}) })),
  );
  if (phase.kind !== 'ready') return <NotReady phase={phase} />;

  const { view, busy } = phase;

  return (
    <main class="tw" aria-labelledby="tw-heading">
      <TrustedHeader />
      <h1 id="tw-heading" tabIndex={-1}>
        {t('twHeading')}
      </h1>
      <AtAGlance
        name={view.merchant.legalName}
        origin={view.origin}
        rows={[
          { id: 'glance-what', label: t('twGlanceWhat'), content: <ItemsInOneLine items={view.items} /> },
          {
            id: 'glance-pay',
            label: t('twGlancePay'),
            content: (
              <>
                <strong class="amount">{formatMoney(view.total)}</strong> · {view.paymentMethods.map(paymentMethodLabel).join(', ')}
              </>
            ),
          },
        ]}
        next={t('twNextPurchase')}
      />
      <p class="note">{t('twTrustNote')}</p>

      <MerchantPanel merchant={view.merchant} full />
      <RequestedByPanel origin={view.origin} />

      <section class="panel" aria-labelledby="tw-items">
        <h2 id="tw-items">{t('twItems')}</h2>
        <p class="note" id="tw-items-source">
          {t('twItemsSource')}
        </p>
        {/* Two columns: the title (wrapped anywhere, never widening the table) with quantity × unit price under it, and the amount. */}
        <table class="items">
          <thead>
            <tr>
              <th scope="col">{t('twColItem')}</th>
              <th scope="col" class="num">
                {t('twColAmount')}
              </th>
            </tr>
          </thead>
          <tbody>
            {view.items.map((item) => (
              <tr key={item.sku}>
                <td class="item">
                  <SafeText text={item.title} class="item-title" />
                  <span class="note item-price">
                    <span class="visually-hidden">{t('twColQuantity')}: </span>
                    {item.quantity} × <span class="visually-hidden">{t('twColUnitPrice')}: </span>
                    {formatMoney(item.unitPrice)}
                  </span>
                </td>
                <td class="num amount">{formatMoney({ amount: item.unitPrice.amount * item.quantity, currency: item.unitPrice.currency })}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr class="total">
              <th scope="row">{t('twTotal')}</th>
              <td class="num amount" id="total">
                {formatMoney(view.total)}
              </td>
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

      <TermsPanel terms={view.terms} />

      {/* How the order is signed (device key, pseudonym, hardware token) and the decision itself. */}
      <Decision
        view={view}
        dealId={dealId!}
        armed={armed}
        declineRef={declineRef}
        summary={
          <>
            <SummaryTotal text={formatMoney(view.total)} />
            <SummaryMerchant name={view.merchant.legalName} />
          </>
        }
        {...(busy ? { initialBusy: busy } : {})}
      />
    </main>
  );
}

/** The items in one line for the at-a-glance summary: the first title (cut after two lines) and how many more. */
function ItemsInOneLine({ items }: { items: VerifiedOfferView['items'] }) {
  const [first, ...rest] = items;
  if (!first) return null;
  return (
    <>
      <SafeText text={first.quantity > 1 ? `${first.quantity} × ${first.title}` : first.title} class="glance-what-title" />
      {rest.length ? <span class="glance-more"> {t('twGlanceMore', String(rest.length))}</span> : null}
    </>
  );
}
