/**
 * Newest-first pages of the deals store (issue 13: the archive is paged from IndexedDB, never read
 * whole): the popup's lists and the history search walk the `byCreated` index from the newest deal
 * (DealStore.scanNewestFirst) and stop one selected row past the page, so a page reads the deals it
 * shows and those between them, not the whole archive.
 */
import type { CreatedRange, DealRecord, DealStore } from './records.js';

/** Rows per page of the popup's lists. */
export const DEAL_PAGE = 50;

export interface PagePosition {
  createdAt: number;
  dealId: string;
}

/**
 * The rows `select` makes of the deals in `range`, newest first, at most `limit`; `next` (the last
 * row's position) when at least one more deal would be selected.
 */
export async function newestPage<R>(
  store: Pick<DealStore, 'scanNewestFirst'>,
  range: CreatedRange,
  limit: number,
  select: (record: DealRecord) => R | undefined,
): Promise<{ rows: R[]; next?: PagePosition }> {
  const rows: R[] = [];
  let last: PagePosition | undefined;
  let more = false;
  await store.scanNewestFirst(range, (record) => {
    const row = select(record);
    if (row === undefined) return true;
    if (rows.length === limit) {
      more = true;
      return false;
    }
    rows.push(row);
    last = { createdAt: record.createdAt, dealId: record.dealId };
    return true;
  });
  return { rows, ...(more && last ? { next: last } : {}) };
}
