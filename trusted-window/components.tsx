/**
 * What the trusted window's offer screen (App.tsx) and exchange screen (ExchangeApp.tsx) share:
 * loading the deal the worker verified and arming Confirm, the loading and error screens, the
 * merchant and requesting-origin panels, the terms, and the decision bar (the summary the user
 * decides on, next to the buttons, always on screen).
 *
 * Everything another party wrote (names, titles, terms) goes through extension/ui/safe-text.tsx:
 * isolated, bidi controls and invisible characters shown as escapes, mixed-script names flagged.
 */
import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CertifiedMerchant } from '../core/commerce/view.js';
import { formatDateTime, t } from '../extension/ui/i18n.js';
import { CertifiedName, NameWarning, SafeText } from '../extension/ui/safe-text.js';
import { CONFIRM_ARM_DELAY_MS } from '../extension/worker/window-presentation.js';
import { NO_ANSWER, OperationError } from '../extension/operations/client.js';
import { TrustedHeader } from './identity.js';

export { CONFIRM_ARM_DELAY_MS };

/**
 * Dispatched on `window` (by main.tsx) when the worker is about to bring this window forward and
 * again once it has: Confirm is disarmed and re-armed after CONFIRM_ARM_DELAY_MS.
 */
export const PRESENTED_EVENT = 'semper-presented';

/**
 * Dispatched on `window` (by main.tsx) when the worker says a deal changed (`detail`: its id), or
 * with `detail` null when the port to the worker connected again and changes may have been missed.
 */
export const DEAL_CHANGED_EVENT = 'semper-deal-changed';

export type Decided = 'confirm' | 'decline';
export type Phase<V> = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; view: V; busy?: Decided };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** How often the window asks for its deal when the worker does not answer, and how long it waits each time. */
const LOAD_ATTEMPTS = 6;
const LOAD_ANSWER_WAIT_MS = 5_000;
const LOAD_RETRY_PAUSE_MS = 300;

/** The worker never answered (no receiver, or nothing came back) — as opposed to refusing with a reason. */
function unanswered(e: unknown): boolean {
  if (!(e instanceof OperationError)) return true;
  return e.code === 'ERR_INTERNAL' && e.message === NO_ANSWER;
}

/** Ids of the buttons that act on the deal: after a re-showing the focus leaves them. */
const ACTING_BUTTONS = new Set(['confirm', 'sign-with-token']);

/**
 * Where the focus goes at each showing: the screen's heading (`tabIndex={-1}`), not a button — a key
 * pressed by habit then acts on nothing, a screen reader starts at the title — and without scrolling,
 * so the window opens at its top, where the security phrase and the at-a-glance summary are.
 */
function focusHeading(fallback: HTMLElement | null): void {
  const heading = document.getElementById('tw-heading') ?? fallback;
  heading?.focus({ preventScroll: true });
}

/**
 * The deal this window is about, as `load` gets it from the worker. Each time it is shown (first
 * showing, window focus, becoming visible, the worker bringing it forward) Confirm is disarmed,
 * the heading gets the focus (unless the user is busy elsewhere in the window), and Confirm is armed
 * CONFIRM_ARM_DELAY_MS later; while the window is hidden or in the background it stays disarmed.
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
    // The worker may be stopping as the window asks (Firefox suspends an idle event page; a message
    // sent as it goes is never answered, or fails to connect): ask again, a few times, before showing
    // an error. Only for no answer at all — a refusal from the worker is shown as it is.
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const attempt = (n: number) => {
      let settled = false;
      const again = () => {
        if (settled || stopped) return;
        settled = true;
        retry = setTimeout(() => attempt(n + 1), LOAD_RETRY_PAUSE_MS);
      };
      const silence = setTimeout(() => (n < LOAD_ATTEMPTS ? again() : undefined), LOAD_ANSWER_WAIT_MS);
      load(dealId).then(
        (ready) => {
          clearTimeout(silence);
          if (settled || stopped) return;
          settled = true;
          setPhase({ kind: 'ready', ...ready });
        },
        (e: unknown) => {
          clearTimeout(silence);
          if (n < LOAD_ATTEMPTS && unanswered(e)) return again();
          if (settled || stopped) return;
          settled = true;
          setPhase({ kind: 'error', message: message(e) });
        },
      );
    };
    attempt(1);
    return () => {
      stopped = true;
      clearTimeout(retry);
    };
  }, [dealId]);

  useEffect(() => {
    if (phase.kind !== 'ready') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const disarm = () => {
      clearTimeout(timer);
      timer = undefined;
      setArmed(false);
    };
    const present = () => {
      disarm();
      const active = document.activeElement;
      if (!active || active === document.body || ACTING_BUTTONS.has(active.id)) focusHeading(declineRef.current);
      timer = setTimeout(() => setArmed(true), CONFIRM_ARM_DELAY_MS);
    };
    // Focus and blur of the window itself (not of an element inside it).
    const onFocus = (e: Event) => e.target === window && present();
    const onBlur = (e: Event) => e.target === window && disarm();
    const onVisibility = () => (document.visibilityState === 'visible' ? present() : disarm());
    present();
    window.addEventListener('focus', onFocus);
    window.addEventListener('blur', onBlur);
    window.addEventListener(PRESENTED_EVENT, present);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('focus', onFocus);
      window.removeEventListener('blur', onBlur);
      window.removeEventListener(PRESENTED_EVENT, present);
      document.removeEventListener('visibilitychange', onVisibility);
    };
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
        <SafeText text={t('twError', phase.message)} />
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
        <CertifiedName name={merchant.legalName} />
      </p>
      <NameWarning name={merchant.legalName} id="merchant-name-warning" />
      <dl class="stacked">
        <dt>{t('twCertifiedOrigins')}</dt>
        <dd id="certified-origins">
          <SafeText text={merchant.certifiedOrigins.join(', ')} />
        </dd>
      </dl>
      <CertificateDetails>
        {full && merchant.organization && merchant.organization !== merchant.legalName ? (
          <>
            <dt>{t('twOrganization')}</dt>
            <dd>
              <CertifiedName name={merchant.organization} />
            </dd>
          </>
        ) : null}
        <dt>{t('twIssuer')}</dt>
        <dd id="issuer">
          <SafeText text={merchant.issuer} />
        </dd>
        {full ? (
          <>
            <dt>{t('twCertValidUntil')}</dt>
            <dd>{formatDateTime(merchant.certificateNotAfter)}</dd>
          </>
        ) : null}
        <dt>{t('twFingerprint')}</dt>
        <dd class="mono">{merchant.certificateFingerprint}</dd>
      </CertificateDetails>
    </section>
  );
}

/**
 * What only a specialist compares (issuer, validity, fingerprint, addresses), behind a disclosure:
 * one line on screen until opened, so the facts a shopper decides on stay at first sight. Label
 * above value (`stacked`), so long values never squeeze into a narrow column.
 */
