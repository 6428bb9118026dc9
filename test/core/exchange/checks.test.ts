/**
 * One test per check of the exchange roles and the TTP that the protocol runs alone do not reach
 * (the mutation table, docs/mutation-exchange.md): what each role refuses at its start, the shape
 * of m2 and m3, a repeated m3, the deadline timers to the millisecond, TTP answers that the TTP's
 * own key signed but for another exchange, protocol or party (a TTP's bug or a replay inside it),
 * and the TTP's own checks on what it is asked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXCHANGE_TYPES,
  startOriginator,
  startResponder,
  stepExchange,
  TTP_TYPES,
  ttpMachine,
  wakeAt,
  checkTtpRequest,
  decideTtp,
  type ExchangeContext,
  type ExchangeState,
  type StepResult,
  type TtpRecord,
} from '../../../core/exchange/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import {
  allScenarios,
  honestPair,
  makeKeys,
  originatorParams as originatorParamsOf,
  responderParams as responderParamsOf,
  roundTrip,
  SIM_TIMEOUTS,
  T0,
  type Keys,
  type Scenario,
} from '../../protocols/fixtures.js';
import { memoryTtp } from '../../protocols/ttp-host.js';

let keys: Keys;
let mail: Scenario, contract: Scenario, money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  [mail, contract, money] = (await allScenarios(keys)) as [Scenario, Scenario, Scenario];
});

const rt = roundTrip;
const rejected = (res: StepResult) => (res.effects.find((e) => e.kind === 'rejected-message') as { error: { code: string } } | undefined)?.error.code ?? null;
const signed = async (signer: Signer, type: string, dealId: string, body: Record<string, unknown>, signerRef?: { kind: 'x509'; chain: string[] }) =>
  (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer, signerRef ? { signerRef } : {})) as Statement;
/** A statement the TTP's own key signs (as a buggy or subverted TTP host could). */
const byTtp = (type: string, dealId: string, body: Record<string, unknown>) => signed(keys.ttp, type, dealId, body, { kind: 'x509', chain: keys.ttpChain });

const originatorParams = (sc: Scenario, over: Record<string, unknown> = {}) => originatorParamsOf(keys, sc, over);
const responderParams = (sc: Scenario, over: Record<string, unknown> = {}) => responderParamsOf(keys, sc, over);
const pair = (sc: Scenario, seed: number) => honestPair(keys, sc, seed);

describe('what each role refuses at its start', () => {
  it('originator: an untrusted TTP, itself as responder, a deadline with no time to complain, an unfair protocol, an item that does not fit', async () => {
    const ctx = mail.O.ctx;
    await expect(startOriginator(originatorParams(mail, { ttp: { keyId: keys.mallory.keyId } }), ctx)).rejects.toMatchObject({ code: 'ERR_TTP' });
    await expect(startOriginator(originatorParams(mail, { responder: { keyId: keys.o.keyId } }), ctx)).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
      message: expect.stringMatching(/two different parties/),
    });
    await expect(startOriginator(originatorParams(mail, { deadline: T0 + SIM_TIMEOUTS.ttpMargin }), ctx)).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
      message: expect.stringMatching(/no time for the responder/),
    });
    await expect(startOriginator(originatorParams(mail, { protocol: 'contract-signing' }), ctx)).rejects.toMatchObject({ code: 'ERR_EXCHANGE_UNFAIR' });
    await expect(startOriginator(originatorParams(mail, { item: mail.O.wrongItem }), ctx)).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
  });

  it('responder: itself as originator, another key as itself, an untrusted TTP, an item that does not fit', async () => {
    const ctx = mail.R.ctx;
    await expect(startResponder(responderParams(mail, { originator: { keyId: keys.r.keyId } }), ctx)).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
      message: expect.stringMatching(/two different parties/),
    });
    await expect(startResponder(responderParams(mail, { responder: { keyId: keys.mallory.keyId } }), ctx)).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    await expect(startResponder(responderParams(mail, { ttp: { keyId: keys.mallory.keyId } }), ctx)).rejects.toMatchObject({ code: 'ERR_TTP' });
    await expect(startResponder(responderParams(mail, { item: mail.R.wrongItem }), ctx)).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
  });
});

