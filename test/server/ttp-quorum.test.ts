/**
 * k-of-n over real TTP services (docs/quorum.md): three server/ttp apps, each with its own key,
 * certificate and SQLite file, unchanged; the parties' hosts route each TTP request by the key id
 * the machine names. 2 of {T, T2, T3}, T2 down: a contract-signing exchange whose m2 is lost ends
 * aborted for both on the decisions of T and T3, each of which decided once; the originator's
 * outcome carries both, and they void the contract in the judge's eyes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  judgeContractSigning,
  startOriginator,
  startResponder,
  stepExchange,
  type ExchangeContext,
  type ExchangeState,
  type Outbound,
  type StepResult,
} from '../../core/exchange/index.js';
import { seededRandom } from '../../core/machine.js';
import type { Statement } from '../../core/statements/index.js';
import { createTtpApp, TtpService } from '../../server/ttp/index.js';
import { originatorParams, responderParams, T0, type Keys, type Scenario } from '../protocols/fixtures.js';
import { contractSetup } from './ttp-fixtures.js';

let keys: Keys;
let sc: Scenario;
let dir: string;
beforeAll(async () => {
  ({ keys, sc } = await contractSetup());
  dir = mkdtempSync(join(tmpdir(), 'semper-ttp-quorum-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('2 of 3 TTP services, one down', () => {
  it('both parties end aborted on the decisions of the two that answer; each TTP decided once', async () => {
    const now = T0 + 5_000;
    const members = [{ signer: keys.ttp, chain: keys.ttpChain }, ...keys.moreTtps];
    const services = members.map(
      (m, i) =>
        new TtpService({
          signer: m.signer,
          certificateChain: m.chain,
          trustRoots: [keys.root],
          store: { path: join(dir, `ttp-${i}.sqlite`) },
          clock: () => now,
        }),
    );
    const apps = services.map((svc) => createTtpApp(svc));
    const set = members.map((m) => m.signer.keyId);
    const down = set[1];
    const quorum = { k: 2, ttps: set.map((keyId) => ({ keyId })) };
    const trust = { roots: [keys.root], ttps: set };
    const oCtx: ExchangeContext = { ...sc.O.ctx, trust, random: seededRandom(31) };
    const rCtx: ExchangeContext = { ...sc.R.ctx, trust, random: seededRandom(32) };
    const rt = (s: ExchangeState): ExchangeState => JSON.parse(JSON.stringify(s)) as ExchangeState;

    /** The host: each request to the TTP its `ttp` names, over the app's HTTP; answers and refusals back into the machine. */
    async function host(state: ExchangeState, sent: Outbound[], ctx: ExchangeContext): Promise<ExchangeState> {
      let s = state;
      for (const o of sent.filter((x) => x.to === 'ttp')) {
        expect(o.ttp).toBeDefined();
        if (o.ttp === down) {
          s = (await stepExchange(rt(s), { type: 'ttp-error', error: { code: 'ERR_INTERNAL', message: 'HTTP 503' }, now, ttp: o.ttp }, ctx)).state;
          continue;
        }
        const app = apps[set.indexOf(o.ttp!)]!;
        const res = await app.request('/ttp/requests', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ request: o.statement }),
        });
        expect(res.status).toBe(200);
        const { answer } = (await res.json()) as { answer: Statement };
        const step: StepResult = await stepExchange(rt(s), { type: 'message', message: answer, now, from: 'ttp' }, ctx);
        expect(step.effects.filter((e) => e.kind === 'rejected-message')).toEqual([]);
        s = step.state;
      }
      return s;
    }

    const o0 = await startOriginator({ ...originatorParams(keys, sc), quorum }, oCtx);
    const r0 = await startResponder({ ...responderParams(keys, sc), quorum }, rCtx);
    const r1 = await stepExchange(rt(r0.state), { type: 'message', message: o0.send[0]!.statement, now: T0, from: 'peer' }, rCtx);
    expect(r1.send).toHaveLength(1); // m2, lost on its way
    // The originator without m2: retransmits m1, then asks all three TTPs to abort.
    let o = o0.state;
    let sent: Outbound[] = [];
    while (o.phase !== 'awaiting-ttp') ({ state: o, send: sent } = await stepExchange(rt(o), { type: 'timeout', now: o.wakeAt! }, oCtx));
    expect(sent.map((x) => x.ttp)).toEqual(set);
    o = await host(o, sent, oCtx);
    expect(o.outcome).toMatchObject({ status: 'aborted' });
    // The responder without m3 asks all three to resolve: T and T3 answer with their abort tokens.
    let r = r1.state;
    while (r.phase !== 'awaiting-ttp') ({ state: r, send: sent } = await stepExchange(rt(r), { type: 'timeout', now: r.wakeAt! }, rCtx));
    r = await host(r, sent, rCtx);
    expect(r.outcome).toMatchObject({ status: 'aborted' });

    for (const [i, app] of apps.entries()) {
      const got = await app.request(`/ttp/exchanges/${o.exchangeId}`);
      if (set[i] === down) expect(got.status).toBe(404);
      else expect(await got.json()).toMatchObject({ decision: 'aborted' });
    }
    if (o.outcome?.status !== 'aborted') throw new Error('not aborted');
    expect(o.outcome.quorum).toHaveLength(2);
    const verdict = await judgeContractSigning({ m1: o.m1, abortTokens: o.outcome.quorum }, { roots: [keys.root], now });
    expect(verdict).toMatchObject({ signed: false, basis: 'abort-token' });
    for (const svc of services) svc.close();
  });
});
