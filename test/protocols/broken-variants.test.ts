/**
 * The harness must be able to fail: deliberately broken variants of the protocol and of the TTP
 * are run through the same simulation, and the oracle must report the unfairness.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EXCHANGE_TYPES, stepExchange, type ExchangeState } from '../../core/exchange/index.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import type { Item } from '../../core/items/index.js';
import { allScenarios, makeKeys, type Scenario } from './fixtures.js';
import { describeRun, simulate, type StepFn } from './harness.js';

let scenarios: Scenario[];
beforeAll(async () => {
  scenarios = await allScenarios(await makeKeys());
});
const scenario = (name: string) => scenarios.find((s) => s.name === name)!;

/** Broken originator: sends its generatable item as soon as any m2 arrives, before verifying it. */
const eagerOriginator: StepFn = async (state, event, ctx) => {
  const real = await stepExchange(state, event, ctx);
  const msg = event.type === 'message' ? (event.message as Statement) : null;
  if (msg?.type !== EXCHANGE_TYPES.accept || state.phase !== 'awaiting-m2' || real.state.phase === 'done') return real;
  const deliver = (await signStatement(
    {
      type: EXCHANGE_TYPES.deliver,
      version: 1,
      dealId: state.dealId,
      issuedAt: nowIso(event.now),
      body: { exchangeId: state.exchangeId, role: 'originator', item: state.ownItem },
    },
    ctx.signer,
  )) as Statement;
  const next: ExchangeState = { ...state, phase: 'done', wakeAt: null, outcome: { status: 'completed', received: (msg.body as { item: Item }).item } };
  return { state: next, send: [{ to: 'peer', statement: deliver }], effects: [] };
};

describe('the harness catches unfair variants', () => {
  it('certified mail: an originator that gives its receipt before checking the information', async () => {
    const r = await simulate({ scenario: scenario('certified-mail'), steps: { O: eagerOriginator }, cheater: { party: 'R', strategies: ['wrong-item'] } });
    expect(r.violations, describeRun(r)).toContainEqual(expect.stringMatching(/^fairness: cheating R got honest O's item/));
    // The same attack against the real originator is harmless.
    const ok = await simulate({ scenario: scenario('certified-mail'), cheater: { party: 'R', strategies: ['wrong-item'] } });
    expect(ok.violations, describeRun(ok)).toEqual([]);
  });

  it('certified mail: a TTP that resolves without checking the verifiable transfer', async () => {
    const accept = async () => ({ ok: true as const });
    const r = await simulate({ scenario: scenario('certified-mail'), ttpVerifyTransfer: accept, cheater: { party: 'R', strategies: ['wrong-item'] } });
    expect(r.ttpRecord?.decision).toBe('resolved');
    expect(r.violations, describeRun(r)).toContainEqual(expect.stringMatching(/^fairness: cheating R got honest O's item/));
    const ok = await simulate({ scenario: scenario('certified-mail'), cheater: { party: 'R', strategies: ['wrong-item'] } });
    expect(ok.ttpRecord?.decision).toBe('aborted');
    expect(ok.violations).toEqual([]);
  });

  it('random schedules find the broken originator too (fast-check reports a counterexample)', async () => {
    const sc = scenario('certified-mail');
    const run = fc.check(
      fc.asyncProperty(fc.array(fc.nat({ max: 10_000 }), { maxLength: 40 }), async (choices) => {
        const r = await simulate({ scenario: sc, choices, steps: { O: eagerOriginator }, cheater: { party: 'R', strategies: ['wrong-item', 'replay'] } });
        return r.violations.length === 0;
      }),
      { numRuns: 30, seed: 42 },
    );
    expect((await run).failed).toBe(true);
  });

  it('contract signing: a TTP that forgets its decisions (no atomic record) aborts and resolves one exchange', async () => {
    // Both m2 copies are lost: O asks to abort, R asks to resolve. A TTP without a record grants both.
    const r = await simulate({ scenario: scenario('contract'), dropTypes: [EXCHANGE_TYPES.accept], forgetfulTtp: true });
    expect(r.violations, describeRun(r)).toContainEqual(expect.stringMatching(/^TTP consistency: exchange .* was both aborted and resolved/));
    expect(r.violations).toContainEqual(expect.stringMatching(/^fairness: O did not get R's item but R got O's/));
    const ok = await simulate({ scenario: scenario('contract'), dropTypes: [EXCHANGE_TYPES.accept] });
    expect(ok.violations, describeRun(ok)).toEqual([]);
    expect(ok.ttpRequests).toBeGreaterThanOrEqual(2);
  });

  it('timeliness: a party whose timers are disabled is reported as not terminating', async () => {
    const lazy: StepFn = async (state, event, ctx) => {
      const real = await stepExchange(state, event, ctx);
      return { ...real, state: { ...real.state, wakeAt: null } };
    };
    const r = await simulate({ scenario: scenario('contract'), steps: { R: lazy }, dropTypes: [EXCHANGE_TYPES.deliver] });
    expect(r.violations).toContainEqual(expect.stringMatching(/^timeliness: honest R did not terminate/));
  });
});
