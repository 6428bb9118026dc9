/**
 * The toolbar popup, in four sections (tabs): Deals (notices, history, purchases, exchanges, fair
 * purchases with their evidence and disputes), Identity (phrase and picture, keys, security keys),
 * Trust (CA roots, TTPs, arbiters, TSAs) and Settings (the token limit, the wallet, the card).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { DealSummary, RootSummary } from '../extension/operations/table.js';
import { visibleText } from '../core/text.js';
import { formatDateTime, formatMoney, statusLabel, t, type MessageKey } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { IdentitySettings, ThresholdSettings } from './Identity.js';
import { SECTIONS, type Section, rememberSection, rememberedSection, sectionAfterKey, sectionOfHash } from './sections.js';
import { Exchanges, TtpSettings } from './Exchanges.js';
import { CardSettings } from './CardSettings.js';
import { Wallet } from './Wallet.js';
import { FairPurchases } from './FairPurchases.js';
import { FetchCertificate } from './FetchCertificate.js';
import { Notices } from './Notices.js';
import { DisputePanel } from './Dispute.js';
import { ArbiterSettings, TsaSettings } from './TrustedParties.js';
import { History } from './History.js';
import {
  Alert,
  DetailPanel,
  ErrorReason,
  Field,
  GoodsDownloads,
  ListPanel,
  OpenButton,
  StatementsTable,
  StatusCell,
  message,
  useLoaded,
  usePagedOperation,
} from './components.js';

export function App() {
  const initial = sectionOfHash(location.hash);
  const [section, setSection] = useState<Section>(initial?.section ?? rememberedSection(storage()));
  const [anchor, setAnchor] = useState<string | undefined>(initial?.anchor);
  const [unread, setUnread] = useState(false);
  const choose = useCallback((next: Section, to?: string) => {
    setSection(next);
    setAnchor(to);
    rememberSection(storage(), next);
  }, []);
  useEffect(() => {
    // The badge's "!" means unread notices: the popup then opens where they are (Deals, at the top).
    callOperation('notices.list', {}).then(
      (r) => {
        if (r.unseen > 0 && !initial) {
          setUnread(true);
          choose('deals', 'notices');
        }
      },
      () => undefined,
    );
    const onHash = () => {
      const target = sectionOfHash(location.hash);
      if (target) choose(target.section, target.anchor);
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    if (!anchor) return;
    const heading = document.getElementById(`${anchor}-heading`) ?? document.getElementById(anchor);
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
      heading.scrollIntoView({ block: 'start' });
    }
  }, [section, anchor]);
  return (
    <main class="popup">
      <header class="popup-header">
        <h1>{t('popTitle')}</h1>
      </header>
      <SectionTabs current={section} unread={unread} onChoose={(s) => choose(s)} />
      <div role="tabpanel" id={`panel-${section}`} aria-labelledby={`tab-${section}`} class="section-panel" data-section={section}>
        <SectionContent section={section} onNoticesRead={() => setUnread(false)} />
      </div>
    </main>
  );
}

const storage = (): Storage | undefined => {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
};

const TAB_LABELS: Record<Section, MessageKey> = {
  deals: 'popTabDeals',
  identity: 'popTabIdentity',
  trust: 'popTabTrust',
  settings: 'popTabSettings',
};

/** WAI-ARIA tabs with automatic activation: one tab stop, arrows (wrapping), Home and End. */
function SectionTabs({ current, unread, onChoose }: { current: Section; unread: boolean; onChoose(s: Section): void }) {
  const list = useRef<HTMLDivElement>(null);
  const onKeyDown = (event: KeyboardEvent) => {
    const next = sectionAfterKey(current, event.key);
    if (!next) return;
    event.preventDefault();
    onChoose(next);
    list.current?.querySelector<HTMLButtonElement>(`#tab-${next}`)?.focus();
  };
  return (
    <div role="tablist" aria-label={t('popSectionsLabel')} class="section-tabs" ref={list} onKeyDown={onKeyDown}>
      {SECTIONS.map((s) => (
        <button
          key={s}
          type="button"
          role="tab"
          id={`tab-${s}`}
          aria-selected={s === current}
          aria-controls={`panel-${s}`}
          tabIndex={s === current ? 0 : -1}
          onClick={() => onChoose(s)}
        >
          {t(TAB_LABELS[s])}
          {s === 'deals' && unread ? (
            <span class="tab-badge">
              <span aria-hidden="true">!</span>
              <span class="visually-hidden"> {t('popTabUnread')}</span>
            </span>
          ) : null}
        </button>
      ))}
    </div>
  );
}

function SectionContent({ section, onNoticesRead }: { section: Section; onNoticesRead(): void }) {
  // The open purchase outlives a visit to another section: back on Deals, the shopper is where it was.
  const [selected, setSelected] = useState<string | null>(null);
  switch (section) {
    case 'deals':
      return (
        <>
          <Notices onRead={onNoticesRead} />
          <History />
          {selected ? <DealDetail dealId={selected} onBack={() => setSelected(null)} /> : <DealList onOpen={setSelected} />}
          <Exchanges />
          <FairPurchases />
        </>
      );
    case 'identity':
      return <IdentitySettings />;
    case 'trust':
      return (
        <>
          <RootSettings />
          <TtpSettings />
          <ArbiterSettings />
          <TsaSettings />
        </>
      );
    case 'settings':
      return (
        <>
          <ThresholdSettings />
          <Wallet />
          <CardSettings />
        </>
      );
  }
}

