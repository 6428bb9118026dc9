/**
 * Purchases under random schedules (fast-check, fixed seeds), on the same simulated network as
 * the exchanges: requests and answers dropped, duplicated, delayed and reordered; the clock
 * jumping (a slow user, a late alarm); one crash of the shopper's worker or the merchant kit; the
 * user confirming, declining or letting the offer expire; optionally a network that answers the
 * shopper's requests with recorded answers (from an earlier purchase or this one). Every run must
 * satisfy the purchase oracle (purchase-harness.ts) and the shopper must terminate.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { describePurchase, makePurchaseWorld, simulatePurchase, type PurchaseSimResult, type PurchaseWorld } from './purchase-harness.js';
import { scheduleChoices } from './sim.js';
import { purchaseShopper } from '../../core/commerce/index.js';

let world: PurchaseWorld;
/** The answers of an earlier purchase (another deal, another nonce), for the replaying network. */
let earlier: unknown[];

beforeAll(async () => {
  world = await makePurchaseWorld();
  earlier = (await simulatePurchase({ world, seed: 99 })).responses;
});

const NUM_RUNS = Number(process.env.SEMPER_FC_RUNS ?? 300);
/** FIFO-leaning schedules that reach the order and its answer (sim.ts scheduleChoices). */
const choices = scheduleChoices();

/** What a set of runs went through, so the test can say the schedules were not all alike. */
function tally(runs: PurchaseSimResult[]) {
  const count = (f: (r: PurchaseSimResult) => boolean) => runs.filter(f).length;
  return {
    completed: count((r) => r.shopper?.phase === 'completed'),
    failed: count((r) => r.shopper?.phase === 'failed'),
    rejected: count((r) => r.shopper?.phase === 'rejected'),
    /** The order went more than once (its answer was lost or late) and the deal completed (issue 8 item 7). */
    retriedToCompletion: count((r) => r.shopper?.phase === 'completed' && r.trace.filter((l) => l.includes('S→M /semper/order')).length > 1),
    crashed: count((r) => r.trace.some((l) => l.includes('CRASH'))),
    resumed: count((r) => r.trace.some((l) => l.includes('S restarts in phase')) && r.shopper?.phase === 'completed'),
    expired: count((r) => r.shopper?.phase === 'failed' && r.shopper.error.code === 'ERR_OFFER_EXPIRED'),
  };
}

describe('purchase under random schedules', () => {
  it('faulty network, a slow user, one crash: the oracle holds and the shopper terminates', async () => {
    const runs: PurchaseSimResult[] = [];
    await fc.assert(
      fc.asyncProperty(choices, fc.nat({ max: 1000 }), async (ch, seed) => {
        const r = await simulatePurchase({ world, choices: ch, seed });
        runs.push(r);
        expect(r.violations, describePurchase(r)).toEqual([]);
        expect(r.shopper !== null && purchaseShopper.isTerminal(r.shopper), describePurchase(r)).toBe(true);
      }),
      { numRuns: NUM_RUNS, seed: 0x9a1 },
    );
    // The schedules exercised every kind of ending, crashes and resumes, not only the happy path
    // (the rarer kinds are only counted in runs of the default size).
    const t = tally(runs);
    const some = Math.ceil(NUM_RUNS / 50);
    const rare = NUM_RUNS >= 100 ? 1 : 0;
    expect(t.completed, JSON.stringify(t)).toBeGreaterThanOrEqual(some);
    expect(t.failed, JSON.stringify(t)).toBeGreaterThanOrEqual(some);
    expect(t.crashed, JSON.stringify(t)).toBeGreaterThanOrEqual(some);
    expect(t.rejected, JSON.stringify(t)).toBeGreaterThanOrEqual(rare);
    expect(t.retriedToCompletion, JSON.stringify(t)).toBeGreaterThanOrEqual(rare);
    expect(t.resumed, JSON.stringify(t)).toBeGreaterThanOrEqual(rare);
    expect(t.expired, JSON.stringify(t)).toBeGreaterThanOrEqual(rare);
  });

  it('a network that replays recorded answers: nothing unverified is shown, nothing wrong is confirmed', async () => {
    let replayed = 0;
    await fc.assert(
      fc.asyncProperty(choices, async (ch) => {
        const r = await simulatePurchase({ world, choices: ch, replay: true, replayPool: earlier, seed: 7 });
        if (r.trace.some((l) => l.includes('replayed by the network'))) replayed++;
        expect(r.violations, describePurchase(r)).toEqual([]);
      }),
      { numRuns: NUM_RUNS, seed: 0x9a2 },
    );
    expect(replayed).toBeGreaterThanOrEqual(Math.ceil(NUM_RUNS / 20));
  });
});
