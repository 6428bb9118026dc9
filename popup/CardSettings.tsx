/**
 * The saved card (extension/payments/card-payments.ts): the card adapter's address and an acquirer
 * card token (tok_…) — never a card number. The adapter operator's key is pinned when the card is
 * saved and shown by its fingerprint; fair purchases whose offer names that adapter can pay by card.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { CardSummary } from '../extension/payments/card-payments.js';
import { t } from '../extension/ui/i18n.js';
import { Alert, message } from './components.js';

export function CardSettings() {
  const [card, setCard] = useState<CardSummary | null | undefined>(undefined);
  const [url, setUrl] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    callOperation('settings.getCard', {}).then(
      (r) => setCard(r.card),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  useEffect(reload, [reload]);
  const save = (event: Event) => {
    event.preventDefault();
    setError(null);
    callOperation('settings.addCard', { adapterUrl: url.trim(), token: token.trim() }).then(
      () => {
        setToken('');
        reload();
      },
      (e: unknown) => setError(message(e)),
    );
  };
  const remove = () => callOperation('settings.removeCard', {}).then(reload, (e: unknown) => setError(message(e)));
  return (
    <section class="panel" aria-labelledby="card-settings-heading" id="card-settings">
      <h2 id="card-settings-heading">{t('popCard')}</h2>
      <p class="note">{t('popCardNote')}</p>
      {card ? (
        <p id="saved-card">
          <span class="mono">{card.adapterUrl}</span> <span class="mono note">{card.token}</span>
          <span class="mono note"> {card.keyId}</span>{' '}
          <button type="button" id="remove-card" onClick={remove}>
            {t('popRemoveRoot')}
          </button>
        </p>
      ) : card === null ? (
        <p class="note">{t('popCardNone')}</p>
      ) : null}
      <form onSubmit={save}>
        <label for="card-adapter-url">{t('popCardAdapter')}</label>
        <input id="card-adapter-url" type="url" value={url} spellcheck={false} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <label for="card-token">{t('popCardToken')}</label>
        <input
          id="card-token"
          type="text"
          value={token}
          spellcheck={false}
          autocomplete="off"
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={url.trim() === '' || token.trim() === ''}>
          {t('popCardSave')}
        </button>
      </form>
      <Alert text={error} />
    </section>
  );
}
