/**
 * contract-signed: an abort token set against a resolved or completed contract, judged with the
 * hardening of issue 8 (core/exchange `judgeContractSigning`): the transcript or the TTP's resolution
 * proves the contract whatever abort token exists; an abort token alone proves no contract. And the
 * TTP that signs both an abort token and a resolution for one exchange: ttp-conflict.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXCHANGE_TYPES,
  startOriginator,
  startResponder,
  stepExchange,
  TTP_TYPES,
  type ExchangeContext,
  type ExchangeState,
} from '../../../core/exchange/index.js';
import { seededRandom } from '../../../core/machine.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import { judge, makeEvidence, signComplaint, type Claim } from '../../../core/arbiter/index.js';
import { contract as contractScenario, honestPair, makeKeys, SIM_TIMEOUTS, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';
import { memoryTtp } from '../../protocols/ttp-host.js';

let keys: Keys;
let sc: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  sc = await contractScenario(keys);
});

const rt = (s: ExchangeState): ExchangeState => JSON.parse(JSON.stringify(s)) as ExchangeState;

async function signed(signer: Signer, type: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId: sc.dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

/** The Shmatikov–Mitchell cheat through the real machines: O aborts at the TTP after m2, then completes anyway. */
async function abortThenComplete(seed: number) {
  const { o, r1, oCtx, rCtx, m1, m2 } = await honestPair(keys, sc, seed);
  const ttp = memoryTtp();
  const token = (await ttp.request(await signed(keys.o, EXCHANGE_TYPES.abortRequest, { exchangeId: o.state.exchangeId, m1 }), sc.ttpContext(), T0)).answer;
  const o2 = await stepExchange(rt(o.state), { type: 'message', message: m2, now: T0, from: 'peer' }, oCtx);
  const m3 = o2.send[0]!.statement;
  const r2 = await stepExchange(rt(r1.state), { type: 'message', message: m3, now: T0, from: 'peer' }, rCtx);
  const m4 = r2.send[0]!.statement;
  return { m1, m2, m3, m4, token, exchangeId: o.state.exchangeId! };
}

async function fileAs(claimant: Signer, claim: Claim, statements: unknown[], respondent?: string) {
  const evidence = await makeEvidence({ dealId: sc.dealId, statements });
  const complaint = await signComplaint({ claim, dealId: sc.dealId, evidence: evidence.digest, ...(respondent ? { respondent } : {}) }, claimant, T0 + 1_000);
  return judge(complaint, evidence, { roots: [keys.root], now: T0 + 1_000 });
}

describe('contract-signed', () => {
  it('upheld: the honest responder shows the transcript; the cheating originator’s abort token does not void it', async () => {
    const a = await abortThenComplete(71);
    const j = await fileAs(keys.r, 'contract-signed', [a.m1, a.m2, a.m3, a.m4, a.token], keys.o.keyId);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'contract-signed/main-protocol' });
    expect(j.verdict.reasons[0]).toMatch(/does not void it/);
  });

  it('dismissed: the cheating responder claims a contract with only m1, m2 and the originator’s abort token', async () => {
    const a = await abortThenComplete(81);
    const j = await fileAs(keys.r, 'contract-signed', [a.m1, a.m2, a.token], keys.o.keyId);
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'contract-signed/aborted' });
  });

  it('upheld by the TTP’s resolution of this m1; undecided with neither transcript nor decision', async () => {
    const a = await abortThenComplete(91);
    const resolveReq = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, { exchangeId: a.exchangeId, m1: a.m1, m2: a.m2 });
    const resolution = (await memoryTtp().request(resolveReq, sc.ttpContext(), T0)).answer;
    expect(resolution.type).toBe(TTP_TYPES.resolution);
    const j = await fileAs(keys.r, 'contract-signed', [a.m1, resolution]);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'contract-signed/resolution' });
    const k = await fileAs(keys.r, 'contract-signed', [a.m1, a.m2]);
    expect(k.verdict).toMatchObject({ decision: 'undecided', rule: 'contract-signed/incomplete' });
    expect(k.verdict.missing?.[0]).toMatch(/m2, m3 and m4/);
  });

  it('ttp-conflict: a TTP that signed the abort token and also a resolution for the same exchange (two TTP instances, one key)', async () => {
    const a = await abortThenComplete(101);
    const resolveReq = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, { exchangeId: a.exchangeId, m1: a.m1, m2: a.m2 });
    // A second TTP store with the same key: the fault a TTP's single record per exchange prevents.
    const resolution = (await memoryTtp().request(resolveReq, sc.ttpContext(), T0)).answer;
    const j = await fileAs(keys.r, 'ttp-conflict', [a.m1, a.token, resolution], keys.ttp.keyId);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'ttp-conflict/two-outcomes' });
    const honest = await fileAs(keys.r, 'ttp-conflict', [a.m1, a.token]);
    expect(honest.verdict.decision).toBe('undecided');
  });
});

