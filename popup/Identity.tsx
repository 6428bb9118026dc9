/**
 * The popup's identity settings: setup (opens the trusted window), the security phrase and
 * picture, the keys (purpose, status; replace the identity key; revoke a certificate at its CA),
 * the security keys (register opens the trusted window; remove); and the hardware-token limit
 * (ThresholdSettings, shown in the Settings section).
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { IdentityStatus } from '../extension/identity/service.js';
import type { KeyStatus, KeySummary } from '../extension/identity/key-store.js';
import { Emblem } from '../extension/ui/emblems.js';
import { formatDateTime, t, uiLocale, type MessageKey } from '../extension/ui/i18n.js';
import { Alert, ErrorAlert, message } from './components.js';

const REASONS = ['keyCompromise', 'superseded', 'affiliationChanged', 'cessationOfOperation', 'unspecified'] as const;
type Reason = (typeof REASONS)[number];
const REASON_KEYS: Record<Reason, MessageKey> = {
  unspecified: 'reasonUnspecified',
  keyCompromise: 'reasonKeyCompromise',
  affiliationChanged: 'reasonAffiliationChanged',
  superseded: 'reasonSuperseded',
  cessationOfOperation: 'reasonCessationOfOperation',
};
const STATUS_KEYS: Record<KeyStatus, MessageKey> = { active: 'keyStatusActive', rotated: 'keyStatusRotated', revoked: 'keyStatusRevoked' };

function purposeLabel(k: KeySummary): string {
  if (k.purpose === 'pseudonym') return t('purposePseudonym', k.origin ?? '?');
  if (k.purpose === 'account') return t('purposeAccount', k.origin ?? '?');
  return k.purpose === 'identity' ? t('purposeIdentity') : t('purposeOrderSigning');
}

/** "100.00" / "100,00" → 10000 minor units (EUR has two digits); undefined if not an amount. */
export function parseAmount(text: string): number | undefined {
  const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}

export function IdentitySettings() {
  const [status, setStatus] = useState<IdentityStatus | null>(null);
  const [keys, setKeys] = useState<KeySummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    Promise.all([callOperation('identity.status', {}), callOperation('keys.list', {})]).then(
      ([s, k]) => {
        setStatus(s);
        setKeys(k.keys);
      },
      (e: unknown) => setError(message(e)),
    );
  }, []);
  useEffect(reload, [reload]);

  const act = (p: Promise<unknown>) => {
    setError(null);
    p.then(reload, (e: unknown) => setError(t('popError', message(e))));
  };
  const open = (view: 'setup' | 'token') => act(callOperation('identity.openSetup', { view }));

  const identity = status?.identity;
  return (
    <>
      <section class="panel" aria-labelledby="identity-heading" id="identity">
        <h2 id="identity-heading">{t('popIdentity')}</h2>
        {status?.personalisation ? (
          <div class="phrase-row">
            <Emblem index={status.personalisation.picture} size={36} />
            <div>
              <div class="note">{t('twYourPhrase')}</div>
              <strong id="popup-phrase">{status.personalisation.phrase}</strong>
            </div>
          </div>
        ) : status ? (
          <p class="note" id="not-set-up">
            {t('popNotSetUp')}
          </p>
        ) : null}
        <dl>
          <dt>{t('popDeviceKey')}</dt>
          <dd class="mono" id="device-key-id">
            {identity?.keyId ?? '…'}
          </dd>
          <dt>{t('popCertificate')}</dt>
          <dd id="identity-certificate">{identity?.certificate ? `${identity.certificate.name} (${identity.certificate.serial})` : t('popNotCertified')}</dd>
        </dl>
        <button type="button" id="setup-semper" onClick={() => open('setup')}>
          {t('popSetup')}
        </button>
      </section>

      <KeyList keys={keys} act={act} />

      <section class="panel" aria-labelledby="tokens-heading" id="tokens">
        <h2 id="tokens-heading">{t('popTokens')}</h2>
        {status && status.tokens.length === 0 ? <p class="note">{t('popNoTokens')}</p> : null}
        <ul class="plain" id="token-list">
          {(status?.tokens ?? []).map((tok) => (
            <li key={tok.credentialId} data-credential={tok.credentialId}>
              <strong>{tok.label}</strong>{' '}
              <span class="note">
                ({tok.userVerifiedAtRegistration ? t('popTokenUv') : t('popTokenNoUv')}, {formatDateTime(tok.createdAt)})
              </span>
              <button
                type="button"
                aria-label={`${t('popRemoveToken')}: ${tok.label}`}
                onClick={() => act(callOperation('tokens.remove', { credentialId: tok.credentialId }))}
              >
                {t('popRemoveToken')}
              </button>
            </li>
          ))}
        </ul>
        <button type="button" id="register-token-popup" onClick={() => open('token')}>
          {t('popRegisterToken')}
        </button>
      </section>

      <Alert text={error} id="identity-error" />
    </>
  );
}

