/**
 * isoTime (core/encoding/time.ts) against Date.prototype.toISOString, which it stands for: on
 * random instants across its whole range, the calendar's edges (leap days, century years, the
 * first and last instants it formats itself) and what it leaves to toISOString.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../core/encoding/index.js';

const year0 = new Date(0);
year0.setUTCFullYear(0, 0, 1);
const LAST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

describe('isoTime writes what toISOString writes', () => {
  it('on random instants of the years 0000–9999 and around now (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: year0.getTime(), max: LAST }), fc.integer({ min: Date.now() - 1e11, max: Date.now() + 1e11 })), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('on the calendar’s edges: every leap day and year end from 1896 to 2104, century years, the range’s ends', () => {
    const edges: number[] = [year0.getTime(), LAST, 0, -1, 1, Date.UTC(1600, 1, 29), Date.UTC(2000, 1, 29), Date.UTC(1900, 1, 28, 23, 59, 59, 999)];
    for (let y = 1896; y <= 2104; y++) {
      for (const [m, d] of [
        [0, 1],
        [1, 28],
        [1, 29],
        [2, 1],
        [11, 31],
      ] as const) {
        const t = Date.UTC(y, m, d);
        edges.push(t - 1, t, t + 1, t + 86_399_999);
      }
    }
    for (const t of edges) expect(isoTime(t)).toBe(new Date(t).toISOString());
  });

  it('leaves other years, fractions of a millisecond and invalid times to toISOString (its ±YYYYYY form, its RangeError)', () => {
    for (const t of [year0.getTime() - 1, LAST + 1, 8.64e15, -8.64e15, 1.5, -0.5]) expect(isoTime(t)).toBe(new Date(t).toISOString());
    for (const t of [Number.NaN, 8.64e15 + 1, Number.POSITIVE_INFINITY]) expect(() => isoTime(t)).toThrow(RangeError);
  });
});
