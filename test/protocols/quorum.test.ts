/**
 * k-of-n TTPs in the fairness harness (docs/quorum.md): the exchange names T, T2, T3 and a quorum k.
 *   - 3 TTPs of which one is malicious (signs both ways for anyone who asks) and one is down, k = 2: for every
 *     placement of the three and every base schedule, at every crash point, then under random schedules (faulty network, one crash, one
 *     cheating party): fair, timely, and no two conflicting outcomes can reach 2 decisions.
 *   - The fault bound is tight: with all three TTPs deciding, one malicious one and k = 2, racing requests split the
 *     honest two and the malicious one completes both quorums — the harness finds it; k = 3 keeps the exchange
 *     consistent and fair on the same schedules (it may then wait for ever: liveness needs k TTPs deciding alike).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGE_TYPES } from '../../core/exchange/index.js';
import { allScenarios, makeKeys, type Scenario } from './fixtures.js';
import { describeRun, simulate, type CheatStrategy, type PartyId, type TtpBehaviour } from './harness.js';

let scenarios: Scenario[];
beforeAll(async () => {
  scenarios = await allScenarios(await makeKeys());
});

const NUM_RUNS = Math.max(10, Math.round(Number(process.env.SEMPER_FC_RUNS ?? 300) / 8));
const LONG = 120_000;
const BASES: { name: string; dropTypes: string[] }[] = [
  { name: 'fault-free', dropTypes: [] },
  { name: 'deliveries lost', dropTypes: [EXCHANGE_TYPES.deliver] },
  { name: 'acceptances lost', dropTypes: [EXCHANGE_TYPES.accept] },
];
/** Where the honest, the down and the malicious TTP stand in the set (m1's TTP is the first). */
const PLACEMENTS: TtpBehaviour[][] = [
  ['honest', 'down', 'malicious'],
  ['malicious', 'honest', 'down'],
  ['down', 'malicious', 'honest'],
];
const choices = fc.array(fc.nat({ max: 10_000 }), { maxLength: 80 });
const STRATEGIES: CheatStrategy[] = ['wrong-item', 'withhold', 'no-ttp', 'replay', 'rogue-ttp'];

describe.each(['certified-mail', 'contract', 'currency'])('%s with 2 of 3 TTPs, one malicious, one down', (name) => {
  const scenario = () => scenarios.find((s) => s.name === name)!;

  it('every placement, every base schedule: fair, timely, consistent; outcomes carry 2 decisions', async () => {
    let decidedByQuorum = 0;
    for (const ttps of PLACEMENTS)
      for (const base of BASES) {
        const r = await simulate({ scenario: scenario(), dropTypes: base.dropTypes, quorum: { k: 2, ttps } });
        const what = `${ttps.join(',')} ${base.name}`;
        expect(r.violations, `${what}\n${describeRun(r)}`).toEqual([]);
        for (const p of ['O', 'R'] as const) {
          expect(r.finalStates[p].phase, `${what}: ${p}`).toBe('done');
          const o = r.outcomes[p]!;
          if (o.status !== 'completed' || o.final) {
            expect(o.status === 'failed' ? [] : o.quorum, `${what}: ${p} ended ${o.status}`).toHaveLength(2);
            decidedByQuorum++;
          }
        }
      }
    expect(decidedByQuorum).toBeGreaterThan(0);
  });

  it('every crash point of O, R and the honest TTP (messages lost on the way): fair, timely, consistent', async () => {
    const ttps: TtpBehaviour[] = ['honest', 'down', 'malicious'];
    let crashed = 0;
    for (const base of BASES.slice(1)) {
      const dry = await simulate({ scenario: scenario(), dropTypes: base.dropTypes, quorum: { k: 2, ttps } });
      for (const node of ['O', 'R', 'T'] as const)
        for (let k = 1; k <= dry.steps[node]; k++)
          for (const mode of ['before-persist', 'before-send'] as const) {
            const r = await simulate({ scenario: scenario(), dropTypes: base.dropTypes, quorum: { k: 2, ttps }, crash: { node, atStep: k, mode } });
            if (r.trace.some((l) => l.includes('CRASH'))) crashed++;
            expect(r.violations, `${base.name}: crash ${node}#${k} ${mode}\n${describeRun(r)}`).toEqual([]);
          }
    }
    expect(crashed).toBeGreaterThan(10);
  });

  it(
    'random schedules, honest parties or one cheater: the honest are never worse off, no conflicting quorums',
    async () => {
      const sc = scenario();
      const cheaterArb = fc.option(fc.record({ party: fc.constantFrom<PartyId>('O', 'R'), strategies: fc.subarray(STRATEGIES, { minLength: 1 }) }));
      let usedTtp = 0;
      await fc.assert(
        fc.asyncProperty(choices, cheaterArb, fc.constantFrom(...PLACEMENTS), fc.nat({ max: 1000 }), async (ch, cheater, ttps, seed) => {
          const r = await simulate({ scenario: sc, choices: ch, seed, quorum: { k: 2, ttps }, ...(cheater ? { cheater } : {}) });
          if (r.ttpRequests > 0) usedTtp++;
          expect(
            r.violations,
            `${ttps.join(',')} ${cheater ? `${cheater.party} cheats ${cheater.strategies.join('+')}` : 'honest'}\n${describeRun(r)}`,
          ).toEqual([]);
        }),
        { numRuns: NUM_RUNS, seed: 0x9a0 + name.length },
      );
      expect(usedTtp).toBeGreaterThan(0);
    },
    LONG,
  );
});

describe('the fault bound (docs/quorum.md): conflicting quorums need 2k − d TTPs that sign both ways', () => {
  it(
    'contract signing, all three TTPs deciding, one malicious: k = 2 lets racing requests reach both outcomes; k = 3 does not',
    async () => {
      const sc = scenarios.find((s) => s.name === 'contract')!;
      const ttps: TtpBehaviour[] = ['honest', 'honest', 'malicious'];
      const split: number[][] = [];
      await fc.assert(
        fc.asyncProperty(choices, fc.nat({ max: 1000 }), async (ch, seed) => {
          const r = await simulate({ scenario: sc, choices: ch, seed, quorum: { k: 2, ttps } });
          if (r.violations.some((v) => v.startsWith('TTP consistency'))) split.push(ch, [seed]);
        }),
        { numRuns: 60, seed: 7 },
      );
      // One malicious TTP completed both quorums of 2 after the honest two decided differently.
      expect(split.length).toBeGreaterThan(0);
      for (let i = 0; i < split.length; i += 2) {
        const r = await simulate({ scenario: sc, choices: split[i]!, seed: split[i + 1]![0]!, quorum: { k: 3, ttps } });
        // Safe with k = 3 (2k − n = 3 > 1 malicious); the honest party may wait for a quorum that never forms.
        expect(
          r.violations.filter((v) => !v.startsWith('timeliness')),
          describeRun(r),
        ).toEqual([]);
      }
    },
    LONG,
  );
});