function KeyList({ keys, act }: { keys: KeySummary[]; act(p: Promise<unknown>): void }) {
  const [rotating, setRotating] = useState(false);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [reason, setReason] = useState<Reason>('keyCompromise');
  return (
    <section class="panel" aria-labelledby="keys-heading" id="keys">
      <h2 id="keys-heading">{t('popKeys')}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('popColPurpose')}</th>
            <th scope="col">{t('popColKeyStatus')}</th>
            <th scope="col">{t('popColKey')}</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.keyId} data-key={k.keyId} data-purpose={k.purpose} data-status={k.status}>
              <td>
                {purposeLabel(k)}
                {k.certificate ? <div class="note">{`${k.certificate.name} (${k.certificate.serial})`}</div> : null}
              </td>
              <td>{t(STATUS_KEYS[k.status])}</td>
              <td class="mono">
                {k.keyId.slice(0, 12)}…
                {k.certificate && k.status !== 'revoked' ? (
                  revoking === k.keyId ? (
                    <div class="revoke">
                      <label for={`reason-${k.keyId}`}>{t('popRevokeReason')}</label>
                      <select id={`reason-${k.keyId}`} value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value as Reason)}>
                        {REASONS.map((r) => (
                          <option key={r} value={r}>
                            {t(REASON_KEYS[r])}
                          </option>
                        ))}
                      </select>
                      <button
                        type="button"
                        class="danger"
                        onClick={() => act(callOperation('keys.revoke', { keyId: k.keyId, reason }).finally(() => setRevoking(null)))}
                      >
                        {t('popRevokeConfirm')}
                      </button>
                      <button type="button" onClick={() => setRevoking(null)}>
                        {t('popCancel')}
                      </button>
                    </div>
                  ) : (
                    <div>
                      <button type="button" aria-label={`${t('popRevoke')}: ${k.certificate.name}`} onClick={() => setRevoking(k.keyId)}>
                        {t('popRevoke')}
                      </button>
                    </div>
                  )
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rotating ? (
        <fieldset class="inline-question">
          <legend id="rotate-question">{t('popRotateConfirm')}</legend>
          <button type="button" class="danger" id="rotate-yes" onClick={() => act(callOperation('identity.rotate', {}).finally(() => setRotating(false)))}>
            {t('popRotateYes')}
          </button>{' '}
          <button type="button" onClick={() => setRotating(false)}>
            {t('popCancel')}
          </button>
        </fieldset>
      ) : (
        <button type="button" id="rotate-identity" onClick={() => setRotating(true)}>
          {t('popRotate')}
        </button>
      )}
    </section>
  );
}

/** Minor units (two digits, EUR) as the UI locale writes a plain amount, without currency sign. */
function amountText(minor: number): string {
  return new Intl.NumberFormat(uiLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false }).format(minor / 100);
}

