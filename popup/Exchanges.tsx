/**
 * The popup's exchange deals (certified mail, contract signing) with their outcome and evidence,
 * and the trusted TTPs setting.
 */
import { FetchCertificate } from './FetchCertificate.js';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { ExchangeSummary, PageAfter, TtpSummary } from '../extension/operations/table.js';
import type { ExchangeDealPhase } from '../core/commerce/exchange-shopper.js';
import { formatDateTime, t, type MessageKey } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { visibleText } from '../core/text.js';
import { Alert, DetailPanel, ErrorReason, Field, ListPanel, OpenButton, StatementsTable, StatusCell, message, useLoaded, usePagedList } from './components.js';
import { DisputePanel } from './Dispute.js';
import { GuaranteePolicy } from './GuaranteePolicy.js';

const STATUS_KEYS: Record<ExchangeDealPhase, MessageKey> = {
  'requesting-descriptor': 'xsRequesting',
  'awaiting-confirmation': 'statusAwaitingConfirmation',
  exchanging: 'xsExchanging',
  'awaiting-ttp': 'xsAwaitingTtp',
  completed: 'statusCompleted',
  resolved: 'xsResolved',
  aborted: 'xsAborted',
  failed: 'statusFailed',
  rejected: 'statusRejected',
};

export function exchangeStatusLabel(status: ExchangeDealPhase): string {
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
  const {
    items: list,
    error,
    showOlder,
  } = usePagedList((after?: PageAfter) =>
    callOperation('listExchanges', after ? { after } : {}).then((r) => ({ rows: r.exchanges, ...(r.next ? { next: r.next } : {}) })),
  );
  return (
    <ListPanel
      id="exchanges"
      heading={t('xsExchanges')}
      error={error}
      items={list}
      {...(showOlder ? { showOlder } : {})}
      empty={t('xsNone')}
      columns={[{ label: t('xsColWhat') }, { label: t('popColStatus') }, { label: t('popColDate') }]}
      row={(x: ExchangeSummary) => (
        <tr key={x.dealId} data-deal={x.dealId} data-status={x.status} data-use={x.use}>
          <td>
            <OpenButton name={visibleText(x.title ?? x.origin)} onOpen={() => onOpen(x.dealId)}>
              {x.title ? <SafeText text={x.title} /> : useLabel(x.use)}
            </OpenButton>
            <div class="note">
              {useLabel(x.use)} · {x.merchant ? <CertifiedName name={x.merchant} /> : x.origin}
            </div>
          </td>
          <StatusCell status={x.status} label={exchangeStatusLabel(x.status)} />
          <td>{formatDateTime(x.createdAt)}</td>
        </tr>
      )}
    />
  );
}

function ExchangeDetail({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const { data: x, error } = useLoaded(() => callOperation('getExchange', { dealId }), [dealId]);
  const s = x?.exchange;
  return (
    <DetailPanel
      id="exchange-detail"
      headingId="exchange-heading"
      back={t('xsBack')}
      onBack={onBack}
      heading={
        s ? (
          <>
            {useLabel(s.use)}: <SafeText text={s.title ?? ''} />
          </>
        ) : (
          t('xsExchanges')
        )
      }
      error={error}
    >
      {x && s ? (
        <>
          <dl>
            <Field label={t('popColMerchant')}>{s.merchant ? <CertifiedName name={s.merchant} /> : '–'}</Field>
            <Field label={t('popOrigin')} class="mono">
              {s.origin}
            </Field>
            <Field label={t('popColStatus')} class={`status-${s.status}`} id="exchange-status">
              {exchangeStatusLabel(s.status)}
            </Field>
            {s.ttp ? (
              <Field label={t('xwTtp')}>
                <CertifiedName name={s.ttp} />
              </Field>
            ) : null}
            {s.exchangeId ? (
              <Field label={t('xsExchangeId')} class="mono">
                {s.exchangeId}
              </Field>
            ) : null}
            <ErrorReason error={s.error} />
          </dl>
          {s.status === 'awaiting-ttp' ? (
            <p class="note" id="exchange-awaiting-ttp">
              {t('xsAwaitingTtpNote')}
            </p>
          ) : null}
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
              <h3>
                <SafeText text={x.document.title} />
              </h3>
              {x.document.text !== undefined ? (
                // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable)
                <pre class="good-text" id="exchange-document" tabIndex={0}>
                  <SafeText text={x.document.text.slice(0, 4000)} multiline />
                </pre>
              ) : (
                <p class="note mono">{x.document.mediaType}</p>
              )}
            </>
          ) : null}
          {x.contract ? (
            <>
              <h3>
                <SafeText text={x.contract.title} />
              </h3>
              {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable) */}
              <pre class="good-text" id="exchange-contract" tabIndex={0}>
                <SafeText text={x.contract.text} multiline />
              </pre>
            </>
          ) : null}
          <StatementsTable id="exchange-statements" statements={x.statements} dealId={dealId} />
          <DisputePanel dealId={dealId} kind="exchange" status={x.exchange.status} />
        </>
      ) : null}
    </DetailPanel>
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
    <>
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
        <FetchCertificate party="ttp" onTrust={(f) => callOperation('settings.addTtp', { url: f.url, certificate: f.certificate }).then(reload)} />
        <form onSubmit={add}>
          <label for="ttp-pem">{t('xsTtpCertLabel')}</label>
          <textarea id="ttp-pem" rows={3} value={pem} spellcheck={false} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
          <label for="ttp-url-input">{t('xsTtpUrlLabel')}</label>
          <input id="ttp-url-input" type="url" value={url} spellcheck={false} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
          <button type="submit" disabled={pem.trim() === '' || url.trim() === ''}>
            {t('xsTtpAdd')}
          </button>
        </form>
        <Alert text={error} />
      </section>
      {/* Which of these may guarantee an exchange, and k: beside the list it chooses from (reloaded with it). */}
      {ttps !== null ? <GuaranteePolicy ttps={ttps} /> : null}
    </>
  );
}
