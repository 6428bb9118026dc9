/**
 * The TINGUIN for a fair purchase (goods for money): shows ONLY the view the worker built from the
 * merchant's verified offer (getPendingFair) — what the shopper pays and gets, the merchant's
 * certified name, the bank, the TTP that guarantees fairness — and what each payment method the
 * merchant takes can pay now (the purse, the bank account). Confirm names the chosen method; the
 * worker signs the start, pays once the merchant is bound, and the window closes.
 */
import { useState } from 'preact/hooks';
import type { FairMethod, VerifiedFairOfferView } from '../core/commerce/fair-purchase.js';
import { callOperation } from '../extension/operations/client.js';
import type { MethodFunds } from '../extension/payments/service.js';
import { formatDateTime, formatMoney, type MessageKey, t } from '../extension/ui/i18n.js';
import { CertifiedName, NameWarning, SafeText } from '../extension/ui/safe-text.js';
import {
  AtAGlance,
  CertificateDetails,
  ConfirmButton,
  DecisionActions,
  MerchantPanel,
  NotReady,
  Progress,
  RequestedByPanel,
  SummaryMerchant,
  SummaryTotal,
  usePendingDeal,
} from './components.js';
import { TrustedHeader } from './identity.js';
import { enterResult } from './Result.js';

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

const METHOD_LABEL: Record<FairMethod, MessageKey> = { cash: 'fwMethodCash', account: 'fwMethodAccount', card: 'fwMethodCard' };
const REASON: Record<string, MessageKey> = {
  'no-purse': 'fwUnavailableNoPurse',
  'no-account': 'fwUnavailableNoAccount',
  'no-card': 'fwUnavailableNoCard',
  'insufficient-funds': 'fwUnavailableFunds',
};

export function FairApp({ dealId }: { dealId: string | null }) {
  const [funds, setFunds] = useState<MethodFunds[]>([]);
  const [chosen, setChosen] = useState<FairMethod | null>(null);
  const { phase, setPhase, fail, armed, declineRef } = usePendingDeal<VerifiedFairOfferView>(dealId, (id) =>
    callOperation('getPendingFair', { dealId: id }).then(({ view, funds: f }) => {
      setFunds(f);
      setChosen(f.find((m) => m.available)?.method ?? null);
      return { view };
    }),
  );
  if (phase.kind !== 'ready') return <NotReady phase={phase} />;

  const { view, busy } = phase;
  const price = formatMoney(view.price);
  const decide = (decision: 'confirm' | 'decline') => {
    if (busy || !dealId) return;
    if (decision === 'confirm' && !chosen) return;
    setPhase({ ...phase, busy: decision });
    (decision === 'confirm' ? callOperation('confirmFair', { dealId, method: chosen! }) : callOperation('rejectFair', { dealId }))
      .then(() => decision === 'confirm' && enterResult())
      .catch(fail);
  };

  return (
    <main class="tw" aria-labelledby="tw-heading" data-kind="fair-purchase">
      <TrustedHeader />
      <h1 id="tw-heading" tabIndex={-1}>
        {t('fwHeading')}
      </h1>
      <AtAGlance
        name={view.merchant.legalName}
        origin={view.origin}
        rows={[
          { id: 'glance-what', label: t('fwYouGet'), content: <SafeText text={view.title} class="glance-what-title" /> },
          {
            id: 'glance-pay',
            label: t('fwYouPay'),
            content: (
              <>
                <strong class="amount">{price}</strong>
                {chosen ? ` · ${t(METHOD_LABEL[chosen])}` : ''}
              </>
            ),
          },
        ]}
        next={t('fwNext')}
      />
      <p class="note">{t('twTrustNote')}</p>

      <section class="panel exchange-items" aria-labelledby="fw-items">
        <h2 id="fw-items">{t('fwItems')}</h2>
        <dl>
          <dt>{t('fwYouPay')}</dt>
          <dd id="you-pay">
            <strong class="amount">{price}</strong>
          </dd>
          <dt>{t('fwYouGet')}</dt>
          <dd id="you-get">
            <SafeText text={t('fwGoods', view.title, view.goods.mediaType, bytes(view.goods.size))} />
          </dd>
        </dl>
        <p class="note">{t('fwHowFair')}</p>
      </section>

      <fieldset class="panel methods" id="methods" aria-describedby={funds.some((m) => m.available) ? undefined : 'no-method'}>
        <legend>{t('fwMethod')}</legend>
        {funds.map((m) => (
          <div class="method" key={m.method}>
            <input
              type="radio"
              name="method"
              id={`method-${m.method}`}
              value={m.method}
              checked={chosen === m.method}
              disabled={!m.available || busy !== undefined}
              onChange={() => setChosen(m.method)}
              aria-describedby={`method-${m.method}-note`}
            />
            <label for={`method-${m.method}`}>{t(METHOD_LABEL[m.method])}</label>
            <p class="note" id={`method-${m.method}-note`}>
              {m.balance ? t('fwBalance', formatMoney(m.balance)) : null}
              {m.method === 'account' && m.available && !m.balance ? t('fwAccountNote') : null}
              {m.method === 'card' && m.available ? t('fwCardNote', view.card?.url ?? '') : null}
              {m.available ? null : ` ${t(REASON[m.reason ?? ''] ?? 'fwUnavailableOther')}`}
            </p>
          </div>
        ))}
        {funds.some((m) => m.available) ? null : (
          <p class="warning" id="no-method" role="alert">
            {t('fwNoMethod')}
          </p>
        )}
        <dl>
          <dt>{t('fwBank')}</dt>
          <dd class="mono" id="bank-url">
            {view.bank.url}
          </dd>
          <dt>{t('fwExpires')}</dt>
          <dd id="expires">{formatDateTime(view.expiresAt)}</dd>
        </dl>
      </fieldset>

      <MerchantPanel merchant={view.merchant} />
      <RequestedByPanel origin={view.origin} />

      <section class="panel ttp" aria-labelledby="fw-ttp" id="ttp">
        <h2 id="fw-ttp">{t('fwTtp')}</h2>
        <p class="merchant-name" id="ttp-name">
          <CertifiedName name={view.ttp.name} />
        </p>
        <NameWarning name={view.ttp.name} id="ttp-name-warning" />
        <p class="note">{t('fwTtpNote')}</p>
        <CertificateDetails>
          <dt>{t('twFingerprint')}</dt>
          <dd class="mono" id="ttp-fingerprint">
            {view.ttp.certificateFingerprint}
          </dd>
        </CertificateDetails>
      </section>

      <DecisionActions
        declineRef={declineRef}
        disabled={busy !== undefined}
        onDecline={() => decide('decline')}
        summary={
          <>
            <SummaryTotal text={price} />
            <SummaryMerchant name={view.merchant.legalName} />
          </>
        }
        progress={<Progress text={busy === undefined ? null : busy === 'confirm' ? t('fwPaying') : t('twDeclining')} />}
      >
        <ConfirmButton disabled={busy !== undefined || !armed || chosen === null} onConfirm={() => decide('confirm')}>
          {t('fwConfirm', price)}
        </ConfirmButton>
      </DecisionActions>
    </main>
  );
}
