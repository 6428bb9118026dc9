/**
 * The user's decision on a verified offer: how the order will be signed (device identity key, a
 * pseudonym for an anonymous deal, or a hardware token when the merchant or the shopper's own
 * limit demands one, with the reason), then Decline / Confirm / Sign with security key.
 * A refusal (no token, the token declined or timed out, no user verification) is explained here
 * and the deal stays open: the user can try again or decline.
 */
import type { ComponentChildren, Ref } from 'preact';
import { useState } from 'preact/hooks';
import type { VerifiedOfferView } from '../core/commerce/view.js';
import { callOperation, OperationError } from '../extension/operations/client.js';
import { formatMoney, t } from '../extension/ui/i18n.js';
import { SafeText } from '../extension/ui/safe-text.js';
import { ConfirmButton, DecisionActions, Progress } from './components.js';
import { useIdentityStatus } from './identity.js';
import { TokenRegistration, explainTokenSigningError, signOrderWithToken } from './tokens.js';
import { enterResult } from './Result.js';

export type Busy = 'confirm' | 'decline' | 'token';

function explainConfirmError(e: unknown): string {
  if (e instanceof OperationError && e.code === 'ERR_HARDWARE_TOKEN_REQUIRED') return t('twTokenRequiredError');
  const text = e instanceof OperationError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return t('twActionFailed', text);
}

