/**
 * The result screen (issue 11): after Confirm the trusted window does not vanish. It shows the
 * deal's progress, then what the user signed, what it received (the delivered goods, the
 * merchant's signature or the TTP's affidavit, the document), or why it failed, and where the
 * evidence is (Semper's popup; a download of the deal's evidence bundle), with a Close button.
 *
 * It reads the deal through the same operations as the popup (getDeal, getExchange,
 * getFairPurchase: what the worker archived, never the page's word). The worker keeps this window
 * open when the deal ends (worker/trusted-window-manager.ts: keepForResult); a deal queued behind
 * it takes the window, the result stays in the popup. The page gets its result as before.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import { formatMoney, statusLabel, t } from '../extension/ui/i18n.js';
import { SafeText } from '../extension/ui/safe-text.js';
import { TrustedHeader } from './identity.js';
import { DEAL_CHANGED_EVENT } from './components.js';

export type ResultKind = 'purchase' | 'exchange' | 'fair';

/** Dispatched on `window` once the worker accepted the user's confirmation: the window turns into the result screen. */
export const RESULT_EVENT = 'semper-result';

export function enterResult(): void {
  window.dispatchEvent(new Event(RESULT_EVENT));
}

/** Shows the deal screen (`children`) until the confirmation was accepted, then the result. */
export function ResultGate({ kind, dealId, children }: { kind: ResultKind; dealId: string | null; children: ComponentChildren }) {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    const show = () => {
      // The address says which screen this is, for whoever looks at the window from outside (the e2e harness).
      const url = new URL(location.href);
      url.searchParams.set('screen', 'result');
      history.replaceState(null, '', url);
      setShown(true);
    };
    window.addEventListener(RESULT_EVENT, show);
    return () => window.removeEventListener(RESULT_EVENT, show);
  }, []);
  return shown && dealId ? <ResultScreen kind={kind} dealId={dealId} /> : children;
}

type Outcome = 'pending' | 'done' | 'failed' | 'aborted';

interface ResultView {
  outcome: Outcome;
  /** The heading once the deal ended well. */
  doneHeading: string;
  /** While pending: what the deal is doing. */
  progress?: string;
  signed: string;
  received: string | null;
  error?: string;
  hasEvidence: boolean;
}

const TERMINAL_FAILED = new Set(['failed', 'delivery-mismatch', 'rejected']);

async function loadResult(kind: ResultKind, dealId: string): Promise<ResultView> {
  if (kind === 'purchase') {
    const { deal, goods, statements } = await callOperation('getDeal', { dealId });
    const outcome: Outcome = deal.status === 'completed' ? 'done' : TERMINAL_FAILED.has(deal.status) ? 'failed' : 'pending';
    return {
      outcome,
      doneHeading: t('resPurchaseDone'),
      ...(outcome === 'pending' ? { progress: statusLabel(deal.status) } : {}),
      signed: t('resSignedOrder', deal.total ? formatMoney(deal.total) : '', deal.merchant ?? deal.origin),
      received: goods.length ? goods.map((g) => g.title).join('; ') : null,
      ...(deal.error ? { error: `${deal.error.code}: ${deal.error.message}` } : {}),
      hasEvidence: statements.length > 0,
    };
  }
  if (kind === 'exchange') {
    const x = await callOperation('getExchange', { dealId });
    const status = x.exchange.status;
    const contract = x.exchange.use === 'contract-signing';
    const title = x.exchange.title ?? '';
    const outcome: Outcome =
      status === 'completed' || status === 'resolved' ? 'done' : status === 'aborted' ? 'aborted' : TERMINAL_FAILED.has(status) ? 'failed' : 'pending';
    let received: string | null = null;
    if (outcome === 'aborted') received = t('resReceivedAborted');
    else if (outcome === 'done')
      received = contract ? (status === 'resolved' ? t('resReceivedAffidavit') : t('xwGetSignature')) : t('xwGetDocument', x.document?.title ?? title);
    return {
      outcome,
      doneHeading: contract ? t('resContractDone') : t('resMailDone'),
      ...(outcome === 'pending' ? { progress: status === 'awaiting-ttp' ? t('resAwaitingTtp') : t('xwStarting') } : {}),
      signed: contract ? t('resSignedContract', title) : t('resSignedReceipt', title),
      received,
      ...(x.exchange.error ? { error: `${x.exchange.error.code}: ${x.exchange.error.message}` } : {}),
      hasEvidence: x.statements.length > 0,
    };
  }
  const f = await callOperation('getFairPurchase', { dealId });
  const status = f.purchase.status;
  const outcome: Outcome = status === 'completed' ? 'done' : TERMINAL_FAILED.has(status) ? 'failed' : 'pending';
  return {
    outcome,
    doneHeading: t('resPurchaseDone'),
    ...(outcome === 'pending' ? { progress: t('resFairPending') } : {}),
    signed: t('resSignedPayment', f.purchase.price ? formatMoney(f.purchase.price) : '', f.purchase.merchant ?? f.purchase.origin),
    received: f.goods ? f.goods.title : null,
    ...(f.purchase.error ? { error: `${f.purchase.error.code}: ${f.purchase.error.message}` } : {}),
    hasEvidence: f.statements.length > 0,
  };
}

