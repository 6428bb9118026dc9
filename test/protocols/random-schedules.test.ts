/**
 * Random schedules (fast-check, fixed seeds): the network drops, duplicates, delays and reorders
 * party↔party messages, delays and duplicates TTP messages within their bound, and may crash one
 * honest party or the TTP once; optionally one party cheats (wrong item, withheld item, no TTP,
 * replayed messages from an earlier exchange or this one, rogue TTP requests at any time).
 * Every run: fairness for the honest parties, timeliness, TTP consistency.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EXCHANGE_TYPES } from '../../core/exchange/index.js';
import type { Statement } from '../../core/statements/index.js';
import { allScenarios, makeKeys, type Scenario } from './fixtures.js';
import { describeRun, simulate, type CheatStrategy, type PartyId } from './harness.js';

let scenarios: Scenario[];
/** Per scenario: the traffic of an earlier exchange of the same deal (including TTP answers). */
const replayPools = new Map<string, Statement[]>();

beforeAll(async () => {
  scenarios = await allScenarios(await makeKeys());
  for (const sc of scenarios) {
    const earlier = await simulate({ scenario: sc, seed: 99, dropTypes: [EXCHANGE_TYPES.deliver] });
    replayPools.set(sc.name, earlier.wire);
  }
});

const NUM_RUNS = Number(process.env.SEMPER_FC_RUNS ?? 300);
/** Hundreds of simulated runs per test: far beyond the default 30 s on a loaded machine. */
const LONG = 180_000;
const choices = fc.array(fc.nat({ max: 10_000 }), { maxLength: 80 });
const STRATEGIES: CheatStrategy[] = ['wrong-item', 'withhold', 'no-ttp', 'replay', 'rogue-ttp'];
const cheaterArb = fc.record({
  party: fc.constantFrom<PartyId>('O', 'R'),
  strategies: fc.subarray(STRATEGIES, { minLength: 1 }),
});

describe.each([
  ['certified-mail', 0x5e3a1],
  ['contract', 0x5e3a2],
  ['currency', 0x5e3a3],
] as const)('%s under random schedules', (name, seed) => {
  it(
    'honest parties, faulty network and one crash: fair, timely, consistent',
    async () => {
      const sc = scenarios.find((s) => s.name === name)!;
      let usedTtp = 0;
      await fc.assert(
        fc.asyncProperty(choices, fc.nat({ max: 1000 }), async (ch, runSeed) => {
          const r = await simulate({ scenario: sc, choices: ch, seed: runSeed });
          if (r.ttpRequests > 0) usedTtp++;
          expect(r.violations, describeRun(r)).toEqual([]);
        }),
        { numRuns: NUM_RUNS, seed },
      );
      // The schedules did exercise the recovery paths, not only the optimistic one.
      expect(usedTtp).toBeGreaterThanOrEqual(Math.ceil(NUM_RUNS / 20));
    },
    LONG,
  );

  it(
    'one cheating party: the honest one is never worse off',
    async () => {
      const sc = scenarios.find((s) => s.name === name)!;
      await fc.assert(
        fc.asyncProperty(choices, cheaterArb, async (ch, cheater) => {
          const r = await simulate({ scenario: sc, choices: ch, cheater, replayPool: replayPools.get(name)!, seed: 7 });
          expect(r.violations, `${cheater.party} cheats with ${cheater.strategies.join('+')}\n${describeRun(r)}`).toEqual([]);
        }),
        { numRuns: NUM_RUNS, seed: seed + 1 },
      );
    },
    LONG,
  );
});
