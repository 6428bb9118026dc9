/**
 * Attacks on k-of-n TTPs (docs/quorum.md), each against the one check that stops it:
 *   - the quorum rule: k ≤ n/2, k > n, a TTP named twice, m1's TTP not the set's first — refused by the
 *     originator, the responder and every TTP; a TTP outside the set does not decide;
 *   - the agreement: m1 naming another set or k than agreed, or a TTP the responder no longer trusts;
 *   - the count: one TTP's decision twice (or re-signed), a decision of a TTP outside the set, a decision for
 *     another exchange, mixed outcomes — none completes a quorum;
 *   - the evidence: judgeContractSigning counts k resolutions (abort tokens) of distinct TTPs of the set.
 * And the one-TTP wire format is unchanged: an exchange without a set names none in m1.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkTtpRequest,
  EXCHANGE_TYPES,
  exchangeIdOf,
  judgeContractSigning,
  startOriginator,
  startResponder,
  stepExchange,
  TTP_TYPES,
  type ExchangeContext,
  type ExchangeState,
  type Outbound,
  type TtpContext,
  type TtpQuorum,
} from '../../core/exchange/index.js';
import { seededRandom } from '../../core/machine.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import type { Signer } from '../../core/crypto/index.js';
import { contract, makeKeys, originatorParams, responderParams, roundTrip, T0, type Keys, type Scenario } from './fixtures.js';
import { memoryTtp } from './ttp-host.js';

let keys: Keys;
let sc: Scenario;
/** T, T2, T3 and their contexts. */
let ttps: { signer: Signer; chain: string[] }[];
beforeAll(async () => {
  keys = await makeKeys();
  sc = await contract(keys);
  ttps = [{ signer: keys.ttp, chain: keys.ttpChain }, ...keys.moreTtps];
});

const ref = (i: number) => ({ keyId: ttps[i]!.signer.keyId });
const setOf = (k: number, ...idx: number[]): TtpQuorum => ({ k, ttps: idx.map(ref) });
const ttpCtx = (i: number): TtpContext => ({ signer: ttps[i]!.signer, signerRef: { kind: 'x509', chain: ttps[i]!.chain }, trust: { roots: [keys.root] } });
function ctxOf(base: ExchangeContext, seed: number, trusted: number[] = [0, 1, 2]): ExchangeContext {
  return { ...base, random: seededRandom(seed), trust: { ...base.trust, ttps: trusted.map((i) => ttps[i]!.signer.keyId) } };
}

/** Originator and responder agreed on `quorum`; m1 sent, m2 answered. */
async function pair(quorum: TtpQuorum, seed = 1) {
  const oCtx = ctxOf(sc.O.ctx, seed);
  const rCtx = ctxOf(sc.R.ctx, seed + 1);
  const o = await startOriginator({ ...originatorParams(keys, sc), quorum }, oCtx);
  const r = await startResponder({ ...responderParams(keys, sc), quorum }, rCtx);
  const m1 = o.send[0]!.statement;
  const r1 = await stepExchange(roundTrip(r.state), { type: 'message', message: m1, now: T0, from: 'peer' }, rCtx);
  return { o, r, r1, oCtx, rCtx, m1, m2: r1.send[0]!.statement, exchangeId: o.state.exchangeId! };
}

/** The originator, without m2, times out into its abort request to every TTP of the set. */
async function originatorAborting(p: Awaited<ReturnType<typeof pair>>) {
  let s = p.o.state;
  let sent: Outbound[] = [];
  for (let i = 0; i < 3 && s.phase !== 'awaiting-ttp'; i++) {
    const res = await stepExchange(roundTrip(s), { type: 'timeout', now: s.wakeAt! }, p.oCtx);
    s = res.state;
    sent = res.send;
  }
  expect(s.phase).toBe('awaiting-ttp');
  return { state: s, sent };
}

async function answer(state: ExchangeState, message: unknown, ctx: ExchangeContext) {
  return stepExchange(roundTrip(state), { type: 'message', message, now: state.wakeAt ?? T0, from: 'ttp' }, ctx);
}

