/**
 * What the worker keeps per exchange deal (certified mail, contract signing) and the storage
 * interface the exchange runner uses. The IndexedDB implementation is in exchange-db.ts (its own
 * database, so purchases and exchanges evolve their schemas independently); tests use the
 * in-memory one below.
 */
import type { ErrorInfo } from '../core/commerce/shopper.js';
import type { DescriptorBody, ExchangeAgreement, ExchangeUse, VerifiedExchangeView } from '../core/commerce/exchange-deal.js';
import type { ExchangeState } from '../core/exchange/index.js';
import type { ExchangeOutcomeForPage } from '../core/protocol/provider.js';
import type { Statement } from '../core/statements/index.js';
import type { ArchiveEntry } from './deal-store.js';

export type ExchangeStatus =
  | 'requesting-descriptor'
  | 'awaiting-confirmation'
  | 'exchanging'
  | 'completed'
  | 'resolved'
  | 'aborted'
  | 'failed'
  | 'rejected';

export const TERMINAL_EXCHANGE_STATUSES: readonly ExchangeStatus[] = ['completed', 'resolved', 'aborted', 'failed', 'rejected'];

export type ExchangeResult =
  | { kind: 'finished'; outcome: ExchangeOutcomeForPage }
  | { kind: 'failed'; error: ErrorInfo }
  | { kind: 'rejected' };

export interface ExchangeDealRecord {
  kind: 'exchange';
  dealId: string;
  /** The requesting origin, as the browser reported it. */
  origin: string;
  use: ExchangeUse;
  documentId: string;
  /** The fresh nonce the merchant's descriptor must echo. */
  nonce: string;
  /** The key this browser signs the exchange with (identity key at the start). */
  shopperKeyId: string;
  createdAt: number;
  updatedAt: number;
  status: ExchangeStatus;
  terminal: boolean;
  /** The verified descriptor and what it means (once verified). */
  descriptor?: Statement<DescriptorBody>;
  view?: VerifiedExchangeView;
  agreement?: ExchangeAgreement;
  /** The originator machine's state (plain JSON), persisted after every step. */
  exchange?: ExchangeState;
  /** How the page's request settles; kept so a re-attaching page still gets its answer. */
  result?: ExchangeResult;
  /** The last message the machine or a transport refused (shown in the popup). */
  lastProblem?: ErrorInfo;
}

export interface ExchangeStore {
  get(dealId: string): Promise<ExchangeDealRecord | undefined>;
  create(record: ExchangeDealRecord): Promise<void>;
  /** Persist a step: the new record and its archive entries, atomically. */
  commit(record: ExchangeDealRecord, archive: ArchiveEntry[]): Promise<void>;
  listActive(): Promise<ExchangeDealRecord[]>;
  listAll(): Promise<ExchangeDealRecord[]>;
  archiveOf(dealId: string): Promise<ArchiveEntry[]>;
}

export class MemoryExchangeStore implements ExchangeStore {
  readonly deals = new Map<string, ExchangeDealRecord>();
  readonly archive = new Map<string, ArchiveEntry>();

  async get(dealId: string) {
    const r = this.deals.get(dealId);
    return r ? structuredClone(r) : undefined;
  }
  async create(record: ExchangeDealRecord) {
    if (this.deals.has(record.dealId)) throw new Error(`exchange ${record.dealId} exists`);
    this.deals.set(record.dealId, structuredClone(record));
  }
  async commit(record: ExchangeDealRecord, archive: ArchiveEntry[]) {
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
