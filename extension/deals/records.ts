/**
 * What the worker keeps per deal, for every kind alike: one record (the machine's JSON state plus
 * what the host derived from its effects) and the deal's archived statements. The host
 * (worker/host.ts) writes both in one transaction after every step; the IndexedDB store is
 * worker/store.ts, tests use MemoryDealStore below.
 */
import type { ErrorInfo, ShopperState } from '../../core/commerce/shopper.js';
import type { VerifiedOfferView } from '../../core/commerce/view.js';
import type { ExchangeDealState, VerifiedExchangeView } from '../../core/commerce/index.js';
import type { ExchangeOutcomeForPage, FairOutcomeForPage, PurchaseOutcome } from '../../core/protocol/provider.js';
import type { FairShopperState, VerifiedFairOfferView } from '../../core/commerce/index.js';
import type { Statement } from '../../core/statements/index.js';
import type { PurseState } from '../wallet/purse.js';

/** 'wallet': a purse (extension/wallet/purse.ts) — one per bank, kept in the `wallets` store, run by the same host. */
export type DealKind = 'purchase' | 'exchange' | 'fair-purchase' | 'wallet';

/** How a page's request settles; kept so a re-attaching page still gets its answer. */
export type DealResult<O = PurchaseOutcome | ExchangeOutcomeForPage | FairOutcomeForPage> =
  | { kind: 'finished'; outcome: O }
  | { kind: 'failed'; error: ErrorInfo }
  | { kind: 'rejected' };

interface RecordOf<K extends DealKind, S, V, O> {
  kind: K;
  dealId: string;
  /** The requesting origin, as the browser reported it. */
  origin: string;
  createdAt: number;
  updatedAt: number;
  /** The machine's state (plain JSON), persisted after every step. */
  state: S;
  /** The state's phase, kept beside it for lists and the window queue. */
  status: string;
  terminal: boolean;
  /**
   * Nothing for a worker start to do for it (worker/host.ts `idleAtStart`: no timer, no send to
   * redo, no offer awaiting the user), written with every step. Absent in records from before it:
   * taken as not idle.
   */
  idle?: boolean;
  /** The verified view (show-offer), once there is one: all the trusted window may show. */
  view?: V;
  result?: DealResult<O>;
  /** The last message the machine refused (shown in the popup; the deal went on). */
  problem?: ErrorInfo;
  /**
   * The random key of the page request that started the deal (from the content script, never
   * shown to a page): a request re-sent after a worker restart finds its deal by it.
   */
  pageRequest?: string;
  /**
   * Storage only (worker/store.ts): the deal's createdAt while it is not terminal, absent after, so
   * IndexedDB's index of active deals holds just those (an index skips records without its key).
   */
  activeSince?: number;
}

export type PurchaseRecord = RecordOf<'purchase', ShopperState, VerifiedOfferView, PurchaseOutcome>;
export type ExchangeRecord = RecordOf<'exchange', ExchangeDealState, VerifiedExchangeView, ExchangeOutcomeForPage>;
export type FairPurchaseRecord = RecordOf<'fair-purchase', FairShopperState, VerifiedFairOfferView, FairOutcomeForPage>;
/** A purse: its dealId is the purse id, its origin the bank's URL; never terminal once open. */
export type WalletRecord = RecordOf<'wallet', PurseState, never, never>;
export type DealRecord = PurchaseRecord | ExchangeRecord | FairPurchaseRecord | WalletRecord;

export interface ArchiveEntry {
  dealId: string;
  direction: 'sent' | 'received';
  type: string;
  statement: Statement<unknown>;
  /** statementDigest(statement) */
  digest: string;
  archivedAt: number;
  /**
   * An RFC 3161 time-stamp token (base64 DER) over `digest`, kept once it verified under the
   * user's roots by a TSA the user trusts (a verdict's, disputes/timestamp.ts): the deal's evidence
   * bundle carries it (disputes/bundle.ts), so the time stays provable when its arbiter is gone.
   */
  timestamp?: string;
}

export interface DealStore {
  get(dealId: string): Promise<DealRecord | undefined>;
  /** Create a deal; fails if the id exists. */
  create(record: DealRecord): Promise<void>;
  /** Persist a step: the new record and its archive entries, atomically. */
  commit(record: DealRecord, archive: ArchiveEntry[]): Promise<void>;
  /** The deals not terminal, oldest first: read without reading the history (an index). */
  listActive(): Promise<DealRecord[]>;
  /** Every deal, oldest first. */
  listAll(): Promise<DealRecord[]>;
  /** The deals created after `t` (epoch ms), oldest first. */
  listCreatedSince(t: number): Promise<DealRecord[]>;
  /** The deals updated after `t` (epoch ms). */
  listUpdatedSince(t: number): Promise<DealRecord[]>;
  /** The deal a page request started (its random key), if any. */
  findByPageRequest(pageRequest: string): Promise<DealRecord | undefined>;
  archiveOf(dealId: string): Promise<ArchiveEntry[]>;
  /**
   * Keep `token` with the archived statement `digest` of the deal. The first token kept stays:
   * a later one is not written over it. False when the deal has no such statement.
   */
  keepTimestamp(dealId: string, digest: string, token: string): Promise<boolean>;
  /**
   * The deals (never purses) newest first — by creation, then by id, both descending — created
   * within `range`, handed to `visit` one by one until it returns false: a page of the history
   * reads only the records up to its last row (an index walk, not the whole store).
   */
  scanNewestFirst(range: CreatedRange, visit: (record: DealRecord) => boolean): Promise<void>;
}

