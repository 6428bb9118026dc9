/** The toolbar popup: purchases with their evidence, trusted roots, the device key id. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations-client.js';
import type { DealSummary, OperationResponses, RootSummary } from '../extension/operations.js';
import { formatDateTime, formatMoney, statusLabel, t } from '../extension/ui/i18n.js';
import { IdentitySettings } from './Identity.js';
import { Exchanges, TtpSettings } from './Exchanges.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function App() {
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <main class="popup">
      <header class="popup-header">
        <h1>{t('popTitle')}</h1>
      </header>
      {selected ? <DealDetail dealId={selected} onBack={() => setSelected(null)} /> : <DealList onOpen={setSelected} />}
      <Exchanges />
      <Settings />
      <TtpSettings />
      <IdentitySettings />
    </main>
  );
}

function DealList({ onOpen }: { onOpen(dealId: string): void }) {
  const [deals, setDeals] = useState<DealSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('listDeals', {}).then(
      (r) => setDeals(r.deals),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  return (
    <section class="panel" aria-labelledby="deals-heading" id="deals">
      <h2 id="deals-heading">{t('popDeals')}</h2>
      {error ? <p role="alert" class="error">{t('popError', error)}</p> : null}
      {deals === null ? null : deals.length === 0 ? (
        <p class="note">{t('popNoDeals')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('popColMerchant')}</th>
              <th scope="col" class="num">{t('popColTotal')}</th>
              <th scope="col">{t('popColStatus')}</th>
              <th scope="col">{t('popColDate')}</th>
            </tr>
          </thead>
          <tbody>
            {deals.map((d) => (
              <tr key={d.dealId} data-deal={d.dealId} data-status={d.status}>
                <td>
                  <button type="button" class="link" aria-label={`${t('popOpenDeal')}: ${d.merchant ?? d.origin}`} onClick={() => onOpen(d.dealId)}>
                    {d.merchant ?? t('popUnknownMerchant')}
                  </button>
                  <div class="note mono">{d.origin}</div>
                </td>
                <td class="num">{d.total ? formatMoney(d.total) : '–'}</td>
                <td class={`status-${d.status}`}>{statusLabel(d.status)}</td>
                <td>{formatDateTime(d.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DealDetail({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const [deal, setDeal] = useState<OperationResponses['getDeal'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('getDeal', { dealId }).then(setDeal, (e: unknown) => setError(message(e)));
  }, [dealId]);
  return (
    <section class="panel" aria-labelledby="deal-heading" id="deal-detail">
      <button type="button" onClick={onBack}>
        ← {t('popBack')}
      </button>
      <h2 id="deal-heading">
        {t('popDeal')}: {deal?.deal.merchant ?? t('popUnknownMerchant')}
      </h2>
      {error ? <p role="alert" class="error">{t('popError', error)}</p> : null}
      {deal ? (
        <>
          <dl>
            <dt>{t('popOrigin')}</dt>
            <dd class="mono">{deal.deal.origin}</dd>
            <dt>{t('popColStatus')}</dt>
            <dd class={`status-${deal.deal.status}`}>{statusLabel(deal.deal.status)}</dd>
            {deal.deal.total ? (
              <>
                <dt>{t('popColTotal')}</dt>
                <dd>{formatMoney(deal.deal.total)}</dd>
              </>
            ) : null}
            <dt>{t('popColDate')}</dt>
            <dd>{formatDateTime(deal.deal.createdAt)}</dd>
            {deal.deal.error ? (
              <>
                <dt>{t('popReason')}</dt>
                <dd class="mono">
                  {deal.deal.error.code}: {deal.deal.error.message}
                </dd>
              </>
            ) : null}
          </dl>
          <h3>{t('popStatements')}</h3>
          <table id="statements">
            <thead>
              <tr>
                <th scope="col">{t('popColType')}</th>
                <th scope="col">{t('popColDirection')}</th>
                <th scope="col">{t('popColDigest')}</th>
              </tr>
            </thead>
            <tbody>
              {deal.statements.map((s) => (
                <tr key={s.digest} data-type={s.type}>
                  <td class="mono">{s.type}</td>
                  <td>{s.direction === 'sent' ? t('dirSent') : t('dirReceived')}</td>
                  <td class="mono">{s.digest}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>{t('popGoods')}</h3>
          {deal.goods.length === 0 ? (
            <p class="note">{t('popNoGoods')}</p>
          ) : (
            <ul id="goods">
              {deal.goods.map((g) => (
                <li key={g.sku}>
                  <strong>{g.title}</strong> <span class="note mono">({g.mediaType})</span>
                  {g.encoding === 'utf8' && g.mediaType.startsWith('text/') ? <pre class="good-text">{g.content.slice(0, 2000)}</pre> : null}
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
    </section>
  );
}

function Settings() {
  const [roots, setRoots] = useState<RootSummary[] | null>(null);
  const [pem, setPem] = useState('');
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    callOperation('settings.listRoots', {}).then(
      (r) => setRoots(r.roots),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  useEffect(reload, [reload]);
  const add = (event: Event) => {
    event.preventDefault();
    setError(null);
    callOperation('settings.addRoot', { certificate: pem }).then(
      () => {
        setPem('');
        reload();
      },
      (e: unknown) => setError(t('popRootError', message(e))),
    );
  };
  const remove = (fingerprint: string) => {
    callOperation('settings.removeRoot', { fingerprint }).then(reload, (e: unknown) => setError(message(e)));
  };
  return (
    <section class="panel" aria-labelledby="settings-heading" id="settings">
      <h2 id="settings-heading">{t('popSettings')}</h2>
      {roots !== null && roots.length === 0 ? <p class="note">{t('popRootsNone')}</p> : null}
      <ul id="roots">
        {(roots ?? []).map((r) => (
          <li key={r.fingerprint}>
            <strong>{r.commonName}</strong> <span class="note">({t('popValidUntil')} {formatDateTime(r.notAfter)})</span>
            <div class="mono note">{r.fingerprint}</div>
            <button type="button" onClick={() => remove(r.fingerprint)} aria-label={`${t('popRemoveRoot')}: ${r.commonName}`}>
              {t('popRemoveRoot')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add}>
        <label for="root-pem">{t('popAddRootLabel')}</label>
        <textarea id="root-pem" rows={4} value={pem} spellcheck={false} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
        <button type="submit" disabled={pem.trim() === ''}>
          {t('popAddRoot')}
        </button>
      </form>
      {error ? <p role="alert" class="error">{error}</p> : null}
    </section>
  );
}
