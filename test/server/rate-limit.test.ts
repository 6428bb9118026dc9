/**
 * RateLimiter (server/http/rate-limit.ts) keeps each key's attempts in time order and drops the
 * expired ones from the front, instead of filtering a copy of the whole window on every attempt.
 * Against the filtering limiter it replaced, on random schedules of keys and clock steps (the
 * clock sometimes going back): the same attempts allowed and refused, and while the clock only
 * moves forward the same wait named.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../server/http/rate-limit.js';

/** The limiter as it was: every attempt filters the key's window. */
class FilteringLimiter {
  private readonly hits = new Map<string, number[]>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly maxKeys: number,
  ) {}
  attempt(key: string): number {
    const t = this.now();
    const since = t - this.windowMs;
    const recent = (this.hits.get(key) ?? []).filter((at) => at > since);
    if (recent.length >= this.limit) {
      this.hits.set(key, recent);
      return Math.max(1, recent[0]! + this.windowMs - t);
    }
    recent.push(t);
    this.hits.delete(key);
    this.hits.set(key, recent);
    while (this.hits.size > this.maxKeys) this.hits.delete(this.hits.keys().next().value!);
    return 0;
  }
}

const schedule = (back: boolean) =>
  fc.record({
    limit: fc.integer({ min: 1, max: 6 }),
    windowMs: fc.integer({ min: 1, max: 50 }),
    maxKeys: fc.integer({ min: 1, max: 4 }),
    steps: fc.array(
      fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), dt: back ? fc.integer({ min: -20, max: 30 }) : fc.integer({ min: 0, max: 8 }) }),
      { maxLength: 200 },
    ),
  });

function run(s: { limit: number; windowMs: number; maxKeys: number; steps: { key: string; dt: number }[] }): { kept: number[]; was: number[] } {
  let t = 1_000;
  const now = () => t;
  const kept = new RateLimiter({ limit: s.limit, windowMs: s.windowMs, maxKeys: s.maxKeys, now });
  const was = new FilteringLimiter(s.limit, s.windowMs, now, s.maxKeys);
  const out = { kept: [] as number[], was: [] as number[] };
  for (const step of s.steps) {
    t += step.dt;
    out.kept.push(kept.attempt(step.key));
    out.was.push(was.attempt(step.key));
  }
  return out;
}

describe('RateLimiter counts as the filtering limiter did', () => {
  it('the same verdicts and waits while the clock moves forward (property)', () => {
    let refused = 0;
    fc.assert(
      fc.property(schedule(false), (s) => {
        const { kept, was } = run(s);
        expect(kept).toEqual(was);
        refused += kept.filter((w) => w > 0).length;
      }),
      { numRuns: 2000 },
    );
    expect(refused).toBeGreaterThan(300);
  });

  it('the same verdicts when the clock goes back (property)', () => {
    fc.assert(
      fc.property(schedule(true), (s) => {
        const { kept, was } = run(s);
        expect(kept.map((w) => w > 0)).toEqual(was.map((w) => w > 0));
      }),
      { numRuns: 2000 },
    );
  });
});
