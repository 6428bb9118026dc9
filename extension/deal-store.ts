/**
 * What the worker keeps per deal, and the storage interface the deal runner uses. The IndexedDB
 * implementation is in db.ts; tests use the in-memory one below (both: record-store.ts).
 */
import type { ShopperState, ErrorInfo } from '../core/commerce/shopper.js';
import type { VerifiedOfferView } from '../core/commerce/view.js';
import type { PurchaseOutcome } from '../core/protocol/provider.js';
import { MemoryRecordStore, type RecordStore } from './record-store.js';

export type DealStatus = 'requesting-offer' | 'awaiting-confirmation' | 'ordering' | 'completed' | 'rejected' | 'failed';

export type DealResult =
  | { kind: 'finished'; outcome: PurchaseOutcome }
  | { kind: 'failed'; error: ErrorInfo }
  | { kind: 'rejected' };

export interface DealRecord {
  dealId: string;
  /** The requesting origin, as the browser reported it. */
  origin: string;
  createdAt: number;
  updatedAt: number;
  /** The shopper machine's state (plain JSON), persisted after every step. */
  state: ShopperState;
  /** Mirrors state.phase, indexed for the resume query. */
  status: DealStatus;
  terminal: boolean;
  /** The verified view, once an offer verified (show-offer). */
  view?: VerifiedOfferView;
  /** How the page's request settles; kept so a re-attaching page still gets its answer. */
  result?: DealResult;
}

export type { ArchiveEntry } from './record-store.js';

export type DealStore = RecordStore<DealRecord>;

export class MemoryDealStore extends MemoryRecordStore<DealRecord> {
  constructor() {
    super('deal');
  }
}
