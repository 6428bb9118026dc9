/**
 * What the trusted window's offer screen (App.tsx) and exchange screen (ExchangeApp.tsx) share:
 * loading the deal the worker verified and arming Confirm, the loading and error screens, the
 * merchant and requesting-origin panels, the terms, and the decision buttons.
 */
import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CertifiedMerchant } from '../core/commerce/view.js';
import { formatDateTime, t } from '../extension/ui/i18n.js';
import { TrustedHeader } from './identity.js';

/**
 * Confirm only becomes clickable a moment after the offer is shown, so a click or key press
 * aimed at the page cannot land on it as the window pops up.
 */
export const CONFIRM_ARM_DELAY_MS = 700;

export type Decided = 'confirm' | 'decline';
export type Phase<V> = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; view: V; busy?: Decided };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The deal this window is about, as `load` gets it from the worker; once it is shown the decline
 * button has the focus and Confirm is armed after CONFIRM_ARM_DELAY_MS.
 */
export function usePendingDeal<V>(dealId: string | null, load: (dealId: string) => Promise<{ view: V; busy?: Decided }>) {
  const [phase, setPhase] = useState<Phase<V>>({ kind: 'loading' });
  const [armed, setArmed] = useState(false);
  const declineRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!dealId) {
      setPhase({ kind: 'error', message: 'no deal' });
      return;
    }
    load(dealId).then(
      (ready) => setPhase({ kind: 'ready', ...ready }),
      (e: unknown) => setPhase({ kind: 'error', message: message(e) }),
    );
  }, [dealId]);

  useEffect(() => {
    if (phase.kind !== 'ready') return;
    declineRef.current?.focus();
    const timer = setTimeout(() => setArmed(true), CONFIRM_ARM_DELAY_MS);
    return () => clearTimeout(timer);
  }, [phase.kind]);

  const fail = (e: unknown) => setPhase({ kind: 'error', message: message(e) });
  return { phase, setPhase, fail, armed, declineRef };
}

/** The whole window while the deal loads, or when it cannot be shown. */
export function NotReady({ phase }: { phase: { kind: 'loading' } | { kind: 'error'; message: string } }) {
  if (phase.kind === 'loading') {
    return (
      <main class="tw" aria-busy="true">
        <TrustedHeader />
        <p role="status">{t('twLoading')}</p>
      </main>
    );
  }
  return (
    <main class="tw">
      <TrustedHeader />
      <p role="alert" class="error" id="tw-error">
        {t('twError', phase.message)}
      </p>
    </main>
  );
}

/**
 * The merchant as its validated certificate names it. `full` adds the organization (when it
 * differs from the legal name) and the certificate's validity (the offer screen shows them).
 */
export function MerchantPanel({ merchant, full = false }: { merchant: CertifiedMerchant; full?: boolean }) {
  return (
    <section class="panel merchant" aria-labelledby="tw-merchant-label">
      <h2 id="tw-merchant-label">{t('twMerchant')}</h2>
      <p class="merchant-name" id="merchant-name">
        {merchant.legalName}
      </p>
      <dl>
        {full && merchant.organization && merchant.organization !== merchant.legalName ? (
          <>
            <dt>{t('twOrganization')}</dt>
            <dd>{merchant.organization}</dd>
          </>
        ) : null}
        <dt>{t('twCertifiedOrigins')}</dt>
        <dd id="certified-origins">{merchant.certifiedOrigins.join(', ')}</dd>
        <dt>{t('twIssuer')}</dt>
        <dd id="issuer">{merchant.issuer}</dd>
        {full ? (
          <>
            <dt>{t('twCertValidUntil')}</dt>
            <dd>{formatDateTime(merchant.certificateNotAfter)}</dd>
          </>
        ) : null}
        <dt>{t('twFingerprint')}</dt>
        <dd class="mono">{merchant.certificateFingerprint}</dd>
      </dl>
    </section>
  );
}

/** The origin that asked for the deal, as the browser reported it. */
export function RequestedByPanel({ origin }: { origin: string }) {
  return (
    <section class="panel" aria-labelledby="tw-requested-by">
      <h2 id="tw-requested-by">{t('twRequestedBy')}</h2>
      <p class="origin mono" id="requesting-origin">
        {origin}
      </p>
    </section>
  );
}

/** The merchant's terms (its signed word), or a note that there are none. */
export function TermsPanel({ terms }: { terms: string }) {
  return (
    <section class="panel terms" aria-labelledby="tw-terms">
      <h2 id="tw-terms">{t('twTerms')}</h2>
      {terms ? <pre class="terms-text">{terms}</pre> : <p class="note">{t('twNoTerms')}</p>}
    </section>
  );
}

/** The decision buttons: Decline (focused first), then the screen's own buttons (`children`). */
export function DecisionActions({
  declineRef,
  disabled,
  onDecline,
  children,
}: {
  declineRef: Ref<HTMLButtonElement>;
  disabled: boolean;
  onDecline(): void;
  children: ComponentChildren;
}) {
  return (
    <section class="actions" aria-labelledby="tw-actions">
      <h2 id="tw-actions" class="visually-hidden">
        {t('twActions')}
      </h2>
      <button type="button" id="decline" ref={declineRef} disabled={disabled} onClick={onDecline}>
        {t('twDecline')}
      </button>
      {children}
    </section>
  );
}

export function ConfirmButton({ disabled, onConfirm, children }: { disabled: boolean; onConfirm(): void; children: ComponentChildren }) {
  return (
    <button type="button" id="confirm" class="primary" disabled={disabled} onClick={onConfirm}>
      {children}
    </button>
  );
}

/** What the window is doing after a decision (null: nothing). */
export function Progress({ text }: { text: string | null }) {
  return text ? (
    <p role="status" id="tw-progress">
      {text}
    </p>
  ) : null;
}