/** The hardware-token limit on its own (the Settings section): loads the identity's status itself. */
export function ThresholdSettings() {
  const [status, setStatus] = useState<IdentityStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    callOperation('identity.status', {}).then(setStatus, (e: unknown) => setError(message(e)));
  }, []);
  useEffect(reload, [reload]);
  if (error) return <ErrorAlert error={error} id="threshold-error" />;
  if (!status) return null;
  return (
    <>
      <Threshold status={status} onSaved={reload} />
      {/* Firefox only: the worker reports the RP ID there (Chromium's is the extension origin, not a setting). */}
      {status.tokenRpId !== undefined ? <TokenRpId current={status.tokenRpId} onSaved={reload} /> : null}
    </>
  );
}

/** Firefox: the web domain new security keys are registered for (ShopperSettings.tokenRpId; empty: the CA's). */
function TokenRpId({ current, onSaved }: { current: string | null; onSaved(): void }) {
  const [text, setText] = useState(current ?? '');
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const save = (event: Event) => {
    event.preventDefault();
    const value = text.trim();
    callOperation('settings.set', { tokenRpId: value === '' ? null : value }).then(
      (r) => {
        setText(r.tokenRpId ?? '');
        setNote({ ok: true, text: t('popSaved') });
        onSaved();
      },
      (e: unknown) => setNote({ ok: false, text: t('popError', message(e)) }),
    );
  };
  return (
    <form class="panel" aria-labelledby="token-rp-id-heading" id="token-rp-id" onSubmit={save}>
      <h2 id="token-rp-id-heading">{t('popTokenRpId')}</h2>
      <label for="token-rp-id-value">{t('popTokenRpIdLabel')}</label>
      <input
        id="token-rp-id-value"
        type="text"
        spellcheck={false}
        autoComplete="off"
        value={text}
        aria-describedby="token-rp-id-hint"
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
      />
      <p class="note" id="token-rp-id-hint">
        {current === null ? t('popTokenRpIdMissing') : t('popTokenRpIdHint')}
      </p>
      <button type="submit" id="save-token-rp-id">
        {t('popSave')}
      </button>
      {note ? (
        <p role={note.ok ? 'status' : 'alert'} class={note.ok ? 'ok' : 'error'} id="token-rp-id-note">
          {note.text}
        </p>
      ) : null}
    </form>
  );
}

function Threshold({ status, onSaved }: { status: IdentityStatus; onSaved(): void }) {
  const limit = status.hardwareTokenAbove;
  const [none, setNone] = useState(limit === null);
  // In the shopper's own notation (100,00 in German); parseAmount reads both separators.
  const [text, setText] = useState(amountText(limit ? limit.amount : 10_000));
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const save = (event: Event) => {
    event.preventDefault();
    const amount = parseAmount(text);
    if (!none && amount === undefined) return setNote({ ok: false, text: t('popThresholdInvalid') });
    callOperation('settings.set', { hardwareTokenAbove: none ? null : { amount: amount!, currency: 'EUR' } }).then(
      () => {
        setNote({ ok: true, text: t('popSaved') });
        onSaved();
      },
      (e: unknown) => setNote({ ok: false, text: t('popError', message(e)) }),
    );
  };
  return (
    <form class="panel" aria-labelledby="threshold-heading" id="threshold" onSubmit={save}>
      <h2 id="threshold-heading">{t('popThreshold')}</h2>
      <label for="threshold-amount">{t('popThresholdLabel')}</label>
      <input
        id="threshold-amount"
        type="text"
        inputMode="decimal"
        value={text}
        disabled={none}
        aria-describedby="threshold-hint"
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
      />
      <p class="note" id="threshold-hint">
        {t('popThresholdHint')}
      </p>
      <div class="check">
        <input type="checkbox" id="threshold-none" checked={none} onChange={(e) => setNone((e.target as HTMLInputElement).checked)} />
        <label for="threshold-none">{t('popThresholdNone')}</label>
      </div>
      <button type="submit" id="save-threshold">
        {t('popSave')}
      </button>
      {note ? (
        <p role={note.ok ? 'status' : 'alert'} class={note.ok ? 'ok' : 'error'} id="threshold-note">
          {note.text}
        </p>
      ) : null}
    </form>
  );
}
