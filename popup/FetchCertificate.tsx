/**
 * Trust a CA root, a TTP, an arbiter or a TSA by its address: fetch the certificate, show its name and fingerprint, and
 * trust it only after the shopper confirms the fingerprint matches one got another way (what
 * `npm start` prints, what the operator publishes). Nothing is trusted by fetching.
 */
import { useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { FetchedCertificate } from '../extension/settings/fetch-certificate.js';
import { formatDateTime, t } from '../extension/ui/i18n.js';
import { CertifiedName } from '../extension/ui/safe-text.js';
import { Alert, message } from './components.js';

const LABELS = {
  ca: { url: 'fcCaUrl', trust: 'fcTrustCa', placeholder: 'http://127.0.0.1:8450' },
  ttp: { url: 'fcTtpUrl', trust: 'fcTrustTtp', placeholder: 'http://127.0.0.1:8452' },
  arbiter: { url: 'fcArbiterUrl', trust: 'fcTrustArbiter', placeholder: 'http://127.0.0.1:8455' },
  tsa: { url: 'fcTsaUrl', trust: 'fcTrustTsa', placeholder: 'http://127.0.0.1:8454' },
} as const;

export function FetchCertificate({
  party: role,
  onTrust,
}: {
  party: 'ca' | 'ttp' | 'arbiter' | 'tsa';
  onTrust(fetched: FetchedCertificate): Promise<unknown>;
}) {
  const [url, setUrl] = useState('');
  const [fetched, setFetched] = useState<FetchedCertificate | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `fetch-${role}`;
  const fetchIt = (event: Event) => {
    event.preventDefault();
    setError(null);
    setFetched(null);
    setBusy(true);
    callOperation('settings.fetchCertificate', { role, url }).then(
      (f) => {
        setBusy(false);
        setFetched(f);
      },
      (e: unknown) => {
        setBusy(false);
        setError(t('fcError', message(e)));
      },
    );
  };
  const trust = () => {
    if (!fetched) return;
    setBusy(true);
    onTrust(fetched).then(
      () => {
        setBusy(false);
        setFetched(null);
        setUrl('');
      },
      (e: unknown) => {
        setBusy(false);
        setError(t('fcError', message(e)));
      },
    );
  };
  return (
    <div class="fetch-certificate" id={id}>
      <form onSubmit={fetchIt}>
        <label for={`${id}-url`}>{t(LABELS[role].url)}</label>
        <input
          id={`${id}-url`}
          type="url"
          value={url}
          spellcheck={false}
          placeholder={LABELS[role].placeholder}
          onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
        />
        <button type="submit" id={`${id}-go`} disabled={busy || url.trim() === ''}>
          {t('fcFetch')}
        </button>
      </form>
      {fetched ? (
        <section class="fetched panel" id={`${id}-result`} aria-labelledby={`${id}-result-heading`}>
          <h3 id={`${id}-result-heading`}>{t('fcCompare')}</h3>
          <dl>
            <dt>{t('fcName')}</dt>
            <dd>
              <CertifiedName name={fetched.commonName} />
            </dd>
            <dt>{t('fcFingerprint')}</dt>
            <dd class="mono" id={`${id}-fingerprint`}>
              {fetched.fingerprint}
            </dd>
            <dt>{t('popValidUntil')}</dt>
            <dd>{formatDateTime(fetched.notAfter)}</dd>
          </dl>
          <p class="note">{t('fcCompareNote')}</p>
          <button type="button" class="primary" id={`${id}-trust`} disabled={busy} onClick={trust}>
            {t(LABELS[role].trust)}
          </button>{' '}
          <button type="button" onClick={() => setFetched(null)} disabled={busy}>
            {t('fcCancel')}
          </button>
        </section>
      ) : null}
      <Alert text={error} />
    </div>
  );
}