export function Decision({
  view,
  dealId,
  armed,
  declineRef,
  summary,
  initialBusy,
}: {
  view: VerifiedOfferView;
  dealId: string;
  armed: boolean;
  declineRef: Ref<HTMLButtonElement>;
  /** What the user decides on (total, merchant): shown next to the buttons. */
  summary?: ComponentChildren;
  initialBusy?: Busy;
}) {
  const identity = useIdentityStatus();
  const [busy, setBusy] = useState<Busy | undefined>(initialBusy);
  const [notice, setNotice] = useState<string | null>(null);
  const [anonymous, setAnonymous] = useState(false);
  // How to pay, when the offer takes more than invoice: a cheque is written on the account at the offer's bank at Confirm.
  const [method, setMethod] = useState<'invoice' | 'cheque'>('invoice');
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [registering, setRegistering] = useState(false);

  const status = identity.kind === 'ready' ? identity.status : undefined;
  const tokens = status?.tokens ?? [];
  const requirement = view.signature;
  const tokenRequired = requirement.hardwareToken || requirement.userVerification;
  const credentialId = chosen ?? tokens.at(-1)?.credentialId;

  const decide = (decision: 'confirm' | 'decline') => {
    if (busy) return;
    setBusy(decision);
    setNotice(null);
    const call =
      decision === 'confirm'
        ? callOperation('confirmDeal', { dealId, ...(method === 'cheque' ? { method } : anonymous ? { anonymous: true } : {}) })
        : callOperation('rejectDeal', { dealId });
    // A confirmation the worker accepted turns this window into the result screen; a decline ends the deal and
    // the worker closes the window; a refusal leaves the deal open.
    call.then(
      () => decision === 'confirm' && enterResult(),
      (e: unknown) => {
        setBusy(undefined);
        setNotice(explainConfirmError(e));
      },
    );
  };

  const signWithToken = () => {
    if (busy) return;
    setBusy('token');
    setNotice(null);
    signOrderWithToken(dealId, credentialId).then(
      () => {
        setBusy('confirm');
        enterResult();
      },
      (e: unknown) => {
        setBusy(undefined);
        setNotice(explainTokenSigningError(e, requirement.userVerification));
      },
    );
  };

  return (
    <>
      {view.paymentMethods.includes('cheque') && view.cheque ? (
        <fieldset class="panel methods" id="pay-methods">
          <legend>{t('twPayMethod')}</legend>
          {(['invoice', 'cheque'] as const).map((m) => (
            <div class="method" key={m}>
              <input
                type="radio"
                name="pay-method"
                id={`pay-${m}`}
                value={m}
                checked={method === m}
                disabled={busy !== undefined || (m === 'cheque' && tokenRequired)}
                onChange={() => {
                  setMethod(m);
                  if (m === 'cheque') setAnonymous(false);
                }}
              />
              <label for={`pay-${m}`}>{t(m === 'cheque' ? 'twMethodCheque' : 'twMethodInvoice')}</label>
            </div>
          ))}
          <p class="note" id="pay-cheque-note">
            <SafeText text={t('twChequeNote', view.cheque.bank.url)} />
          </p>
        </fieldset>
      ) : null}
      <section class="panel signing" aria-labelledby="tw-signing">
        <h2 id="tw-signing">{t('twSigning')}</h2>
        {tokenRequired ? (
          <div id="token-required" class="token-required">
            <p>
              <strong>{requirement.userVerification ? t('twTokenRequiredUv') : t('twTokenRequired')}</strong>
            </p>
            <ul id="token-reasons">
              {requirement.because.includes('merchant') ? <li data-reason="merchant">{t('twTokenBecauseMerchant')}</li> : null}
              {requirement.because.includes('amount') ? (
                <li data-reason="amount">
                  {status?.hardwareTokenAbove ? t('twTokenBecauseAmount', formatMoney(status.hardwareTokenAbove)) : t('twTokenBecauseAmountPlain')}
                </li>
              ) : null}
            </ul>
          </div>
        ) : (
          <>
            <p class="note" id="signing-key-note">
              {anonymous ? t('twSignedWithPseudonym') : t('twSignedWithDeviceKey')}
            </p>
            {/* Two ways to confirm once a token is registered: say what each does. */}
            {tokens.length > 0 && !anonymous ? (
              <p class="note" id="two-ways">
                {t('twTwoWays')}
              </p>
            ) : null}
          </>
        )}

        {tokens.length > 1 ? (
          <>
            <label for="token-select">{t('twChooseToken')}</label>
            <select id="token-select" value={credentialId} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              {tokens.map((tok) => (
                <option key={tok.credentialId} value={tok.credentialId}>
                  {tok.label}
                </option>
              ))}
            </select>
          </>
        ) : null}

        {status && tokens.length === 0 && tokenRequired ? (
          registering ? (
            <TokenRegistration autoFocus onRegistered={() => setRegistering(false)} />
          ) : (
            <>
              <p class="error" id="no-token">
                {t('twNoToken')}
              </p>
              <button type="button" id="register-token-inline" onClick={() => setRegistering(true)}>
                {t('tokRegister')}
              </button>
            </>
          )
        ) : null}

        {!tokenRequired ? (
          <div class="check">
            <input
              type="checkbox"
              id="anonymous"
              checked={anonymous}
              disabled={busy !== undefined || method === 'cheque'}
              onChange={(e) => setAnonymous((e.target as HTMLInputElement).checked)}
              aria-describedby="anonymous-note"
            />
            <label for="anonymous">{t('twAnonymous')}</label>
            <p class="note" id="anonymous-note">
              {t('twAnonymousNote')}
            </p>
          </div>
        ) : null}
      </section>

      {notice ? (
        <p role="alert" class="error notice" id="tw-notice">
          <SafeText text={notice} />
        </p>
      ) : null}

      <DecisionActions
        declineRef={declineRef}
        disabled={busy !== undefined}
        onDecline={() => decide('decline')}
        summary={summary}
        progress={
          <Progress text={busy === undefined ? null : busy === 'token' ? t('twTokenWaiting') : busy === 'confirm' ? t('twSending') : t('twDeclining')} />
        }
      >
        {tokens.length > 0 ? (
          <button
            type="button"
            id="sign-with-token"
            class={tokenRequired ? 'primary' : undefined}
            disabled={busy !== undefined || !armed || anonymous}
            title={anonymous ? t('twTokenNotAnonymous') : undefined}
            onClick={signWithToken}
          >
            {t('twSignWithToken')}
          </button>
        ) : null}
        {!tokenRequired ? (
          <ConfirmButton disabled={busy !== undefined || !armed} onConfirm={() => decide('confirm')}>
            {anonymous ? t('twConfirmAnonymous') : t('twConfirm')}
          </ConfirmButton>
        ) : null}
      </DecisionActions>
    </>
  );
}