/** A request for this exchange (the originator's abort, or the responder's resolve with m2), signed by its party. */
async function request(p: Awaited<ReturnType<typeof pair>>, kind: 'abort' | 'resolve', m1: Statement = p.m1): Promise<Statement> {
  const signer = kind === 'abort' ? keys.o : keys.r;
  const type = kind === 'abort' ? EXCHANGE_TYPES.abortRequest : EXCHANGE_TYPES.resolveRequest;
  const body = { exchangeId: await exchangeIdOf(m1), m1, ...(kind === 'resolve' ? { m2: p.m2 } : {}) };
  return (await signStatement({ type, version: 1, dealId: sc.dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

async function decisionOf(i: number, req: Statement): Promise<Statement> {
  return (await memoryTtp().request(req, ttpCtx(i), T0 + 1)).answer;
}

/** m1 as the originator would sign it with `quorum` (bypassing its own start checks: a hostile originator). */
async function forgedM1(p: Awaited<ReturnType<typeof pair>>, quorum: unknown): Promise<Statement> {
  const body: Record<string, unknown> = { ...(p.m1.body as Record<string, unknown>), quorum };
  if (quorum === undefined) delete body.quorum;
  return (await signStatement({ type: p.m1.type, version: 1, dealId: p.m1.dealId, issuedAt: p.m1.issuedAt, body }, keys.o)) as Statement;
}

describe('the quorum rule', () => {
  const BAD: [string, () => TtpQuorum, RegExp][] = [
    ['k ≤ n/2 (1 of 3)', () => setOf(1, 0, 1, 2), /not more than half/],
    ['k ≤ n/2 (1 of 2)', () => setOf(1, 0, 1), /not more than half/],
    ['k > n', () => setOf(4, 0, 1, 2), /can never be reached/],
    ['a TTP named twice', () => setOf(2, 0, 1, 1), /named twice/],
    ["m1's TTP not the set's first", () => setOf(2, 1, 0, 2), /first TTP of the set/],
  ];
  it.each(BAD)('%s: refused by the originator and the responder at start', async (_what, quorum, why) => {
    await expect(startOriginator({ ...originatorParams(keys, sc), quorum: quorum() }, ctxOf(sc.O.ctx, 1))).rejects.toMatchObject({
      code: 'ERR_TTP',
      message: expect.stringMatching(why),
    });
    await expect(startResponder({ ...responderParams(keys, sc), quorum: quorum() }, ctxOf(sc.R.ctx, 2))).rejects.toMatchObject({
      code: 'ERR_TTP',
      message: expect.stringMatching(why),
    });
  });

  it.each(BAD)('%s: no TTP decides on a request whose m1 names it', async (_what, quorum, why) => {
    const p = await pair(setOf(2, 0, 1, 2));
    const req = await request(p, 'abort', await forgedM1(p, quorum()));
    for (const i of [0, 1, 2])
      await expect(checkTtpRequest(req, ttpCtx(i), T0)).rejects.toMatchObject({ code: 'ERR_TTP', message: expect.stringMatching(why) });
  });

  it('every TTP of the set must be trusted: refused at start by either side', async () => {
    await expect(startOriginator({ ...originatorParams(keys, sc), quorum: setOf(2, 0, 1, 2) }, ctxOf(sc.O.ctx, 1, [0, 1]))).rejects.toMatchObject({
      code: 'ERR_TTP',
      message: expect.stringMatching(/every TTP of the set must be/),
    });
    await expect(startResponder({ ...responderParams(keys, sc), quorum: setOf(2, 0, 1, 2) }, ctxOf(sc.R.ctx, 2, [0, 2]))).rejects.toMatchObject({
      code: 'ERR_TTP',
    });
  });

  it('a TTP decides for a set only if the set names it: T2 and T3 decide for {T, T2, T3}; T3 not for {T, T2}', async () => {
    const p = await pair(setOf(2, 0, 1, 2));
    for (const i of [1, 2]) expect((await checkTtpRequest(await request(p, 'abort'), ttpCtx(i), T0)).exchangeId).toBe(p.exchangeId);
    const two = await pair(setOf(2, 0, 1));
    await expect(checkTtpRequest(await request(two, 'abort'), ttpCtx(2), T0)).rejects.toMatchObject({
      code: 'ERR_TTP',
      message: expect.stringMatching(/does not name this TTP/),
    });
  });
});

describe('the responder holds m1 to the agreed set and k', () => {
  it.each([
    ['another k', () => setOf(3, 0, 1, 2)],
    ['another set', () => setOf(2, 0, 1)],
    ['the same TTPs in another order', () => setOf(2, 0, 2, 1)],
    ['no set at all', () => undefined],
  ])('m1 with %s than agreed is refused', async (_what, quorum) => {
    const p = await pair(setOf(2, 0, 1, 2));
    const m1 = await forgedM1(p, quorum());
    const res = await stepExchange(roundTrip(p.r.state), { type: 'message', message: m1, now: T0, from: 'peer' }, p.rCtx);
    expect(res.send).toEqual([]);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: { code: 'ERR_TTP', message: expect.stringMatching(/set or its quorum otherwise than agreed/) },
    });
  });

  it('a TTP of the set no longer trusted when m1 arrives: refused', async () => {
    const p = await pair(setOf(2, 0, 1, 2));
    const res = await stepExchange(roundTrip(p.r.state), { type: 'message', message: p.m1, now: T0, from: 'peer' }, ctxOf(sc.R.ctx, 3, [0, 1]));
    expect(res.send).toEqual([]);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: { code: 'ERR_TTP', message: expect.stringMatching(/every TTP of the set must be/) },
    });
  });

  it('one TTP: m1 names no set (the wire format of the one-TTP protocol is unchanged)', async () => {
    const o = await startOriginator(originatorParams(keys, sc), { ...sc.O.ctx, random: seededRandom(5) });
    expect(Object.keys(o.send[0]!.statement.body as object)).not.toContain('quorum');
    expect(o.send).toHaveLength(1);
    expect(o.send[0]).not.toHaveProperty('ttp');
  });
});

