/**
 * A finished deal's disputes in the trusted window (issue 12, item 5), opened from the popup's deal
 * details (`disputes.openWindow`): under the security phrase, the deal as the archive has it, the
 * verdicts it already has, and the form to raise a claim with one of the arbiters the shopper
 * trusts. `disputes.raise` signs the complaint with the key that acted in the deal, sends it with
 * the deal's evidence bundle, checks the verdict against that arbiter's certificate and archives it
 * with the deal; this screen shows it in plain words.
 */
import { useEffect, useState } from 'preact/hooks';
import { claimsFor } from '../extension/disputes/claims.js';
import type { DisputeView } from '../extension/disputes/raise.js';
import type { HistoryRow } from '../extension/history/search.js';
import { callOperation } from '../extension/operations/client.js';
import type { ArbiterSummary } from '../extension/operations/table.js';
import { DisputeForm, VerdictView } from '../extension/ui/disputes.js';
import { signComplaintWithToken } from './tokens.js';
import { formatDateTime, formatMoney, t } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { TrustedHeader } from './identity.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function DisputeScreen({ dealId }: { dealId: string | null }) {
  const [deal, setDeal] = useState<HistoryRow | null>(null);
  const [arbiters, setArbiters] = useState<ArbiterSummary[] | null>(null);
  const [verdicts, setVerdicts] = useState<DisputeView[]>([]);
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
  const finished = deal !== null && deal.outcome !== 'open' && deal.outcome !== 'rejected';

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
            <VerdictView key={v.verdictDigest} v={v} heading="h3" />
          ))}
        </section>
      ) : null}
      {deal && finished ? (
        <section class="panel" aria-labelledby="dsw-raise">
          <h2 id="dsw-raise">{t('dspHeading')}</h2>
          <p class="note">{t('dspNote')}</p>
          {dealId ? (
            <DisputeForm
              dealId={dealId}
              claims={claims}
              arbiters={arbiters}
              noArbiter="dswNoArbiter"
              onVerdict={(v) => setVerdicts((old) => [...old.filter((o) => o.verdictDigest !== v.verdictDigest), v])}
              onError={setError}
              signWithToken={signComplaintWithToken}
            />
          ) : null}
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
