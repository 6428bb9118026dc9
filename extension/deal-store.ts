/**
 * What the worker keeps per deal, and the storage interface the deal runner uses. The IndexedDB
 * implementation is in db.ts; tests use the in-memory one below.
 */
import type { ShopperState, ErrorInfo } from '../core/commerce/shopper.js';
import type { VerifiedOfferView } from '../core/commerce/view.js';
import type { Statement } from '../core/statements/index.js';
import type { PurchaseOutcome } from '../core/protocol/provider.js';

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

export interface ArchiveEntry {
  dealId: string;
  direction: 'sent' | 'received';
  type: string;
  statement: Statement<unknown>;
  /** statementDigest(statement) */
  digest: string;
  archivedAt: number;
}

export interface DealStore {
  get(dealId: string): Promise<DealRecord | undefined>;
  /** Create a deal; fails if the id exists. */
  create(record: DealRecord): Promise<void>;
  /** Persist a step: the new record and its archive entries, atomically. */
  commit(record: DealRecord, archive: ArchiveEntry[]): Promise<void>;
  listActive(): Promise<DealRecord[]>;
  listAll(): Promise<DealRecord[]>;
  archiveOf(dealId: string): Promise<ArchiveEntry[]>;
}

export class MemoryDealStore implements DealStore {
  readonly deals = new Map<string, DealRecord>();
  readonly archive = new Map<string, ArchiveEntry>();

  async get(dealId: string) {
    const r = this.deals.get(dealId);
    return r ? structuredClone(r) : undefined;
  }
  async create(record: DealRecord) {
    if (this.deals.has(record.dealId)) throw new Error(`deal ${record.dealId} exists`);
    this.deals.set(record.dealId, structuredClone(record));
  }
  async commit(record: DealRecord, archive: ArchiveEntry[]) {
    this.deals.set(record.dealId, structuredClone(record));
    for (const a of archive) this.archive.set(`${a.dealId}/${a.digest}`, structuredClone(a));
  }
  async listActive() {
    return [...this.deals.values()].filter((d) => !d.terminal).map((d) => structuredClone(d));
  }
  async listAll() {
    return [...this.deals.values()].map((d) => structuredClone(d));
  }
  async archiveOf(dealId: string) {
    return [...this.archive.values()].filter((a) => a.dealId === dealId).sort((a, b) => a.archivedAt - b.archivedAt).map((a) => structuredClone(a));
  }
}
