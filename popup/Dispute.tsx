/**
 * Disputes in the popup (issue 12 items 5 and 6): a deal's "Raise a dispute" panel (a claim that
 * makes sense for the deal's kind, one of the shopper's trusted arbiters) and its verdicts in plain
 * words; and the trusted-arbiters setting. In the popup rather than the trusted window: the trusted
 * window is where a pending deal is decided (what the shopper signs); a dispute is about a finished
 * deal, and what it signs (the complaint) commits only to evidence already in the archive.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Claim } from '../core/arbiter/statements.js';
import { claimsFor } from '../extension/disputes/claims.js';
import type { DisputeView } from '../extension/disputes/raise.js';
import { callOperation } from '../extension/operations/client.js';
import type { ArbiterSummary } from '../extension/operations/table.js';
import { formatDateTime, t, type MessageKey } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { FetchCertificate } from './FetchCertificate.js';
import { message } from './components.js';

const CLAIM_LABELS: Record<Claim, MessageKey> = {
  'goods-not-delivered': 'dspClaimGoodsNotDelivered',
  'goods-mismatch': 'dspClaimGoodsMismatch',
  'offer-denied': 'dspClaimOfferDenied',
  'order-denied': 'dspClaimOrderDenied',
  'payment-not-received': 'dspClaimPaymentNotReceived',
  'ttp-conflict': 'dspClaimTtpConflict',
  'contract-signed': 'dspClaimContractSigned',
};

const DECISIONS: Record<DisputeView['decision'], MessageKey> = { upheld: 'dspUpheld', dismissed: 'dspDismissed', undecided: 'dspUndecided' };

function useArbiters(): [ArbiterSummary[] | null, () => void, string | null] {
  const [arbiters, setArbiters] = useState<ArbiterSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    callOperation('settings.listArbiters', {}).then(
      (r) => setArbiters(r.arbiters),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  useEffect(reload, [reload]);
  return [arbiters, reload, error];
}

/** One verdict, in plain words. */
function Verdict({ v }: { v: DisputeView }) {
  return (
    <article class={`verdict panel decision-${v.decision}`} data-decision={v.decision} data-rule={v.rule}>
      <h4>
        {t(CLAIM_LABELS[v.claim])} — {t('dspVerdictBy', v.arbiter, formatDateTime(v.decidedAt))}
      </h4>
      <p class="verdict-decision">
        <strong>{t(DECISIONS[v.decision])}</strong>
      </p>
      <p class="note">{t('dspReasons')}:</p>
      <ul class="verdict-reasons">
        {v.reasons.map((r) => (
          <li key={r}>
            <SafeText text={r} />
          </li>
        ))}
      </ul>
      {v.missing?.length ? (
        <>
          <p class="note">{t('dspMissing')}:</p>
          <ul class="verdict-missing">
            {v.missing.map((m) => (
              <li key={m}>
                <SafeText text={m} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {v.remedy ? (
        <p>
          {t('dspRemedy')}: <SafeText text={v.remedy} />
        </p>
      ) : null}
    </article>
  );
}

/** Phases of a deal still under way (purchase, exchange, fair purchase), and the shopper's own rejection: nothing to dispute. */
const NOT_DISPUTABLE = new Set([
  'requesting-offer',
  'requesting-descriptor',
  'awaiting-confirmation',
  'ordering',
  'retrying-order',
  'starting',
  'exchanging',
  'awaiting-ttp',
  'paying',
  'rejected',
]);

/** A finished deal's disputes: the verdicts it has, and the form to raise one. */
export function DisputePanel({ dealId, kind, status }: { dealId: string; kind: 'purchase' | 'fair-purchase' | 'exchange'; status: string }) {
  const finished = !NOT_DISPUTABLE.has(status);
  const claims = claimsFor(kind);
  const [arbiters] = useArbiters();
  const [verdicts, setVerdicts] = useState<DisputeView[]>([]);
  const [claim, setClaim] = useState<Claim>(claims[0]!);
  const [arbiter, setArbiter] = useState('');
  const [statement, setStatement] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('disputes.list', { dealId }).then(
      (r) => setVerdicts(r.disputes),
      () => undefined,
    );
  }, [dealId]);
  const chosen = arbiter || arbiters?.[0]?.fingerprint || '';
  const submit = (event: Event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    callOperation('disputes.raise', { dealId, claim, arbiter: chosen, ...(statement.trim() ? { statement: statement.trim() } : {}) }).then(
      (r) => {
        setBusy(false);
        setStatement('');
        setVerdicts((old) => [...old.filter((v) => v.verdictDigest !== r.dispute.verdictDigest), r.dispute]);
      },
      (e: unknown) => {
        setBusy(false);
        setError(t('dspError', message(e)));
      },
    );
  };
  if (!finished && verdicts.length === 0) return null;
  return (
    <section class="dispute" id="dispute" aria-labelledby="dispute-heading">
      <h3 id="dispute-heading">{t('dspHeading')}</h3>
      {/* The same, under the security phrase in Semper's trusted window (trusted-window/DisputeScreen.tsx). */}
      <p>
        <button
          type="button"
          id="dispute-open-window"
          onClick={() => void callOperation('disputes.openWindow', { dealId }).catch((e: unknown) => setError(t('dspError', message(e))))}
        >
          {t('dswOpen')}
        </button>
      </p>
      {verdicts.length > 0 ? (
        <div id="verdicts" aria-live="polite">
          {verdicts.map((v) => (
            <Verdict key={v.verdictDigest} v={v} />
          ))}
        </div>
      ) : null}
      {finished ? (
        <>
          <p class="note">{t('dspNote')}</p>
          {arbiters !== null && arbiters.length === 0 ? (
            <p class="note" id="dispute-no-arbiter">
              {t('dspNoArbiter')}
            </p>
          ) : (
            <form onSubmit={submit}>
              <label for="dispute-claim">{t('dspClaim')}</label>
              <select id="dispute-claim" value={claim} onChange={(e) => setClaim((e.target as HTMLSelectElement).value as Claim)}>
                {claims.map((c) => (
                  <option key={c} value={c}>
                    {t(CLAIM_LABELS[c])}
                  </option>
                ))}
              </select>
              <label for="dispute-arbiter">{t('dspArbiter')}</label>
              <select id="dispute-arbiter" value={chosen} onChange={(e) => setArbiter((e.target as HTMLSelectElement).value)}>
                {(arbiters ?? []).map((a) => (
                  <option key={a.fingerprint} value={a.fingerprint}>
                    {a.commonName ?? t('arbByFingerprint')} ({a.url})
                  </option>
                ))}
              </select>
              <label for="dispute-statement">{t('dspStatement')}</label>
              <textarea
                id="dispute-statement"
                rows={2}
                maxLength={2000}
                value={statement}
                onInput={(e) => setStatement((e.target as HTMLTextAreaElement).value)}
              />
              <button type="submit" class="primary" id="dispute-submit" disabled={busy || chosen === ''}>
                {t('dspSubmit')}
              </button>
              {busy ? (
                <p class="note" role="status">
                  {t('dspSending')}
                </p>
              ) : null}
            </form>
          )}
        </>
      ) : null}
      {error ? (
        <p role="alert" class="error" id="dispute-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}

/** The trusted-arbiters setting: fetch by address and confirm the fingerprint, or paste a certificate; list; remove. */
export function ArbiterSettings() {
  const [arbiters, reload, loadError] = useArbiters();
  const [pem, setPem] = useState('');
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const add = (event: Event) => {
    event.preventDefault();
    setError(null);
    const text = pem.trim();
    const which = /^[A-Za-z0-9_-]{43}$/.test(text) ? { fingerprint: text } : { certificate: text };
    callOperation('settings.addArbiter', { ...which, url }).then(
      () => {
        setPem('');
        setUrl('');
        reload();
      },
      (e: unknown) => setError(t('arbError', message(e))),
    );
  };
  const remove = (fingerprint: string) => {
    callOperation('settings.removeArbiter', { fingerprint }).then(reload, (e: unknown) => setError(message(e)));
  };
  const shown = error ?? loadError;
  return (
    <section class="panel" aria-labelledby="arbiter-settings-heading" id="arbiter-settings">
      <h2 id="arbiter-settings-heading">{t('arbHeading')}</h2>
      <p class="note">{t('arbNote')}</p>
      {arbiters !== null && arbiters.length === 0 ? <p class="note">{t('arbNone')}</p> : null}
      <ul id="arbiters">
        {(arbiters ?? []).map((x) => (
          <li key={x.fingerprint}>
            <strong>{x.commonName ? <CertifiedName name={x.commonName} /> : t('arbByFingerprint')}</strong> <span class="mono note">{x.url}</span>
            <div class="mono note">{x.fingerprint}</div>
            <button type="button" onClick={() => remove(x.fingerprint)} aria-label={`${t('popRemoveRoot')}: ${x.commonName ?? x.fingerprint}`}>
              {t('popRemoveRoot')}
            </button>
          </li>
        ))}
      </ul>
      <FetchCertificate party="arbiter" onTrust={(f) => callOperation('settings.addArbiter', { url: f.url, certificate: f.certificate }).then(reload)} />
      <form onSubmit={add}>
        <label for="arbiter-pem">{t('arbCertLabel')}</label>
        <textarea id="arbiter-pem" rows={3} value={pem} spellcheck={false} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
        <label for="arbiter-url-input">{t('arbUrlLabel')}</label>
        <input id="arbiter-url-input" type="url" value={url} spellcheck={false} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={pem.trim() === '' || url.trim() === ''}>
          {t('arbAdd')}
        </button>
      </form>
      {shown ? (
        <p role="alert" class="error">
          {shown}
        </p>
      ) : null}
    </section>
  );
}