/** Creation instants (epoch ms, inclusive) and a position to continue after (the last row of the previous page). */
export interface CreatedRange {
  from?: number;
  to?: number;
  after?: { createdAt: number; dealId: string };
}

/** Newest-first order of scanNewestFirst. */
export const newestFirst = (a: { createdAt: number; dealId: string }, b: { createdAt: number; dealId: string }): number =>
  b.createdAt - a.createdAt || (a.dealId < b.dealId ? 1 : a.dealId > b.dealId ? -1 : 0);

/** Whether a deal lies within the range, strictly past its `after` position in newest-first order. */
export function inCreatedRange(record: { createdAt: number; dealId: string }, range: CreatedRange): boolean {
  if (range.from !== undefined && record.createdAt < range.from) return false;
  if (range.to !== undefined && record.createdAt > range.to) return false;
  return range.after === undefined || newestFirst(range.after, record) < 0;
}

export const byArchivedAt = (a: ArchiveEntry, b: ArchiveEntry): number => a.archivedAt - b.archivedAt;

/** In memory (tests): every read and write is a structured clone, as with IndexedDB. */
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
    return (await this.listAll()).filter((d) => !d.terminal);
  }
  async listAll() {
    return [...this.deals.values()].sort((a, b) => a.createdAt - b.createdAt).map((d) => structuredClone(d));
  }
  async listCreatedSince(t: number) {
    return (await this.listAll()).filter((d) => d.createdAt > t);
  }
  async listUpdatedSince(t: number) {
    return (await this.listAll()).filter((d) => d.updatedAt > t);
  }
  async findByPageRequest(pageRequest: string) {
    return (await this.listAll()).find((d) => d.pageRequest === pageRequest);
  }
  async archiveOf(dealId: string) {
    return [...this.archive.values()]
      .filter((a) => a.dealId === dealId)
      .sort(byArchivedAt)
      .map((a) => structuredClone(a));
  }
  async keepTimestamp(dealId: string, digest: string, token: string) {
    const entry = this.archive.get(`${dealId}/${digest}`);
    if (!entry) return false;
    if (entry.timestamp === undefined) this.archive.set(`${dealId}/${digest}`, { ...structuredClone(entry), timestamp: token });
    return true;
  }
  async scanNewestFirst(range: CreatedRange, visit: (record: DealRecord) => boolean) {
    const deals = [...this.deals.values()].filter((d) => d.kind !== 'wallet' && inCreatedRange(d, range)).sort(newestFirst);
    for (const d of deals) if (!visit(structuredClone(d))) return;
  }
}

/**
 * The host's store (worker/host.ts): purses (kind 'wallet') in their own store, every other kind in
 * the deals store. A purse id never names a deal and the other way round (both are random).
 */
export class KindRoutedStore implements DealStore {
  constructor(
    private readonly deals: DealStore,
    private readonly purses: DealStore,
  ) {}
  private of(record: DealRecord): DealStore {
    return record.kind === 'wallet' ? this.purses : this.deals;
  }
  async get(dealId: string) {
    return (await this.purses.get(dealId)) ?? this.deals.get(dealId);
  }
  create(record: DealRecord) {
    return this.of(record).create(record);
  }
  commit(record: DealRecord, archive: ArchiveEntry[]) {
    return this.of(record).commit(record, archive);
  }
  async listActive() {
    return [...(await this.deals.listActive()), ...(await this.purses.listActive())].sort((a, b) => a.createdAt - b.createdAt);
  }
  async listAll() {
    return [...(await this.deals.listAll()), ...(await this.purses.listAll())].sort((a, b) => a.createdAt - b.createdAt);
  }
  async listCreatedSince(t: number) {
    return [...(await this.deals.listCreatedSince(t)), ...(await this.purses.listCreatedSince(t))].sort((a, b) => a.createdAt - b.createdAt);
  }
  async listUpdatedSince(t: number) {
    return [...(await this.deals.listUpdatedSince(t)), ...(await this.purses.listUpdatedSince(t))];
  }
  async findByPageRequest(pageRequest: string) {
    // Purses are never started by a page.
    return this.deals.findByPageRequest(pageRequest);
  }
  async archiveOf(dealId: string) {
    return (await this.purses.get(dealId)) ? this.purses.archiveOf(dealId) : this.deals.archiveOf(dealId);
  }
  async keepTimestamp(dealId: string, digest: string, token: string) {
    return (await this.purses.get(dealId)) ? this.purses.keepTimestamp(dealId, digest, token) : this.deals.keepTimestamp(dealId, digest, token);
  }
  scanNewestFirst(range: CreatedRange, visit: (record: DealRecord) => boolean) {
    return this.deals.scanNewestFirst(range, visit);
  }
}