describe('m1, m2 and m3 checks the protocol runs do not reach', () => {
  it('a responder state of an earlier release (no agreement) takes no m1', async () => {
    const { r, rCtx, m1 } = await pair(mail, 3);
    const legacy = rt(r.state) as Partial<ExchangeState>;
    delete legacy.agreed;
    const res = await stepExchange(legacy as ExchangeState, { type: 'message', message: m1, now: T0, from: 'peer' }, rCtx);
    expect(rejected(res)).toBe('ERR_PROTOCOL_STATE');
    expect(res.send).toEqual([]);
  });

  it('the TTP must still be trusted when m1 arrives', async () => {
    const { r, rCtx, m1 } = await pair(mail, 5);
    const res = await stepExchange(rt(r.state), { type: 'message', message: m1, now: T0, from: 'peer' }, { ...rCtx, trust: { ...rCtx.trust, ttps: [] } });
    expect(rejected(res)).toBe('ERR_TTP');
  });

  it('a revocable m1 whose deadline outlives the revocation windows is unfair (a responder with no latest deadline agreed)', async () => {
    const oCtx = money.O.ctx;
    const rCtx = money.R.ctx;
    const r = await startResponder(responderParams(money, { latestDeadline: undefined }), rCtx);
    const late = money.deadline + 2 * 3_600_000; // past revocableUntil
    const m1 = await signed(keys.o, EXCHANGE_TYPES.propose, money.dealId, {
      ...((await startOriginator(originatorParams(money), oCtx)).send[0]!.statement.body as object),
      deadline: late,
    });
    expect(rejected(await stepExchange(rt(r.state), { type: 'message', message: m1, now: T0, from: 'peer' }, rCtx))).toBe('ERR_EXCHANGE_UNFAIR');
  });

  it('m2: contract signing carries a commitment (no item); the others an item (no commitment)', async () => {
    const c = await pair(contract, 7);
    const noCommitment = await signed(keys.r, EXCHANGE_TYPES.accept, contract.dealId, { exchangeId: c.o.state.exchangeId, item: contract.R.item });
    expect(rejected(await stepExchange(rt(c.o.state), { type: 'message', message: noCommitment, now: T0, from: 'peer' }, c.oCtx))).toBe('ERR_SCHEMA');
    const m = await pair(mail, 9);
    const noItem = await signed(keys.r, EXCHANGE_TYPES.accept, mail.dealId, { exchangeId: m.o.state.exchangeId, commitment: 'A'.repeat(43) });
    const res = await stepExchange(rt(m.o.state), { type: 'message', message: noItem, now: T0, from: 'peer' }, m.oCtx);
    expect(rejected(res)).toBe('ERR_SCHEMA');
    expect(res.send).toEqual([]);
  });

  it('m3 (contract signing) must reveal a nonce and name a commitment', async () => {
    const c = await pair(contract, 11);
    const o2 = await stepExchange(rt(c.o.state), { type: 'message', message: c.m2, now: T0, from: 'peer' }, c.oCtx);
    const m3 = o2.send[0]!.statement;
    const { nonce: _n, ...noNonce } = m3.body as Record<string, unknown>;
    void _n;
    const bare = await signed(keys.o, EXCHANGE_TYPES.deliver, contract.dealId, noNonce);
    expect(rejected(await stepExchange(rt(c.r1.state), { type: 'message', message: bare, now: T0, from: 'peer' }, c.rCtx))).toBe('ERR_SCHEMA');
  });

  it('a repeated m3 is answered with the same m4, but not one signed by a stranger or for another exchange', async () => {
    const c = await pair(contract, 13);
    const o2 = await stepExchange(rt(c.o.state), { type: 'message', message: c.m2, now: T0, from: 'peer' }, c.oCtx);
    const m3 = o2.send[0]!.statement;
    const r2 = await stepExchange(rt(c.r1.state), { type: 'message', message: m3, now: T0, from: 'peer' }, c.rCtx);
    expect(r2.state.phase).toBe('done');
    const again = await stepExchange(rt(r2.state), { type: 'message', message: m3, now: T0, from: 'peer' }, c.rCtx);
    expect(again.send.map((x) => x.statement)).toEqual(r2.send.map((x) => x.statement));
    const byStranger = await signed(keys.mallory, EXCHANGE_TYPES.deliver, contract.dealId, m3.body as Record<string, unknown>);
    const s1 = await stepExchange(rt(r2.state), { type: 'message', message: byStranger, now: T0, from: 'peer' }, c.rCtx);
    expect(s1.send).toEqual([]);
    const other = await signed(keys.o, EXCHANGE_TYPES.deliver, contract.dealId, { ...(m3.body as object), exchangeId: 'C'.repeat(43) });
    const s2 = await stepExchange(rt(r2.state), { type: 'message', message: other, now: T0, from: 'peer' }, c.rCtx);
    expect(s2.send).toEqual([]);
    const asResponder = await signed(keys.o, EXCHANGE_TYPES.deliver, contract.dealId, { ...(m3.body as object), role: 'responder' });
    expect((await stepExchange(rt(r2.state), { type: 'message', message: asResponder, now: T0, from: 'peer' }, c.rCtx)).send).toEqual([]);
  });
});

