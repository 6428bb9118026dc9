/**
 * A Dolev–Yao-style adversary against the three protocols (issue 8): a party that
 *   - forges any field of m1 (every field in turn, re-signed by itself; and m1 signed by a stranger,
 *     or for another deal) — the honest responder answers none of them;
 *   - signs its m2, m3, m4 and its TTP requests with a key that is not the one the exchange names;
 *   - replays abort tokens, resolutions, revocation orders and messages across exchanges (of the same
 *     deal, and of the other protocols' deals) and from this run, to the peer and to the TTP;
 *   - times its moves, together with a TTP that is unavailable for long stretches (minutes), at
 *     several timing configurations: a short deadline, a long one, a slow TTP channel.
 * The oracle (harness.ts) checks fairness (with every affidavit's description and TTP key),
 * timeliness, the TTP's one decision, that every honest outcome is the TTP's decision (an abort is
 * not a revocation), that contracts are judged on all evidence, and that an honest responder only
 * answered an m1 saying exactly what was agreed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EXCHANGE_TYPES } from '../../core/exchange/index.js';
import type { Statement } from '../../core/statements/index.js';
import { allScenarios, makeKeys, T0, type Scenario } from './fixtures.js';
import { describeRun, simulate, type CheatStrategy, type PartyId, type SimTiming } from './harness.js';

let scenarios: Scenario[];
/** Traffic of earlier exchanges of every scenario (other deals, other protocols), TTP answers included. */
let crossPool: Statement[] = [];

/** Timing configurations: the protocols' assumptions hold in each (the TTP's delay bound below the margin). */
const TIMINGS: Record<string, SimTiming> = {
  'short deadline': { timeouts: { peer: 500, ttpRetry: 500, ttpMargin: 1_500, peerRetries: 0 }, ttpDelay: 700, deadline: T0 + 4_000 },
  'long deadline': { timeouts: { peer: 5_000, ttpRetry: 2_000, ttpMargin: 60_000, peerRetries: 2 }, ttpDelay: 1_000, deadline: T0 + 15 * 60_000 },
  'slow TTP': { timeouts: { peer: 1_000, ttpRetry: 5_000, ttpMargin: 30_000, peerRetries: 1 }, ttpDelay: 20_000, deadline: T0 + 3 * 60_000 },
};
/** A TTP down for three minutes early in the exchange (with the long deadline, a complaint still reaches it in time). */
const LONG_OUTAGE = [{ from: 500, to: 3 * 60_000 + 500 }];

beforeAll(async () => {
  scenarios = await allScenarios(await makeKeys());
  for (const sc of scenarios) {
    for (const drop of [[EXCHANGE_TYPES.deliver], [EXCHANGE_TYPES.accept]]) {
      const earlier = await simulate({ scenario: sc, seed: 98, dropTypes: drop });
      crossPool.push(...earlier.wire);
    }
  }
  crossPool = [...new Map(crossPool.map((s) => [JSON.stringify(s), s])).values()];
}, 120_000);

const scenario = (name: string) => scenarios.find((s) => s.name === name)!;
const NAMES = ['certified-mail', 'contract', 'currency'] as const;

