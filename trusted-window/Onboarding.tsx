/**
 * Setting up Semper in the trusted window: (1) the device identity (a non-extractable key made in
 * the worker), (2) the security phrase and picture every trusted-window screen shows from then on,
 * (3) registration with a CA (one-time code → certificate for the identity key), (4) optionally a
 * hardware security key. Opened from the popup ("Set up Semper"), and automatically before the
 * first offer when no phrase has been chosen yet, continuing to the offer afterwards.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { callOperation, OperationError } from '../extension/operations/client.js';
import type { KeySummary } from '../extension/identity/key-store.js';
import { EMBLEMS, Emblem } from '../extension/ui/emblems.js';
import { t } from '../extension/ui/i18n.js';
import { TrustedHeader, identityChanged, useIdentityStatus } from './identity.js';
import { TokenRegistration } from './tokens.js';

type Step = 'identity' | 'personalise' | 'certify' | 'token' | 'done';
const STEPS = ['identity', 'personalise', 'certify', 'token'] as const;
const PHRASE_MIN = 3;
const PHRASE_MAX = 64;

function explain(e: unknown): string {
  if (e instanceof OperationError) {
    if (e.code === 'ERR_REGISTRATION_CODE') return t('obErrCode');
    if (e.code === 'ERR_RATE_LIMITED') return t('obErrRateLimited');
    return t('twActionFailed', `${e.code}: ${e.message}`);
  }
  return t('twActionFailed', e instanceof Error ? e.message : String(e));
}

export function Onboarding({ forDeal, onDone }: { forDeal: boolean; onDone(): void }) {
  const state = useIdentityStatus();
  const [step, setStep] = useState<Step>('identity');
  const [identity, setIdentity] = useState<KeySummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [phrase, setPhrase] = useState('');
  const [picture, setPicture] = useState<number | null>(null);
  const [caUrl, setCaUrl] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const headingRef = useRef<HTMLHeadingElement>(null);

  const status = state.kind === 'ready' ? state.status : undefined;
  useEffect(() => {
    if (status && caUrl === null) setCaUrl(status.caUrl);
    if (status?.identity && identity === null) setIdentity(status.identity);
  }, [status]);
  // Each step starts at its heading, for keyboard and screen-reader users alike.
  useEffect(() => headingRef.current?.focus(), [step]);

  const run = async (fn: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  const createIdentity = () =>
    run(async () => {
      const r = await callOperation('identity.create', {});
      setIdentity(r.identity);
      identityChanged();
      setStep('personalise');
    });

  const phraseLength = [...phrase.trim()].length;
  const phraseOk = phraseLength >= PHRASE_MIN && phraseLength <= PHRASE_MAX;
  const savePersonalisation = (event: Event) => {
    event.preventDefault();
    if (!phraseOk) return setError(t('obErrPhrase'));
    if (picture === null) return setError(t('obErrPicture'));
    void run(async () => {
      await callOperation('identity.personalise', { phrase, picture });
      identityChanged();
      setStep('certify');
    });
  };

  const register = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const r = await callOperation('identity.register', { caUrl: caUrl ?? '', registrationCode: code });
      setIdentity(r.identity);
      setCode('');
      identityChanged();
    });
  };

  const finish = () => {
    setStep('done');
    onDone();
  };

  const index = STEPS.indexOf(step as (typeof STEPS)[number]);
  const certificate = identity?.certificate;
  return (
    <main class="tw onboarding" aria-labelledby="ob-title">
      <TrustedHeader />
      <h1 id="ob-title">{t('obHeading')}</h1>
      {forDeal ? (
        <p class="note" id="ob-for-deal">
          {t('obForDeal')}
        </p>
      ) : null}
      {index >= 0 ? (
        <ol class="steps" aria-label={t('obProgress')}>
          {STEPS.map((s, i) => (
            <li key={s} class={i === index ? 'current' : i < index ? 'done' : ''} aria-current={i === index ? 'step' : undefined}>
              {t(`obStep_${s}`)}
            </li>
          ))}
        </ol>
      ) : null}

      {step === 'identity' ? (
        <section class="panel" aria-labelledby="ob-heading">
          <h2 id="ob-heading" tabIndex={-1} ref={headingRef}>
            {t('obIdentityHeading')}
          </h2>
          <p>{t('obIdentityExplain')}</p>
          {identity ? (
            <p>
              {t('obIdentityExists')} <code id="identity-key-id">{identity.keyId}</code>
            </p>
          ) : null}
          <button type="button" id="create-identity" class="primary" disabled={busy} onClick={createIdentity}>
            {identity ? t('obNext') : t('obCreateIdentity')}
          </button>
        </section>
      ) : null}

      {step === 'personalise' ? (
        <form class="panel" aria-labelledby="ob-heading" onSubmit={savePersonalisation} noValidate>
          <h2 id="ob-heading" tabIndex={-1} ref={headingRef}>
            {t('obPersonaliseHeading')}
          </h2>
          <p>{t('obPersonaliseExplain')}</p>
          <label for="phrase">{t('obPhraseLabel')}</label>
          <input
            id="phrase"
            type="text"
            autoComplete="off"
            spellcheck={false}
            maxLength={PHRASE_MAX}
            value={phrase}
            aria-describedby="phrase-hint"
            aria-invalid={phrase !== '' && !phraseOk}
            onInput={(e) => setPhrase((e.target as HTMLInputElement).value)}
          />
          <p class="note" id="phrase-hint">
            {t('obPhraseHint', String(PHRASE_MIN), String(PHRASE_MAX))}
          </p>
          <fieldset class="emblems">
            <legend>{t('obPictureLabel')}</legend>
            <div class="emblem-grid" id="emblems">
              {EMBLEMS.map((_, i) => (
                <label key={i} class={`emblem-choice${picture === i ? ' chosen' : ''}`} for={`emblem-${i}`}>
                  <input type="radio" name="emblem" id={`emblem-${i}`} value={i} checked={picture === i} onChange={() => setPicture(i)} />
                  <Emblem index={i} size={52} />
                </label>
              ))}
            </div>
          </fieldset>
          <button type="submit" id="save-personalisation" class="primary" disabled={busy}>
            {t('obSavePersonalisation')}
          </button>
        </form>
      ) : null}

      {step === 'certify' ? (
        <section class="panel" aria-labelledby="ob-heading">
          <h2 id="ob-heading" tabIndex={-1} ref={headingRef}>
            {t('obCertifyHeading')}
          </h2>
          <p>{t('obCertifyExplain')}</p>
          {certificate ? (
            <div role="status" class="ok-box">
              <p>
                {t('obCertifiedAs')} <strong id="certified-name">{certificate.name}</strong>
              </p>
              <p class="note">
                {t('obSerial')} <code id="certificate-serial">{certificate.serial}</code>
              </p>
              {!certificate.trusted ? (
                <p class="error" id="certificate-untrusted">
                  {t('obCertUntrusted')}
                </p>
              ) : null}
            </div>
          ) : (
            <form onSubmit={register}>
              <label for="ca-url">{t('obCaUrl')}</label>
              <input id="ca-url" type="url" value={caUrl ?? ''} onInput={(e) => setCaUrl((e.target as HTMLInputElement).value)} />
              <label for="registration-code">{t('obCode')}</label>
              <input
                id="registration-code"
                type="text"
                autoComplete="off"
                spellcheck={false}
                value={code}
                aria-describedby="code-hint"
                onInput={(e) => setCode((e.target as HTMLInputElement).value)}
              />
              <p class="note" id="code-hint">
                {t('obCodeHint')}
              </p>
              <button type="submit" id="register" class="primary" disabled={busy || code.trim() === ''}>
                {busy ? t('obRegistering') : t('obRegister')}
              </button>
            </form>
          )}
          <div class="actions">
            <button
              type="button"
              id={certificate ? 'certify-next' : 'skip-registration'}
              class={certificate ? 'primary' : undefined}
              onClick={() => setStep('token')}
            >
              {certificate ? t('obNext') : t('obLater')}
            </button>
          </div>
        </section>
      ) : null}

      {step === 'token' ? (
        <section class="panel" aria-labelledby="ob-heading">
          <h2 id="ob-heading" tabIndex={-1} ref={headingRef}>
            {t('obTokenHeading')}
          </h2>
          <p>{t('obTokenExplain')}</p>
          <TokenRegistration />
          <div class="actions">
            <button type="button" id="finish-setup" class="primary" onClick={finish}>
              {forDeal ? t('obContinueToOffer') : t('obFinish')}
            </button>
          </div>
        </section>
      ) : null}

      {step === 'done' && !forDeal ? (
        <section class="panel" aria-labelledby="ob-heading">
          <h2 id="ob-heading" tabIndex={-1} ref={headingRef}>
            {t('obDoneHeading')}
          </h2>
          <p id="setup-done">{t('obDone')}</p>
          <button type="button" onClick={() => window.close()}>
            {t('obCloseWindow')}
          </button>
        </section>
      ) : null}

      {error ? (
        <p role="alert" class="error" id="ob-error">
          {error}
        </p>
      ) : null}
    </main>
  );
}

/**
 * Before a deal's offer: if the shopper has not chosen a security phrase yet (first purchase),
 * run the setup first, then show the offer.
 */
export function OnboardingGate({ children }: { children: ComponentChildren }) {
  const state = useIdentityStatus();
  // Decided once, on the first answer: choosing the phrase mid-setup must not skip the later steps.
  const [setup, setSetup] = useState<'unknown' | 'needed' | 'not-needed'>('unknown');
  useEffect(() => {
    if (setup !== 'unknown' || state.kind === 'loading') return;
    setSetup(state.kind === 'ready' && !state.status.personalised ? 'needed' : 'not-needed');
  }, [state, setup]);
  if (setup === 'unknown') return null;
  if (setup === 'needed') return <Onboarding forDeal onDone={() => setSetup('not-needed')} />;
  return <>{children}</>;
}

/** The setup window opened from the popup. */
export function SetupPage() {
  return <Onboarding forDeal={false} onDone={() => undefined} />;
}

/** The token-registration window opened from the popup's settings. */
export function TokenPage() {
  return (
    <main class="tw" aria-labelledby="tok-heading">
      <TrustedHeader />
      <TokenRegistration autoFocus />
      <div class="actions">
        <button type="button" id="close-token-window" onClick={() => window.close()}>
          {t('obCloseWindow')}
        </button>
      </div>
    </main>
  );
}