describe('a party counts k matching decisions of distinct TTPs of the set', () => {
  it('asks every TTP of the set, the same request to each', async () => {
    const { sent } = await originatorAborting(await pair(setOf(2, 0, 1, 2)));
    expect(sent.map((s) => s.ttp)).toEqual([0, 1, 2].map((i) => ttps[i]!.signer.keyId));
    expect(new Set(sent.map((s) => JSON.stringify(s.statement))).size).toBe(1);
  });

  it("one TTP's decision twice, or re-signed, counts once", async () => {
    const p = await pair(setOf(2, 0, 1, 2));
    let { state } = await originatorAborting(p);
    const token = await decisionOf(0, await request(p, 'abort'));
    const again = (await signStatement({ ...token, issuedAt: nowIso(T0 + 5) }, ttps[0]!.signer, {
      signerRef: { kind: 'x509', chain: ttps[0]!.chain },
    })) as Statement;
    for (const m of [token, token, again]) {
      const res = await answer(state, m, p.oCtx);
      state = res.state;
      expect(state.phase).toBe('awaiting-ttp');
    }
    // T is no longer asked; T2 and T3 still are.
    const retry = await stepExchange(roundTrip(state), { type: 'timeout', now: state.wakeAt! }, p.oCtx);
    expect(retry.send.map((s) => s.ttp)).toEqual([1, 2].map((i) => ttps[i]!.signer.keyId));
    const done = await answer(state, await decisionOf(1, await request(p, 'abort')), p.oCtx);
    expect(done.state.outcome).toMatchObject({ status: 'aborted', quorum: [token, expect.anything()] });
  });

  it('a decision of a TTP outside the set does not count', async () => {
    const p = await pair(setOf(2, 0, 1));
    const { state } = await originatorAborting(p);
    const first = await answer(state, await decisionOf(0, await request(p, 'abort')), p.oCtx);
    // T3 is a certified TTP the originator trusts, but not of this exchange's set (it does not decide for it: forged here).
    const outsider = await signStatement(
      {
        type: TTP_TYPES.abortToken,
        version: 1,
        dealId: sc.dealId,
        issuedAt: nowIso(T0),
        body: { exchangeId: p.exchangeId, protocol: 'contract-signing', reason: 'abort-request', requestedBy: keys.o.keyId },
      },
      ttps[2]!.signer,
      { signerRef: { kind: 'x509', chain: ttps[2]!.chain } },
    );
    const res = await answer(first.state, outsider, p.oCtx);
    expect(res.state.phase).toBe('awaiting-ttp');
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: { code: 'ERR_SIGNATURE_INVALID', message: expect.stringMatching(/not the party the exchange names/) },
    });
  });

  it('a decision for another exchange does not count', async () => {
    const p = await pair(setOf(2, 0, 1, 2));
    const other = await pair(setOf(2, 0, 1, 2), 40);
    const { state } = await originatorAborting(p);
    const first = await answer(state, await decisionOf(0, await request(p, 'abort')), p.oCtx);
    const res = await answer(first.state, await decisionOf(1, await request(other, 'abort')), p.oCtx);
    expect(res.state.phase).toBe('awaiting-ttp');
    expect(res.effects).toContainEqual({ kind: 'rejected-message', error: { code: 'ERR_REPLAY', message: expect.stringMatching(/another exchange/) } });
  });

  it('mixed outcomes make no quorum: T aborts, T2 resolves — the third decides', async () => {
    const p = await pair(setOf(2, 0, 1, 2));
    const { state } = await originatorAborting(p);
    const a = await answer(state, await decisionOf(0, await request(p, 'abort')), p.oCtx);
    const b = await answer(a.state, await decisionOf(1, await request(p, 'resolve')), p.oCtx);
    expect(b.state.phase).toBe('awaiting-ttp');
    expect(b.state.ttpDecisions?.map((d) => d.outcome)).toEqual(['aborted', 'resolved']);
    // A split: every TTP that lacks one of the outcomes seen is asked again (one that signs both ways may complete either).
    const retry = await stepExchange(roundTrip(b.state), { type: 'timeout', now: b.state.wakeAt! }, p.oCtx);
    expect(retry.send.map((x) => x.ttp)).toEqual([0, 1, 2].map((i) => ttps[i]!.signer.keyId));
    const c = await answer(b.state, await decisionOf(2, await request(p, 'resolve')), p.oCtx);
    expect(c.state.outcome).toMatchObject({ status: 'resolved' });
    if (c.state.outcome?.status !== 'resolved') throw new Error('not resolved');
    expect(c.state.outcome.quorum).toHaveLength(2);
  });
});