export function CertificateDetails({ children, id }: { children: ComponentChildren; id?: string }) {
  return (
    <details class="cert-details" id={id}>
      <summary>{t('twCertDetails')}</summary>
      <dl class="stacked">{children}</dl>
    </details>
  );
}

/** One line of the at-a-glance summary. */
export interface GlanceRow {
  id: string;
  label: string;
  content: ComponentChildren;
}

/**
 * The first thing under the security phrase on every deal screen, sized to fit a 480×600 window
 * above the decision bar: who (the certified name and the origin the browser reported), the
 * screen's own rows (what, how much, how it is paid — or what is given and got), and what happens
 * after Confirm. Everything here is from the verified view; the panels below give the details.
 */
export function AtAGlance({ name, origin, rows, next }: { name: string; origin: string; rows: GlanceRow[]; next: string }) {
  return (
    <section class="glance" aria-labelledby="tw-glance" id="at-a-glance">
      <h2 id="tw-glance" class="visually-hidden">
        {t('twGlance')}
      </h2>
      <dl>
        <dt>{t('twGlanceWho')}</dt>
        <dd id="glance-who">
          <CertifiedName name={name} class="glance-name" flagFirst />
          <span class="glance-origin mono" id="glance-origin">
            <SafeText text={origin} />
          </span>
        </dd>
        {rows.map((row) => (
          <>
            <dt key={`${row.id}-label`}>{row.label}</dt>
            <dd key={row.id} id={row.id}>
              {row.content}
            </dd>
          </>
        ))}
      </dl>
      <p id="glance-next">
        <strong>{t('twGlanceNext')}:</strong> {next}
      </p>
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
      {terms ? (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable)
        <pre class="terms-text" id="terms-text" tabIndex={0}>
          <SafeText text={terms} multiline />
        </pre>
      ) : (
        <p class="note">{t('twNoTerms')}</p>
      )}
    </section>
  );
}

/**
 * The decision bar: the summary the user decides on (`summary`: the total and the merchant) and
 * the buttons, Decline (focused first) then the screen's own (`children`). It sticks to the bottom
 * of the window, so wherever the window is scrolled and however long the text above it, Confirm
 * is never on screen without the total and the merchant next to it.
 */
export function DecisionActions({
  declineRef,
  disabled,
  onDecline,
  summary,
  progress,
  children,
}: {
  declineRef: Ref<HTMLButtonElement>;
  disabled: boolean;
  onDecline(): void;
  summary?: ComponentChildren;
  /** What the window is doing after a decision (Progress), shown in the bar. */
  progress?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="actions decision-bar" aria-labelledby="tw-actions" id="decision-bar">
      <h2 id="tw-actions" class="visually-hidden">
        {t('twActions')}
      </h2>
      {summary ? (
        <dl class="summary" id="decision-summary">
          {summary}
        </dl>
      ) : null}
      <div class="buttons">
        <button type="button" id="decline" ref={declineRef} disabled={disabled} onClick={onDecline}>
          {t('twDecline')}
        </button>
        {children}
      </div>
      {progress}
    </section>
  );
}

/** The total of the summary (`summary` of DecisionActions). */
export function SummaryTotal({ text }: { text: string }) {
  return (
    <>
      <dt>{t('twSummaryTotal')}</dt>
      <dd>
        <strong class="summary-total amount" id="summary-total">
          {text}
        </strong>
      </dd>
    </>
  );
}

/** The certified merchant of the summary, flagged before its name (which is cut after two lines here; the panel shows it whole). */
export function SummaryMerchant({ name }: { name: string }) {
  return (
    <>
      <dt>{t('twSummaryMerchant')}</dt>
      <dd class="summary-merchant" id="summary-merchant">
        <CertifiedName name={name} class="summary-merchant-name" flagFirst />
      </dd>
    </>
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
