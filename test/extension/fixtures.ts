/** Fixtures the extension's Node tests share: the pinned extension id and a purchase record in a given phase. */
import type { ShopperPhase, ShopperState } from '../../core/commerce/shopper.js';
import { EXTENSION_ID } from '../../core/protocol/extension-id.js';
import type { MemoryDealStore, PurchaseRecord } from '../../extension/deals/records.js';

export const EXT_ID = EXTENSION_ID;
export const BASE = `chrome-extension://${EXT_ID}/`;
export const ORIGIN = 'https://shop.example';

let seq = 0;
/** A purchase record in a given phase (only what the queue, ports and access tests look at). */
export function deal(status: ShopperPhase, extra: Partial<PurchaseRecord> = {}): PurchaseRecord {
  seq++;
  const dealId = `deal-${String(seq).padStart(4, '0')}-abcdefghijkl`;
  return {
    kind: 'purchase',
    dealId,
    origin: ORIGIN,
    createdAt: seq,
    updatedAt: seq,
    state: { phase: status, dealId } as unknown as ShopperState,
    status,
    terminal: status === 'completed' || status === 'failed' || status === 'rejected',
    ...extra,
  };
}

/** Counts the deals a store's newest-first walks visit (to show a page stops the walk). */
export function countScanVisits(store: MemoryDealStore): () => number {
  let visited = 0;
  const scan = store.scanNewestFirst.bind(store);
  store.scanNewestFirst = (range, visit) =>
    scan(range, (r) => {
      visited++;
      return visit(r);
    });
  return () => visited;
}