describe('the deadline timers, to the millisecond', () => {
  it('generatable↔verifiable: the originator first wakes no later than deadline+margin, and asks the TTP only from then', async () => {
    const deadline = T0 + 1_500 + SIM_TIMEOUTS.ttpMargin; // sooner than the first peer timeout after the margin
    const o = await startOriginator(originatorParams(mail, { deadline, timeouts: { ...SIM_TIMEOUTS, peer: 10 * SIM_TIMEOUTS.ttpMargin } }), mail.O.ctx);
    expect(wakeAt(o.state)).toBe(deadline + SIM_TIMEOUTS.ttpMargin);
    const early = await stepExchange(rt(o.state), { type: 'timeout', now: deadline + SIM_TIMEOUTS.ttpMargin - 1 }, mail.O.ctx);
    expect(early.send).toEqual([]);
    expect(early.state).toEqual(rt(o.state));
  });

  it('the responder that gave its item wakes, and complains, no later than deadline−margin', async () => {
    const t = { ...SIM_TIMEOUTS, peer: 60_000, peerRetries: 0 };
    const deadline = T0 + 20_000;
    const oCtx = mail.O.ctx;
    const o = await startOriginator(originatorParams(mail, { deadline, timeouts: t }), oCtx);
    const r = await startResponder(responderParams(mail, { timeouts: t, latestDeadline: deadline }), mail.R.ctx);
    const r1 = await stepExchange(rt(r.state), { type: 'message', message: o.send[0]!.statement, now: T0, from: 'peer' }, mail.R.ctx);
    expect(wakeAt(r1.state)).toBe(deadline - t.ttpMargin);
    const r2 = await stepExchange(rt(r1.state), { type: 'timeout', now: deadline - t.ttpMargin }, mail.R.ctx);
    expect(r2.send.map((x) => `${x.to} ${x.statement.type}`)).toEqual([`ttp ${EXCHANGE_TYPES.complaint}`]);
    // With a retry left the responder would retransmit m2 first, but never past the last call.
    const rRetry = await startResponder(responderParams(mail, { timeouts: { ...t, peer: 5_000, peerRetries: 3 }, latestDeadline: deadline }), mail.R.ctx);
    const q1 = await stepExchange(rt(rRetry.state), { type: 'message', message: o.send[0]!.statement, now: T0, from: 'peer' }, mail.R.ctx);
    let s = q1.state;
    const sent: string[] = [];
    while (s.phase === 'awaiting-m3') {
      const now = wakeAt(s)!;
      const step = await stepExchange(rt(s), { type: 'timeout', now }, mail.R.ctx);
      sent.push(...step.send.map((x) => `${x.to}@${now - T0}`));
      s = step.state;
    }
    expect(sent.at(-1)!.startsWith('ttp@')).toBe(true);
    expect(Number(sent.at(-1)!.split('@')[1])).toBeLessThanOrEqual(deadline - t.ttpMargin - T0);
  });

  it('revocable↔revocable: the final word is asked for only after deadline+margin', async () => {
    const c = await pair(money, 15);
    const o2 = await stepExchange(rt(c.o.state), { type: 'message', message: c.m2, now: T0, from: 'peer' }, c.oCtx);
    expect(o2.state.phase).toBe('awaiting-final');
    expect(wakeAt(o2.state)).toBe(money.deadline + SIM_TIMEOUTS.ttpMargin);
  });

  it('an early timer moves nothing', async () => {
    const c = await pair(contract, 17);
    const early = await stepExchange(rt(c.o.state), { type: 'timeout', now: wakeAt(c.o.state)! - 1 }, c.oCtx);
    expect(early.send).toEqual([]);
    expect(early.state).toEqual(rt(c.o.state));
  });
});

