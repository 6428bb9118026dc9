/**
 * A dispute's two pieces of UI, shared by the popup's deal panel (popup/Dispute.tsx) and the trusted
 * window's dispute screen (trusted-window/DisputeScreen.tsx): a verdict in plain words, and the form
 * that raises a claim with one of the shopper's trusted arbiters (`disputes.raise`).
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { Claim } from '../../core/arbiter/statements.js';
import type { ComplaintSigning, DisputeView } from '../disputes/raise.js';
import { callOperation } from '../operations/client.js';
import type { ArbiterSummary, OperationRequest } from '../operations/table.js';
import { CLAIM_LABELS, DECISION_LABELS } from './dispute-labels.js';
import { formatDateTime, t, type MessageKey } from './i18n.js';
import { SafeText } from './safe-text.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** One verdict: the claim, who decided when, the decision, its reasons, what evidence was missing, the remedy. */
export function VerdictView({ v, heading: Heading, children }: { v: DisputeView; heading: 'h3' | 'h4'; children?: ComponentChildren }) {
  return (
    <article class={`verdict panel decision-${v.decision}`} data-decision={v.decision} data-rule={v.rule}>
      <Heading>
        {t(CLAIM_LABELS[v.claim])} — {t('dspVerdictBy', v.arbiter, formatDateTime(v.decidedAt))}
      </Heading>
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
      {children}
    </article>
  );
}

/**
 * The claim, the arbiter and an optional statement; the verdict goes to `onVerdict`, a failure to
 * `onError` (null when a new attempt starts). Without a trusted arbiter, `noArbiter` says what to do.
 */
export function DisputeForm({
  dealId,
  claims,
  arbiters,
  noArbiter,
  onVerdict,
  onError,
  signWithToken,
}: {
  dealId: string;
  claims: readonly Claim[];
  arbiters: readonly ArbiterSummary[] | null;
  noArbiter: MessageKey;
  onVerdict(v: DisputeView): void;
  onError(text: string | null): void;
  /**
   * The trusted window's security-key ceremony over a complaint (trusted-window/tokens.tsx): a deal a
   * security key signed needs its complaint signed by that key. Absent in the popup, which sends the
   * shopper to the window for it.
   */
  signWithToken?(request: Extract<ComplaintSigning, { signer: 'token' }>): Promise<OperationRequest<'disputes.raiseSigned'>['complaint']>;
}) {
  const [claim, setClaim] = useState<Claim | null>(null);
  const [arbiter, setArbiter] = useState('');
  const [statement, setStatement] = useState('');
  const [busy, setBusy] = useState<false | 'sending' | 'token'>(false);
  const chosenClaim = claim ?? claims[0] ?? null;
  const chosenArbiter = arbiter || arbiters?.[0]?.fingerprint || '';
  if (arbiters !== null && arbiters.length === 0) {
    return (
      <p class="note" id="dispute-no-arbiter">
        {t(noArbiter)}
      </p>
    );
  }
  const submit = (event: Event) => {
    event.preventDefault();
    if (!chosenClaim || !chosenArbiter || busy) return;
    onError(null);
    setBusy('sending');
    const input = { dealId, claim: chosenClaim, arbiter: chosenArbiter, ...(statement.trim() ? { statement: statement.trim() } : {}) };
    const raise = async (): Promise<DisputeView> => {
      // Who signs the complaint: this browser's key, or the security key that signed the deal.
      const how = await callOperation('disputes.complaintToSign', input);
      if (how.signer === 'device') return (await callOperation('disputes.raise', input)).dispute;
      if (!signWithToken) throw new Error(t('dspUseWindowForToken'));
      setBusy('token');
      const complaint = await signWithToken(how);
      setBusy('sending');
      return (await callOperation('disputes.raiseSigned', { ...input, complaint })).dispute;
    };
    raise().then(
      (dispute) => {
        setBusy(false);
        setStatement('');
        onVerdict(dispute);
      },
      (e: unknown) => {
        setBusy(false);
        onError(t('dspError', message(e)));
      },
    );
  };
  return (
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
      <textarea id="dispute-statement" rows={2} maxLength={2000} value={statement} onInput={(e) => setStatement((e.target as HTMLTextAreaElement).value)} />
      <button type="submit" class="primary" id="dispute-submit" disabled={busy !== false || chosenArbiter === '' || chosenClaim === null}>
        {t('dspSubmit')}
      </button>
      {busy ? (
        <p class="note" role="status" id="dispute-busy">
          {t(busy === 'token' ? 'dspTouchToken' : 'dspSending')}
        </p>
      ) : null}
    </form>
  );
}
