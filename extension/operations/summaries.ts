/**
 * A deal of each kind as a row of the popup's lists (and the head of its details): read from the
 * record alone, so the service worker's start script lists deals (handlers/start.ts) without the
 * deal machines.
 */
import type { ExchangeRecord, FairPurchaseRecord, PurchaseRecord } from '../deals/records.js';
import type { DealSummary, ExchangeSummary, FairPurchaseSummary } from './table.js';

/** What every row says of its deal, whatever the kind: which deal, where, in what phase, when. */
function head<R extends PurchaseRecord | ExchangeRecord | FairPurchaseRecord>(r: R) {
  return {
    dealId: r.dealId,
    origin: r.origin,
    status: r.state.phase as R['state']['phase'],
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

export function summarisePurchase(record: PurchaseRecord): DealSummary {
  return {
    ...head(record),
    ...(record.view ? { merchant: record.view.merchant.legalName, total: record.view.total } : {}),
    ...(record.view?.items[0] ? { product: record.view.items[0].title, moreItems: record.view.items.length - 1 } : {}),
    ...(record.result?.kind === 'failed' ? { error: record.result.error } : {}),
  };
}

export function summariseExchange(r: ExchangeRecord): ExchangeSummary {
  const exchangeId = 'exchange' in r.state ? r.state.exchange?.exchangeId : undefined;
  return {
    ...head(r),
    use: r.state.use,
    ...(r.view ? { title: r.view.title, merchant: r.view.merchant.legalName, ttp: r.view.ttp.name } : {}),
    ...(exchangeId ? { exchangeId } : {}),
    ...(r.result?.kind === 'failed' ? { error: r.result.error } : {}),
  };
}

export function summariseFair(r: FairPurchaseRecord): FairPurchaseSummary {
  return {
    ...head(r),
    ...(r.view ? { title: r.view.title, merchant: r.view.merchant.legalName, price: r.view.price } : {}),
    ...('method' in r.state && r.state.method ? { method: r.state.method } : {}),
    ...(r.result?.kind === 'failed' ? { error: r.result.error } : {}),
  };
}
