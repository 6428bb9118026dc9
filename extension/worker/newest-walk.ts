/**
 * Walking the deals store's `byCreated` index newest first in batches (extension/worker/store.ts).
 * A cursor costs an IndexedDB round trip per deal (about 1 ms each in Chromium's worker, 50 ms for a
 * page of history); `getAllRecords({direction: 'prev', count})` (IndexedDB 3.0, Chromium 141+) reads
 * a batch in one. The index is not unique: deals created in the same millisecond may straddle a
 * batch, so the batch's oldest instant is read whole (`getAll(only)`) and the next batch starts below
 * it — no deal is skipped or visited twice, however many share an instant.
 *
 * Pure (no IndexedDB types): the store adapts `BatchIndex` to an IDBIndex, tests to an array.
 */
import { type CreatedRange, type DealRecord, inCreatedRange, newestFirst } from '../deals/records.js';

/** Creation instants between `lower` and `upper` (inclusive unless `upperOpen`). */
export interface InstantRange {
  lower?: number;
  upper?: number;
  upperOpen?: boolean;
}

export interface BatchIndex {
  /** Up to `count` deals in `range`, newest first (by instant, then by descending id). */
  newest(range: InstantRange, count: number): Promise<DealRecord[]>;
  /** Every deal created at exactly `instant`. */
  at(instant: number): Promise<DealRecord[]>;
}

export const WALK_BATCH = 64;

/** Visit the deals in `range` newest first until `visit` returns false (purses are not deals). */
export async function walkNewestFirst(index: BatchIndex, range: CreatedRange, visit: (record: DealRecord) => boolean, batch = WALK_BATCH): Promise<void> {
  const lower = range.from;
  const upper = Math.min(range.to ?? Number.POSITIVE_INFINITY, range.after?.createdAt ?? Number.POSITIVE_INFINITY);
  if (lower !== undefined && lower > upper) return;
  let query: InstantRange = { ...(lower !== undefined ? { lower } : {}), ...(upper !== Number.POSITIVE_INFINITY ? { upper } : {}) };
  for (;;) {
    const records = await index.newest(query, batch);
    if (records.length === 0) return;
    const full = records.length === batch;
    const edge = records.at(-1)!.createdAt;
    // A full batch may have cut the deals of its oldest instant: take that instant whole.
    const page = full ? [...records.filter((r) => r.createdAt !== edge), ...(await index.at(edge)).sort(newestFirst)] : records;
    for (const record of page) if (record.kind !== 'wallet' && inCreatedRange(record, range) && !visit(record)) return;
    if (!full || (lower !== undefined && edge <= lower)) return;
    query = { ...(lower !== undefined ? { lower } : {}), upper: edge, upperOpen: true };
  }
}