function DealList({ onOpen }: { onOpen(dealId: string): void }) {
  const { items: deals, error, showOlder } = usePagedOperation('listDeals', (r) => r.deals);
  return (
    <ListPanel
      id="deals"
      heading={t('popDeals')}
      error={error}
      items={deals}
      {...(showOlder ? { showOlder } : {})}
      empty={t('popNoDeals')}
      columns={[{ label: t('histColDeal') }, { label: t('popColTotal'), num: true }, { label: t('popColStatus') }, { label: t('popColDate') }]}
      row={(d: DealSummary) => (
        <tr key={d.dealId} data-deal={d.dealId} data-status={d.status}>
          <td>
            {/* The button's name starts with what it shows (axe label-content-name-mismatch): the product, else the shop. */}
            <OpenButton
              name={d.product ? visibleText(d.product) : d.merchant ? visibleText(d.merchant) : t('popUnknownMerchant')}
              onOpen={() => onOpen(d.dealId)}
            >
              {d.product ? <SafeText text={d.product} class="history-product" /> : d.merchant ? <CertifiedName name={d.merchant} /> : t('popUnknownMerchant')}
            </OpenButton>
            {d.moreItems ? <span class="note"> {t('histMore', String(d.moreItems))}</span> : null}
            {d.product && d.merchant ? (
              <div class="note">
                <CertifiedName name={d.merchant} />
              </div>
            ) : null}
            <div class="note mono">{d.origin}</div>
          </td>
          <td class="num">{d.total ? formatMoney(d.total) : '–'}</td>
          <StatusCell status={d.status} label={statusLabel(d.status)} />
          <td>{formatDateTime(d.createdAt)}</td>
        </tr>
      )}
    />
  );
}

function DealDetail({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const { data: deal, error } = useLoaded(() => callOperation('getDeal', { dealId }), [dealId]);
  return (
    <DetailPanel
      id="deal-detail"
      headingId="deal-heading"
      back={t('popBack')}
      onBack={onBack}
      heading={`${t('popDeal')}: ${deal?.deal.merchant ? visibleText(deal.deal.merchant) : t('popUnknownMerchant')}`}
      error={error}
    >
      {deal ? (
        <>
          <dl>
            <Field label={t('popOrigin')} class="mono">
              {deal.deal.origin}
            </Field>
            <Field label={t('popColStatus')} class={`status-${deal.deal.status}`}>
              {statusLabel(deal.deal.status)}
            </Field>
            {deal.deal.total ? <Field label={t('popColTotal')}>{formatMoney(deal.deal.total)}</Field> : null}
            <Field label={t('popColDate')}>{formatDateTime(deal.deal.createdAt)}</Field>
            <ErrorReason error={deal.deal.error} />
          </dl>
          {deal.view && deal.view.items.length > 0 ? (
            <>
              <h3>{t('histItems')}</h3>
              <ul id="deal-items">
                {deal.view.items.map((item, i) => (
                  <li key={`${i}-${item.title}`}>
                    <SafeText text={item.title} />
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <StatementsTable id="statements" statements={deal.statements} dealId={dealId} />
          <GoodsDownloads dealId={dealId} />
          <DisputePanel dealId={dealId} kind="purchase" status={deal.deal.status} />
          <h3>{t('popGoods')}</h3>
          {deal.goods.length === 0 ? (
            <p class="note">{t('popNoGoods')}</p>
          ) : (
            <ul id="goods">
              {deal.goods.map((g) => (
                <li key={g.sku}>
                  <strong>
                    <SafeText text={g.title} />
                  </strong>{' '}
                  <span class="note mono">({g.mediaType})</span>
                  {g.encoding === 'utf8' && g.mediaType.startsWith('text/') ? (
                    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable)
                    <pre class="good-text" tabIndex={0}>
                      <SafeText text={g.content.slice(0, 2000)} multiline />
                    </pre>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
    </DetailPanel>
  );
}

function RootSettings() {
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
    <section class="panel" aria-labelledby="ca-settings-heading" id="ca-settings">
      <h2 id="ca-settings-heading">{t('popSettings')}</h2>
      {roots !== null && roots.length === 0 ? <p class="note">{t('popRootsNone')}</p> : null}
      <ul id="roots">
        {(roots ?? []).map((r) => (
          <li key={r.fingerprint}>
            <strong>{r.commonName}</strong>{' '}
            <span class="note">
              ({t('popValidUntil')} {formatDateTime(r.notAfter)})
            </span>
            <div class="mono note">{r.fingerprint}</div>
            <button type="button" onClick={() => remove(r.fingerprint)} aria-label={`${t('popRemoveRoot')}: ${r.commonName}`}>
              {t('popRemoveRoot')}
            </button>
          </li>
        ))}
      </ul>
      <FetchCertificate
        party="ca"
        onTrust={(f) =>
          // The CA the shopper trusted is the one it registers at (onboarding prefills this address).
          callOperation('settings.addRoot', { certificate: f.certificate })
            .then(() => callOperation('settings.set', { caUrl: f.url }))
            .then(reload)
        }
      />
      <form onSubmit={add}>
        <label for="root-pem">{t('popAddRootLabel')}</label>
        <textarea id="root-pem" rows={4} value={pem} spellcheck={false} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
        <button type="submit" disabled={pem.trim() === ''}>
          {t('popAddRoot')}
        </button>
      </form>
      <Alert text={error} />
    </section>
  );
}