function focusHeading(): void {
  document.getElementById('tw-heading')?.focus({ preventScroll: true });
}

/** Downloads the deal's evidence bundle (exportEvidence), as the popup's deal details do. */
async function exportEvidence(dealId: string): Promise<void> {
  const { fileName, json } = await callOperation('exportEvidence', { dealId });
  const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The worker tells the window when the deal changes (DEAL_CHANGED_EVENT) and the screen reloads at
 * once; this slow poll only covers a message lost while the worker restarted.
 */
const FALLBACK_POLL_MS = 3000;

export function ResultScreen({ kind, dealId }: { kind: ResultKind; dealId: string }) {
  const [view, setView] = useState<ResultView | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const outcome = view?.outcome;

  useEffect(() => {
    let stopped = false;
    let pending = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // One load at a time; a change told during a load starts another after it, so the last step is never missed.
    let loading = false;
    let again = false;
    const poll = () => {
      clearTimeout(timer);
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      loadResult(kind, dealId)
        .then(
          (v) => {
            if (stopped) return;
            setView(v);
            setProblem(null);
            pending = v.outcome === 'pending';
          },
          (e: unknown) => {
            if (!stopped) setProblem(e instanceof Error ? e.message : String(e));
          },
        )
        .finally(() => {
          loading = false;
          if (stopped || !pending) return;
          if (again) {
            again = false;
            poll();
          } else timer = setTimeout(poll, FALLBACK_POLL_MS);
        });
    };
    const changed = (e: Event) => {
      const changedDeal = (e as CustomEvent<string | null>).detail;
      if (pending && (changedDeal === null || changedDeal === dealId)) poll();
    };
    window.addEventListener(DEAL_CHANGED_EVENT, changed);
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener(DEAL_CHANGED_EVENT, changed);
    };
  }, [kind, dealId]);

  // The heading has the focus when the screen appears and again when the deal ends (it then names the result).
  useEffect(focusHeading, [outcome === 'pending' || outcome === undefined]);

  const heading =
    outcome === undefined || outcome === 'pending'
      ? t('resHeadingPending')
      : outcome === 'done'
        ? view!.doneHeading
        : outcome === 'aborted'
          ? t('resAbortedHeading')
          : t('resFailedHeading');

  return (
    <main class="tw result" aria-labelledby="tw-heading" id="result" data-outcome={outcome ?? 'pending'}>
      <TrustedHeader />
      <h1 id="tw-heading" tabIndex={-1}>
        {heading}
      </h1>
      {outcome === undefined || outcome === 'pending' ? (
        <p role="status" id="result-progress">
          {view?.progress ?? t('twLoading')} {t('resPendingNote')}
        </p>
      ) : null}
      {view?.error && outcome === 'failed' ? (
        <p role="alert" class="error" id="result-error">
          <SafeText text={view.error} />
        </p>
      ) : null}
      {problem ? (
        <p role="alert" class="error" id="result-problem">
          <SafeText text={problem} />
        </p>
      ) : null}
      {view ? (
        <section class="glance" aria-labelledby="result-facts-heading">
          <h2 id="result-facts-heading" class="visually-hidden">
            {t('resFacts')}
          </h2>
          <dl>
            <dt>{t('resSigned')}</dt>
            <dd id="result-signed">
              <SafeText text={view.signed} />
            </dd>
            <dt>{t('resReceived')}</dt>
            <dd id="result-received">{view.received === null ? t('resNotYet') : <SafeText text={view.received} />}</dd>
            <dt>{t('resEvidence')}</dt>
            <dd id="result-evidence">{t('resEvidenceWhere')}</dd>
          </dl>
        </section>
      ) : null}
      <div class="buttons result-buttons">
        {view?.hasEvidence && outcome !== 'pending' ? (
          <button type="button" id="result-export" onClick={() => void exportEvidence(dealId).catch((e: unknown) => setProblem(String(e)))}>
            {t('popExportEvidence')}
          </button>
        ) : null}
        <button type="button" id="result-close" class="primary" onClick={() => window.close()}>
          {t('resClose')}
        </button>
      </div>
    </main>
  );
}
