/**
 * The batched newest-first walk of the deals store (extension/worker/newest-walk.ts) against the
 * order a cursor gives: over an index that answers like IndexedDB's getAllRecords('prev', count),
 * with many deals sharing one instant across batch edges, ranges and `after` positions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CreatedRange, type DealRecord, inCreatedRange, newestFirst } from '../../../extension/deals/records.js';
import { type BatchIndex, type InstantRange, walkNewestFirst } from '../../../extension/worker/newest-walk.js';

function record(createdAt: number, i: number, kind: DealRecord['kind'] = 'purchase'): DealRecord {
  return { kind, dealId: `d-${String(i).padStart(4, '0')}`, createdAt } as DealRecord;
}

/** An in-memory byCreated index; counts its reads. */
function arrayIndex(records: DealRecord[]): BatchIndex & { reads: number } {
  const sorted = [...records].sort(newestFirst);
  const within = (r: DealRecord, q: InstantRange) =>
    (q.lower === undefined || r.createdAt >= q.lower) && (q.upper === undefined || (q.upperOpen ? r.createdAt < q.upper : r.createdAt <= q.upper));
  const index = {
    reads: 0,
    async newest(q: InstantRange, count: number) {
      index.reads++;
      return sorted.filter((r) => within(r, q)).slice(0, count);
    },
    async at(instant: number) {
      index.reads++;
      // IndexedDB's getAll: ascending, so the walk must sort.
      return sorted.filter((r) => r.createdAt === instant).reverse();
    },
  };
  return index;
}

async function walk(index: BatchIndex, range: CreatedRange, stopAfter = Number.POSITIVE_INFINITY, batch = 4): Promise<string[]> {
  const seen: string[] = [];
  await walkNewestFirst(
    index,
    range,
    (r) => {
      seen.push(r.dealId);
      return seen.length < stopAfter;
    },
    batch,
  );
  return seen;
}

describe('the batched newest-first walk', () => {
  it('visits exactly what a cursor would, in its order, with ties across batch edges (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
        fc.option(fc.nat({ max: 70 }), { nil: undefined }),
        fc.integer({ min: 1, max: 80 }),
        async (instants, batch, from, to, afterIndex, stopAfter) => {
          const records = instants.map((t, i) => record(t, i, i % 9 === 4 ? 'wallet' : 'purchase'));
          const cursorOrder = [...records].sort(newestFirst);
          const afterRecord = afterIndex !== undefined ? cursorOrder[afterIndex] : undefined;
          const range: CreatedRange = {
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
            ...(afterRecord ? { after: { createdAt: afterRecord.createdAt, dealId: afterRecord.dealId } } : {}),
          };
          const expected = cursorOrder
            .filter((r) => r.kind !== 'wallet' && inCreatedRange(r, range))
            .map((r) => r.dealId)
            .slice(0, stopAfter);
          expect(await walk(arrayIndex(records), range, stopAfter, batch)).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reads a page in a few batches, not one read per deal; fifty deals in one millisecond still end', async () => {
    const records = Array.from({ length: 300 }, (_, i) => record(1_000 + Math.floor(i / 2), i));
    const index = arrayIndex(records);
    expect(await walk(index, {}, 51, 64)).toHaveLength(51);
    expect(index.reads).toBe(2); // one batch, and the instant at its edge
    const same = arrayIndex(Array.from({ length: 50 }, (_, i) => record(7, i)));
    expect(await walk(same, {}, Number.POSITIVE_INFINITY, 4)).toEqual(Array.from({ length: 50 }, (_, i) => `d-${String(49 - i).padStart(4, '0')}`));
  });
});
