/**
 * The storage both runners share: one record per deal (purchase or exchange), keyed by deal id,
 * plus every statement of that deal (the archive, keyed [dealId, digest]). The purchase store
 * (deal-store.ts, db.ts) and the exchange store (exchange-store.ts, exchange-db.ts) are two
 * instances over their own IndexedDB databases, so their schemas version independently.
 */
import type { DBSchema, IDBPDatabase, StoreNames } from 'idb';
import type { Statement } from '../core/statements/index.js';

export interface ArchiveEntry {
  dealId: string;
  direction: 'sent' | 'received';
  type: string;
  statement: Statement<unknown>;
  /** statementDigest(statement) */
  digest: string;
  archivedAt: number;
}

/** What a stored deal record must have for the store. */
export interface StoredDeal {
  dealId: string;
  terminal: boolean;
}

export interface RecordStore<R extends StoredDeal> {
  get(dealId: string): Promise<R | undefined>;
  /** Create a deal; fails if the id exists. */
  create(record: R): Promise<void>;
  /** Persist a step: the new record and its archive entries, atomically. */
  commit(record: R, archive: ArchiveEntry[]): Promise<void>;
  listActive(): Promise<R[]>;
  listAll(): Promise<R[]>;
  archiveOf(dealId: string): Promise<ArchiveEntry[]>;
}

const byArchivedAt = (a: ArchiveEntry, b: ArchiveEntry) => a.archivedAt - b.archivedAt;

/** In memory (tests): every read and write is a structured clone, as with IndexedDB. */
export class MemoryRecordStore<R extends StoredDeal> implements RecordStore<R> {
  readonly deals = new Map<string, R>();
  readonly archive = new Map<string, ArchiveEntry>();

  /** `noun` names the record in the error for a duplicate id ("deal", "exchange"). */
  constructor(private readonly noun: string) {}

  async get(dealId: string) {
    const r = this.deals.get(dealId);
    return r ? structuredClone(r) : undefined;
  }
  async create(record: R) {
    if (this.deals.has(record.dealId)) throw new Error(`${this.noun} ${record.dealId} exists`);
    this.deals.set(record.dealId, structuredClone(record));
  }
  async commit(record: R, archive: ArchiveEntry[]) {
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
    return [...this.archive.values()].filter((a) => a.dealId === dealId).sort(byArchivedAt).map((a) => structuredClone(a));
  }
}

/** In a database's upgrade: the two object stores an IdbRecordStore over `records` uses. */
export function createRecordStores<S extends DBSchema>(database: IDBPDatabase<S>, records: StoreNames<S> & string): void {
  const untyped = database as unknown as IDBPDatabase;
  untyped.createObjectStore(records, { keyPath: 'dealId' }).createIndex('byCreated', 'createdAt');
  untyped.createObjectStore('archive', { keyPath: ['dealId', 'digest'] }).createIndex('byDeal', 'dealId');
}

/**
 * In IndexedDB (through idb): `records` is the object store of the deal records (keyPath
 * 'dealId', index 'byCreated' on createdAt), 'archive' the one of the statements (keyPath
 * ['dealId', 'digest'], index 'byDeal'). The database and its schema belong to the caller.
 */
export class IdbRecordStore<R extends StoredDeal, S extends DBSchema> implements RecordStore<R> {
  private readonly open: () => Promise<IDBPDatabase>;

  constructor(
    open: () => Promise<IDBPDatabase<S>>,
    private readonly records: StoreNames<S> & string,
  ) {
    // idb cannot type a store named by a parameter: the two stores above are the caller's schema.
    this.open = open as unknown as () => Promise<IDBPDatabase>;
  }

  async get(dealId: string): Promise<R | undefined> {
    return (await this.open()).get(this.records, dealId);
  }

  async create(record: R) {
    await (await this.open()).add(this.records, record);
  }

  async commit(record: R, archive: ArchiveEntry[]) {
    const tx = (await this.open()).transaction([this.records, 'archive'], 'readwrite');
    const writes: Promise<unknown>[] = [tx.objectStore(this.records).put(record)];
    for (const entry of archive) writes.push(tx.objectStore('archive').put(entry));
    await Promise.all([...writes, tx.done]);
  }

  async listActive() {
    return (await this.listAll()).filter((d) => !d.terminal);
  }

  async listAll(): Promise<R[]> {
    return (await this.open()).getAllFromIndex(this.records, 'byCreated');
  }

  async archiveOf(dealId: string): Promise<ArchiveEntry[]> {
    const entries: ArchiveEntry[] = await (await this.open()).getAllFromIndex('archive', 'byDeal', dealId);
    return entries.sort(byArchivedAt);
  }
}
