/**
 * Disputes in the popup (issue 12 items 5 and 6): a deal's "Raise a dispute" panel (a claim that
 * makes sense for the deal's kind, one of the shopper's trusted arbiters) and its verdicts in plain
 * words, and its time stamp checked against the trusted TSAs (the trusted-arbiters setting is
 * popup/TrustedParties.tsx). In the popup rather than the trusted window: the trusted
 * window is where a pending deal is decided (what the shopper signs); a dispute is about a finished
 * deal, and what it signs (the complaint) commits only to evidence already in the archive.
 */
import { useEffect, useState } from 'preact/hooks';
import { claimsFor } from '../extension/disputes/claims.js';
import type { DisputeView } from '../extension/disputes/raise.js';
import { callOperation } from '../extension/operations/client.js';
import type { OperationResponses } from '../extension/operations/table.js';
import { formatDateTime, t } from '../extension/ui/i18n.js';
import { DisputeForm, VerdictView } from '../extension/ui/disputes.js';
import { useArbiters } from './TrustedParties.js';
import { Alert, message } from './components.js';

/** One verdict, in plain words, with its time stamp on request. */
function Verdict({ v, dealId }: { v: DisputeView; dealId: string }) {
  return (
    <VerdictView v={v} heading="h4">
      <VerdictTimestamp dealId={dealId} verdict={v.verdictDigest} />
    </VerdictView>
  );
}

/** The verdict's time stamp, fetched from the arbiter on request and checked against the trusted TSAs (disputes.timestamp). */
function VerdictTimestamp({ dealId, verdict }: { dealId: string; verdict: string }) {
  const [result, setResult] = useState<OperationResponses['disputes.timestamp'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const check = () => {
    setBusy(true);
    setError(null);
    callOperation('disputes.timestamp', { dealId, verdict }).then(
      (r) => {
        setBusy(false);
        setResult(r);
      },
      (e: unknown) => {
        setBusy(false);
        setError(t('popError', message(e)));
      },
    );
  };
  const text = (r: OperationResponses['disputes.timestamp']) => {
    switch (r.status) {
      case 'none':
        return t('dspTimestampNone');
      case 'trusted':
        return t('dspTimestampTrusted', r.tsa, formatDateTime(r.genTime));
      case 'untrusted-tsa':
        return t('dspTimestampUntrusted', r.tsa);
      case 'invalid':
        return t('dspTimestampInvalid', r.reason);
    }
  };
  return (
    <div class="verdict-timestamp">
      <button type="button" class="verdict-timestamp-check" onClick={check} disabled={busy}>
        {t('dspCheckTimestamp')}
      </button>
      <p class="note verdict-timestamp-result" role="status" data-status={result?.status ?? ''}>
        {result ? text(result) : ''}
      </p>
      <Alert text={error} />
    </div>
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
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('disputes.list', { dealId }).then(
      (r) => setVerdicts(r.disputes),
      () => undefined,
    );
  }, [dealId]);
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
            <Verdict key={v.verdictDigest} v={v} dealId={dealId} />
          ))}
        </div>
      ) : null}
      {finished ? (
        <>
          <p class="note">{t('dspNote')}</p>
          <DisputeForm
            dealId={dealId}
            claims={claims}
            arbiters={arbiters}
            noArbiter="dspNoArbiter"
            onVerdict={(v) => setVerdicts((old) => [...old.filter((o) => o.verdictDigest !== v.verdictDigest), v])}
            onError={setError}
          />
        </>
      ) : null}
      <Alert text={error} id="dispute-error" />
    </section>
  );
}
