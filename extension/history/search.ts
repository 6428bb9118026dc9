/**
 * The shopper's history (issue 12, the archive): one row per deal of every kind (purchases,
 * exchanges, fair purchases; purses are not deals), built from the stored records only — the
 * certified merchant name and the items come from the verified view, never from the page — and
 * the pure filter the popup's search runs through (`history.search`).
 *
 * A search walks the deals store's `byCreated` index newest first (DealStore.scanNewestFirst,
 * bounded by the date range) and stops once a page is full: the first page of a long history reads
 * its newest deals, not all of them; the next page continues after the last row shown.
 */
import type { Money } from '../../core/protocol/commerce.js';
import type { DealRecord } from '../deals/records.js';

export const HISTORY_KINDS = ['purchase', 'exchange', 'fair-purchase'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

/** How a deal stands, alike for every kind: what the status filter chooses from. */
export const HISTORY_OUTCOMES = ['open', 'completed', 'resolved', 'aborted', 'failed', 'rejected'] as const;
export type HistoryOutcome = (typeof HISTORY_OUTCOMES)[number];

export interface HistoryRow {
  dealId: string;
  kind: HistoryKind;
  /** The requesting origin, as the browser reported it. */
  origin: string;
  /** The merchant's certified legal name (from its validated certificate), once an offer verified. */
  merchant?: string;
  /** The first item's title (purchase) or the exchange's / fair purchase's title. */
  product?: string;
  /** How many more items the purchase has beyond `product` (0 for the other kinds). */
  moreItems: number;
  /** Every item title (for the search; the first is `product`). */
  items: string[];
  /** certified mail or contract signing (exchanges only) */
  use?: string;
  /** Purchase total or fair-purchase price. */
  total?: Money;
  /** The machine's phase, as stored. */
  status: string;
  outcome: HistoryOutcome;
  createdAt: string;
  updatedAt: string;
}

export interface HistoryQuery {
  /** Words that must each appear in the shop's name, its origin or an item title (NFKC, case-insensitive). */
  text?: string;
  kind?: HistoryKind;
  /** An outcome group (open, completed, resolved, …: `outcome`) or else an exact phase (`status`). */
  status?: string;
  /** Deals created at or after this instant (ISO 8601). */
  from?: string;
  /** Deals created at or before this instant (ISO 8601). */
  to?: string;
}

/** Rows per page of history.search unless the request asks for fewer or more. */
export const HISTORY_PAGE = 50;

/** Unicode NFKC, lower case: "Ｆｏｇｒａ" finds "fogra", "ﬁ" finds "fi". */
export function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

function outcomeOf(record: Exclude<DealRecord, { kind: 'wallet' }>): HistoryOutcome {
  const phase = record.state.phase as string;
  if (phase === 'rejected') return 'rejected';
  if (phase === 'resolved' || phase === 'aborted') return phase;
  if (phase === 'completed') {
    const status = record.result?.kind === 'finished' ? (record.result.outcome as { status?: unknown }).status : undefined;
    return status === 'resolved' ? 'resolved' : 'completed';
  }
  if (phase === 'failed' || phase === 'delivery-mismatch') return 'failed';
  return record.terminal ? 'failed' : 'open';
}

/** The history row of a stored deal; undefined for a purse. */
export function historyRow(record: DealRecord): HistoryRow | undefined {
  if (record.kind === 'wallet') return undefined;
  const base = {
    dealId: record.dealId,
    kind: record.kind,
    origin: record.origin,
    status: record.state.phase as string,
    outcome: outcomeOf(record),
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
  const view = record.view;
  if (!view) return { ...base, moreItems: 0, items: [] };
  const merchant = view.merchant.legalName;
  switch (record.kind) {
    case 'purchase': {
      const items = record.view!.items.map((i) => i.title);
      return {
        ...base,
        merchant,
        ...(items[0] !== undefined ? { product: items[0] } : {}),
        moreItems: Math.max(0, items.length - 1),
        items,
        total: record.view!.total,
      };
    }
    case 'exchange':
      return { ...base, merchant, product: record.view!.title, moreItems: 0, items: [record.view!.title], use: record.view!.use };
    case 'fair-purchase':
      return { ...base, merchant, product: record.view!.title, moreItems: 0, items: [record.view!.title], total: record.view!.price };
  }
}

const isOutcome = (s: string): s is HistoryOutcome => (HISTORY_OUTCOMES as readonly string[]).includes(s);

function instant(iso: string | undefined): number | undefined {
  if (iso === undefined || iso === '') return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** The query's creation range as epoch ms (what the store's index walk is bounded by). */
export function historyRange(query: HistoryQuery): { from?: number; to?: number } {
  const from = instant(query.from);
  const to = instant(query.to);
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

/** Whether a row matches every part of the query. */
export function historyMatcher(query: HistoryQuery): (row: HistoryRow) => boolean {
  const words = normalise(query.text ?? '')
    .split(/\s+/u)
    .filter((w) => w !== '');
  const { from, to } = historyRange(query);
  return (row) => {
    if (query.kind && row.kind !== query.kind) return false;
    if (query.status && (isOutcome(query.status) ? row.outcome !== query.status : row.status !== query.status)) return false;
    const created = Date.parse(row.createdAt);
    if (from !== undefined && created < from) return false;
    if (to !== undefined && created > to) return false;
    if (words.length === 0) return true;
    const haystack = normalise([row.merchant ?? '', row.origin, ...row.items].join('\n'));
    return words.every((w) => haystack.includes(w));
  };
}

/** The rows matching every part of the query, newest first (by creation, then by id, as the store walks them). */
export function searchHistory(rows: readonly HistoryRow[], query: HistoryQuery): HistoryRow[] {
  const match = historyMatcher(query);
  return rows.filter(match).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || (a.dealId < b.dealId ? 1 : a.dealId > b.dealId ? -1 : 0));
}
