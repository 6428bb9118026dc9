/**
 * The shopper's identity as the trusted window shows it: the security phrase and picture in a
 * header on every screen (offer, onboarding, token dialogs), so a look-alike window drawn by a
 * web page is recognisable. The phrase comes from the worker (extension pages only), never from
 * the page that asked for the deal.
 */
import { useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { IdentityStatus } from '../extension/identity/service.js';
import { Emblem } from '../extension/ui/emblems.js';
import { t } from '../extension/ui/i18n.js';

/** Fired on `window` after the identity changed (phrase set, certificate, token): headers reload. */
export const IDENTITY_CHANGED = 'semper-identity-changed';

export function identityChanged(): void {
  window.dispatchEvent(new Event(IDENTITY_CHANGED));
}

export type StatusState = { kind: 'loading' } | { kind: 'ready'; status: IdentityStatus } | { kind: 'error'; message: string };

export function useIdentityStatus(): StatusState {
  const [state, setState] = useState<StatusState>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    const load = () =>
      callOperation('identity.status', {}).then(
        (status) => live && setState({ kind: 'ready', status }),
        (e: unknown) => live && setState({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
      );
    void load();
    window.addEventListener(IDENTITY_CHANGED, load);
    return () => {
      live = false;
      window.removeEventListener(IDENTITY_CHANGED, load);
    };
  }, []);
  return state;
}

/** The header of every trusted-window screen: brand, the shopper's picture and security phrase. */
export function TrustedHeader() {
  const state = useIdentityStatus();
  const p = state.kind === 'ready' ? state.status.personalisation : undefined;
  return (
    <header class="brand">
      <div class="brand-row">
        <span class="brand-mark" aria-hidden="true">
          ◆
        </span>{' '}
        {t('twBrand')}
      </div>
      {p ? (
        <div class="phrase-row" id="security-phrase-box">
          <Emblem index={p.picture} size={46} id="security-emblem" />
          <div>
            <div class="phrase-label">{t('twYourPhrase')}</div>
            <div class="phrase" id="security-phrase" lang="">
              {p.phrase}
            </div>
          </div>
        </div>
      ) : state.kind === 'ready' ? (
        <p class="phrase-missing" id="security-phrase-missing">
          {t('twNoPhraseYet')}
        </p>
      ) : null}
      {p ? <p class="phrase-hint">{t('twPhraseHint')}</p> : null}
    </header>
  );
}
