/**
 * A finished deal's disputes in the trusted window (issue 12, item 5), opened from the popup's deal
 * details (`disputes.openWindow`): under the security phrase, the deal as the archive has it, the
 * verdicts it already has, and the form to raise a claim with one of the arbiters the shopper
 * trusts. `disputes.raise` signs the complaint with the key that acted in the deal, sends it with
 * the deal's evidence bundle, checks the verdict against that arbiter's certificate and archives it
 * with the deal; this screen shows it in plain words.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Claim } from '../core/arbiter/statements.js';
import { claimsFor } from '../extension/disputes/claims.js';
import type { DisputeView } from '../extension/disputes/raise.js';
import type { HistoryRow } from '../extension/history/search.js';
import { callOperation } from '../extension/operations/client.js';
import type { ArbiterSummary } from '../extension/operations/table.js';
import { CLAIM_LABELS, DECISION_LABELS } from '../extension/ui/dispute-labels.js';
import { formatDateTime, formatMoney, t } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { TrustedHeader } from './identity.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function Verdict({ v }: { v: DisputeView }) {
  return (
    <article class={`verdict panel decision-${v.decision}`} data-decision={v.decision} data-rule={v.rule}>
      <h3>
        {t(CLAIM_LABELS[v.claim])} — {t('dspVerdictBy', v.arbiter, formatDateTime(v.decidedAt))}
      </h3>
      <p class="verdict-decision">
        <strong>{t(DECISION_LABELS[v.decision])}</strong>
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
          <ul>
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

export function DisputeScreen({ dealId }: { dealId: string | null }) {
  const [deal, setDeal] = useState<HistoryRow | null>(null);
  const [arbiters, setArbiters] = useState<ArbiterSummary[] | null>(null);
  const [verdicts, setVerdicts] = useState<DisputeView[]>([]);
  const [claim, setClaim] = useState<Claim | null>(null);
  const [arbiter, setArbiter] = useState('');
  const [statement, setStatement] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!dealId) {
      setError('no deal');
      return;
    }
    Promise.all([callOperation('history.timeline', { dealId }), callOperation('settings.listArbiters', {}), callOperation('disputes.list', { dealId })]).then(
      ([timeline, a, d]) => {
        setDeal(timeline.deal);
        setArbiters(a.arbiters);
        setVerdicts(d.disputes);
      },
      (e: unknown) => setError(message(e)),
    );
  }, [dealId]);
  // The focus starts on the heading, as on every trusted-window screen.
  useEffect(() => document.getElementById('tw-heading')?.focus({ preventScroll: true }), [deal !== null]);

  const claims = deal ? claimsFor(deal.kind) : [];
  const chosenClaim = claim ?? claims[0] ?? null;
  const chosenArbiter = arbiter || arbiters?.[0]?.fingerprint || '';
  const finished = deal !== null && deal.outcome !== 'open' && deal.outcome !== 'rejected';

  const submit = (event: Event) => {
    event.preventDefault();
    if (!dealId || !chosenClaim || !chosenArbiter || busy) return;
    setError(null);
    setBusy(true);
    callOperation('disputes.raise', { dealId, claim: chosenClaim, arbiter: chosenArbiter, ...(statement.trim() ? { statement: statement.trim() } : {}) }).then(
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

  return (
    <main class="tw dispute-screen" aria-labelledby="tw-heading" id="dispute-screen">
      <TrustedHeader />
      <h1 id="tw-heading" tabIndex={-1}>
        {t('dswHeading')}
      </h1>
      {deal ? (
        <section class="glance" aria-labelledby="dsw-deal-heading">
          <h2 id="dsw-deal-heading" class="visually-hidden">
            {t('dswDeal')}
          </h2>
          <dl>
            <dt>{t('twGlanceWho')}</dt>
            <dd id="dsw-merchant">{deal.merchant ? <CertifiedName name={deal.merchant} /> : <SafeText text={deal.origin} />}</dd>
            <dt>{t('twGlanceWhat')}</dt>
            <dd id="dsw-product">
              <SafeText text={deal.product ?? deal.dealId} />
              {deal.total ? ` · ${formatMoney(deal.total)}` : ''}
            </dd>
            <dt>{t('dswWhen')}</dt>
            <dd>{formatDateTime(deal.createdAt)}</dd>
          </dl>
        </section>
      ) : error ? null : (
        <p role="status">{t('twLoading')}</p>
      )}
      {verdicts.length > 0 ? (
        <section aria-labelledby="dsw-verdicts" id="verdicts" aria-live="polite">
          <h2 id="dsw-verdicts">{t('dspVerdicts')}</h2>
          <p class="note" id="dsw-archived">
            {t('dswArchived')}
          </p>
          {verdicts.map((v) => (
            <Verdict key={v.verdictDigest} v={v} />
          ))}
        </section>
      ) : null}
      {deal && finished ? (
        <section class="panel" aria-labelledby="dsw-raise">
          <h2 id="dsw-raise">{t('dspHeading')}</h2>
          <p class="note">{t('dspNote')}</p>
          {arbiters !== null && arbiters.length === 0 ? (
            <p class="note" id="dispute-no-arbiter">
              {t('dswNoArbiter')}
            </p>
          ) : (
            <form onSubmit={submit} class="dispute-form">
              <label for="dispute-claim">{t('dspClaim')}</label>
              <select id="dispute-claim" value={chosenClaim ?? ''} onChange={(e) => setClaim((e.target as HTMLSelectElement).value as Claim)}>
                {claims.map((c) => (
                  <option key={c} value={c}>
                    {t(CLAIM_LABELS[c])}
                  </option>
                ))}
              </select>
              <label for="dispute-arbiter">{t('dspArbiter')}</label>
              <select id="dispute-arbiter" value={chosenArbiter} onChange={(e) => setArbiter((e.target as HTMLSelectElement).value)}>
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
              <button type="submit" class="primary" id="dispute-submit" disabled={busy || chosenArbiter === '' || chosenClaim === null}>
                {t('dspSubmit')}
              </button>
              {busy ? (
                <p class="note" role="status">
                  {t('dspSending')}
                </p>
              ) : null}
            </form>
          )}
        </section>
      ) : deal ? (
        <p class="note" id="dsw-not-finished">
          {t('dswNotFinished')}
        </p>
      ) : null}
      {error ? (
        <p role="alert" class="error" id="dispute-error">
          <SafeText text={error} />
        </p>
      ) : null}
      <div class="buttons result-buttons">
        <button type="button" id="dispute-close" onClick={() => window.close()}>
          {t('resClose')}
        </button>
      </div>
    </main>
  );
}
