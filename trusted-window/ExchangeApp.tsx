/**
 * The TINGUIN for an exchange deal (certified mail, contract signing): shows ONLY the view the
 * worker built from the merchant's verified descriptor (getPendingExchange) — what the shopper
 * gives, what it gets, the merchant's certified name, and the TTP that guarantees fairness —
 * never anything the page said. Confirm signs the shopper's item and starts the exchange;
 * closing the window declines.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { VerifiedExchangeView } from '../core/commerce/exchange-deal.js';
import { callOperation } from '../extension/operations-client.js';
import { formatDateTime, t } from '../extension/ui/i18n.js';
import { CONFIRM_ARM_DELAY_MS } from './App.js';
import { TrustedHeader } from './identity.js';

type Phase = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; view: VerifiedExchangeView; busy?: 'confirm' | 'decline' };

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

export function ExchangeApp({ dealId }: { dealId: string | null }) {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [armed, setArmed] = useState(false);
  const declineRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!dealId) {
      setPhase({ kind: 'error', message: 'no deal' });
      return;
    }
    callOperation('getPendingExchange', { dealId }).then(
      ({ view }) => setPhase({ kind: 'ready', view }),
      (e: unknown) => setPhase({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, [dealId]);

  useEffect(() => {
    if (phase.kind !== 'ready') return;
    declineRef.current?.focus();
    const timer = setTimeout(() => setArmed(true), CONFIRM_ARM_DELAY_MS);
    return () => clearTimeout(timer);
  }, [phase.kind]);

  if (phase.kind === 'loading') {
    return (
      <main class="tw" aria-busy="true">
        <TrustedHeader />
        <p role="status">{t('twLoading')}</p>
      </main>
    );
  }
  if (phase.kind === 'error') {
    return (
      <main class="tw">
        <TrustedHeader />
        <p role="alert" class="error" id="tw-error">
          {t('twError', phase.message)}
        </p>
      </main>
    );
  }

  const { view, busy } = phase;
  const contract = view.use === 'contract-signing';
  const decide = (decision: 'confirm' | 'decline') => {
    if (busy || !dealId) return;
    setPhase({ ...phase, busy: decision });
    callOperation(decision === 'confirm' ? 'confirmExchange' : 'rejectExchange', { dealId }).catch((e: unknown) =>
      setPhase({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
    // The worker closes this window once the decision is taken.
  };

  return (
    <main class="tw" aria-labelledby="tw-heading" data-use={view.use}>
      <TrustedHeader />
      <h1 id="tw-heading">{contract ? t('xwHeadingContract') : t('xwHeadingMail')}</h1>
      <p class="note">{t('twTrustNote')}</p>

      <section class="panel merchant" aria-labelledby="tw-merchant-label">
        <h2 id="tw-merchant-label">{t('twMerchant')}</h2>
        <p class="merchant-name" id="merchant-name">
          {view.merchant.legalName}
        </p>
        <dl>
          <dt>{t('twCertifiedOrigins')}</dt>
          <dd id="certified-origins">{view.merchant.certifiedOrigins.join(', ')}</dd>
          <dt>{t('twIssuer')}</dt>
          <dd id="issuer">{view.merchant.issuer}</dd>
          <dt>{t('twFingerprint')}</dt>
          <dd class="mono">{view.merchant.certificateFingerprint}</dd>
        </dl>
      </section>

      <section class="panel" aria-labelledby="tw-requested-by">
        <h2 id="tw-requested-by">{t('twRequestedBy')}</h2>
        <p class="origin mono" id="requesting-origin">
          {view.origin}
        </p>
      </section>

      <section class="panel exchange-items" aria-labelledby="xw-items">
        <h2 id="xw-items">{t('xwItems')}</h2>
        <dl>
          <dt>{t('xwYouGive')}</dt>
          <dd id="you-give">{contract ? t('xwGiveSignature') : t('xwGiveReceipt')}</dd>
          <dt>{t('xwYouGet')}</dt>
          <dd id="you-get">{contract ? t('xwGetSignature') : t('xwGetDocument', view.document?.title ?? view.title)}</dd>
        </dl>
        {view.document ? (
          <dl id="document">
            <dt>{t('xwDocumentTitle')}</dt>
            <dd id="document-title">{view.document.title}</dd>
            <dt>{t('xwDocumentType')}</dt>
            <dd>
              {view.document.mediaType}, {bytes(view.document.size)}
            </dd>
            <dt>{t('xwDocumentDigest')}</dt>
            <dd class="mono">{view.document.digest}</dd>
          </dl>
        ) : null}
        {view.contract ? (
          <>
            <h3 id="contract-title">{view.contract.title}</h3>
            <pre class="terms-text contract-text" id="contract-text">
              {view.contract.text}
            </pre>
          </>
        ) : null}
        <dl>
          <dt>{t('xwExpires')}</dt>
          <dd id="expires">{formatDateTime(view.expiresAt)}</dd>
        </dl>
      </section>

      <section class="panel ttp" aria-labelledby="xw-ttp" id="ttp">
        <h2 id="xw-ttp">{t('xwTtp')}</h2>
        <p class="merchant-name" id="ttp-name">
          {view.ttp.name}
        </p>
        <p class="note">{contract ? t('xwTtpContract') : t('xwTtpMail')}</p>
        <dl>
          <dt>{t('twIssuer')}</dt>
          <dd id="ttp-issuer">{view.ttp.issuer}</dd>
          <dt>{t('xwTtpAddress')}</dt>
          <dd class="mono" id="ttp-url">
            {view.ttp.url}
          </dd>
          <dt>{t('twFingerprint')}</dt>
          <dd class="mono" id="ttp-fingerprint">
            {view.ttp.certificateFingerprint}
          </dd>
        </dl>
      </section>

      {view.terms ? (
        <section class="panel terms" aria-labelledby="tw-terms">
          <h2 id="tw-terms">{t('twTerms')}</h2>
          <pre class="terms-text">{view.terms}</pre>
        </section>
      ) : null}

      <section class="actions" role="group" aria-labelledby="tw-actions">
        <h2 id="tw-actions" class="visually-hidden">
          {t('twActions')}
        </h2>
        <button type="button" id="decline" ref={declineRef} disabled={busy !== undefined} onClick={() => decide('decline')}>
          {t('twDecline')}
        </button>
        <button type="button" id="confirm" class="primary" disabled={busy !== undefined || !armed} onClick={() => decide('confirm')}>
          {contract ? t('xwConfirmContract') : t('xwConfirmMail')}
        </button>
      </section>
      {busy ? (
        <p role="status" id="tw-progress">
          {busy === 'confirm' ? t('xwStarting') : t('twDeclining')}
        </p>
      ) : null}
    </main>
  );
}