describe("TTP answers signed by the TTP's key, but not this exchange's decision", () => {
  async function awaitingTtp(sc: Scenario, seed: number, kind: 'abort' | 'resolve') {
    const c = await pair(sc, seed);
    let s = c.o.state;
    if (kind === 'resolve') s = (await stepExchange(rt(s), { type: 'message', message: c.m2, now: T0, from: 'peer' }, c.oCtx)).state;
    while (s.phase !== 'awaiting-ttp') s = (await stepExchange(rt(s), { type: 'timeout', now: wakeAt(s)! }, c.oCtx)).state;
    return { ...c, s };
  }
  const deliverTtp = (s: ExchangeState, message: Statement, ctx: ExchangeContext) =>
    stepExchange(rt(s), { type: 'message', message, now: T0 + 50_000, from: 'ttp' }, ctx);

  it('an abort token or revocation order of another protocol, or by another key, ends nothing', async () => {
    const a = await awaitingTtp(contract, 21, 'abort');
    const tokenBody = { exchangeId: a.s.exchangeId, protocol: 'generatable-verifiable', reason: 'abort-request', requestedBy: keys.o.keyId };
    expect(rejected(await deliverTtp(a.s, await byTtp(TTP_TYPES.abortToken, contract.dealId, tokenBody), a.oCtx))).toBe('ERR_REPLAY');
    const byStranger = await signed(keys.mallory, TTP_TYPES.abortToken, contract.dealId, { ...tokenBody, protocol: 'contract-signing' });
    expect(rejected(await deliverTtp(a.s, byStranger, a.oCtx))).toBe('ERR_SIGNATURE_INVALID');
    const m = await awaitingTtp(money, 23, 'abort');
    const order = (exchangeId: string | null, protocol: string) => ({
      exchangeId,
      protocol,
      m1: m.m1,
      revoke: [{ giver: keys.o.keyId, description: money.O.gives }],
      requestedBy: keys.r.keyId,
    });
    expect(rejected(await deliverTtp(m.s, await byTtp(TTP_TYPES.revocationOrder, money.dealId, order('D'.repeat(43), 'revocable-revocable')), m.oCtx))).toBe(
      'ERR_REPLAY',
    );
    const byStranger2 = await signed(keys.mallory, TTP_TYPES.revocationOrder, money.dealId, order(m.s.exchangeId, 'revocable-revocable'));
    expect(rejected(await deliverTtp(m.s, byStranger2, m.oCtx))).toBe('ERR_SIGNATURE_INVALID');
    // A revocation order for a contract-signing exchange (schema: revocable only) is no answer at all.
    const c = await awaitingTtp(contract, 25, 'abort');
    expect(rejected(await deliverTtp(c.s, await byTtp(TTP_TYPES.revocationOrder, contract.dealId, order(c.s.exchangeId, 'revocable-revocable')), c.oCtx))).toBe(
      'ERR_REPLAY',
    );
  });

  it('a resolution for another exchange or protocol ends nothing; its affidavits count only for this exchange, the peer and the agreed description', async () => {
    const a = await awaitingTtp(contract, 27, 'resolve');
    const affidavit = (over: Record<string, unknown>) =>
      byTtp(TTP_TYPES.affidavit, contract.dealId, {
        exchangeId: a.s.exchangeId,
        onBehalfOf: keys.r.keyId,
        description: contract.R.gives,
        commitment: 'E'.repeat(43),
        ...over,
      });
    const resolution = async (over: Record<string, unknown>, affidavits: Statement[] = []) =>
      byTtp(TTP_TYPES.resolution, contract.dealId, {
        exchangeId: a.s.exchangeId,
        protocol: 'contract-signing',
        m1: a.m1,
        m2: a.m2,
        affidavits,
        requestedBy: keys.o.keyId,
        ...over,
      });
    expect(rejected(await deliverTtp(a.s, await resolution({ exchangeId: 'F'.repeat(43) }), a.oCtx))).toBe('ERR_REPLAY');
    expect(rejected(await deliverTtp(a.s, await resolution({ protocol: 'generatable-verifiable' }), a.oCtx))).toBe('ERR_REPLAY');
    const stranger = await signed(keys.mallory, TTP_TYPES.resolution, contract.dealId, (await resolution({})).body as Record<string, unknown>);
    expect(rejected(await deliverTtp(a.s, stranger, a.oCtx))).toBe('ERR_SIGNATURE_INVALID');
    for (const [what, aff] of [
      ['another exchange', await affidavit({ exchangeId: 'G'.repeat(43) })],
      ['another party', await affidavit({ onBehalfOf: keys.o.keyId })],
      ['another description', await affidavit({ description: contract.O.gives })],
      ['a stranger', await signed(keys.mallory, TTP_TYPES.affidavit, contract.dealId, (await affidavit({})).body as Record<string, unknown>)],
    ] as const) {
      const res = await deliverTtp(a.s, await resolution({}, [aff]), a.oCtx);
      const outcome = res.state.outcome;
      if (what === 'a stranger') {
        expect(rejected(res), what).toBe('ERR_SIGNATURE_INVALID');
        continue;
      }
      expect(outcome?.status, what).toBe('resolved');
      expect(outcome?.status === 'resolved' ? outcome.replacement : 'x', what).toBeUndefined();
    }
    const good = await deliverTtp(a.s, await resolution({}, [await affidavit({})]), a.oCtx);
    expect(good.state.outcome?.status === 'resolved' && good.state.outcome.replacement).toBeTruthy();
  });

  it("the item forwarded in a resolution counts only if it is the responder's m2 for this exchange and fits", async () => {
    const m = await pair(mail, 29);
    // O lost m2 and asks for the abort after the deadline; the TTP (had R complained) resolves, forwarding m2.
    let s = m.o.state;
    while (s.phase !== 'awaiting-ttp') s = (await stepExchange(rt(s), { type: 'timeout', now: wakeAt(s)! }, m.oCtx)).state;
    const resolution = (m2: Statement) =>
      byTtp(TTP_TYPES.resolution, mail.dealId, {
        exchangeId: s.exchangeId,
        protocol: 'generatable-verifiable',
        m1: m.m1,
        m2,
        affidavits: [],
        requestedBy: keys.r.keyId,
      });
    const got = async (m2: Statement) => {
      const res = await deliverTtp(s, await resolution(m2), m.oCtx);
      const o = res.state.outcome;
      return o && 'received' in o ? (o.received ?? null) : null;
    };
    expect(await got(m.m2)).toEqual(mail.R.item);
    expect(await got(await signed(keys.mallory, EXCHANGE_TYPES.accept, mail.dealId, m.m2.body as Record<string, unknown>))).toBeNull();
    expect(await got(await signed(keys.r, EXCHANGE_TYPES.accept, mail.dealId, { ...(m.m2.body as object), exchangeId: 'H'.repeat(43) }))).toBeNull();
    expect(await got(await signed(keys.r, EXCHANGE_TYPES.accept, mail.dealId, { ...(m.m2.body as object), item: mail.R.wrongItem }))).toBeNull();
  });

  it('revocable↔revocable: a resolution without final: true is no completion', async () => {
    const m = await pair(money, 31);
    const o2 = await stepExchange(rt(m.o.state), { type: 'message', message: m.m2, now: T0, from: 'peer' }, m.oCtx);
    const notFinal = await byTtp(TTP_TYPES.resolution, money.dealId, {
      exchangeId: o2.state.exchangeId,
      protocol: 'revocable-revocable',
      m1: m.m1,
      affidavits: [],
      requestedBy: keys.r.keyId,
    });
    const res = await deliverTtp(o2.state, notFinal, m.oCtx);
    expect(res.state.outcome?.status).toBe('resolved');
  });
});

