/**
 * The shopper's history (issue 12): every deal of every kind in one list, searched by shop,
 * address or item title and filtered by kind, status and date (history.search), each row naming
 * the product and not only the merchant (issue 11); a deal opens as its timeline picture
 * (history.timeline, popup/Timeline.tsx) with its evidence export and what it delivered, as files
 * (history.goods). The per-kind lists below stay as they are.
 */
import { useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { OperationResponses } from '../extension/operations/table.js';
import type { HistoryKind, HistoryOutcome, HistoryRow } from '../extension/history/search.js';

type HistoryPage = OperationResponses['history.search'];
import { visibleText } from '../core/text.js';
import { formatDateTime, formatMoney, t, type MessageKey } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { DetailPanel, ErrorAlert, ExportEvidenceButton, Field, GoodsDownloads, OpenButton, message, useLoaded } from './components.js';
import { Timeline } from './Timeline.js';

const KIND_KEYS: Record<HistoryKind, MessageKey> = { purchase: 'histKindPurchase', exchange: 'histKindExchange', 'fair-purchase': 'histKindFair' };
const OUTCOME_KEYS: Record<HistoryOutcome, MessageKey> = {
  open: 'histOutcomeOpen',
  completed: 'histOutcomeCompleted',
  resolved: 'histOutcomeResolved',
  aborted: 'histOutcomeAborted',
  failed: 'histOutcomeFailed',
  rejected: 'histOutcomeRejected',
};

interface Filters {
  text: string;
  kind: HistoryKind | '';
  status: HistoryOutcome | '';
  from: string;
  to: string;
}

/** A `<input type=date>` value as an instant in the shopper's time zone (start or end of that day). */
function dayBound(day: string, end: boolean): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const d = new Date(`${day}T${end ? '23:59:59.999' : '00:00:00.000'}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const productName = (row: HistoryRow) => row.product ?? row.merchant ?? row.origin;

export function History() {
  const [filters, setFilters] = useState<Filters>({ text: '', kind: '', status: '', from: '', to: '' });
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <section class="panel" aria-labelledby="history-heading" id="history">
      <h2 id="history-heading">{t('histHeading')}</h2>
      {selected ? (
        <HistoryTimeline dealId={selected} onBack={() => setSelected(null)} />
      ) : (
        <HistorySearch filters={filters} onChange={setFilters} onOpen={setSelected} />
      )}
    </section>
  );
}

function HistorySearch({ filters, onChange, onOpen }: { filters: Filters; onChange(f: Filters): void; onOpen(dealId: string): void }) {
  const [rows, setRows] = useState<HistoryRow[] | null>(null);
  const [next, setNext] = useState<HistoryPage['next']>(undefined);
  const [error, setError] = useState<string | null>(null);
  const from = dayBound(filters.from, false);
  const to = dayBound(filters.to, true);
  const query = {
    ...(filters.text.trim() ? { text: filters.text } : {}),
    ...(filters.kind ? { kind: filters.kind } : {}),
    ...(filters.status ? { status: filters.status } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
  const showOlder = () => {
    if (!next) return;
    callOperation('history.search', { ...query, after: next }).then(
      (r) => {
        setRows((shown) => [...(shown ?? []), ...r.deals]);
        setNext(r.next);
      },
      (e: unknown) => setError(message(e)),
    );
  };
  useEffect(() => {
    let current = true;
    // While the shopper types, ask once the typing pauses.
    const timer = setTimeout(
      () => {
        callOperation('history.search', query).then(
          (r) => {
            if (current) {
              setRows(r.deals);
              setNext(r.next);
              setError(null);
            }
          },
          (e: unknown) => current && setError(message(e)),
        );
      },
      filters.text.trim() ? 150 : 0,
    );
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [filters.text, filters.kind, filters.status, filters.from, filters.to]);
  const set = (patch: Partial<Filters>) => onChange({ ...filters, ...patch });
  const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;
  return (
    <>
      <form class="history-filters" onSubmit={(e) => e.preventDefault()}>
        <div class="history-text">
          <label for="history-text">{t('histSearchLabel')}</label>
          <input id="history-text" type="search" value={filters.text} maxLength={200} onInput={(e) => set({ text: value(e) })} />
        </div>
        <div>
          <label for="history-kind">{t('histKindLabel')}</label>
          <select id="history-kind" value={filters.kind} onChange={(e) => set({ kind: value(e) as Filters['kind'] })}>
            <option value="">{t('histKindAll')}</option>
            {(Object.keys(KIND_KEYS) as HistoryKind[]).map((k) => (
              <option key={k} value={k}>
                {t(KIND_KEYS[k])}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="history-status">{t('histStatusLabel')}</label>
          <select id="history-status" value={filters.status} onChange={(e) => set({ status: value(e) as Filters['status'] })}>
            <option value="">{t('histStatusAll')}</option>
            {(Object.keys(OUTCOME_KEYS) as HistoryOutcome[]).map((o) => (
              <option key={o} value={o}>
                {t(OUTCOME_KEYS[o])}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="history-from">{t('histFrom')}</label>
          <input id="history-from" type="date" value={filters.from} onInput={(e) => set({ from: value(e) })} />
        </div>
        <div>
          <label for="history-to">{t('histTo')}</label>
          <input id="history-to" type="date" value={filters.to} onInput={(e) => set({ to: value(e) })} />
        </div>
      </form>
      <ErrorAlert error={error} />
      <p class="note" id="history-count" aria-live="polite">
        {rows === null ? '' : rows.length === 0 ? t('histNone') : next ? t('histCountMore', String(rows.length)) : t('histCount', String(rows.length))}
      </p>
      {rows && rows.length > 0 ? (
        <table id="history-results">
          <thead>
            <tr>
              <th scope="col">{t('histColDeal')}</th>
              <th scope="col" class="num">
                {t('popColTotal')}
              </th>
              <th scope="col">{t('popColStatus')}</th>
              <th scope="col">{t('popColDate')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.dealId} data-deal={r.dealId} data-kind={r.kind} data-outcome={r.outcome}>
                <td>
                  <OpenButton name={visibleText(productName(r))} onOpen={() => onOpen(r.dealId)}>
                    <SafeText text={productName(r)} class="history-product" />
                  </OpenButton>
                  {r.moreItems > 0 ? <span class="note"> {t('histMore', String(r.moreItems))}</span> : null}
                  <div class="note">
                    {t(KIND_KEYS[r.kind])} · {r.merchant ? <CertifiedName name={r.merchant} /> : <span class="mono">{r.origin}</span>}
                  </div>
                </td>
                <td class="num">{r.total ? formatMoney(r.total) : '–'}</td>
                <td class={`status-${r.status}`}>{t(OUTCOME_KEYS[r.outcome])}</td>
                <td>{formatDateTime(r.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {next ? (
        <button type="button" id="history-older" onClick={showOlder}>
          {t('histShowOlder')}
        </button>
      ) : null}
    </>
  );
}

function HistoryTimeline({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const { data, error } = useLoaded<OperationResponses['history.timeline']>(() => callOperation('history.timeline', { dealId }), [dealId]);
  const deal = data?.deal;
  return (
    <DetailPanel
      id="history-timeline"
      headingId="history-timeline-heading"
      back={t('histBack')}
      onBack={onBack}
      heading={`${t('histTimeline')}: ${deal ? visibleText(productName(deal)) : ''}`}
      error={error}
    >
      {data && deal ? (
        <>
          <dl>
            <Field label={t('histKindLabel')}>{t(KIND_KEYS[deal.kind])}</Field>
            <Field label={t('popColMerchant')}>{deal.merchant ? <CertifiedName name={deal.merchant} /> : t('popUnknownMerchant')}</Field>
            <Field label={t('popOrigin')} class="mono">
              {deal.origin}
            </Field>
            {deal.items.length > 0 ? (
              <Field label={t('histItems')}>
                <ul id="history-items">
                  {deal.items.map((title, i) => (
                    <li key={`${i}-${title}`}>
                      <SafeText text={title} />
                    </li>
                  ))}
                </ul>
              </Field>
            ) : null}
            {deal.total ? <Field label={t('popColTotal')}>{formatMoney(deal.total)}</Field> : null}
            <Field label={t('popColStatus')} class={`status-${deal.status}`}>
              {t(OUTCOME_KEYS[deal.outcome])}
            </Field>
            <Field label={t('popColDate')}>{formatDateTime(deal.createdAt)}</Field>
          </dl>
          <Timeline timeline={data} />
          <ExportEvidenceButton dealId={dealId} />
          <GoodsDownloads dealId={dealId} />
        </>
      ) : null}
    </DetailPanel>
  );
}