describe.each(NAMES)('%s against a Dolev–Yao adversary', (name) => {
  it.each(Object.keys(TIMINGS))('a forging originator (every field of m1): the responder answers only the agreed m1 — %s', async (timing) => {
    const sc = scenario(name);
    for (const dropTypes of [[], [EXCHANGE_TYPES.deliver]]) {
      const r = await simulate({ scenario: sc, timing: TIMINGS[timing], cheater: { party: 'O', strategies: ['forge-m1'] }, dropTypes });
      expect(r.violations, describeRun(r)).toEqual([]);
      // Every forgery reached R and was refused (R answered one m1: the genuine one).
      expect(r.trace.filter((l) => l.startsWith(`${l.split(' ')[0]} R rejected`)).length).toBeGreaterThanOrEqual(14);
      expect(r.finalStates.R.m1).toEqual(r.finalStates.O.m1);
    }
  });

  it.each(['O', 'R'] as const)(
    'a party signing with the wrong key (m2, m3, m4, TTP requests) gets nothing; the honest one is not worse off — %s cheats',
    async (party) => {
      const sc = scenario(name);
      for (const timing of Object.values(TIMINGS)) {
        for (const dropTypes of [[], [EXCHANGE_TYPES.deliver], [EXCHANGE_TYPES.accept]]) {
          const r = await simulate({ scenario: sc, timing, cheater: { party, strategies: ['wrong-key'] }, dropTypes });
          expect(r.violations, describeRun(r)).toEqual([]);
          const honest: PartyId = party === 'O' ? 'R' : 'O';
          expect(r.finalStates[honest].phase, describeRun(r)).toBe('done');
          // Nothing the cheater signed with the stranger's key was taken (the honest party holds no item of it).
          expect(r.ttpRecord?.decidedBy ?? null).not.toBe(sc.keys.mallory.keyId);
        }
      }
    },
  );

  it('abort tokens, resolutions, revocation orders and messages replayed across exchanges and protocols move nothing', async () => {
    const sc = scenario(name);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 10_000 }), { maxLength: 60 }), fc.constantFrom<PartyId>('O', 'R'), async (choices, party) => {
        const r = await simulate({
          scenario: sc,
          choices,
          cheater: { party, strategies: ['replay', 'rogue-ttp'] },
          replayPool: crossPool,
          budget: { injections: 12 },
          seed: 5,
        });
        expect(r.violations, describeRun(r)).toEqual([]);
      }),
      { numRuns: 40, seed: 0xd01e + name.length },
    );
  }, 180_000);

  it('a TTP down for three minutes: parties that gave their item keep asking and end with its decision, never failed', async () => {
    const sc = scenario(name);
    for (const dropTypes of [[EXCHANGE_TYPES.deliver], [EXCHANGE_TYPES.accept], []]) {
      const r = await simulate({ scenario: sc, timing: TIMINGS['long deadline'], ttpOutages: LONG_OUTAGE, dropTypes, maxSteps: 800 });
      expect(r.violations, describeRun(r)).toEqual([]);
      for (const p of ['O', 'R'] as const) {
        const st = r.finalStates[p];
        if (st.delivered || (p === 'R' && st.m2)) expect(st.outcome?.status, `${p}\n${describeRun(r)}`).not.toBe('failed');
      }
      if (dropTypes.length) expect(r.trace.some((l) => l.includes('T is down'))).toBe(true);
    }
  });
});

describe('random schedules with the Dolev–Yao adversary, every timing, TTP outages', () => {
  const STRATEGIES: CheatStrategy[] = ['wrong-item', 'withhold', 'no-ttp', 'replay', 'rogue-ttp', 'forge-m1', 'wrong-key'];
  const NUM_RUNS = Number(process.env.SEMPER_FC_RUNS ?? 300) / 5;
  it.each(NAMES)(
    '%s',
    async (name) => {
      const sc = scenario(name);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.nat({ max: 10_000 }), { maxLength: 80 }),
          fc.record({ party: fc.constantFrom<PartyId>('O', 'R'), strategies: fc.subarray(STRATEGIES, { minLength: 1 }) }),
          fc.constantFrom(...Object.keys(TIMINGS)),
          fc.boolean(),
          async (choices, cheater, timing, outage) => {
            const strategies = cheater.party === 'R' ? cheater.strategies.filter((x) => x !== 'forge-m1') : cheater.strategies;
            const r = await simulate({
              scenario: sc,
              choices,
              timing: TIMINGS[timing],
              ...(outage && timing === 'long deadline' ? { ttpOutages: LONG_OUTAGE, maxSteps: 800 } : {}),
              cheater: { party: cheater.party, strategies: strategies.length ? strategies : ['wrong-key'] },
              replayPool: crossPool,
              seed: 11,
            });
            expect(r.violations, `${cheater.party} cheats with ${strategies.join('+')} (${timing}${outage ? ', TTP outage' : ''})\n${describeRun(r)}`).toEqual(
              [],
            );
          },
        ),
        { numRuns: NUM_RUNS, seed: 0xd0e1 + name.length },
      );
    },
    240_000,
  );
});