describe("the TTP's own checks", () => {
  const at = (now: number) => ({ ctx: contract.ttpContext(), now });
  it('a request for another deal than m1, an m2 not signed by the responder, resolve without m2, a final word without m2', async () => {
    const c = await pair(contract, 41);
    const ctx = contract.ttpContext();
    const exchangeId = c.o.state.exchangeId;
    const otherDeal = await signed(keys.o, EXCHANGE_TYPES.abortRequest, 'deal-other-00000001', { exchangeId, m1: c.m1 });
    await expect(checkTtpRequest(otherDeal, ctx, T0)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    const forgedM2 = await signed(keys.o, EXCHANGE_TYPES.accept, contract.dealId, c.m2.body as Record<string, unknown>);
    await expect(
      checkTtpRequest(await signed(keys.o, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1: c.m1, m2: forgedM2 }), ctx, T0),
    ).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    void at;
  });

  it('a stored record of another exchange is an internal error; the machine refuses a request for another exchange than its state', async () => {
    const c = await pair(contract, 43);
    const ctx = contract.ttpContext();
    const exchangeId = c.o.state.exchangeId!;
    const abort = await signed(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1: c.m1 });
    const checked = await checkTtpRequest(abort, ctx, T0);
    const decided = await decideTtp(null, checked, ctx, T0);
    const record = (decided as { record: TtpRecord }).record;
    await expect(decideTtp({ ...record, exchangeId: 'I'.repeat(43) }, checked, ctx, T0)).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    await expect(ttpMachine.step({ exchangeId: 'J'.repeat(43), record: null }, { type: 'request', request: abort, now: T0 }, ctx)).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
  });

  it('contract signing: the TTP resolves only what both sides can give as generatable items', async () => {
    // An m1 whose descriptions the TTP cannot generate (information): the originator signs it, the TTP refuses to resolve.
    const o = await startOriginator(originatorParams(mail), mail.O.ctx);
    const m1body = { ...(o.send[0]!.statement.body as Record<string, unknown>), protocol: 'contract-signing', commitment: 'K'.repeat(43) };
    const m1 = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, m1body);
    const { exchangeIdOf } = await import('../../../core/exchange/common.js');
    const exchangeId = await exchangeIdOf(m1);
    const m2 = await signed(keys.r, EXCHANGE_TYPES.accept, mail.dealId, { exchangeId, commitment: 'L'.repeat(43) });
    const resolve = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, mail.dealId, { exchangeId, m1, m2 });
    await expect(memoryTtp().request(resolve, mail.ttpContext(), T0)).rejects.toMatchObject({ code: 'ERR_EXCHANGE_UNFAIR' });
    // generatable↔verifiable likewise: a complaint for transfers that are not generatable/verifiable is not resolved.
    const gvBody = { ...(o.send[0]!.statement.body as Record<string, unknown>), originatorGives: mail.R.gives };
    const gv = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, gvBody);
    const gvId = await exchangeIdOf(gv);
    const gvM2 = await signed(keys.r, EXCHANGE_TYPES.accept, mail.dealId, { exchangeId: gvId, item: mail.R.item });
    const complaint = await signed(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: gvId, m1: gv, m2: gvM2 });
    await expect(memoryTtp().request(complaint, mail.ttpContext(), T0)).rejects.toMatchObject({ code: 'ERR_EXCHANGE_UNFAIR' });
  });

  it('revocable↔revocable: the final word needs m2; the deadline is the TTP’s (a complaint just before it revokes, just after it is final)', async () => {
    const m = await pair(money, 45);
    const exchangeId = m.o.state.exchangeId;
    const noM2 = await signed(keys.o, EXCHANGE_TYPES.resolveRequest, money.dealId, { exchangeId, m1: m.m1 });
    await expect(checkTtpRequest(noM2, money.ttpContext(), money.deadline + 10)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    const complaint = await signed(keys.o, EXCHANGE_TYPES.complaint, money.dealId, { exchangeId, m1: m.m1 });
    expect((await memoryTtp().request(complaint, money.ttpContext(), money.deadline)).answer.type).toBe(TTP_TYPES.revocationOrder);
    expect((await memoryTtp().request(complaint, money.ttpContext(), money.deadline + 1)).answer.type).toBe(TTP_TYPES.resolution);
  });
});
