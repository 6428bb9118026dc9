/**
 * The operations the service worker answers from its start script (start-table.ts): the settings,
 * the notices, the history's pages and the lists of each kind of deal, read from the stores. They take only what the start script
 * has (the deal store, the settings record), so they run there and in the whole worker alike.
 */
import { DEAL_PAGE, newestPage } from '../../deals/pages.js';
import type { DealRecord, DealStore } from '../../deals/records.js';
import { HISTORY_PAGE, historyMatcher, historyRange, historyRow } from '../../history/search.js';
import type { SettingsReader } from '../../identity/settings-view.js';
import { noticesOf } from '../../notices/notices.js';
import type { StartOperationName } from '../start-table.js';
import { summariseExchange, summariseFair, summarisePurchase } from '../summaries.js';
import type { OperationRequest, OperationResponses, PageAfter } from '../table.js';

/** What these handlers read: the worker's OperationContext has both (the identity service reads the settings the same way). */
export interface StartContext {
  store: DealStore;
  identity: Pick<SettingsReader, 'settingsView' | 'noticesSeenAt'>;
}

/** One kind of deal, newest first, a page (`limit`, default DEAL_PAGE) after `after`, as the popup's rows. */
function pageOfKind<K extends DealRecord['kind'], R>(
  store: DealStore,
  { limit = DEAL_PAGE, after }: { limit?: number; after?: PageAfter },
  kind: K,
  row: (record: Extract<DealRecord, { kind: K }>) => R,
) {
  return newestPage(store, after ? { after } : {}, limit, (d) => (d.kind === kind ? row(d as Extract<DealRecord, { kind: K }>) : undefined));
}

export const startHandlers: { [K in StartOperationName]: (request: OperationRequest<K>, ctx: StartContext) => Promise<OperationResponses[K]> } = {
  async 'settings.get'(_r, { identity }) {
    return identity.settingsView();
  },
  async 'notices.list'(_r, { store, identity }) {
    return noticesOf(await store.listAll(), await identity.noticesSeenAt());
  },
  async listDeals(request, { store }) {
    const { rows, next } = await pageOfKind(store, request, 'purchase', summarisePurchase);
    return { deals: rows, ...(next ? { next } : {}) };
  },
  async listExchanges(request, { store }) {
    const { rows, next } = await pageOfKind(store, request, 'exchange', summariseExchange);
    return { exchanges: rows, ...(next ? { next } : {}) };
  },
  async listFairPurchases(request, { store }) {
    const { rows, next } = await pageOfKind(store, request, 'fair-purchase', summariseFair);
    return { purchases: rows, ...(next ? { next } : {}) };
  },
  async 'history.search'({ limit = HISTORY_PAGE, after, ...query }, { store }) {
    const match = historyMatcher(query);
    const { rows, next } = await newestPage(store, { ...historyRange(query), ...(after ? { after } : {}) }, limit, (record) => {
      const row = historyRow(record);
      return row && match(row) ? row : undefined;
    });
    return { deals: rows, ...(next ? { next } : {}) };
  },
};
