/**
 * Exhaustive crash points of a purchase (purchase-harness.ts, on the network of sim.ts): for each
 * base schedule, crash the shopper's worker and the merchant kit at every one of their steps,
 * both before the new state was persisted and after persisting but before sending; the crashed
 * party restarts from its persisted JSON (the shopper re-sends `pendingSends`). Every run must
 * satisfy the purchase oracle and the shopper must terminate.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  describePurchase,
  makePurchaseWorld,
  OFFER_TTL_MS,
  simulatePurchase,
  type PurchaseNode,
  type PurchaseSimOptions,
  type PurchaseWorld,
} from './purchase-harness.js';
import type { CrashMode } from './sim.js';

let world: PurchaseWorld;
beforeAll(async () => {
  world = await makePurchaseWorld();
});

type Base = Omit<PurchaseSimOptions, 'world'>;
/** Each base schedule and the outcome it has without a crash: [shopper phase or error code, merchant phase]. */
const BASES: { name: string; base: Base; expect: [string, string] }[] = [
  { name: 'fault-free', base: {}, expect: ['completed', 'confirmed'] },
  { name: 'the user declines', base: { user: 'reject' }, expect: ['rejected', 'offered'] },
  { name: 'the offer expires in the window', base: { user: 'wait' }, expect: ['ERR_OFFER_EXPIRED', 'offered'] },
  { name: 'offer request lost', base: { lose: { requests: ['/semper/offer'] } }, expect: ['ERR_INTERNAL', 'none'] },
  { name: 'offer answer lost', base: { lose: { responses: ['/semper/offer'] } }, expect: ['ERR_INTERNAL', 'offered'] },
  // Issue 8 item 7: an order without an answer is sent again until the merchant answers or the answer deadline passes.
  { name: 'every order lost', base: { lose: { requests: ['/semper/order'] } }, expect: ['ERR_ORDER_UNANSWERED', 'offered'] },
  { name: 'every answer to the order lost', base: { lose: { responses: ['/semper/order'] } }, expect: ['ERR_ORDER_UNANSWERED', 'confirmed'] },
  { name: 'the first two orders lost', base: { lose: { requests: ['/semper/order'], times: 2 } }, expect: ['completed', 'confirmed'] },
  { name: 'the first two answers to the order lost', base: { lose: { responses: ['/semper/order'], times: 2 } }, expect: ['completed', 'confirmed'] },
  {
    name: 'the order reaches the merchant after the offer expired',
    base: { userThinksMs: OFFER_TTL_MS - 1, requestLatencyMs: 2 },
    expect: ['ERR_OFFER_EXPIRED', 'offered'],
  },
];

const outcome = (r: Awaited<ReturnType<typeof simulatePurchase>>): [string, string] => [
  r.shopper?.phase === 'failed' ? r.shopper.error.code : (r.shopper?.phase ?? 'none'),
  r.merchant?.phase ?? 'none',
];

describe.each(BASES)('purchase, $name: every crash point', ({ name, base, expect: expected }) => {
  it('crash the shopper and the merchant at each step (before persist / before send)', async () => {
    const dry = await simulatePurchase({ world, ...base });
    expect(dry.violations, describePurchase(dry)).toEqual([]);
    expect(outcome(dry), describePurchase(dry)).toEqual(expected);
    let runs = 0;
    let crashedRuns = 0;
    let resumedToCompletion = 0;
    for (const node of ['S', 'M'] as PurchaseNode[]) {
      // A crash can lengthen a run (a restart re-sends; the user confirms again): probe beyond the dry run.
      for (let k = 1; k <= dry.steps[node] + 2; k++) {
        for (const mode of ['before-persist', 'before-send'] as CrashMode[]) {
          const r = await simulatePurchase({ world, ...base, crash: { node, atStep: k, mode } });
          runs++;
          const crashed = r.trace.some((l) => l.includes('CRASH'));
          if (crashed) crashedRuns++;
          const label = `crash ${node}#${k} ${mode}\n${describePurchase(r)}`;
          expect(r.violations, label).toEqual([]);
          // The shopper terminates; only a crash before its first persist leaves no deal at all.
          if (r.shopper === null) expect([node, k, mode], label).toEqual(['S', 1, 'before-persist']);
          // In a fault-free run the shopper's worker survives any crash once its deal exists: it
          // resumes from the persisted JSON and completes.
          if (name === 'fault-free' && node === 'S' && r.shopper !== null) {
            expect(r.shopper.phase, label).toBe('completed');
            if (crashed) resumedToCompletion++;
          }
          // ...and the restart really resumed: some of those runs re-sent what was pending.
          if (crashed && node === 'S' && r.shopper !== null)
            expect(
              r.trace.some((l) => l.includes('S restarts in phase')),
              label,
            ).toBe(true);
        }
      }
    }
    if (name === 'fault-free') expect(resumedToCompletion).toBeGreaterThanOrEqual(2 * dry.steps.S - 1);
    expect(runs).toBe(2 * (dry.steps.S + 2) + 2 * (dry.steps.M + 2));
    // Every crash point of the dry run is reached (later probes may fall past the end of the run).
    expect(crashedRuns).toBeGreaterThanOrEqual(2 * (dry.steps.S + dry.steps.M));
  });
});