describe('evidence: a quorum m1 is proved by k resolutions (abort tokens) of distinct TTPs of its set', () => {
  it('counts distinct TTPs of the set only, and only those the judge counts', async () => {
    const p = await pair(setOf(2, 0, 1, 2));
    const judge = { roots: [keys.root], now: T0 + 10 };
    const res = await Promise.all([0, 1].map(async (i) => decisionOf(i, await request(p, 'resolve'))));
    const outsiderSet = await pair(setOf(2, 0, 1));
    const byOutsider = await decisionOf(2, await request(p, 'resolve'));
    expect(await judgeContractSigning({ m1: p.m1, resolution: res[0] }, judge)).toMatchObject({ signed: false, basis: 'incomplete' });
    expect(await judgeContractSigning({ m1: p.m1, resolutions: [res[0], res[0]] }, judge)).toMatchObject({ signed: false });
    expect(await judgeContractSigning({ m1: p.m1, resolutions: res }, judge)).toMatchObject({ signed: true, basis: 'resolution' });
    expect(await judgeContractSigning({ m1: p.m1, resolutions: res }, { ...judge, ttps: [ref(0).keyId, ref(2).keyId] })).toMatchObject({ signed: false });
    // T3's resolution of {T, T2}'s exchange is no vote there.
    const r2 = await decisionOf(0, await request(outsiderSet, 'resolve'));
    expect(await judgeContractSigning({ m1: outsiderSet.m1, resolutions: [r2, byOutsider] }, judge)).toMatchObject({ signed: false });
    const tokens = await Promise.all([1, 2].map(async (i) => decisionOf(i, await request(p, 'abort'))));
    expect(await judgeContractSigning({ m1: p.m1, abortTokens: tokens }, judge)).toMatchObject({ signed: false, basis: 'abort-token' });
    expect(await judgeContractSigning({ m1: p.m1, abortTokens: [tokens[0]] }, judge)).toMatchObject({ signed: false, basis: 'incomplete' });
  });
});
