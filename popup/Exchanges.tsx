/**
 * The popup's exchange deals (certified mail, contract signing) with their outcome and evidence,
 * and the trusted TTPs setting.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations-client.js';
import type { OperationResponses } from '../extension/operations.js';
import type { ExchangeSummary, TtpSummary } from '../extension/exchange-operations.js';
import type { ExchangeStatus } from '../extension/exchange-store.js';
import { formatDateTime, t, type MessageKey } from '../extension/ui/i18n.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

const STATUS_KEYS: Record<ExchangeStatus, MessageKey> = {
  'requesting-descriptor': 'xsRequesting',
  'awaiting-confirmation': 'statusAwaitingConfirmation',
  exchanging: 'xsExchanging',
  completed: 'statusCompleted',
  resolved: 'xsResolved',
  aborted: 'xsAborted',
  failed: 'statusFailed',
  rejected: 'statusRejected',
};

export function exchangeStatusLabel(status: ExchangeStatus): string {
  return t(STATUS_KEYS[status]);
}

function useLabel(use: ExchangeSummary['use']): string {
  return use === 'contract-signing' ? t('xsUseContract') : t('xsUseMail');
}

export function Exchanges() {
  const [selected, setSelected] = useState<string | null>(null);
  return selected ? <ExchangeDetail dealId={selected} onBack={() => setSelected(null)} /> : <ExchangeList onOpen={setSelected} />;
}

function ExchangeList({ onOpen }: { onOpen(dealId: string): void }) {
  const [list, setList] = useState<ExchangeSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('listExchanges', {}).then(
      (r) => setList(r.exchanges),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  return (
    <section class="panel" aria-labelledby="exchanges-heading" id="exchanges">
      <h2 id="exchanges-heading">{t('xsExchanges')}</h2>
      {error ? (
        <p role="alert" class="error">
          {t('popError', error)}
        </p>
      ) : null}
      {list === null ? null : list.length === 0 ? (
        <p class="note">{t('xsNone')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('xsColWhat')}</th>
              <th scope="col">{t('popColStatus')}</th>
              <th scope="col">{t('popColDate')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((x) => (
              <tr key={x.dealId} data-deal={x.dealId} data-status={x.status} data-use={x.use}>
                <td>
                  <button type="button" class="link" aria-label={`${t('popOpenDeal')}: ${x.title ?? x.origin}`} onClick={() => onOpen(x.dealId)}>
                    {x.title ?? useLabel(x.use)}
                  </button>
                  <div class="note">
                    {useLabel(x.use)} · {x.merchant ?? x.origin}
                  </div>
                </td>
                <td class={`status-${x.status}`}>{exchangeStatusLabel(x.status)}</td>
                <td>{formatDateTime(x.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ExchangeDetail({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const [x, setX] = useState<OperationResponses['getExchange'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('getExchange', { dealId }).then(setX, (e: unknown) => setError(message(e)));
  }, [dealId]);
  const s = x?.exchange;
  return (
    <section class="panel" aria-labelledby="exchange-heading" id="exchange-detail">
      <button type="button" onClick={onBack}>
        ← {t('xsBack')}
      </button>
      <h2 id="exchange-heading">{s ? `${useLabel(s.use)}: ${s.title ?? ''}` : t('xsExchanges')}</h2>
      {error ? (
        <p role="alert" class="error">
          {t('popError', error)}
        </p>
      ) : null}
      {x && s ? (
        <>
          <dl>
            <dt>{t('popColMerchant')}</dt>
            <dd>{s.merchant ?? '–'}</dd>
            <dt>{t('popOrigin')}</dt>
            <dd class="mono">{s.origin}</dd>
            <dt>{t('popColStatus')}</dt>
            <dd class={`status-${s.status}`} id="exchange-status">
              {exchangeStatusLabel(s.status)}
            </dd>
            {s.ttp ? (
              <>
                <dt>{t('xwTtp')}</dt>
                <dd>{s.ttp}</dd>
              </>
            ) : null}
            {s.exchangeId ? (
              <>
                <dt>{t('xsExchangeId')}</dt>
                <dd class="mono">{s.exchangeId}</dd>
              </>
            ) : null}
            {s.error ? (
              <>
                <dt>{t('popReason')}</dt>
                <dd class="mono">
                  {s.error.code}: {s.error.message}
                </dd>
              </>
            ) : null}
          </dl>
          {x.evidence.resolution ? (
            <p class="note" id="exchange-evidence">
              {x.evidence.affidavit ? t('xsEvidenceAffidavit') : t('xsEvidenceResolution')}
            </p>
          ) : x.evidence.abortToken ? (
            <p class="note" id="exchange-evidence">
              {t('xsEvidenceAbort')}
            </p>
          ) : null}
          {x.document ? (
            <>
              <h3>{x.document.title}</h3>
              {x.document.text !== undefined ? (
                <pre class="good-text" id="exchange-document">
                  {x.document.text.slice(0, 4000)}
                </pre>
              ) : (
                <p class="note mono">{x.document.mediaType}</p>
              )}
            </>
          ) : null}
          {x.contract ? (
            <>
              <h3>{x.contract.title}</h3>
              <pre class="good-text" id="exchange-contract">
                {x.contract.text}
              </pre>
            </>
          ) : null}
          <h3>{t('popStatements')}</h3>
          <table id="exchange-statements">
            <thead>
              <tr>
                <th scope="col">{t('popColType')}</th>
                <th scope="col">{t('popColDirection')}</th>
                <th scope="col">{t('popColDigest')}</th>
              </tr>
            </thead>
            <tbody>
              {x.statements.map((st) => (
                <tr key={st.digest} data-type={st.type}>
                  <td class="mono">{st.type}</td>
                  <td>{st.direction === 'sent' ? t('dirSent') : t('dirReceived')}</td>
                  <td class="mono">{st.digest}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

export function TtpSettings() {
  const [ttps, setTtps] = useState<TtpSummary[] | null>(null);
  const [pem, setPem] = useState('');
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    callOperation('settings.listTtps', {}).then(
      (r) => setTtps(r.ttps),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  useEffect(reload, [reload]);
  const add = (event: Event) => {
    event.preventDefault();
    setError(null);
    const text = pem.trim();
    // A bare 43-character value is a fingerprint; anything else a certificate.
    const which = /^[A-Za-z0-9_-]{43}$/.test(text) ? { fingerprint: text } : { certificate: text };
    callOperation('settings.addTtp', { ...which, url }).then(
      () => {
        setPem('');
        setUrl('');
        reload();
      },
      (e: unknown) => setError(t('xsTtpError', message(e))),
    );
  };
  const remove = (fingerprint: string) => {
    callOperation('settings.removeTtp', { fingerprint }).then(reload, (e: unknown) => setError(message(e)));
  };
  return (
    <section class="panel" aria-labelledby="ttp-settings-heading" id="ttp-settings">
      <h2 id="ttp-settings-heading">{t('xsTtps')}</h2>
      <p class="note">{t('xsTtpsNote')}</p>
      {ttps !== null && ttps.length === 0 ? <p class="note">{t('xsTtpsNone')}</p> : null}
      <ul id="ttps">
        {(ttps ?? []).map((x) => (
          <li key={x.fingerprint}>
            <strong>{x.commonName ?? t('xsTtpByFingerprint')}</strong> <span class="mono note">{x.url}</span>
            <div class="mono note">{x.fingerprint}</div>
            <button type="button" onClick={() => remove(x.fingerprint)} aria-label={`${t('popRemoveRoot')}: ${x.commonName ?? x.fingerprint}`}>
              {t('popRemoveRoot')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add}>
        <label for="ttp-pem">{t('xsTtpCertLabel')}</label>
        <textarea id="ttp-pem" rows={3} value={pem} spellcheck={false} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
        <label for="ttp-url-input">{t('xsTtpUrlLabel')}</label>
        <input id="ttp-url-input" type="url" value={url} spellcheck={false} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={pem.trim() === '' || url.trim() === ''}>
          {t('xsTtpAdd')}
        </button>
      </form>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