describe('k-of-n TTPs (docs/quorum.md): the arbiter counts k decisions of the set', () => {
  const ttpCtx = (i: number) => {
    const t = [{ signer: keys.ttp, chain: keys.ttpChain }, ...keys.moreTtps][i]!;
    return { signer: t.signer, signerRef: { kind: 'x509' as const, chain: t.chain }, trust: { roots: [keys.root] } };
  };
  /** A 2-of-{T, T2, T3} contract-signing exchange through m2, and each TTP's decision on a request. */
  async function quorumExchange(seed: number) {
    const set = [keys.ttp, keys.moreTtps[0]!.signer, keys.moreTtps[1]!.signer].map((s) => s.keyId);
    const quorum = { k: 2, ttps: set.map((keyId) => ({ keyId })) };
    const trust = { roots: [keys.root], ttps: set };
    const oCtx: ExchangeContext = { ...sc.O.ctx, trust, random: seededRandom(seed) };
    const rCtx: ExchangeContext = { ...sc.R.ctx, trust, random: seededRandom(seed + 1) };
    const common = { protocol: sc.protocol, dealId: sc.dealId, now: T0, timeouts: SIM_TIMEOUTS, ttp: { keyId: keys.ttp.keyId }, quorum };
    const o = await startOriginator(
      { ...common, gives: sc.O.gives, item: sc.O.item, expects: sc.R.gives, responder: { keyId: keys.r.keyId }, deadline: sc.deadline },
      oCtx,
    );
    const r = await startResponder({ ...common, gives: sc.R.gives, item: sc.R.item, expects: sc.O.gives, originator: { keyId: keys.o.keyId } }, rCtx);
    const m1 = o.send[0]!.statement;
    const m2 = (await stepExchange(rt(r.state), { type: 'message', message: m1, now: T0, from: 'peer' }, rCtx)).send[0]!.statement;
    const exchangeId = o.state.exchangeId!;
    const abort = await signed(keys.o, EXCHANGE_TYPES.abortRequest, { exchangeId, m1 });
    const resolve = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, { exchangeId, m1, m2 });
    const decide = async (i: number, req: Statement) => (await memoryTtp().request(req, ttpCtx(i), T0)).answer;
    return { m1, m2, abort, resolve, decide };
  }

  it('contract-signed: upheld on two resolutions of distinct TTPs of the set, not on one', async () => {
    const q = await quorumExchange(111);
    const [r0, r1] = [await q.decide(0, q.resolve), await q.decide(1, q.resolve)];
    const one = await fileAs(keys.r, 'contract-signed', [q.m1, r0]);
    expect(one.verdict).toMatchObject({ decision: 'undecided', rule: 'contract-signed/incomplete' });
    const two = await fileAs(keys.r, 'contract-signed', [q.m1, r0, r1]);
    expect(two.verdict).toMatchObject({ decision: 'upheld', rule: 'contract-signed/resolution' });
  });

  it('ttp-conflict: the TTP of the set that signed both ways is named; two honest TTPs that decided differently are not', async () => {
    const q = await quorumExchange(121);
    const t3abort = await q.decide(2, q.abort);
    const t3resolve = await q.decide(2, q.resolve); // a second store under T3's key: T3 signs both ways
    const j = await fileAs(keys.r, 'ttp-conflict', [q.m1, t3abort, t3resolve], keys.moreTtps[1]!.signer.keyId);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'ttp-conflict/two-outcomes' });
    expect(j.verdict.reasons[0]).toContain(keys.moreTtps[1]!.signer.keyId);
    const race = await fileAs(keys.r, 'ttp-conflict', [q.m1, await q.decide(0, q.abort), await q.decide(1, q.resolve)]);
    expect(race.verdict.decision).not.toBe('upheld');
  });
});
