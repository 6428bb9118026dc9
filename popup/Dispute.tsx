/**
 * Disputes in the popup (issue 12 items 5 and 6): a deal's "Raise a dispute" panel (a claim that
 * makes sense for the deal's kind, one of the shopper's trusted arbiters) and its verdicts in plain
 * words, and its time stamp checked against the trusted TSAs (the trusted-arbiters setting is
 * popup/TrustedParties.tsx). In the popup rather than the trusted window: the trusted
 * window is where a pending deal is decided (what the shopper signs); a dispute is about a finished
 * deal, and what it signs (the complaint) commits only to evidence already in the archive.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Claim } from '../core/arbiter/statements.js';
import { claimsFor } from '../extension/disputes/claims.js';
import type { DisputeView } from '../extension/disputes/raise.js';
import { callOperation } from '../extension/operations/client.js';
import type { OperationResponses } from '../extension/operations/table.js';
import { formatDateTime, t, type MessageKey } from '../extension/ui/i18n.js';
import { SafeText } from '../extension/ui/safe-text.js';
import { useArbiters } from './TrustedParties.js';
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

/** One verdict, in plain words. */
function Verdict({ v, dealId }: { v: DisputeView; dealId: string }) {
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
      <VerdictTimestamp dealId={dealId} verdict={v.verdictDigest} />
    </article>
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
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
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
            <Verdict key={v.verdictDigest} v={v} dealId={dealId} />
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
